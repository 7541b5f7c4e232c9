"""Time series: one ``Series`` per id, read from the user's long- or wide-format CSV/Parquet files and checked.

Long format (the convention of statsforecast, GluonTS and the M-competition tools): one row per observation, columns
``id``, ``timestamp``, ``value`` and optionally covariate columns (numbers known for every timestamp, including the
ones to be forecast when given to ``rnnkit forecast --data``)::

    id,timestamp,value,promo
    store1,2024-01-01,12.5,0
    store1,2024-02-01,13.1,1

Wide format: a ``timestamp`` column and one column per series. A file without an id column is read as wide.

The time column holds dates, or integers — positions such as statsforecast's ``ds`` with ``freq=1``, continued by the
forecast (integers that all look like years, 1000–2999 one apart, are years; ``rnnkit.data.series_grid``).

The column names are options (``id_col``, ``time_col``, ``value_col``). Left at their defaults, a file without an
``id``/``timestamp``/``value`` column but with all three columns of another library's long format is read with those:
statsforecast's and Nixtla's ``unique_id``, ``ds``, ``y``, or GluonTS's and AutoGluon's ``item_id``, ``timestamp``,
``target`` — so a data frame written for the peers reads as it is.

Nothing is filled silently: a missing timestamp (a gap in the inferred frequency), a NaN or empty value, a duplicate
timestamp or a non-numeric value is an error naming the file, line and series — unless ``fill`` says what to do with
gaps and NaN (``ffill``: carry the last value; ``interpolate``: linear; ``zero``). Duplicates and non-numbers are
always errors.

The seasonal period ``m`` and the default horizon ``h`` follow the M-competitions' convention (M3; M4 for the finer
frequencies): monthly m = 12, h = 18; quarterly m = 4, h = 8; yearly m = 1, h = 6; weekly m = 52, h = 13; daily
m = 7, h = 14; hourly m = 24, h = 48; other m = 1, h = 8.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rnnkit.data.series_grid import as_dates, integer_positions, regular
from rnnkit.models.forecaster import PERIODS

FILLS = ("error", "ffill", "interpolate", "zero")
DEFAULT_COLUMNS = ("id", "timestamp", "value")
# (id, time, value) columns of other libraries' long formats, recognised when the defaults are not in a file
CONVENTIONS = (("unique_id", "ds", "y"), ("item_id", "timestamp", "target"))
# frequency → (seasonal period m, horizon h); the M-competitions' convention (M3, and M4 for weekly/daily/hourly)
HORIZONS = {"yearly": 6, "quarterly": 8, "monthly": 18, "weekly": 13, "daily": 14, "hourly": 48, "other": 8}
FREQUENCIES = {f: (PERIODS[f], h) for f, h in HORIZONS.items()}
_PANDAS_FREQ = {"Y": "yearly", "A": "yearly", "Q": "quarterly", "M": "monthly", "W": "weekly", "D": "daily",
                "B": "daily", "H": "hourly", "h": "hourly"}


@dataclass
class Series:
    """One series: its values (float64), frequency name, seasonal period, optional timestamps and covariates.

    ``test`` holds the official held-out continuation where a data set has one (M3's ``xx``); ``future`` holds covariate
    values for the steps after the end (known-future covariates), one array per covariate name."""

    id: str
    values: np.ndarray
    freq: str = "other"
    period: int = 1
    timestamps: object = None  # a pandas DatetimeIndex, or None when the data has positions only
    covariates: dict[str, np.ndarray] = field(default_factory=dict)
    future: dict[str, np.ndarray] = field(default_factory=dict)
    test: np.ndarray | None = None
    source: str = ""
    origin: tuple[int, int] | None = None  # (first position, step) where the file's time column holds integers

    def positions(self, start: int, stop: int) -> list[int]:
        """The time stamps of steps start … stop − 1 (0 is the first value) of a series without dates: its file's
        integers where it has them (``origin``), else 1-based positions."""
        first, step = self.origin or (1, 1)
        return [first + step * k for k in range(start, stop)]

    def __len__(self) -> int:
        return len(self.values)

    @property
    def horizon(self) -> int:
        return len(self.test) if self.test is not None else FREQUENCIES.get(self.freq, (1, 8))[1]


def freq_name(pandas_freq: str | None) -> str:
    """'MS', 'ME', 'M' → 'monthly', 'QS-OCT' → 'quarterly', …; unknown → 'other'."""
    if not pandas_freq:
        return "other"
    code = pandas_freq.lstrip("0123456789").split("-")[0]
    for key in (code[:2], code[:1]):
        if key in _PANDAS_FREQ:
            return _PANDAS_FREQ[key]
    if code.upper().startswith(("YE", "YS", "AS", "BA", "BY")):
        return "yearly"
    if code.upper().startswith(("QE", "QS", "BQ")):
        return "quarterly"
    if code.upper().startswith(("ME", "MS", "BM")):
        return "monthly"
    return "other"


def season_period(freq: str) -> int:
    if freq not in FREQUENCIES:
        raise ValueError(f"unknown frequency {freq!r}; expected one of {', '.join(FREQUENCIES)}")
    return FREQUENCIES[freq][0]


DECIMAL_COMMA = r"^\s*([+-]?\d+),(\d+)\s*$"


def _csv_separator(path: Path) -> str:
    """``,`` — or ``;`` where the header holds semicolons and no comma (a CSV Excel saved in a locale whose decimal
    mark is the comma; its numbers' decimal commas are read as points)."""
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        header = f.readline()
    return ";" if ";" in header and "," not in header else ","


def _read_table(path: Path):
    """(the table, the number errors give its first row: its line in a text file, 1 in a Parquet file)."""
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path), 1  # rows counted from 1
    sep = "\t" if suffix in (".tsv", ".tab") else _csv_separator(path)
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8")
        if sep == ";":  # Excel's CSV where the comma is the decimal mark: 1,5 is 1.5
            df = df.apply(lambda col: col.str.replace(DECIMAL_COMMA, r"\1.\2", regex=True))
        return df, 2  # after the header
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except pd.errors.ParserError as e:
        raise ValueError(f"{path}: {e}") from None


def _numbers(raw, path: Path, lines: np.ndarray, what: str) -> np.ndarray:
    """Floats of a column; empty/NaN → NaN; anything else that is not a number → an error with its line."""
    out = np.empty(len(raw))
    for i, v in enumerate(raw):
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and v.strip().lower() in
                                                                    ("", "nan", "na", "null")):
            out[i] = np.nan
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{path}:{lines[i]}: {what}: {v!r} is not a number") from None
        if np.isinf(out[i]):
            raise ValueError(f"{path}:{lines[i]}: {what}: {v!r} is not a finite number")
    return out


