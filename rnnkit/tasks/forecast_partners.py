"""Statistical partners for a hybrid forecast: the RNN ensemble's forecast averaged with classical methods.

The M-competitions' steadiest lesson is that a combination of forecasts beats its parts (M3's and M4's best entries
were combinations, and M4's winner, Smyl's ES-RNN, a hybrid of exponential smoothing and an RNN). ``--combine
theta,dotm,damped,ar`` (the default, ``auto``, for data without covariates) fits these partners on each series' own
history when it is forecast and averages:

    ŷ_k = w · ŷ_k^RNN + (1 − w) · (1/|A|) Σ_{p∈A} ŷ_k^p    (step k; w = --combine-weight, the RNN's share; P the
                                                            partners that forecast a series this long — ``ar`` needs
                                                            60 values; A ⊆ P those in the series' pool,
                                                            ``rnnkit.tasks.forecast_pool``;
                                                            with none, the RNN's forecast alone)

The point forecast ŷ (reported as the 0.5 level) is that weighted mean; the intervals are the quantiles of a mixture
of all the forecasts' own predictive distributions (``rnnkit.tasks.forecast_mixture``), each partner's a Gaussian
around its forecast with the spread σ_k^p of its own in-sample k-step errors (``in_sample_sigma``).

Each partner works on seasonally adjusted values, as in the M4 competition's benchmarks: a series with at least 3m
values whose autocorrelation at the seasonal lag m passes the 90% test |r_m| > 1.645 · sqrt((1 + 2 Σ_{k<m} r_k²) / n)
has the seasonal indices s of a classical decomposition (statsmodels' ``seasonal_decompose``) taken out, and the
forecasts are reseasonalised with them. The M4 benchmarks always divide a positive series by multiplicative indices;
here the choice is made by the decomposition that leaves the smaller remainder (``seasonal_indices``):

- a swing of constant size (additive): the indices are subtracted — dividing a noiseless sine on a line left the
  damped partner's forecast at MASE 1.41, subtracting it at 0.03;
- a swing that grows with the level (multiplicative, a positive series): the partners work on **log values** v = log y,
  where that swing is a constant one, subtract v's additive indices, and forecast exp(v̂). A trend on logs is growth
  by a factor (AirPassengers, Johnson & Johnson): on the classic panel's 21 such series this took the hybrid's MASE
  from 1.471 to 1.442 and 1.446 to 1.418 on two saved runs, M3 unchanged (1.328 → 1.327; session 26). Logs for every
  positive series did better still on the classic panel (1.408) and worse on M3 (1.352: its yearly growth slows in the
  test years, and a trend on logs compounds it).

- ``theta``: the Theta method (Assimakopoulos & Nikolopoulos 2000, M3's best) in Hyndman & Billah's (2003) form —
  simple exponential smoothing (level ℓ_t after the values y_0…y_t, smoothing α) with drift half the slope b of a
  least-squares line through the series: ŷ_{t+k|t} = ℓ_t + (b / 2) · (k − 1 + 1/α − (1 − α)^{t+1} / α).
  (statsmodels' ``ThetaModel`` computes the same forecast from the last origin; it is not used because its
  state-space smoother breaks down on a constant series.)
- ``damped``: additive damped-trend exponential smoothing (Gardner & McKenzie 1985), statsmodels' Holt-Winters
  ``ExponentialSmoothing(trend="add", damped_trend=True)``: ŷ_{t+k|t} = ℓ_t + (φ + φ² + … + φ^k) · b_t.
- ``ar``: an autoregression with a constant, ŷ_t = c + φ_1 y_{t−1} + … + φ_p y_{t−p}, least squares, its order p ≤
  min(n/4, max(12, m)) chosen by AIC (statsmodels' ``ar_select_order``), forecast by running the recursion on its own
  forecasts — a stationary model, so its forecasts return to the series' mean and continue its cycles (lynx,
  sunspots, the Nile's swings), which theta and damped trend extrapolate as a trend. It forecasts only series of at
  least ``AR_MIN_VALUES`` = 60 values, where a cycle can be identified; a shorter series' hybrid averages the other
  partners (on M3's short yearly series, whose trend is what matters, an AR partner on every series took the hybrid's
  MASE from 1.327 to 1.379). Measured when added (session 26, the saved runs forecast again): classic panel 1.397 →
  1.378, 1.442 → 1.421, 1.418 → 1.387; M3 1.327 → 1.323; the defaults' runs: classic 1.612 → 1.576, M3 1.368 →
  1.364.

- ``ari``: ``ar`` on the first differences d_t = y_t − y_{t−1} (Box & Jenkins's ARIMA(p, 1, 0), the constant a
  drift), the forecast y_t + Σ_{j≤k} d̂_{t+j|t}: where ``ar`` — stationary — pulls a drifting series back toward its
  mean, ``ari`` goes on drifting (BJsales, WWWusage, the macro series). Same 60-value floor and order rule. Not in
  ``auto`` (session 41, runs forecast again with ari added to theta,damped,ar: the classic panel 1.343 → 1.332 over
  three seeds, sMAPE +0.15 — the classic recipe uses it; M3 1.326 → 1.325, no real change; see the README).
- ``dotm``: the dynamic optimised theta model (Fiorucci et al. 2016, ``rnnkit.tasks.forecast_theta``): Theta with θ
  fitted instead of fixed at 2 and the line through the values up to each origin instead of all of them. Alone on
  M3 it scores MASE 1.355 against theta's 1.414 (statsforecast's AutoTheta 1.362). Beside theta in ``auto`` since
  session 47 (M3's recipe run forecast again: 1.323 → 1.317; the pooled partners' mean alone on M3 1.365 → 1.347, on
  the highfreq panel 1.245 → 1.223, on the classic panel 1.384 → 1.378; the defaults' runs forecast again: M3 1.331 →
  1.324, classic 1.561 → 1.554 and 1.579 → 1.567); in place of theta in the classic recipe
  (``dotm,damped,ar,ari``: six runs forecast again 1.289 → 1.272, every one better; with both it was 1.289). See
  the README (session 47).

On a seasonally adjusted series the errors are measured in adjusted units (added indices do not change them); on
logs, σ is the spread of log errors and the partner's distribution is log-normal: q_τ = ŷ · exp(z_τ σ). A series of
fewer than 3 values gets its last value from each partner (nothing can be fitted to it).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from rnnkit.tasks.forecast_theta import dotm

PARTNERS = ("theta", "damped", "ar", "ari", "dotm")
AUTO_PARTNERS = ("theta", "dotm", "damped", "ar")  # combine="auto" (dotm since session 47)
MIN_VALUES = 3
AR_MIN_VALUES = 60  # ar and ari forecast only series at least this long (left out of shorter ones' mean)


def resolve_auto(text: str, covariates) -> str:
    """``combine="auto"`` (the default) for a run whose data has the covariate names ``covariates``: the partners
    (theta, dotm, damped, ar) where the series are all there is to forecast from — they read only a series' own
    history, so averaged into a forecast that known-future covariates drive they would dilute it — and none with
    covariates. Anything else unchanged."""
    if text != "auto":
        return text
    return "none" if list(covariates) else ",".join(AUTO_PARTNERS)


def parse_partners(text: str) -> tuple[str, ...]:
    """``"theta,damped"`` → ("theta", "damped"); ``"none"`` or "" → (); ``"auto"`` → ``AUTO_PARTNERS`` (for data
    without covariates: ``resolve_auto``); unknown names are refused."""
    if text == "auto":
        return AUTO_PARTNERS
    names = tuple(p.strip() for p in (text or "").split(",") if p.strip() and p.strip() != "none")
    bad = [p for p in names if p not in PARTNERS]
    if bad:
        raise ValueError(f"combine: unknown partner {bad[0]!r} (expected 'none' or a comma-separated list of "
                         f"{', '.join(PARTNERS)})")
    if len(set(names)) != len(names):
        raise ValueError(f"combine: {text!r} names a partner twice")
    return names


def is_seasonal(y: np.ndarray, m: int) -> bool:
    """The M4 benchmarks' 90% autocorrelation test at the seasonal lag m (needs at least 3m values)."""
    n = len(y)
    if m <= 1 or n < 3 * m or np.ptp(y) == 0:
        return False
    d = y - y.mean()
    r = np.array([np.dot(d[:n - k], d[k:]) for k in range(m + 1)]) / np.dot(d, d)
    return bool(abs(r[m]) > 1.645 * np.sqrt((1 + 2 * np.sum(r[1:m] ** 2)) / n))


