"""``rnnkit.keras.constraints``: Keras 3's weight constraints, applied after every optimizer step in ``fit``.

``MaxNorm(max_value, axis)`` and ``MinMaxNorm(min_value, max_value, rate, axis)`` rescale each weight vector (norm taken
along ``axis``; 0 = the vector of a unit's incoming weights in Keras's (in, units) layout) towards the allowed range:
``w · desired / (ε + ‖w‖)`` with Keras's ε = 1e-7; ``UnitNorm(axis)``: ``w / (ε + ‖w‖)``; ``NonNeg``: ``max(w, 0)``.
"""

from __future__ import annotations

import torch

from rnnkit.keras.serialization import lookup, module_functions, snake_table

EPSILON = 1e-7  # keras.backend.epsilon()


class Constraint:
    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _norms(w, axis):
    return w.square().sum(dim=axis, keepdim=True).sqrt()


class MaxNorm(Constraint):
    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        return w * (norms.clamp(0, self.max_value) / (EPSILON + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (EPSILON + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    def __call__(self, w):
        return w.clamp_min(0.0)


class UnitNorm(Constraint):
    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (EPSILON + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


TABLE = snake_table((MaxNorm, MinMaxNorm, NonNeg, UnitNorm))


def get(identifier):
    """``keras.constraints.get``: None, a name (``"max_norm"``, ``"non_neg"``), a config dict or a callable."""
    return lookup(identifier, TABLE, "constraint")


serialize, deserialize = module_functions(TABLE, "constraint", "keras.constraints")
serialize_constraint = serialize  # (the name rnnkit's layers use)


# Keras's lowercase names for the same classes: constraints.max_norm(3)
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get", "serialize", "deserialize", "max_norm",
           "min_max_norm", "non_neg", "unit_norm"]