def _check_fill(fill: str) -> None:
    if fill not in FILLS:
        raise ValueError(f"unknown fill {fill!r}; expected one of {', '.join(FILLS)}")


def _fill(values: np.ndarray, fill: str, where: str, lines, stamps=None) -> np.ndarray:
    bad = np.isnan(values)
    if not bad.any():
        return values
    if fill == "error":
        first = int(np.flatnonzero(bad)[0])
        if lines is not None and lines[first] >= 0:
            line = f"line {lines[first]}"
        elif stamps is not None:
            line = f"{stamps[first]} (no row for it)"
        else:
            line = f"position {first}"
        raise ValueError(f"{where}: {int(bad.sum())} missing value(s) (NaN, empty, or a gap in the timestamps), the "
                         f"first at {line}; pass fill='ffill', 'interpolate' or 'zero' (--fill) to fill them")
    if bad.all():
        raise ValueError(f"{where}: every value is missing")
    out = values.copy()
    if fill == "zero":
        out[bad] = 0.0
    elif fill == "ffill":
        first = int(np.flatnonzero(~bad)[0])
        out[:first] = out[first]  # leading NaN take the first value
        for i in range(first + 1, len(out)):
            if np.isnan(out[i]):
                out[i] = out[i - 1]
    else:
        idx = np.arange(len(out))
        out[bad] = np.interp(idx[bad], idx[~bad], out[~bad])
    return out


