"""``rnnkit.keras.regularizers``: Keras 3's weight and activity penalties.

``L1(l1)``: ``l1 · Σ|x|``; ``L2(l2)``: ``l2 · Σx²``; ``L1L2(l1, l2)``: both; ``OrthogonalRegularizer(factor, mode)``:
``factor · ½ · Σ_{i≠j} |⟨r̂_i, r̂_j⟩| / (n(n-1)/2)`` over the L2-normalised rows (or columns). As in Keras, the names
``"l1"``, ``"l2"`` mean factor 0.01, and a layer's ``losses`` lists each penalty of its current weights (and of its
last call's outputs, for an ``activity_regularizer``: divided by the batch size) — ``fit`` adds them to the loss.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnnkit.keras.serialization import lookup, module_functions, snake_table


class Regularizer:
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(())

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _factor(value, name: str) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


class L1(Regularizer):
    def __init__(self, l1=0.01):
        self.l1 = _factor(l1, "l1")

    def __call__(self, x):
        return self.l1 * x.abs().sum()

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    def __init__(self, l2=0.01):
        self.l2 = _factor(l2, "l2")

    def __call__(self, x):
        return self.l2 * x.square().sum()

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _factor(l1, "l1"), _factor(l2, "l2")

    def __call__(self, x):
        out = x.new_zeros(())
        if self.l1:
            out = out + self.l1 * x.abs().sum()
        if self.l2:
            out = out + self.l2 * x.square().sum()
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: mode must be 'rows' or 'columns', got {mode!r}")
        self.mode = mode

    def __call__(self, x):
        if x.dim() != 2:
            raise ValueError(f"OrthogonalRegularizer needs a 2-D weight, got shape {tuple(x.shape)}")
        v = F.normalize(x, dim=1) if self.mode == "rows" else F.normalize(x, dim=0).t()
        n = v.shape[0]
        product = (v @ v.t()) * (1.0 - torch.eye(n, dtype=x.dtype, device=x.device))
        return self.factor * 0.5 * product.abs().sum() / (n * (n - 1.0) / 2.0)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


TABLE = {**snake_table((L1, L2, L1L2, OrthogonalRegularizer)), "l1l2": L1L2}


def get(identifier):
    """``keras.regularizers.get``: None, a name (``"l1"``, ``"l2"``, ``"l1_l2"``), a config dict or a callable."""
    return lookup(identifier, TABLE, "regularizer")


serialize, deserialize = module_functions(TABLE, "regularizer", "keras.regularizers")
serialize_regularizer = serialize  # (the name rnnkit's layers use)


# Keras's lowercase names for the same classes: regularizers.l2(1e-4)
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "get", "serialize", "deserialize", "l1", "l2",
           "l1_l2", "orthogonal_regularizer"]
