"""Keras's ``Resizing(height, width, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
fill_mode="constant", fill_value=0.0, antialias=False)`` and ``CenterCrop(height, width)``: images (or batches) to a
fixed size — by ``ops.image.resize``; the centre crop cuts the middle ``height`` × ``width`` out, and an image
smaller than that is cropped to the target's aspect ratio and resized instead (Keras's ``smart_resize``)."""

from __future__ import annotations

from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.convolutional_nd import _format


def _resize():
    from rnnkit.keras.ops.image import resize  # (the ops import the layers package: imported when used)

    return resize


class Resizing(Layer):
    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                 fill_mode="constant", fill_value=0.0, antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width, self.interpolation = height, width, interpolation
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = crop_to_aspect_ratio, pad_to_aspect_ratio
        self.fill_mode, self.fill_value, self.antialias = fill_mode, fill_value, bool(antialias)
        self.data_format = _format(data_format)

    def call(self, x, mask=None, training=False):
        return _resize()(x, (self.height, self.width), self.interpolation, self.antialias, self.crop_to_aspect_ratio,
                         self.pad_to_aspect_ratio, self.fill_mode, self.fill_value, self.data_format)

    def compute_mask(self, x, mask):
        return None

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(Layer):
    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width, self.data_format = height, width, _format(data_format)

    def call(self, x, mask=None, training=False):
        x = x if x.is_floating_point() else x.float()  # (Keras computes in the layer's float32)
        rows, cols = (-2, -1) if self.data_format == "channels_first" else (-3, -2)
        top, left = (x.shape[rows] - self.height) // 2, (x.shape[cols] - self.width) // 2
        if top < 0 or left < 0:  # smaller than the crop: Keras's smart_resize
            return _resize()(x, (self.height, self.width), crop_to_aspect_ratio=True, data_format=self.data_format)
        return x.narrow(x.dim() + rows, top, self.height).narrow(x.dim() + cols, left, self.width)

    def compute_mask(self, x, mask):
        return None

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "height": self.height, "width": self.width}


__all__ = ["Resizing", "CenterCrop"]
