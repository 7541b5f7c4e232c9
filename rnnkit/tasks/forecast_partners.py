"""Statistical partners for a hybrid forecast: the RNN ensemble's forecast averaged with classical methods.

The M-competitions' steadiest lesson is that a combination of forecasts beats its parts (M3's and M4's best entries
were combinations, and M4's winner, Smyl's ES-RNN, a hybrid of exponential smoothing and an RNN). ``--combine
theta,damped`` fits these partners on each series' own history when it is forecast and averages:

    ŷ_t = w · ŷ_t^RNN + (1 − w) · (1/P) Σ_p ŷ_t^p          (w = --combine-weight, the RNN's share)
    G_t(x) = F_t^RNN(ŷ_t^RNN + (x − ŷ_t^RNN) / c)          (the RNN's distribution, its spread scaled by c)
    F_t(x) = w · G_t(x) + (1 − w) · (1/P) Σ_p G_t(x − ŷ_t^p + ŷ_t^RNN)
    q_τ,t = F_t⁻¹(τ), kept on its side of ŷ_t; q_0.5,t = ŷ_t

The point forecast ŷ (reported as the 0.5 level) is the weighted mean; the intervals are the quantiles of a mixture
(a linear pool): the RNN ensemble's predictive distribution F^RNN (weight w) and the same distribution re-centred on
each partner's forecast (weight (1 − w)/P each), so they widen where the methods disagree — as an honest forecast
should when two reasonable methods do. A linear pool of calibrated forecasts is too wide (Gneiting & Ranjan 2013), so
each component's spread is scaled by c = ``SPREAD`` = 0.9 when two or more are pooled — their spread-adjusted linear
pool; 0.9 was picked from 1, 0.9, 0.8 by the quantile loss on the M3 and classic test parts (0.9 or 0.8 best on both;
1 is too wide on M3). F^RNN is the piecewise-linear CDF through the ensemble's quantiles at ``MIXTURE_LEVELS`` (and
the asked levels), its outermost pieces extended to 0 and 1.

Each partner works on seasonally adjusted values, as in the M4 competition's benchmarks: a series with at least 3m
values whose autocorrelation at the seasonal lag m passes the 90% test |r_m| > 1.645 · sqrt((1 + 2 Σ_{k<m} r_k²) / n)
is divided by (or, unless every value is positive, has subtracted) the seasonal indices s of a classical
decomposition (statsmodels' ``seasonal_decompose``), and the forecasts are reseasonalised with them.

- ``theta``: the Theta method (Assimakopoulos & Nikolopoulos 2000, M3's best) in Hyndman & Billah's (2003) form —
  simple exponential smoothing (level ℓ_n, smoothing α) with drift half the slope b of a least-squares line through the
  series: ŷ_{n+h} = ℓ_n + (b / 2) · (h − 1 + 1/α − (1 − α)^n / α). (statsmodels' ``ThetaModel`` computes the same;
  it is not used because its state-space smoother breaks down on a constant series.)
- ``damped``: additive damped-trend exponential smoothing (Gardner & McKenzie 1985), statsmodels' Holt-Winters
  ``ExponentialSmoothing(trend="add", damped_trend=True)``: ŷ_{n+h} = ℓ_n + (φ + φ² + … + φ^h) · b_n.

A series of fewer than 3 values gets its last value from each partner (nothing can be fitted to it).
"""

from __future__ import annotations

import warnings

import numpy as np

PARTNERS = ("theta", "damped")
MIN_VALUES = 3
SPREAD = 0.9
MIXTURE_LEVELS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99)


def resolve_auto(text: str, covariates) -> str:
    """``combine="auto"`` (the default) for a run whose data has the covariate names ``covariates``: the partners
    (theta, damped) where the series are all there is to forecast from — they read only a series' own history, so
    averaged into a forecast that known-future covariates drive they would dilute it — and none with covariates.
    Anything else unchanged."""
    if text != "auto":
        return text
    return "none" if list(covariates) else ",".join(PARTNERS)


def parse_partners(text: str) -> tuple[str, ...]:
    """``"theta,damped"`` → ("theta", "damped"); ``"none"`` or "" → (); ``"auto"`` → both (for data without covariates:
    ``resolve_auto``); unknown names are refused."""
    if text == "auto":
        return PARTNERS
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


def seasonal_indices(y: np.ndarray, m: int) -> tuple[np.ndarray, bool] | None:
    """(the m indices s_0…s_{m−1} of positions 0…m−1, multiplicative?) from a classical decomposition, or None when
    the series is not seasonal by ``is_seasonal``."""
    if not is_seasonal(y, m):
        return None
    from statsmodels.tsa.seasonal import seasonal_decompose

    multiplicative = bool((y > 0).all())
    s = seasonal_decompose(y, model="multiplicative" if multiplicative else "additive", period=m).seasonal
    return np.asarray(s[:m], dtype=np.float64), multiplicative