def _additive_indices(v: np.ndarray, m: int) -> np.ndarray:
    from statsmodels.tsa.seasonal import seasonal_decompose

    return np.asarray(seasonal_decompose(v, model="additive", period=m).seasonal[:m], dtype=np.float64)


def seasonal_indices(y: np.ndarray, m: int) -> tuple[np.ndarray, bool] | None:
    """(the m indices s_0…s_{m−1} of positions 0…m−1, multiplicative?) from a classical decomposition, or None when
    the series is not seasonal by ``is_seasonal``. A positive series gets the decomposition whose remainder is smaller
    in the series' units — multiplicative (y = T·S·R, remainder T·S·(R − 1)) where the seasonal swing grows with the
    level, additive (y = T + S + R) where it does not; a series with a value ≤ 0, additive."""
    if not is_seasonal(y, m):
        return None
    from statsmodels.tsa.seasonal import seasonal_decompose

    additive = seasonal_decompose(y, model="additive", period=m)
    if not (y > 0).all():
        return np.asarray(additive.seasonal[:m], dtype=np.float64), False
    multiplicative = seasonal_decompose(y, model="multiplicative", period=m)
    remainder = (np.asarray(multiplicative.resid) - 1) * multiplicative.trend * multiplicative.seasonal
    chosen = multiplicative if np.nanmean(remainder ** 2) <= np.nanmean(np.asarray(additive.resid) ** 2) else additive
    return np.asarray(chosen.seasonal[:m], dtype=np.float64), chosen is multiplicative


