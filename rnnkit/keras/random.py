"""``keras.random`` on torch: ``normal``, ``uniform``, ``truncated_normal``, ``randint``, ``categorical``,
``dropout``, ``shuffle``, ``gamma``, ``binomial`` and ``beta`` with Keras's ``seed`` argument — an int (the same
numbers every call) or a ``SeedGenerator`` (a new draw each call, reproducible from its seed) — giving Keras 3's own
numbers on its PyTorch backend: a draw with seed ``s`` after ``k`` earlier draws of a generator comes from
``torch.Generator`` seeded ``s + k`` (``gamma``/``binomial``/``beta``: torch's distributions drawn from the global
generator seeded so, its state restored after, as Keras draws them). With no seed, torch's global generator
(``keras.utils.set_random_seed`` seeds it)."""

from __future__ import annotations

import random as python_random

import torch

from rnnkit.keras.backend import keras_generator
from rnnkit.keras.ops.core import convert_to_tensor, torch_dtype


class SeedGenerator:
    """Keras's ``SeedGenerator(seed)``: its state is (seed, draws); each ``next()`` returns the state and counts one
    more draw. Without a seed, a random one (as Keras)."""

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs) -> None:
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"SeedGenerator: seed must be an integer or None, got {seed!r}")
        self._initial_seed, self.name = seed, name or "seed_generator"
        self.state = [python_random.randint(1, int(1e9)) if seed is None else seed, 0]

    def next(self, ordered: bool = True) -> tuple[int, int]:
        current = tuple(self.state)
        self.state = [self.state[0], self.state[1] + 1]
        return current

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _generator(seed) -> torch.Generator | None:
    """The torch generator for Keras's ``seed`` argument (None: the global one)."""
    pair = _seed_pair(seed)
    return None if pair is None else keras_generator(*pair)


def _seed_pair(seed) -> tuple[int, int] | None:
    if seed is None:
        return None
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, int) and not isinstance(seed, bool):
        return seed, 0
    raise ValueError(f"seed must be an int, a SeedGenerator or None, got {seed!r}")


def _from_distribution(distribution, dtype, seed) -> torch.Tensor:
    """A sample of a ``torch.distributions`` object, from the global generator seeded by ``seed`` (its state kept)."""
    pair = _seed_pair(seed)
    if pair is None:
        return distribution.sample().to(_float(dtype))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(pair[0] + pair[1]) & 0xFFFFFFFF)
        return distribution.sample().to(_float(dtype))


def _broadcast(value, shape) -> torch.Tensor:
    return torch.broadcast_to(convert_to_tensor(value).float(), tuple(shape))


def gamma(shape, alpha, dtype=None, seed=None):
    """Gamma(α, 1) draws."""
    a = _broadcast(alpha, shape)
    return _from_distribution(torch.distributions.Gamma(a, torch.ones_like(a)), dtype, seed)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """The number of successes of ``counts`` trials, each with probability ``probabilities``."""
    return _from_distribution(torch.distributions.Binomial(total_count=_broadcast(counts, shape),
                                                           probs=_broadcast(probabilities, shape)), dtype, seed)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Beta(α, β) draws."""
    return _from_distribution(torch.distributions.Beta(_broadcast(alpha, shape), _broadcast(beta, shape)), dtype,
                              seed)


def _float(dtype):
    return torch_dtype(dtype) if dtype is not None else torch.float32


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return torch.normal(mean, stddev, size=tuple(shape), generator=_generator(seed), dtype=_float(dtype))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    shape = tuple(shape)
    u = torch.rand(shape or (1,), generator=_generator(seed), dtype=_float(dtype))
    out = (maxval - minval) * u + minval
    return out if shape else out[0]


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal values within two standard deviations: of four draws per value, the first inside (−2, 2) (the
    first one when none is, which happens with probability 4e-6)."""
    z = normal((*tuple(shape), 4), dtype=dtype, seed=seed)
    first_inside = ((z > -2) & (z < 2)).to(torch.uint8).argmax(dim=-1, keepdim=True)
    return z.gather(-1, first_inside).squeeze(-1) * stddev + mean


def randint(shape, minval, maxval, dtype="int32", seed=None):
    return torch.randint(int(minval), int(maxval), tuple(shape), generator=_generator(seed),
                         dtype=torch_dtype(dtype))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class ids per row of ``logits`` (unnormalised log-probabilities), with replacement."""
    probs = torch.softmax(convert_to_tensor(logits).float(), dim=-1)
    return torch.multinomial(probs, num_samples, replacement=True, generator=_generator(seed)).to(
        torch_dtype(dtype))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Inverted dropout: each value (or each ``noise_shape`` slice, None axes following the input) kept with
    probability 1 − rate and scaled by 1 / (1 − rate)."""
    x = convert_to_tensor(inputs)
    if rate >= 1.0:
        return torch.zeros_like(x)
    if rate == 0.0:
        return x
    keep = 1.0 - rate
    shape = x.shape if noise_shape is None else [n if d is None else d for n, d in zip(x.shape, noise_shape)]
    mask = torch.bernoulli(torch.full(tuple(shape), keep), generator=_generator(seed)).bool().to(x.device)
    return torch.where(torch.broadcast_to(mask, x.shape), x / keep, torch.zeros_like(x))


def shuffle(x, axis=0, seed=None):
    """``x`` with its slices along ``axis`` permuted (each row of the axes before it on its own)."""
    x = convert_to_tensor(x)
    order = torch.rand(x.shape[:axis + 1], generator=_generator(seed)).argsort(axis)
    order = order.reshape(*order.shape, *[1] * (x.dim() - axis - 1)).expand(x.shape)
    return x.gather(axis, order.to(x.device))
