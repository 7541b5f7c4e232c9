"""Losses and a linear output head, each with its gradient written out (NumPy, float64).

    MSE:                L = (1/N) Σ (ŷ - y)²,                   ∂L/∂ŷ = 2 (ŷ - y) / N          (N = number of elements)
    softmax cross-entropy over classes, mean over the N rows:
                        p = softmax(z),  L = -(1/N) Σ_n log p_{n, y_n},   ∂L/∂z = (p - onehot(y)) / N
    linear head:        ŷ = h W_hy^T + b_y,   ∂L/∂W_hy = δŷ^T h,  ∂L/∂b_y = Σ δŷ,  ∂L/∂h = δŷ W_hy
These are ``torch.nn.MSELoss()`` and ``torch.nn.CrossEntropyLoss()`` with their default mean reduction.
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.common import Array


def mse(pred: Array, target: Array) -> tuple[float, Array]:
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"MSE: prediction has shape {pred.shape} but target has shape {target.shape}")
    diff = pred - target
    return float(np.mean(diff * diff)), 2.0 * diff / diff.size


def cross_entropy(logits: Array, labels: Array) -> tuple[float, Array]:
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross-entropy labels must be integers, got dtype {labels.dtype}")
    flat = logits.reshape(-1, logits.shape[-1])
    y = labels.reshape(-1)
    if y.shape[0] != flat.shape[0]:
        raise ValueError(f"cross-entropy: {flat.shape[0]} predictions but {y.shape[0]} labels")
    C = flat.shape[1]
    if y.size and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"cross-entropy: labels must be in [0, {C}), got range [{y.min()}, {y.max()}]")
    z = flat - flat.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    N = flat.shape[0]
    loss = -float(log_p[np.arange(N), y].mean())
    d = np.exp(log_p)
    d[np.arange(N), y] -= 1.0
    return loss, (d / N).reshape(logits.shape)


LOSSES = {"mse": mse, "cross_entropy": cross_entropy}


def linear_forward(W: Array, b: Array | None, h: Array) -> Array:
    return h @ W.T + (b if b is not None else 0.0)


def linear_backward(W: Array, h: Array, d_out: Array) -> tuple[Array, Array, Array]:
    """Returns (∂L/∂h, ∂L/∂W, ∂L/∂b) for any leading shape of ``h``."""
    h2 = h.reshape(-1, h.shape[-1])
    d2 = d_out.reshape(-1, d_out.shape[-1])
    return d_out @ W, d2.T @ h2, d2.sum(0)
