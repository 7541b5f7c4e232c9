"""Activations and their derivatives, and the small helpers every reference module shares (NumPy, float64)."""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def sigmoid(a: Array) -> Array:
    """σ(a) = 1 / (1 + e^{-a}), computed without overflow for large |a|."""
    out = np.empty_like(a)
    pos = a >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-a[pos]))
    e = np.exp(a[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def activation(name: str):
    """(σ, σ' expressed through the output y = σ(a) and the input a)."""
    if name == "tanh":
        return np.tanh, lambda y, a: 1.0 - y * y
    if name == "relu":
        return (lambda a: np.maximum(a, 0.0)), (lambda y, a: (a > 0).astype(a.dtype))
    raise ValueError(f"Unknown nonlinearity {name!r}. Select from 'tanh' or 'relu'.")


def add_grad(grads: dict[str, Array], name: str, value: Array) -> None:
    grads[name] = grads[name] + value if name in grads else value.copy()


def as_float64(name: str, x, ndim: tuple[int, ...] | None = None) -> Array:
    """Check ``x`` is a finite real array (of one of the ``ndim`` ranks) and return it as float64."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimensions, got shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{name} contains a non-finite value ({arr[bad]}) at index {bad}")
    return arr


def sequence_input(x, batch_first: bool, input_size: int) -> Array:
    """Check a (T, B, I) — or (B, T, I) with ``batch_first`` — input and return it time-major, float64."""
    x = as_float64("input", x, (3,))
    if batch_first:
        x = x.transpose(1, 0, 2)
    if x.shape[0] == 0:
        raise ValueError("input has no time steps")
    if x.shape[2] != input_size:
        raise ValueError(f"input has {x.shape[2]} features, expected input_size={input_size}")
    return x