def read_series(path, *, id_col: str = "id", time_col: str = "timestamp", value_col: str = "value",
                freq: str | None = None, fill: str = "error", period: int | None = None) -> list[Series]:
    """Every series in a long- or wide-format CSV/TSV/Parquet file — or a pandas DataFrame laid out the same way, whose
    rows errors name by position (``DataFrame:5`` is ``df.iloc[5]``) — on a regular time grid, checked (see the
    module)."""
    import pandas as pd

    _check_fill(fill)
    if isinstance(path, pd.DataFrame):
        df, first, path = path.reset_index(drop=True), 0, "DataFrame"
    else:
        path = Path(path)
        df, first = _read_table(path)
    if len(df) == 0:
        raise ValueError(f"{path}: no rows")
    id_col, time_col, value_col = _columns(df.columns, (id_col, time_col, value_col))
    if time_col not in df.columns:
        raise ValueError(f"{path}: no {time_col!r} column (columns: {', '.join(map(str, df.columns))}); name the "
                         "time column with time_col (--time-col)")
    lines = np.arange(len(df)) + first  # what errors call each row: its file line, Parquet row or DataFrame position
    positions = integer_positions(df[time_col], freq, path, lines, time_col)
    stamps_all = as_dates(df[time_col], path, lines, time_col) if positions is None else None

    def stamps(rows=slice(None)):
        return positions[rows] if positions is not None else pd.DatetimeIndex(stamps_all.values[rows])
    out = []
    if id_col in df.columns:
        if value_col not in df.columns:
            raise ValueError(f"{path}: no {value_col!r} column (columns: {', '.join(map(str, df.columns))}); name "
                             "the value column with value_col (--value-col)")
        covs = [c for c in df.columns if c not in (id_col, time_col, value_col)]
        for sid, rows in df.groupby(id_col, sort=False, observed=True).indices.items():
            where = f"{path}: series {sid!r}"
            vals = {"value": _numbers(df[value_col].values[rows], path, lines[rows], value_col)}
            for c in covs:
                vals[c] = _numbers(df[c].values[rows], path, lines[rows], c)
            out.append(_make(str(sid), stamps(rows), vals, lines[rows], freq, fill,
                             period, where, str(path)))
    else:
        value_cols = [c for c in df.columns if c != time_col]
        if not value_cols:
            raise ValueError(f"{path}: no value columns besides {time_col!r}")
        for c in value_cols:
            where = f"{path}: series {c!r}"
            vals = {"value": _numbers(df[c].values, path, lines, str(c))}
            out.append(_make(str(c), stamps(), vals, lines, freq, fill, period, where,
                             str(path)))
    return out


def _columns(columns, asked: tuple[str, str, str]) -> tuple[str, str, str]:
    """The (id, time, value) column names to read: the asked ones, or — when they are the defaults and the file lacks
    one of them — the first of ``CONVENTIONS`` whose three columns the file has."""
    if asked != DEFAULT_COLUMNS or set(DEFAULT_COLUMNS) <= set(columns):
        return asked
    return next((c for c in CONVENTIONS if set(c) <= set(columns)), asked)


