"""The hybrid forecast's distribution: the RNN ensemble's quantiles and the statistical partners' forecasts
(``rnnkit.tasks.forecast_partners``) combined into one set of quantiles.

The point forecast ŷ_k = w · ŷ_k^RNN + (1 − w) · (1/|A|) Σ_{p∈A} ŷ_k^p (A: the partners in the series' pool; the
RNN's weight w, 0 where the pool leaves it out; with ``pool_weights="inverse-mse"`` each member of the pool weighs
1 / its in-sample error², ``PartnerForecast.share``) is reported as the 0.5 level; the intervals are the quantiles of a
mixture (a linear pool) of all the forecasts' own predictive distributions, so they widen where the methods disagree —
as an honest forecast should when two reasonable methods do:

    F_k(x) = w · F_k^RNN(x) + (1 − w) · (1/|P|) Σ_{p∈P} Φ((x − ŷ_k^p) / σ_k^p)    (Φ((log x − log ŷ_k^p) / σ_k^p)
                                                                                 for a partner on logs: forecast_partners)
    q_τ,k = F_k⁻¹(τ), kept on its side of ŷ_k; q_0.5,k = ŷ_k

F^RNN is the piecewise-linear CDF through the ensemble's quantiles at ``MIXTURE_LEVELS`` (and the asked levels), its
outermost pieces extended to 0 and 1; each partner's is a Gaussian around its forecast whose spread σ_k^p at step k is
the root mean square of its **own in-sample k-step errors**: the fitted method run from every origin t inside the
history, e_{t,k} = y_{t+k} − ŷ_{t+k|t}, as in the empirical prediction intervals of Williams & Goodman (1971). Unlike
the model-based formulas (e.g. σ²(1 + (k − 1)α²) for simple exponential smoothing), those errors include the trend the
method gets wrong (in the M4 competition most methods' model-based 95% intervals covered too little). (Until session 25
each partner borrowed the RNN's spread, re-centred on its forecast, with every component's spread scaled by 0.9: on
M3 and the classic panel the partners' own spreads scored a lower quantile loss, and the 95% interval went from 94.3%
/ 85.3% to 95.8% / 90.8% coverage — see the README.) A partner whose history has no k-step errors to measure (fewer
than 3 values) takes the RNN's distribution re-centred on its forecast.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from rnnkit.tasks.forecast_partners import PartnerForecast

MIXTURE_LEVELS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99)


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


def _partner_quantiles(p: PartnerForecast, z: np.ndarray, rnn_spread: np.ndarray) -> np.ndarray:
    """A partner's quantiles (h, levels) at the standard normal's z_τ: ŷ + z_τ σ (ŷ · exp(z_τ σ) for a partner on
    logs), or the RNN's spread q_τ − q_0.5 around ŷ where σ was not measured."""
    if not np.isfinite(p.sigma).all():
        return p.point[:, None] + rnn_spread
    spread = z * p.sigma[:, None]
    return p.point[:, None] * np.exp(spread) if p.log else p.point[:, None] + spread


def combine(q: np.ndarray, levels, partners: list[PartnerForecast], weight: float,
            rnn_pooled: bool = True) -> np.ndarray:
    """The hybrid's quantiles (h, len(levels)) from the RNN ensemble's q (h, len(levels), 0.5 among the levels) and
    the partners' forecasts: the weighted mean with the ``pooled`` partners at 0.5 (the pooled partners' mean alone
    where the RNN is not ``rnn_pooled``), the linear pool's quantiles (every partner, and the RNN with its weight)
    elsewhere (one component, when w is 1: the RNN's own quantiles)."""
    if not partners:  # none forecasts this series (too short for all of them): the RNN's own quantiles
        return np.array(q, dtype=np.float64)
    levels = np.asarray(levels, dtype=np.float64)
    med = int(np.flatnonzero(levels == 0.5)[0])
    rnn = q[:, med]
    pooled = [p for p in partners if p.pooled]
    if all(np.isfinite(p.share) for p in pooled):  # the pool's shares by error (``inverse_mse_shares``)
        shares = [p.share for p in pooled]
        point = (1 - sum(shares)) * rnn + sum(a * p.point for a, p in zip(shares, pooled))
    else:
        w = weight if rnn_pooled else 0.0
        point = w * rnn + (1 - w) * np.mean([p.point for p in pooled], 0)
    z = np.array([NormalDist().inv_cdf(t) for t in levels])
    components = [(weight, q)] + [((1 - weight) / len(partners), _partner_quantiles(p, z, q - rnn[:, None]))
                                  for p in partners]
    components = [(a, c) for a, c in components if a > 0]
    out = np.empty_like(q, dtype=np.float64)
    for t in range(len(q)):
        parts = [(a, _cdf_points(c[t], levels)) for a, c in components]
        knots = np.unique(np.concatenate([x for _, (x, _) in parts]))
        F = sum(a * np.interp(knots, x, Fx) for a, (x, Fx) in parts)
        out[t] = _quantiles(levels, F, knots)
    out[:, med] = point
    below, above = levels < 0.5, levels > 0.5
    out[:, below] = np.minimum(out[:, below], point[:, None])
    out[:, above] = np.maximum(out[:, above], point[:, None])
    return out
