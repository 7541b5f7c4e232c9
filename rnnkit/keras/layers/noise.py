"""Keras's regularization layers that act only in training: ``GaussianNoise`` (x + N(0, σ²)), ``GaussianDropout``
(x · N(1, rate / (1 − rate)): the same mean, the variance of inverted dropout) and ``ActivityRegularization`` (its
output's L1/L2 penalty joins the loss, divided by the batch size as Keras 3's)."""

from __future__ import annotations

import math

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


__all__ = ["GaussianNoise", "GaussianDropout", "ActivityRegularization"]