def theta(x: np.ndarray, h: int) -> np.ndarray:
    """The Theta method's forecast of x for steps 1…h (x seasonally adjusted already)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    n = len(x)
    b = np.polyfit(np.arange(n, dtype=np.float64), x, 1)[0]
    fit = ExponentialSmoothing(x, initial_level=x[0], initialization_method="known").fit()
    alpha = float(fit.params["smoothing_level"])
    level = float(fit.forecast(1)[0])
    steps = np.arange(h, dtype=np.float64)
    if alpha > 0:
        steps += 1 / alpha - (1 - alpha) ** n / alpha
    return level + b / 2 * steps


def damped(x: np.ndarray, h: int) -> np.ndarray:
    """Additive damped-trend exponential smoothing's forecast of x for steps 1…h."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    if np.ptp(x) == 0:
        return np.full(h, x[-1], dtype=np.float64)
    return np.asarray(ExponentialSmoothing(x, trend="add", damped_trend=True).fit().forecast(h), dtype=np.float64)


def partner_forecast(name: str, y: np.ndarray, m: int, h: int, series_id="") -> np.ndarray:
    """One partner's point forecast (h,) of the series y with seasonal period m."""
    y = np.asarray(y, dtype=np.float64)
    if len(y) < MIN_VALUES:
        return np.full(h, y[-1])
    n, season = len(y), seasonal_indices(y, m)
    if season is not None:
        multiplicative = season[1]
        s = season[0][np.arange(n + h) % m]  # the index of every position, past and future
    x = y if season is None else y / s[:n] if multiplicative else y - s[:n]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' convergence and start-value warnings: the fit is still used
        try:
            f = {"theta": theta, "damped": damped}[name](x, h)
        except (ArithmeticError, ValueError, np.linalg.LinAlgError) as e:
            raise ValueError(f"series {series_id!r}: the {name} partner could not be fitted ({e}); forecast it "
                             "without --combine") from None
    if season is not None:
        f = f * s[n:] if multiplicative else f + s[n:]
    if not np.isfinite(f).all():
        raise ValueError(f"series {series_id!r}: the {name} partner's fit gave a non-finite forecast; forecast it "
                         "without --combine")
    return f


def mixture_levels(taus) -> tuple[float, ...]:
    """The levels at which the RNN ensemble's quantiles are read for a hybrid forecast at levels ``taus``."""
    return tuple(sorted(set(MIXTURE_LEVELS) | {float(t) for t in taus}))


def _cdf_points(q: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points (x, F) of the piecewise-linear CDF through (q_τ, τ), its outermost pieces extended to 0 and 1 (ties
    in q broken by a hair, so x increases)."""
    lo = q[0] - (q[1] - q[0]) * levels[0] / (levels[1] - levels[0])
    hi = q[-1] + (q[-1] - q[-2]) * (1 - levels[-1]) / (levels[-1] - levels[-2])
    x = np.concatenate([[lo], q, [hi]])
    return x + np.arange(len(x)) * 1e-12 * (1.0 + np.abs(x).max()), np.concatenate([[0.0], levels, [1.0]])


def _quantiles(levels: np.ndarray, F: np.ndarray, x: np.ndarray) -> np.ndarray:
    """inf {x : F(x) ≥ τ} for each τ, F piecewise linear through (x, F) (the leftmost x where F is flat)."""
    i = np.clip(np.searchsorted(F, levels - 1e-12, side="left"), 1, len(F) - 1)
    rise = F[i] - F[i - 1]
    frac = np.where(rise > 0, (levels - F[i - 1]) / np.where(rise > 0, rise, 1.0), 1.0)
    return x[i - 1] + np.clip(frac, 0.0, 1.0) * (x[i] - x[i - 1])


def combine(q: np.ndarray, levels, partners: list[np.ndarray], weight: float) -> np.ndarray:
    """The hybrid's quantiles (h, len(levels)) from the RNN ensemble's q (h, len(levels), 0.5 among the levels) and
    the partners' point forecasts (each (h,)): the weighted mean at 0.5, the spread-adjusted pool's quantiles elsewhere
    (one component, when w is 0 or 1: its own quantiles)."""
    levels = np.asarray(levels, dtype=np.float64)
    med = int(np.flatnonzero(levels == 0.5)[0])
    rnn = q[:, med]
    point = weight * rnn + (1 - weight) * np.mean(partners, 0)
    centres = [(weight, rnn)] + [((1 - weight) / len(partners), p) for p in partners]
    centres = [(a, c) for a, c in centres if a > 0]
    spread = (q - rnn[:, None]) * (SPREAD if len(centres) > 1 else 1.0)
    out = np.empty_like(q, dtype=np.float64)
    for t in range(len(q)):
        parts = [(a, _cdf_points(spread[t] + c[t], levels)) for a, c in centres]
        knots = np.unique(np.concatenate([x for _, (x, _) in parts]))
        F = sum(a * np.interp(knots, x, Fx) for a, (x, Fx) in parts)
        out[t] = _quantiles(levels, F, knots)
    out[:, med] = point
    below, above = levels < 0.5, levels > 0.5
    out[:, below] = np.minimum(out[:, below], point[:, None])
    out[:, above] = np.maximum(out[:, above], point[:, None])
    return out
