"""Keras's activations, layer naming and dropout seeds, reproduced on torch (initializers: ``initializers.py``)."""

from __future__ import annotations

import re
from collections import defaultdict

import torch
from torch.nn import functional as F

from rnnkit.keras.tree import flatten  # noqa: F401 (Keras's tree order: ops and InputSpec flatten with it)


def linear(x):
    return x


def softmax(x):
    return torch.softmax(x, dim=-1)


def hard_sigmoid(x):
    return torch.clamp(x / 6.0 + 0.5, 0.0, 1.0)


# named functions, not lambdas: a layer holding one pickles (torch.save of a whole model, deepcopy across processes)
ACTIVATIONS = {
    "linear": linear, None: linear, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu,
    "softmax": softmax, "elu": F.elu, "selu": F.selu, "softplus": F.softplus,
    "softsign": F.softsign, "gelu": F.gelu, "swish": F.silu, "silu": F.silu,
    "hard_sigmoid": hard_sigmoid, "exponential": torch.exp,
}


def _named():
    """Every activation ``keras.activations`` knows by name (mish, leaky_relu, log_softmax, …), beyond the table
    above (imported when first asked: activations.py builds on ops)."""
    from rnnkit.keras.activations import _BY_NAME

    return _BY_NAME


def get_activation(name):
    if callable(name) and not isinstance(name, str):
        return name
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    if isinstance(name, str) and name in _named():
        return _named()[name]
    known = sorted({k for k in ACTIVATIONS if k} | set(_named()))
    raise ValueError(f"unknown activation {name!r}; expected one of {known}")


def activation_name(fn_or_name) -> str:
    if isinstance(fn_or_name, str):
        return fn_or_name
    for k, v in ACTIVATIONS.items():
        if v is fn_or_name and k:
            return k
    for k, v in _named().items():
        if v is fn_or_name:
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


def keras_generator(seed: int, draws: int) -> torch.Generator:
    """The generator of Keras 3's PyTorch backend for a ``SeedGenerator(seed)`` after ``draws`` draws (an int seed:
    draws 0): a CPU ``torch.Generator`` seeded ``seed + draws``."""
    return torch.Generator().manual_seed(int(seed + draws) & 0xFFFFFFFF)


class SeedStream:
    """A layer's ``SeedGenerator`` for its masks and noise: with a ``seed``, the n-th draw comes from
    ``keras_generator(seed, n)`` — Keras's own masks (a seeded Dropout, SpatialDropout1D, GaussianNoise, recurrent
    dropout or attention dropout trains to Keras's weights), whatever else uses torch's global generator; without a
    seed, the global generator."""

    def __init__(self, seed: int | None) -> None:
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"seed must be an integer or None, got {seed!r}")
        self.seed, self.draws = seed, 0

    def _next(self) -> torch.Generator:
        g = keras_generator(self.seed, self.draws)
        self.draws += 1
        return g

    def dropout_mask(self, shape, rate: float, like: torch.Tensor) -> torch.Tensor:
        """Inverted-dropout mask: 0 with probability ``rate``, else ``1 / (1 - rate)``."""
        keep = 1.0 - rate
        if self.seed is None:
            return torch.bernoulli(torch.full(tuple(shape), keep, device=like.device, dtype=like.dtype)) / keep
        mask = torch.bernoulli(torch.full(tuple(shape), keep), generator=self._next()) / keep
        return mask.to(like.device, like.dtype)

    def uniform(self, shape, like: torch.Tensor) -> torch.Tensor:
        """Uniform noise in [0, 1) of ``shape`` (AlphaDropout's keep test), from the same seeded stream."""
        if self.seed is None:
            return torch.rand(tuple(shape), device=like.device, dtype=like.dtype)
        return torch.rand(tuple(shape), generator=self._next()).to(like.device, like.dtype)

    def normal(self, shape, like: torch.Tensor) -> torch.Tensor:
        """Standard normal noise of ``shape`` (GaussianNoise, GaussianDropout), from the same seeded stream."""
        if self.seed is None:
            return torch.randn(tuple(shape), device=like.device, dtype=like.dtype)
        return torch.randn(tuple(shape), generator=self._next()).to(like.device, like.dtype)


EPSILON = 1e-7  # Keras's fuzz factor: probabilities clipped to [ε, 1 − ε], MAPE's floor on |y|


def epsilon() -> float:
    """``keras.backend.epsilon()``: the fuzz factor of losses and metrics."""
    return EPSILON


def floatx() -> str:
    return "float32"


def __getattr__(name: str):
    """keras.backend's helpers that live with the Keras objects or the settings (imported when asked for)."""
    if name in ("is_keras_tensor", "standardize_dtype", "is_float_dtype", "is_int_dtype", "get_uid"):
        from rnnkit.keras import keras_objects

        return getattr(keras_objects, name)
    if name in ("set_epsilon", "set_floatx", "image_data_format", "set_image_data_format", "backend"):
        from rnnkit.keras import config

        return getattr(config, name)
    from rnnkit.keras.not_provided import missing

    raise missing("backend", name)