def seasonal_adjustment(y: np.ndarray, m: int, h: int) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(x, s, log): the values the partners fit — y, or log y where the seasonal swing grows with the level, less
    the additive seasonal indices where ``seasonal_indices`` finds the series seasonal — the indices s of the n past
    and h future positions (None where it is not seasonal), and whether x is on logs (where the multiplicative
    decomposition was the better one, on logs the swing is a fixed one)."""
    season = seasonal_indices(y, m)
    if season is None:
        return y, None, False
    indices, log = season
    v = np.log(y) if log else y
    if log:
        indices = _additive_indices(v, m)
    s = indices[np.arange(len(y) + h) % m]  # the index of every position, past and future
    return v - s[:len(y)], s, log


class PartnerForecast(NamedTuple):
    """One partner's forecast of one series: the point forecast and the spread σ of its error, each (h,) (σ NaN
    where the history has no error to measure). With ``log``, σ is the spread of the error of log values: the
    partner's distribution is log-normal, its τ-quantile point · exp(z_τ σ). ``pooled``: in the series' pool, the
    partners averaged into the hybrid's point forecast (all of them join its interval's mixture). ``share``: its
    weight in the point forecast where the pool weighs its members by their errors (``pool_weights="inverse-mse"``;
    the RNN ensemble's is 1 − the pooled partners' shares); NaN: the equal shares of ``combine_weight``."""

    point: np.ndarray
    sigma: np.ndarray
    log: bool = False
    pooled: bool = True
    share: float = float("nan")


def theta(x: np.ndarray) -> Callable[[np.ndarray, int], np.ndarray]:
    """The Theta method fitted to x (seasonally adjusted already): ahead(t, k) = ŷ_{t+k|t} for origins t (an array)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    n = len(x)
    b = np.polyfit(np.arange(n, dtype=np.float64), x, 1)[0]
    fit = ExponentialSmoothing(x, initial_level=x[0], initialization_method="known").fit()
    alpha, level = float(fit.params["smoothing_level"]), np.asarray(fit.level, dtype=np.float64)

    def ahead(t: np.ndarray, k: int) -> np.ndarray:
        start = (1 - (1 - alpha) ** (t + 1)) / alpha if alpha > 0 else 0.0
        return level[t] + b / 2 * (k - 1 + start)

    return ahead


