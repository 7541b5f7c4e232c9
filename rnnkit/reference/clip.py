"""Gradient clipping, with ``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_`` semantics.

By global norm: with ‖g‖ the norm of all gradients concatenated (p = 2 by default, ∞ for the max),
    g ← g · min(1, max_norm / (‖g‖ + 1e-6))
— the direction is kept, only the length is capped; the pre-clip ‖g‖ is returned (log it: it is how explosions show).
By value: every component is clamped to [-clip_value, clip_value] (the direction changes).
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.common import Array


def global_norm(grads: dict[str, Array], norm_type: float = 2.0) -> float:
    if not grads:
        return 0.0
    if norm_type == float("inf"):
        return float(max(np.abs(g).max() for g in grads.values()))
    return float(sum(float(np.sum(np.abs(g) ** norm_type)) for g in grads.values()) ** (1.0 / norm_type))


def clip_grad_norm(grads: dict[str, Array], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale ``grads`` in place; return the total norm before clipping."""
    if max_norm <= 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    total = global_norm(grads, norm_type)
    if not np.isfinite(total):
        raise ValueError(f"the gradient norm is {total}: non-finite gradients cannot be clipped")
    coef = min(1.0, max_norm / (total + 1e-6))
    for k in grads:
        grads[k] = grads[k] * coef
    return total


def clip_grad_value(grads: dict[str, Array], clip_value: float) -> None:
    if clip_value <= 0:
        raise ValueError(f"clip_value must be positive, got {clip_value}")
    for k in grads:
        grads[k] = np.clip(grads[k], -clip_value, clip_value)