def _make(sid, stamps, vals, lines, freq, fill, period, where, source) -> Series:
    # rows past the last value (known-future covariates) are split off before the gap checks
    value = vals["value"]
    observed = np.flatnonzero(~np.isnan(value))
    if len(observed) == 0:
        raise ValueError(f"{where}: no values")
    grid, full, grid_lines, pfreq = regular(stamps, vals, lines, freq, where)
    last = int(np.flatnonzero(~np.isnan(full["value"]))[-1])
    future = {k: v[last + 1:] for k, v in full.items() if k != "value"}
    values = _fill(full["value"][:last + 1], fill, where, grid_lines, grid)
    covariates = {}
    for k, v in full.items():
        if k == "value":
            continue
        covariates[k] = _fill(v[:last + 1], fill, f"{where}: covariate {k!r}", grid_lines, grid)
        if np.isnan(future[k]).any():
            raise ValueError(f"{where}: covariate {k!r} has missing values after the last observation")
    name = freq_name(pfreq)
    dated = not isinstance(grid, np.ndarray)
    step = int(grid[1] - grid[0]) if not dated and len(grid) > 1 else int(freq) if str(freq).strip().isdigit() else 1
    origin = None if dated else (int(grid[0]), step)
    return Series(sid, values, name, period or season_period(name), grid[:last + 1] if dated else None, covariates,
                  {k: v for k, v in future.items() if len(v)}, None, source, origin)


#: one step of each calendar frequency (a series dated from its first value's date keeps that day and hour)
STEPS = {"yearly": {"years": 1}, "quarterly": {"months": 3}, "monthly": {"months": 1}, "weekly": {"weeks": 1},
         "daily": {"days": 1}, "hourly": {"hours": 1}}


def dates_from(start, n: int, freq: str, sid: str = "series"):
    """``n`` timestamps one ``freq`` step apart from ``start`` (a date or date-time string, or a timestamp)."""
    import pandas as pd

    if freq not in STEPS:
        raise ValueError(f"series {sid!r}: a start date needs a calendar frequency ({', '.join(STEPS)}), got {freq!r}")
    try:  # (a year out of pandas' range — "June" reads as June of year 1 — is no date either)
        first = pd.Timestamp(start)
        if first is pd.NaT:
            raise ValueError
        return pd.date_range(first, periods=n, freq=pd.DateOffset(**STEPS[freq]))
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"series {sid!r}: start {start!r} is not a date (e.g. \"2024-01-01\" or "
                         "\"2024-01-01 13:00\")") from None


def series_from_values(values, sid: str = "series", freq: str = "other", period: int | None = None,
                       test=None, fill: str = "error", start=None) -> Series:
    """A ``Series`` from a plain sequence of numbers: positions instead of timestamps, or — with ``start``, the first
    value's date — dated one ``freq`` step apart. Missing values (None, NaN) are filled by ``fill`` as a file's are
    (``"error"``: refused, naming the first position)."""
    _check_fill(fill)
    arr = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"series {sid!r}: expected a 1-D sequence of values, got shape {arr.shape}")
    arr = _fill(arr, fill, f"series {sid!r}", None)
    if not np.isfinite(arr).all():
        raise ValueError(f"series {sid!r}: value at position {int(np.flatnonzero(~np.isfinite(arr))[0])} is not finite")
    return Series(sid, arr, freq, period or season_period(freq),
                  None if start is None else dates_from(start, len(arr), freq, sid),
                  test=None if test is None else np.asarray(test, dtype=np.float64))


def split_at(s: Series, cut: int) -> Series:
    """The series' first ``cut`` values as its history and the rest as its ``test`` part; the covariates after the cut
    become known future (ahead of any it already had)."""
    return replace(s, values=s.values[:cut], test=s.values[cut:],
                   timestamps=None if s.timestamps is None else s.timestamps[:cut],
                   covariates={k: v[:cut] for k, v in s.covariates.items()},
                   future={k: np.concatenate([v[cut:], s.future.get(k, np.zeros(0))]) for k, v in s.covariates.items()})


def write_long_csv(path: str | Path, rows: list[dict]) -> None:
    """Rows (dicts with the same keys) to a CSV file, written atomically."""
    import csv
    import io

    from rnnkit.train.checkpoint import atomic_write_text

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["id", "timestamp", "value"])
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(Path(path), buf.getvalue())


__all__ = ["Series", "read_series", "series_from_values", "split_at", "FREQUENCIES", "FILLS", "freq_name", "season_period",
           "write_long_csv"]
