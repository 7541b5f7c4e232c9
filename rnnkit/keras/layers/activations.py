"""Keras's activation layers, with Keras's arguments and formulas: ``ReLU`` (max_value, negative_slope, threshold),
``LeakyReLU``, ``ELU``, ``PReLU`` (a learnt slope α for negative inputs) and ``Softmax`` (over ``axis``, masked
positions left out: they get −1e9 before and 0 after, as Keras)."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnnkit.keras import constraints, initializers, regularizers
from rnnkit.keras.layers.base import Layer

LARGE_NEGATIVE = -1e9  # what Keras's Softmax puts at masked positions (float32)


def relu(x: torch.Tensor, negative_slope: float = 0.0, max_value=None, threshold: float = 0.0) -> torch.Tensor:
    """Keras's ``activations.relu``: x above ``threshold`` (0 below), capped at ``max_value``, minus
    ``negative_slope`` · (threshold − x) below the threshold."""
    if negative_slope != 0 and max_value is None and threshold == 0:
        return F.leaky_relu(x, negative_slope)
    negative_part = F.relu(threshold - x) if negative_slope != 0 else None
    x = x * (x > threshold) if threshold != 0 else F.relu(x)
    if max_value is not None:
        x = x.clamp(0.0, max_value)
    return x - negative_slope * negative_part if negative_part is not None else x


class ReLU(Layer):
    supports_masking = True

    def __init__(self, max_value=None, negative_slope: float = 0.0, threshold: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError(f"max_value of a ReLU layer cannot be a negative value. Received: max_value={max_value}")
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError("negative_slope of a ReLU layer cannot be None or a negative value. Received: "
                             f"negative_slope={negative_slope}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, x, mask=None, training=False):
        return relu(x, self.negative_slope, self.max_value, self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(Layer):
    supports_masking = True

    def __init__(self, negative_slope: float = 0.3, **kwargs):
        negative_slope = kwargs.pop("alpha", negative_slope)  # Keras 2's name
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or negative value. "
                             f"Expected a float. Received: negative_slope={negative_slope}")
        self.negative_slope = negative_slope

    def call(self, x, mask=None, training=False):
        return F.leaky_relu(x, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    supports_masking = True

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, x, mask=None, training=False):
        return F.elu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """y = relu(x) − α · relu(−x), α one weight per input position (the batch axis excepted; 1 along
    ``shared_axes``)."""

    supports_masking = True

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None, shared_axes=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        self.shared_axes = None if shared_axes is None else (
            [shared_axes] if isinstance(shared_axes, int) else list(shared_axes))

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for i in self.shared_axes or []:
            shape[i - 1] = 1
        self.add_weight(tuple(shape), self.alpha_initializer, name="alpha", regularizer=self.alpha_regularizer,
                        constraint=self.alpha_constraint)

    def call(self, x, mask=None, training=False):
        return F.relu(x) - self.alpha * F.relu(-x)

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": initializers.serialize_initializer(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize_regularizer(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize_constraint(self.alpha_constraint),
                "shared_axes": self.shared_axes}


class Softmax(Layer):
    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, x, mask=None, training=False):
        if mask is not None:
            if mask.dim() > x.dim():
                raise ValueError("The `mask` must be broadcastable to `inputs` and must not have more dimensions. "
                                 f"Received: inputs.shape={tuple(x.shape)}, mask.shape={tuple(mask.shape)}")
            mask = mask if mask.dtype == torch.bool else mask > 0.5
            x = torch.where(mask, x, torch.full_like(x, LARGE_NEGATIVE))
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        out = torch.exp(x - torch.logsumexp(x, dim=list(axes), keepdim=True)) if len(axes) > 1 else \
            torch.softmax(x, dim=axes[0])
        return torch.where(mask, out, torch.zeros_like(out)) if mask is not None else out

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


__all__ = ["ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "relu"]