def ar(x: np.ndarray, m: int = 1) -> Callable[[np.ndarray, int], np.ndarray]:
    """An autoregression with a constant fitted to x by least squares, its order p ≤ min(n/4, max(12, m)) chosen by
    AIC (statsmodels' ``ar_select_order``): ahead(t, k) = ŷ_{t+k|t}, the recursion ŷ_s = c + Σ_j φ_j ŷ_{s−j} run k
    steps from the values up to t (values before the first one read as the first)."""
    from statsmodels.tsa.ar_model import ar_select_order

    n = len(x)
    if np.ptp(x) == 0:
        return lambda t, k: x[t]
    res = ar_select_order(x, max(1, min(n // 4, max(12, m))), ic="aic", trend="c").model.fit()
    params = np.asarray(res.params, dtype=np.float64)
    c, phi = params[0], params[1:]
    p = len(phi)

    def ahead(t: np.ndarray, k: int) -> np.ndarray:
        t = np.asarray(t)
        window = x[np.maximum(t[:, None] - np.arange(p), 0)] if p else np.zeros((len(t), 0))  # y_t, y_{t−1}, …
        for _ in range(k):
            step = c + window @ phi
            window = np.concatenate([step[:, None], window[:, :-1]], 1) if p else window
        return step

    return ahead


def ari(x: np.ndarray, m: int = 1) -> Callable[[np.ndarray, int], np.ndarray]:
    """``ar`` on the first differences d_t = x_t − x_{t−1} (Box & Jenkins's ARIMA(p, 1, 0), its constant a drift):
    ahead(t, k) = x_t + Σ_{j=1..k} d̂_{t+j|t}, the differences' recursion run from the differences up to t."""
    if len(x) < 3:
        return lambda t, k: x[t]
    step = ar(np.diff(x), m)

    def ahead(t: np.ndarray, k: int) -> np.ndarray:
        t = np.asarray(t)
        return x[t] + sum(step(t - 1, j) for j in range(1, k + 1))

    return ahead


def damped(x: np.ndarray) -> Callable[[np.ndarray, int], np.ndarray]:
    """Additive damped-trend exponential smoothing fitted to x: ahead(t, k) = ŷ_{t+k|t} for origins t (an array)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    if np.ptp(x) == 0:
        return lambda t, k: x[t]
    fit = ExponentialSmoothing(x, trend="add", damped_trend=True).fit()
    phi = float(fit.params["damping_trend"])
    level, trend = np.asarray(fit.level, dtype=np.float64), np.asarray(fit.trend, dtype=np.float64)
    return lambda t, k: level[t] + sum(phi ** j for j in range(1, k + 1)) * trend[t]


FITS = {"theta": lambda x, m: theta(x), "damped": lambda x, m: damped(x), "ar": ar, "ari": ari,
        "dotm": lambda x, m: dotm(x)}  # (x, m) → ahead


def in_sample_sigma(x: np.ndarray, ahead: Callable[[np.ndarray, int], np.ndarray], h: int,
                    first: int = 1) -> np.ndarray:
    """σ_k for k = 1…h: the root mean square of the k-step errors x_{t+k} − ŷ_{t+k|t} from every origin t ≥ first
    (and ≥ 1) inside x; a step too far for any origin takes the largest σ measured before it (σ never shrinks with
    the step)."""
    n, out = len(x), np.full(h, np.nan)
    for k in range(1, min(h, n - 1 - max(1, first)) + 1):
        t = np.arange(max(1, first), n - k)
        out[k - 1] = np.sqrt(np.mean((x[t + k] - ahead(t, k)) ** 2))
    return np.fmax.accumulate(out)


def fit_partners(names, y: np.ndarray, m: int, h: int, series_id="") -> list[tuple[PartnerForecast, Callable]]:
    """Each partner in ``names`` that forecasts a series this long (``ar`` and ``ari`` need ``AR_MIN_VALUES``) fitted
    to the series y with seasonal period m — the series seasonally adjusted once for all of them: (its forecast of
    the next h steps with its in-sample error spreads, its in-sample forecasts ŷ_{t+k|t} in the series' units). None
    is pooled out here (``rnnkit.tasks.forecast_pool`` does that). A series of fewer than ``MIN_VALUES`` values gets
    its last value from each."""
    y = np.asarray(y, dtype=np.float64)
    names = [name for name in names if name not in ("ar", "ari") or len(y) >= AR_MIN_VALUES]
    if len(y) < MIN_VALUES:
        return [(PartnerForecast(np.full(h, y[-1]), np.full(h, np.nan)), lambda t, k: y[np.asarray(t)])
                for _ in names]
    n = len(y)
    x, s, log = seasonal_adjustment(y, m, h)
    out = []
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels' convergence and start-value warnings: the fit is still used
            try:
                ahead = FITS[name](x, m)
                f = np.array([ahead(np.array([n - 1]), k)[0] for k in range(1, h + 1)], dtype=np.float64)
                sigma = in_sample_sigma(x, ahead, h)
            except (ArithmeticError, ValueError, np.linalg.LinAlgError) as e:
                raise ValueError(f"series {series_id!r}: the {name} partner could not be fitted ({e}); forecast it "
                                 "without --combine") from None
        if s is not None:
            f = f + s[n:]
        if log:
            f = np.exp(np.clip(f, None, 700.0))
        if not np.isfinite(f).all():
            raise ValueError(f"series {series_id!r}: the {name} partner's fit gave a non-finite forecast; forecast it "
                             "without --combine")
        out.append((PartnerForecast(f, sigma, log), _in_series_units(ahead, s, log)))
    return out


def _in_series_units(ahead: Callable, s: np.ndarray | None, log: bool) -> Callable[[np.ndarray, int], np.ndarray]:
    """A partner's in-sample forecasts ŷ_{t+k|t} in the series' units: reseasonalised (and exp of logs)."""
    def in_units(t: np.ndarray, k: int) -> np.ndarray:
        v = ahead(t, k) + (s[np.asarray(t) + k] if s is not None else 0.0)
        return np.exp(np.clip(v, None, 700.0)) if log else v

    return in_units


def partner_forecast(name: str, y: np.ndarray, m: int, h: int, series_id="") -> PartnerForecast:
    """One partner's forecast (h steps) of the series y with seasonal period m, with its in-sample error spread."""
    out = fit_partners((name,), y, m, h, series_id)
    if not out:
        raise ValueError(f"series {series_id!r}: the {name} partner needs at least {AR_MIN_VALUES} values, got {len(y)}")
    return out[0][0]
