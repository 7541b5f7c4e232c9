"""Keras's activations, initializers and layer naming, reproduced on torch."""

from __future__ import annotations

import math
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
    raise ValueError(f"activation {fn_or_name!r} has no Keras name; pass a string")


def _fans(shape):
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def initialize(name: str, shape, generator=None) -> torch.Tensor:
    """Keras initializers by name: glorot_uniform, orthogonal, zeros, ones, he_normal, random_normal, ..."""
    name = {"GlorotUniform": "glorot_uniform", "Orthogonal": "orthogonal", "Zeros": "zeros", "Ones": "ones",
            "HeNormal": "he_normal", "HeUniform": "he_uniform", "GlorotNormal": "glorot_normal",
            "RandomUniform": "uniform", "RandomNormal": "random_normal"}.get(name, name)
    t = torch.empty(shape)
    fan_in, fan_out = _fans(tuple(shape))
    if name == "zeros":
        return t.zero_()
    if name == "ones":
        return t.fill_(1.0)
    if name == "glorot_uniform":
        lim = math.sqrt(6.0 / (fan_in + fan_out))
        return t.uniform_(-lim, lim, generator=generator)
    if name == "glorot_normal":
        return _truncated(t, math.sqrt(2.0 / (fan_in + fan_out)), generator)
    if name == "he_uniform":
        lim = math.sqrt(6.0 / fan_in)
        return t.uniform_(-lim, lim, generator=generator)
    if name == "he_normal":
        return _truncated(t, math.sqrt(2.0 / fan_in), generator)
    if name in ("uniform", "random_uniform"):
        return t.uniform_(-0.05, 0.05, generator=generator)
    if name == "random_normal":
        return t.normal_(0.0, 0.05, generator=generator)
    if name == "orthogonal":
        rows, cols = shape[0], math.prod(shape[1:])
        a = torch.randn(max(rows, cols), min(rows, cols), generator=generator)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.t()
        return q.reshape(shape).contiguous()
    raise ValueError(f"unknown initializer {name!r}")


def _truncated(t, std, generator):
    # Keras's truncated normal: stddev corrected for the truncation at 2σ
    torch.nn.init.trunc_normal_(t, 0.0, std / 0.87962566103423978, -2 * std / 0.87962566103423978,
                                2 * std / 0.87962566103423978, generator=generator)
    return t


_COUNTS: defaultdict[str, int] = defaultdict(int)


def snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


def unique_name(base: str) -> str:
    n = _COUNTS[base]
    _COUNTS[base] += 1
    return base if n == 0 else f"{base}_{n}"
