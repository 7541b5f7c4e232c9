"""Keras's layers that change the time axis of a (batch, steps, features) sequence: ``ZeroPadding1D`` (zero steps
added at the start and end), ``Cropping1D`` (steps cut from the start and end) and ``UpSampling1D`` (each step
repeated ``size`` times). Masks do not pass them, as in Keras."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.convolutional import _check_format


def _pair(value, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= 0 for v in pair):
        raise ValueError(f"The `{name}` argument must be a tuple of 2 non-negative integers. Received: {name}={value}")
    return pair


class ZeroPadding1D(Layer):
    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_format(data_format, "ZeroPadding1D")
        self.padding, self.data_format = _pair(padding, "padding"), "channels_last"

    def call(self, x, mask=None, training=False):
        return F.pad(x, (0, 0, *self.padding))

    def get_config(self):
        return {**super().get_config(), "padding": list(self.padding), "data_format": self.data_format}


class Cropping1D(Layer):
    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pair(cropping, "cropping")

    def call(self, x, mask=None, training=False):
        start, end = self.cropping
        if start + end >= x.shape[1]:
            raise ValueError(f"`cropping` parameter of `Cropping1D` layer must be smaller than the input length. "
                             f"Received: input_shape={tuple(x.shape)}, cropping={self.cropping}")
        return x[:, start:x.shape[1] - end]

    def get_config(self):
        return {**super().get_config(), "cropping": list(self.cropping)}


class UpSampling1D(Layer):
    def __init__(self, size: int = 2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"UpSampling1D: size must be an integer, got {size!r}")
        self.size = size

    def call(self, x, mask=None, training=False):
        return torch.repeat_interleave(x, self.size, dim=1)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


__all__ = ["ZeroPadding1D", "Cropping1D", "UpSampling1D"]
