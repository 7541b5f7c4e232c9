"""Keras's two- and three-dimensional reshaping layers, for image and video fronts of recurrent models (a ConvLSTM2D's
frames, a CRNN's spectrogram): ``ZeroPadding2D/3D`` (zeros added before and after each spatial axis), ``Cropping2D/3D``
(rows cut from each end), ``UpSampling2D/3D`` (each position repeated ``size`` times per axis; 2-D also bilinear or
bicubic) and ``SpatialDropout2D/3D`` (whole channels dropped: one mask value per sample and channel). Channels last by
default, ``data_format="channels_first"`` taken too; ``padding``/``cropping`` an int (every side), one int per axis
(both ends), or a (before, after) pair per axis — Keras's forms and configs."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.convolutional_nd import _format, _tuple
from rnnkit.keras.layers.core import Dropout
from rnnkit.keras.layers.shaping import SpatialDropout1D


def _pairs(value, rank: int, name: str) -> tuple[tuple[int, int], ...]:
    """Keras's padding/cropping forms as one (before, after) pair per spatial axis."""
    if isinstance(value, int) and not isinstance(value, bool):
        pairs = ((value, value),) * rank
    elif len(value) == rank and all(isinstance(v, int) for v in value):
        pairs = tuple((v, v) for v in value)
    elif len(value) == rank:
        pairs = tuple(tuple(v) for v in value)
    else:
        pairs = ()
    if len(pairs) != rank or not all(len(p) == 2 and all(isinstance(v, int) and v >= 0 for v in p) for p in pairs):
        raise ValueError(f"`{name}` should be an int, a tuple of {rank} ints, or a tuple of {rank} tuples of 2 "
                         f"non-negative ints. Received: {name}={value}")
    return pairs


class _Spatial(Layer):
    rank = 2

    def _axes(self, x) -> list[int]:
        """The spatial axes of x (after the batch, before or after the channels)."""
        first = 2 if self.data_format == "channels_first" else 1
        if x.dim() != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected a {self.rank + 2}-D input (batch, "
                             f"{self.rank} spatial axes, channels), got shape {tuple(x.shape)}")
        return list(range(first, first + self.rank))


class _ZeroPadding(_Spatial):
    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding, self.data_format = _pairs(padding, self.rank, "padding"), _format(data_format)

    def call(self, x, mask=None, training=False):
        axes = self._axes(x)
        widths = [0, 0] * x.dim()  # F.pad's (last axis first) before/after widths
        for axis, (before, after) in zip(axes, self.padding):
            widths[2 * (x.dim() - 1 - axis)], widths[2 * (x.dim() - 1 - axis) + 1] = before, after
        return F.pad(x, widths)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class _Cropping(_Spatial):
    def __init__(self, cropping=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping, self.data_format = _pairs(cropping, self.rank, "cropping"), _format(data_format)

    def call(self, x, mask=None, training=False):
        index = [slice(None)] * x.dim()
        for axis, (start, end) in zip(self._axes(x), self.cropping):
            if start + end >= x.shape[axis]:
                raise ValueError(f"{type(self).__name__} {self.name!r}: cropping {self.cropping} leaves nothing of "
                                 f"the input of shape {tuple(x.shape)}")
            index[axis] = slice(start, x.shape[axis] - end)
        return x[tuple(index)]

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class _UpSampling(_Spatial):
    modes = ("nearest",)

    def __init__(self, size=2, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size, self.data_format = _tuple(size, self.rank, "size"), _format(data_format)
        self.interpolation = str(interpolation).lower()
        if self.interpolation not in self.modes:
            raise ValueError(f"{type(self).__name__}: interpolation must be one of {self.modes}, got {interpolation!r}")

    def call(self, x, mask=None, training=False):
        axes = self._axes(x)
        if self.interpolation == "nearest":
            for axis, n in zip(axes, self.size):
                x = torch.repeat_interleave(x, n, dim=axis)
            return x
        first = self.data_format == "channels_first"
        y = x if first else x.permute(0, 3, 1, 2)
        y = F.interpolate(y, scale_factor=self.size, mode=self.interpolation, align_corners=False)
        return y if first else y.permute(0, 2, 3, 1)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class _SpatialDropout(SpatialDropout1D):
    rank = 2

    def __init__(self, rate: float, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        self.data_format = _format(data_format)

    def call(self, x, mask=None, training=False):
        if x.dim() != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected a {self.rank + 2}-D input, got shape "
                             f"{tuple(x.shape)}")
        ones = (1,) * self.rank
        self.noise_shape = (x.shape[0], x.shape[1], *ones) if self.data_format == "channels_first" else \
            (x.shape[0], *ones, x.shape[-1])
        try:
            return Dropout.call(self, x, mask, training)
        finally:
            self.noise_shape = None

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class ZeroPadding2D(_ZeroPadding):
    rank = 2


class ZeroPadding3D(_ZeroPadding):
    rank = 3


class Cropping2D(_Cropping):
    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    rank = 3


class UpSampling2D(_UpSampling):
    rank, modes = 2, ("nearest", "bilinear", "bicubic")

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    rank = 2


class SpatialDropout3D(_SpatialDropout):
    rank = 3


__all__ = ["ZeroPadding2D", "ZeroPadding3D", "Cropping2D", "Cropping3D", "UpSampling2D", "UpSampling3D",
           "SpatialDropout2D", "SpatialDropout3D"]
