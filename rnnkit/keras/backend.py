"""Keras's activations, layer naming and dropout seeds, reproduced on torch (initializers: ``initializers.py``)."""

from __future__ import annotations

import re
from collections import defaultdict

import torch
from torch.nn import functional as F

ACTIVATIONS = {
    "linear": lambda x: x, None: lambda x: x, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
    "softmax": lambda x: torch.softmax(x, dim=-1), "elu": F.elu, "selu": F.selu, "softplus": F.softplus,
    "softsign": F.softsign, "gelu": F.gelu, "swish": F.silu, "silu": F.silu,
    "hard_sigmoid": lambda x: torch.clamp(x / 6.0 + 0.5, 0.0, 1.0), "exponential": torch.exp,
}


def get_activation(name):
    if callable(name) and not isinstance(name, str):
        return name
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(k for k in ACTIVATIONS if k)}")
    return ACTIVATIONS[name]


def activation_name(fn_or_name) -> str:
    if isinstance(fn_or_name, str):
        return fn_or_name
    for k, v in ACTIVATIONS.items():
        if v is fn_or_name and k:
            return k
    name = getattr(fn_or_name, "__name__", None)  # rnnkit.keras.activations.relu and the like: their Keras name
    if name in ACTIVATIONS and getattr(fn_or_name, "__module__", "").startswith("rnnkit.keras."):
        return name
    raise ValueError(f"activation {fn_or_name!r} has no Keras name; pass a string")


_COUNTS: defaultdict[str, int] = defaultdict(int)


def snake(name: str) -> str:
    """Keras's ``to_snake_case``: SimpleRNN → simple_rnn, SpatialDropout1D → spatial_dropout1d."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def clear_session(free_memory: bool = True) -> None:
    """Keras's ``clear_session``: layer and model names count from zero again (``dense``, ``dense_1``, …)."""
    _COUNTS.clear()


def unique_name(base: str) -> str:
    n = _COUNTS[base]
    _COUNTS[base] += 1
    return base if n == 0 else f"{base}_{n}"


class SeedStream:
    """Keras's ``SeedGenerator`` for dropout: with a ``seed`` every mask comes from a generator seeded by (seed, n-th
    draw) — the same masks for the same seed whatever else uses torch's global RNG; without one, the global RNG."""

    def __init__(self, seed: int | None) -> None:
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"seed must be an integer or None, got {seed!r}")
        self.seed, self.draws = seed, 0

    def dropout_mask(self, shape, rate: float, like: torch.Tensor) -> torch.Tensor:
        """Inverted-dropout mask: 0 with probability ``rate``, else ``1 / (1 - rate)``."""
        keep = 1.0 - rate
        if self.seed is None:
            return torch.bernoulli(torch.full(tuple(shape), keep, device=like.device, dtype=like.dtype)) / keep
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + self.draws) & 0xFFFFFFFF)
        self.draws += 1
        return (torch.bernoulli(torch.full(tuple(shape), keep), generator=g) / keep).to(like.device, like.dtype)

    def normal(self, shape, like: torch.Tensor) -> torch.Tensor:
        """Standard normal noise of ``shape`` (GaussianNoise, GaussianDropout), from the same seeded stream."""
        if self.seed is None:
            return torch.randn(tuple(shape), device=like.device, dtype=like.dtype)
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + self.draws) & 0xFFFFFFFF)
        self.draws += 1
        return torch.randn(tuple(shape), generator=g).to(like.device, like.dtype)
