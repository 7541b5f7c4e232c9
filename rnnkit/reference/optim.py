"""SGD and Adam on dicts of NumPy arrays, with ``torch.optim.SGD`` / ``torch.optim.Adam`` semantics.

    SGD:   g ← g + λθ;   b ← μ b + g (b = g at the first step);   θ ← θ - η b              (μ = 0: θ ← θ - η g)
    Adam:  g ← g + λθ;   m ← β1 m + (1-β1) g;   v ← β2 v + (1-β2) g²
           θ ← θ - (η / (1-β1^t)) · m / (√v / √(1-β2^t) + ε)
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.common import Array


class SGD:
    def __init__(self, lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.buffers: dict[str, Array] = {}

    def step(self, params: dict[str, Array], grads: dict[str, Array]) -> dict[str, Array]:
        new = {}
        for k, p in params.items():
            g = grads[k] + self.weight_decay * p if self.weight_decay else grads[k]
            if self.momentum:
                b = self.buffers.get(k)
                b = g.copy() if b is None else self.momentum * b + g
                self.buffers[k] = b
                g = b
            new[k] = p - self.lr * g
        return new


class Adam:
    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.t = 0
        self.m: dict[str, Array] = {}
        self.v: dict[str, Array] = {}

    def step(self, params: dict[str, Array], grads: dict[str, Array]) -> dict[str, Array]:
        self.t += 1
        β1, β2 = self.betas
        bc1, bc2 = 1 - β1 ** self.t, 1 - β2 ** self.t
        new = {}
        for k, p in params.items():
            g = grads[k] + self.weight_decay * p if self.weight_decay else grads[k]
            m = self.m.get(k, np.zeros_like(p))
            v = self.v.get(k, np.zeros_like(p))
            m = m + (1 - β1) * (g - m)
            v = β2 * v + (1 - β2) * g * g
            self.m[k], self.v[k] = m, v
            new[k] = p - (self.lr / bc1) * m / (np.sqrt(v) / np.sqrt(bc2) + self.eps)
        return new
