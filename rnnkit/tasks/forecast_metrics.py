"""Forecast accuracy, as the M-competitions and statsforecast define it (one series at a time; a panel averages them).

* MASE = mean_t |y_t − ŷ_t| / ( (1/(n−m)) Σ_{t>m} |x_t − x_{t−m}| ) — scaled by the in-sample seasonal naive's error
  (Hyndman & Koehler 2006); m = 1 for non-seasonal series, and m = 1 also when the history is no longer than m.
  A series whose history never changes has no scale: its MASE is NaN and the panel mean leaves it out (counted).
* sMAPE = mean_t 200 |y_t − ŷ_t| / (|y_t| + |ŷ_t|)  (the M3/M4 definition, in percent; a 0/0 term counts 0).
* MAE, RMSE.
* quantile loss = mean_t mean_τ ρ_τ(y_t, q_τ,t), ρ_τ(y, q) = max(τ (y − q), (τ − 1)(y − q)); scaled like MASE
  (÷ the same seasonal-naive error) so that series of different sizes average; CRPS ≈ 2 × the mean scaled
  quantile loss over the predicted levels (the quantile decomposition of the CRPS; exact as the levels get dense).
* coverage of an interval [lo, hi] = the share of actual values inside it.
"""

from __future__ import annotations

import math

import numpy as np


def naive_scale(history: np.ndarray, m: int) -> float:
    history = np.asarray(history, dtype=np.float64)
    if len(history) <= m:
        m = 1
    if len(history) < 2:
        return math.nan
    s = float(np.mean(np.abs(history[m:] - history[:-m])))
    return s if s > 0 else math.nan


def mase(y, f, history, m: int) -> float:
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(f, float)))) / naive_scale(history, m)


def smape(y, f) -> float:
    y, f = np.asarray(y, float), np.asarray(f, float)
    den = np.abs(y) + np.abs(f)
    terms = np.where(den > 0, 200.0 * np.abs(y - f) / np.where(den > 0, den, 1.0), 0.0)
    return float(terms.mean())


def mae(y, f) -> float:
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(f, float))))


def rmse(y, f) -> float:
    return float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(f, float)) ** 2)))


def quantile_loss(y, q, taus) -> float:
    """Mean pinball loss of quantile forecasts q (H, Q) at levels taus (Q,) for actual values y (H,)."""
    y, q, taus = np.asarray(y, float), np.asarray(q, float), np.asarray(taus, float)
    d = y[:, None] - q
    return float(np.mean(np.maximum(taus * d, (taus - 1) * d)))


def coverage(y, lo, hi) -> float:
    y = np.asarray(y, float)
    return float(np.mean((y >= np.asarray(lo, float)) & (y <= np.asarray(hi, float))))


def series_scores(y, q, taus, history, m: int) -> dict:
    """Every metric of one series' forecast: y (h,), q (h, Q) quantiles at taus (the median is τ = 0.5)."""
    taus = list(taus)
    q = np.asarray(q, float)
    point = q[:, taus.index(0.5)]
    scale = naive_scale(history, m)
    out = {"mase": mae(y, point) / scale, "smape": smape(y, point), "mae": mae(y, point), "rmse": rmse(y, point)}
    if len(taus) > 1:
        out["quantile_loss"] = quantile_loss(y, q, taus) / scale
        out["crps"] = 2 * out["quantile_loss"]
    for lo_tau, hi_tau, name in ((0.1, 0.9, "coverage_80"), (0.025, 0.975, "coverage_95")):
        if lo_tau in taus and hi_tau in taus:
            out[name] = coverage(y, q[:, taus.index(lo_tau)], q[:, taus.index(hi_tau)])
    return out


def panel_scores(rows: list[dict], by: str | None = None) -> dict:
    """Means over series of each metric (NaN left out; ``mase_undefined`` counts them); with ``by``, also per group."""
    def means(part):
        keys = [k for k in part[0] if isinstance(part[0][k], float)]
        out = {"series": len(part)}
        for k in keys:
            v = np.array([r[k] for r in part], dtype=float)
            out[k] = float(np.nanmean(v)) if np.isfinite(v).any() else math.nan
        out["mase_undefined"] = int(np.isnan([r["mase"] for r in part]).sum())
        return out

    if not rows:
        return {}
    result = {"all": means(rows)}
    if by:
        for g in sorted({r[by] for r in rows}):
            result[g] = means([r for r in rows if r[by] == g])
    return result


def flatten(scores: dict, prefix: str) -> dict:
    """``panel_scores``' groups as flat keys: ``{prefix}_{metric}`` for all series, ``{prefix}_{group}_{metric}``."""
    out = {}
    for group, values in scores.items():
        for k, v in values.items():
            out[f"{prefix}_{k}" if group == "all" else f"{prefix}_{group}_{k}"] = v
    return out


__all__ = ["flatten", "mase", "smape", "mae", "rmse", "quantile_loss", "coverage", "naive_scale", "series_scores",
           "panel_scores"]
