"""The dynamic optimised theta model (DOTM; Fiorucci, Pellegrini, Louzada, Petropoulos & Koehler 2016), the ``dotm``
partner of a hybrid forecast.

The Theta method (``forecast_partners.theta``) forecasts simple exponential smoothing's level with half the slope of a
least-squares line through the whole series added per step — θ = 2 fixed, the line fixed. DOTM lets the data choose
θ and lets the line move: after the first c values y_1 … y_c (times 1 … c)

    ℓ_c = α y_c + (1 − α) ℓ_{c−1}                               (the level; ℓ_0 a parameter)
    A_c, B_c = the intercept and slope of the least-squares line through (1, y_1) … (c, y_c)   (A_1 = y_1, B_1 = 0)
    ŷ_{c+1|c} = ℓ_c + (1 − 1/θ) · [(1 − α)^c A_c + (1 − (1 − α)^{c+1}) / α · B_c]

— with θ = 2 and the line of all n values this is Hyndman & Billah's form of the Theta method. Further steps run the
same recursion on the forecasts: ŷ_{c+1|c} is taken as y_{c+1} to update ℓ, the mean ȳ and the line — the least-squares
line updated by one value,

    B_{c+1} = ((c − 1) B_c + 6 (y_{c+1} − ȳ_c) / (c + 1)) / (c + 2),   ȳ_{c+1} = (c ȳ_c + y_{c+1}) / (c + 1),
    A_{c+1} = ȳ_{c+1} − B_{c+1} (c + 2) / 2

— and so on (as the authors' ``forecTheta`` and statsforecast forecast it). The parameters (ℓ_0, α ∈ [0.1, 0.99],
θ ≥ 1) minimise the one-step errors' sum of squares Σ_{c≥2} (y_{c+1} − ŷ_{c+1|c})² (the first line is drawn through
two values). For a given α the one-step forecast is linear in ℓ_0 and in w = 1 − 1/θ ∈ [0, 1] (θ = ∞ at w = 1: the
line's whole slope), so those two come from a least-squares solve (w clipped to [0, 1], ℓ_0 solved again) and only α
is searched (a grid, then a bounded scalar minimisation around its best point).

Fiorucci et al. report DOTM ahead of the Theta method on M3 (its yearly series most: the slope a short trending series
needs is rarely half of its line's); here, alone on all of M3, MASE 1.355 against the Theta method's 1.414.
statsforecast's ``DynamicOptimizedTheta`` is the same model (its optimiser, start values and burn-in differ: with the
same parameters the forecasts are equal, tested, and this fit reaches the smaller sum of squares).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ALPHA_BOUNDS = (0.1, 0.99)


def running_line(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A_c, B_c) for c = 1 … n: the intercept and slope of the least-squares line through (1, x_1) … (c, x_c)."""
    c = np.arange(1, len(x) + 1, dtype=np.float64)
    mean_x, mean_t = np.cumsum(x) / c, (c + 1) / 2
    spread = c * (c * c - 1) / 12  # Σ (s − mean_t)² over s = 1 … c
    cross = np.cumsum(x * c) - c * mean_t * mean_x
    b = np.divide(cross, spread, out=np.zeros_like(c), where=spread > 0)
    return mean_x - mean_t * b, b


def _smoothed(x: np.ndarray, alpha: float) -> np.ndarray:
    """Σ_{j≤c} α (1 − α)^{c−j} x_j for c = 1 … n: the level ℓ_c without ℓ_0's part (1 − α)^c ℓ_0."""
    from scipy.signal import lfilter

    return lfilter([alpha], [1.0, alpha - 1.0], x)


def _one_step_terms(x: np.ndarray, alpha: float, a: np.ndarray, b: np.ndarray):
    """The one-step forecast from each origin c = 1 … n as E_c + (1 − α)^c ℓ_0 + w · D_c: returns (E, (1 − α)^c, D)."""
    c = np.arange(1, len(x) + 1, dtype=np.float64)
    decay = (1 - alpha) ** c
    return _smoothed(x, alpha), decay, decay * a + (1 - (1 - alpha) ** (c + 1)) / alpha * b


def _fit_given_alpha(x: np.ndarray, alpha: float, a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(sum of squared one-step errors from origins c ≥ 2, ℓ_0, w) for this α: ℓ_0 and w = 1 − 1/θ ∈ [0, 1] by least
    squares."""
    e, decay, line = _one_step_terms(x, alpha, a, b)
    target, g, d = x[2:] - e[1:-1], decay[1:-1], line[1:-1]
    (level0, w), *_ = np.linalg.lstsq(np.stack([g, d], 1), target, rcond=None)
    if not 0.0 <= w <= 1.0:
        w = float(np.clip(w, 0.0, 1.0))
        level0 = float(g @ (target - w * d) / (g @ g)) if g @ g > 0 else 0.0
    return float(np.sum((target - level0 * g - w * d) ** 2)), float(level0), float(w)


def fit_dotm(x: np.ndarray) -> tuple[float, float, float]:
    """(α, ℓ_0, θ) of DOTM fitted to x (at least 3 values, not all equal) by one-step least squares."""
    from scipy.optimize import minimize_scalar

    a, b = running_line(x)
    grid = np.linspace(*ALPHA_BOUNDS, 18)
    scores = [_fit_given_alpha(x, float(al), a, b)[0] for al in grid]
    i = int(np.argmin(scores))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    best = minimize_scalar(lambda al: _fit_given_alpha(x, al, a, b)[0], bounds=(lo, hi), method="bounded",
                           options={"xatol": 1e-4})
    alpha = float(best.x) if best.fun <= scores[i] else float(grid[i])
    _, level0, w = _fit_given_alpha(x, alpha, a, b)
    return alpha, level0, (1.0 / (1.0 - w) if w < 1.0 else float("inf"))


def dotm(x: np.ndarray, params: tuple[float, float, float] | None = None) -> Callable[[np.ndarray, int], np.ndarray]:
    """DOTM fitted to x (seasonally adjusted already), or with the given ``params`` (α, ℓ_0, θ): ahead(t, k) =
    ŷ_{t+k|t} for origins t (an array of 0-based positions: the forecast from the values x_0 … x_t alone, with the
    level and the line those values give). A series of fewer than 3 values, or a constant one, is forecast at its
    last value."""
    x = np.asarray(x, dtype=np.float64)
    if params is None and (len(x) < 3 or np.ptp(x) == 0):
        return lambda t, k: x[np.asarray(t)]
    alpha, level0, theta = fit_dotm(x) if params is None else params
    w = 1.0 - 1.0 / theta
    a, b = running_line(x)
    level = _smoothed(x, alpha) + (1 - alpha) ** np.arange(1, len(x) + 1) * level0

    def ahead(t: np.ndarray, k: int) -> np.ndarray:
        t = np.asarray(t)
        c = t + 1.0
        ell, line_a, line_b = level[t], a[t], b[t]
        for _ in range(k):  # each forecast taken as the next value: ℓ and the line move with it
            f = ell + w * ((1 - alpha) ** c * line_a + (1 - (1 - alpha) ** (c + 1)) / alpha * line_b)
            ell = alpha * f + (1 - alpha) * ell
            mean_c = line_a + line_b * (c + 1) / 2  # ȳ_c: the line passes through (mean time, mean value)
            line_b = ((c - 1) * line_b + 6 * (f - mean_c) / (c + 1)) / (c + 2)
            mean_c = (c * mean_c + f) / (c + 1)
            line_a = mean_c - line_b * (c + 2) / 2
            c = c + 1
        return f

    return ahead
