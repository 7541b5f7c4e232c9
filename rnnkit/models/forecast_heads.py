"""Output heads of the forecaster: what it predicts for each future step, in the scaled space ``z``.

* ``quantile`` — Q quantiles q_τ, kept in order by construction: q_τ1 = a_1, q_τk = q_τ(k−1) + softplus(a_k); trained
  with the pinball loss  ρ_τ(z, q) = max(τ (z − q), (τ − 1)(z − q))  averaged over τ and steps (MQ-RNN, Wen et al. 2017).
* ``gaussian`` — μ, σ = softplus(a) + ε; trained with the negative log-likelihood of N(μ, σ²) (DeepAR, Salinas et al.
  2020).
* ``student-t`` — μ, σ, ν = 2 + softplus(a); the Student-t negative log-likelihood (heavier tails).

Each head gives ``quantiles(params, taus)`` (the point forecast is the median, τ = 0.5) and ``sample(params, n)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

HEADS = ("quantile", "gaussian", "student-t")
DEFAULT_QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)
_EPS = 1e-3


def quantile_levels(taus, what: str = "quantiles", median: bool = True) -> tuple[float, ...]:
    """Quantile levels, sorted and distinct; each in (0, 1), and (with ``median``) 0.5, the point forecast, among them."""
    try:
        levels = tuple(sorted({float(t) for t in taus}))
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers, got {taus!r}") from None
    if (median and 0.5 not in levels) or not all(0 < t < 1 for t in levels):
        raise ValueError(f"{what} must lie in (0, 1){' and include 0.5' if median else ''}, got "
                         f"{', '.join(map(str, taus))}")
    return levels


def head_size(head: str, quantiles) -> int:
    return len(quantiles) if head == "quantile" else 2 if head == "gaussian" else 3


def params(head: str, raw: Tensor) -> Tensor:
    """Raw outputs (..., P) → the head's parameters (ordered quantiles, or μ, σ[, ν])."""
    if head == "quantile":
        if raw.shape[-1] == 1:
            return raw
        return torch.cat([raw[..., :1], raw[..., :1] + torch.cumsum(F.softplus(raw[..., 1:]), -1)], -1)
    sigma = F.softplus(raw[..., 1:2]) + _EPS
    if head == "gaussian":
        return torch.cat([raw[..., :1], sigma], -1)
    return torch.cat([raw[..., :1], sigma, 2.0 + F.softplus(raw[..., 2:3])], -1)


def shift(head: str, p: Tensor, loc: Tensor) -> Tensor:
    """Add ``loc`` (…, 1) to the location: every quantile, or μ."""
    if head == "quantile":
        return p + loc
    return torch.cat([p[..., :1] + loc, p[..., 1:]], -1)


def pinball(z: Tensor, q: Tensor, taus: Tensor) -> Tensor:
    """ρ_τ(z, q) elementwise: z (…,), q (…, Q), taus (Q,) → (…, Q)."""
    diff = z.unsqueeze(-1) - q
    return torch.maximum(taus * diff, (taus - 1) * diff)


def nll(head: str, z: Tensor, p: Tensor, taus: Tensor | None = None) -> Tensor:
    """The training loss per element (…,) of targets z (…,) under parameters p (…, P)."""
    if head == "quantile":
        return pinball(z, p, taus).mean(-1)
    mu, sigma = p[..., 0], p[..., 1]
    if head == "gaussian":
        return 0.5 * ((z - mu) / sigma) ** 2 + torch.log(sigma) + 0.5 * math.log(2 * math.pi)
    nu = p[..., 2]
    return -torch.distributions.StudentT(nu, mu, sigma).log_prob(z)


def quantiles(head: str, p: Tensor, taus, head_taus=None) -> Tensor:
    """The τ-quantiles (…, len(taus)) of the predicted distribution (a quantile head interpolates its own levels)."""
    taus_t = torch.as_tensor(list(taus), dtype=p.dtype, device=p.device)
    if head == "quantile":
        levels = list(head_taus)
        if list(taus) == levels:
            return p
        return _interpolate(p, torch.as_tensor(levels, dtype=p.dtype, device=p.device), taus_t)
    mu, sigma = p[..., :1], p[..., 1:2]
    if head == "gaussian":
        return mu + sigma * math.sqrt(2) * torch.erfinv(2 * taus_t - 1)
    from scipy.stats import t as student_t

    ppf = student_t.ppf(taus_t.cpu().double().numpy()[None, :], p[..., 2:3].detach().cpu().double().reshape(-1, 1)
                        .numpy())
    ppf = torch.as_tensor(ppf, dtype=p.dtype, device=p.device).reshape(*p.shape[:-1], len(taus_t))
    return mu + sigma * ppf


def _interpolate(q: Tensor, levels: Tensor, taus: Tensor) -> Tensor:
    """Piecewise-linear in τ between the head's levels; flat beyond the outermost ones."""
    idx = torch.searchsorted(levels, taus).clamp(1, len(levels) - 1)
    lo, hi = levels[idx - 1], levels[idx]
    w = ((taus - lo) / (hi - lo)).clamp(0, 1)
    return q[..., idx - 1] * (1 - w) + q[..., idx] * w


def sample(head: str, p: Tensor, generator: torch.Generator | None = None, head_taus=None) -> Tensor:
    """One draw per element (…,) from the predicted distribution (a quantile head: inverse-CDF of its levels)."""
    if head == "gaussian":
        eps = torch.randn(p.shape[:-1], generator=generator, dtype=p.dtype, device=p.device)
        return p[..., 0] + p[..., 1] * eps
    if head == "student-t":
        u = torch.rand(p.shape[:-1], generator=generator, dtype=torch.float64, device=p.device)
        from scipy.stats import t as student_t

        ppf = student_t.ppf(u.cpu().numpy(), p[..., 2].detach().cpu().double().numpy())
        return p[..., 0] + p[..., 1] * torch.as_tensor(ppf, dtype=p.dtype, device=p.device)
    levels = torch.as_tensor(list(head_taus), dtype=p.dtype, device=p.device)
    u = torch.rand(p.shape[:-1], generator=generator, dtype=p.dtype, device=p.device).clamp(levels[0], levels[-1])
    idx = torch.searchsorted(levels, u.unsqueeze(-1)).clamp(1, len(levels) - 1)
    lo, hi = levels[idx - 1], levels[idx]
    w = (u.unsqueeze(-1) - lo) / (hi - lo)
    return (p.gather(-1, idx - 1) * (1 - w) + p.gather(-1, idx) * w).squeeze(-1)


__all__ = ["HEADS", "DEFAULT_QUANTILES", "head_size", "params", "shift", "pinball", "nll", "quantiles", "sample"]
