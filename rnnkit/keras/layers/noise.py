"""Keras's regularization layers that act only in training: ``GaussianNoise`` (x + N(0, σ²)), ``GaussianDropout``
(x · N(1, rate / (1 − rate)): the same mean, the variance of inverted dropout), ``AlphaDropout`` (SELU's dropout:
dropped units set to α' = −λα, then an affine map a·x + b that keeps the mean and variance, Klambauer et al. 2017)
and ``ActivityRegularization`` (its output's L1/L2 penalty joins the loss, divided by the batch size as Keras 3's)."""

from __future__ import annotations

import math

import torch

from rnnkit.keras import regularizers
from rnnkit.keras.backend import SeedStream
from rnnkit.keras.layers.base import Layer


class GaussianNoise(Layer):
    supports_masking = True

    def __init__(self, stddev: float, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= stddev <= 1:
            raise ValueError(f"Invalid value received for argument `stddev`. Expected a float value between 0 and 1. "
                             f"Received: stddev={stddev}")
        self.stddev, self.seed, self.seeds = stddev, seed, SeedStream(seed)

    def call(self, x, mask=None, training=False):
        if training and self.stddev > 0:
            return x + self.stddev * self.seeds.normal(x.shape, x)
        return x

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    supports_masking = True

    def __init__(self, rate: float, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                             f"Received: rate={rate}")
        self.rate, self.seed, self.seeds = rate, seed, SeedStream(seed)

    def call(self, x, mask=None, training=False):
        if training and 0 < self.rate < 1:
            return x * (1.0 + math.sqrt(self.rate / (1.0 - self.rate)) * self.seeds.normal(x.shape, x))
        return x

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


class AlphaDropout(Layer):
    """y = a · (x if kept else α') + b with α' = −λα (SELU's saturation value), a = ((1 − r)(1 + r α'²))^(−1/2),
    b = −a α' r: zero mean and unit variance kept for SELU activations (``rate`` r; a unit is kept when a uniform
    draw is ≥ r — a seeded layer draws Keras's numbers)."""

    supports_masking = True

    def __init__(self, rate: float, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. "
                             f"Received: rate={rate}")
        self.rate, self.noise_shape, self.seed, self.seeds = rate, noise_shape, seed, SeedStream(seed)

    def call(self, x, mask=None, training=False):
        if not (training and 0 < self.rate < 1):
            return x
        shape = x.shape if self.noise_shape is None else tuple(
            n if n is not None else d for n, d in zip(self.noise_shape, x.shape))
        kept = self.seeds.uniform(shape, x) >= self.rate
        alpha_p = -SELU_ALPHA * SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        return a * torch.where(kept, x, torch.full_like(x, alpha_p)) + b

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class ActivityRegularization(Layer):
    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)  # written by Keras's get_config; made from l1, l2 here
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = l1, l2

    def call(self, x, mask=None, training=False):
        return x

    def get_config(self):
        config = {**super().get_config(), "l1": self.l1, "l2": self.l2}
        config.pop("activity_regularizer", None)
        return config


__all__ = ["GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"]
