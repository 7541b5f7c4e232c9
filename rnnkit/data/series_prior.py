"""Synthetic series drawn from a prior of simple processes: extra training windows for a group of few series.

A group of a handful of yearly series (the classic panel's Nile, Lake Huron, sunspots, airmiles, …) shows its
forecaster few shapes: after training on them it continues a spike as if it were a new level and a cycle as if it were
a trend. Series drawn from the processes the statistical methods assume — the idea of training on a prior (ForecastPFN,
Dooley et al. 2023; Chronos's synthetic series, Ansari et al. 2024) at a small scale — teach it what a window of each
looks like and how each goes on. Series k is x_t = exp(ℓ + y_t), t = 1..n, with n ~ U{30, …, 150}, a level
ℓ = log U(10, 10 000) and y from process k mod 5 (ε, η, ζ independent N(0, 1); after 50 steps of burn-in):

1. AR(1) around the level:   y_t = φ y_{t−1} + σ ε_t,                    φ ~ U(0, 0.95), σ ~ U(0.03, 0.2)
2. AR(2) cycle of period p:  y_t = 2r cos(2π/p) y_{t−1} − r² y_{t−2} + σ ε_t,
                                                                          p ~ U(5, 15), r ~ U(0.6, 0.95), σ ~ U(0.05, 0.3)
3. local level:              μ_t = μ_{t−1} + σ_μ η_t,  y_t = μ_t + σ_ε ε_t,   σ_μ ~ U(0.005, 0.08), σ_ε ~ U(0.02, 0.15)
4. random walk with drift:   y_t = y_{t−1} + d + σ ε_t,                  d ~ U(−0.02, 0.12), σ ~ U(0.01, 0.08)
5. damped local trend:       b_t = φ b_{t−1} + 0.3σ η_t,  μ_t = μ_{t−1} + b_t + σ ζ_t,  y_t = μ_t + 0.5σ ε_t,
                                                                          φ ~ U(0.8, 1), σ ~ U(0.01, 0.05), b_0 ~ U(−0.03, 0.1)

so growth is by a factor (what ``log`` models) and every value is positive. The series are non-seasonal (period 1):
they are for yearly and other groups. Fully determined by the seed; training windows only, never forecast.
"""

from __future__ import annotations

import numpy as np

from rnnkit.data.series import Series

BURN_IN = 50
PROCESSES = ("ar1", "ar2_cycle", "local_level", "drift", "damped_trend")


def ar(eps: np.ndarray, coefs: tuple[float, ...], sigma: float) -> np.ndarray:
    """y_t = Σ_i a_i y_{t−i} + σ ε_t from y = 0 before the start."""
    y = np.zeros(len(eps))
    for t in range(len(eps)):
        y[t] = sigma * eps[t] + sum(a * y[t - i] for i, a in enumerate(coefs, 1) if t >= i)
    return y


def damped_trend(eps: np.ndarray, eta: np.ndarray, zeta: np.ndarray, phi: float, sigma: float, b0: float) -> np.ndarray:
    """b_t = φ b_{t−1} + 0.3σ η_t, μ_t = μ_{t−1} + b_t + σ ζ_t (b_0 given, μ_0 = 0), y_t = μ_t + 0.5σ ε_t."""
    b, mu, y = b0, 0.0, np.zeros(len(eps))
    for t in range(len(eps)):
        b = phi * b + 0.3 * sigma * eta[t]
        mu = mu + b + sigma * zeta[t]
        y[t] = mu + 0.5 * sigma * eps[t]
    return y


def draw_process(kind: str, n: int, g: np.random.Generator) -> np.ndarray:
    """n steps of ``kind`` (one of ``PROCESSES``) with parameters drawn from the prior (see the module)."""
    eps = g.standard_normal(n)
    if kind == "ar1":
        return ar(eps, (g.uniform(0, 0.95),), g.uniform(0.03, 0.2))
    if kind == "ar2_cycle":
        p, r, sigma = g.uniform(5, 15), g.uniform(0.6, 0.95), g.uniform(0.05, 0.3)
        return ar(eps, (2 * r * np.cos(2 * np.pi / p), -r * r), sigma)
    if kind == "local_level":
        s_mu, s_eps = g.uniform(0.005, 0.08), g.uniform(0.02, 0.15)
        return np.cumsum(s_mu * g.standard_normal(n)) + s_eps * eps
    if kind == "drift":
        return np.cumsum(g.uniform(-0.02, 0.12) + g.uniform(0.01, 0.08) * eps)
    if kind == "damped_trend":
        phi, sigma, b0 = g.uniform(0.8, 1.0), g.uniform(0.01, 0.05), g.uniform(-0.03, 0.1)
        return damped_trend(eps, g.standard_normal(n), g.standard_normal(n), phi, sigma, b0)
    raise ValueError(f"unknown process {kind!r}; expected one of {', '.join(PROCESSES)}")


def prior_series(count: int, seed: int = 0, freq: str = "yearly") -> list[Series]:
    """``count`` series from the prior (process k mod 5 for series k), ids ``prior0``, ``prior1``, …"""
    if count < 0:
        raise ValueError(f"count must be at least 0, got {count}")
    g = np.random.default_rng(seed)
    out = []
    for k in range(count):
        kind, n = PROCESSES[k % len(PROCESSES)], int(g.integers(30, 151))
        y = draw_process(kind, BURN_IN + n, g)[BURN_IN:]
        level = np.log(g.uniform(10, 10_000))
        out.append(Series(id=f"prior{k}", values=np.exp(level + y), freq=freq, period=1, source=f"synthetic ({kind})"))
    return out


__all__ = ["prior_series", "draw_process", "PROCESSES"]
