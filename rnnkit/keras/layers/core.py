"""Dense, Activation, Dropout, Embedding, Masking, RepeatVector, TimeDistributed — with Keras's semantics and weights."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnnkit.keras.backend import activation_name, get_activation
from rnnkit.keras.layers.base import Layer


class Dense(Layer):
    """``y = activation(x · kernel + bias)`` on the last axis; ``kernel`` is (input_dim, units) as in Keras."""

    supports_masking = True

    def __init__(self, units: int, activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units, self.use_bias = units, use_bias
        self.activation = get_activation(activation)
        self._activation_name = activation_name(activation) if activation is not None else "linear"
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def build(self, input_shape):
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)

    def call(self, x, mask=None, training=False):
        if x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"Dense {self.name!r}: input has last dimension {x.shape[-1]} (shape {tuple(x.shape)}), "
                             f"expected {self.kernel.shape[0]}")
        y = x @ self.kernel
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self._activation_name,
                "use_bias": self.use_bias}


class Activation(Layer):
    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation, self._activation_name = get_activation(activation), activation_name(activation)

    def call(self, x, mask=None, training=False):
        return self.activation(x)

    def get_config(self):
        return {**super().get_config(), "activation": self._activation_name}


class Dropout(Layer):
    supports_masking = True

    def __init__(self, rate: float, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = rate

    def call(self, x, mask=None, training=False):
        return F.dropout(x, self.rate, training=bool(training)) if self.rate else x

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class Embedding(Layer):
    reads_ids = True
    """Integer ids → vectors; ``mask_zero=True`` makes id 0 padding (masked) for the layers after it."""

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform", mask_zero: bool = False,
                 **kwargs):
        kwargs.pop("input_length", None)
        super().__init__(**kwargs)
        self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, mask_zero
        self.embeddings_initializer = embeddings_initializer

    def build(self, input_shape):
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer)

    def call(self, x, mask=None, training=False):
        if x.is_floating_point():
            if not torch.all(x == x.round()):
                raise TypeError(f"Embedding {self.name!r}: expected integer ids, got non-integer floats")
            x = x.long()
        if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.input_dim):
            raise ValueError(f"Embedding {self.name!r}: ids must be in [0, {self.input_dim}), got range "
                             f"[{int(x.min())}, {int(x.max())}]")
        return F.embedding(x.long(), self.embeddings)

    def compute_mask(self, x, mask):
        return (x != 0) if self.mask_zero else None

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "mask_zero": self.mask_zero}


class Masking(Layer):
    """Masks every time step whose features all equal ``mask_value`` (and zeroes it, as Keras does)."""

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def compute_mask(self, x, mask):
        return torch.any(x != self.mask_value, dim=-1)

    def call(self, x, mask=None, training=False):
        keep = torch.any(x != self.mask_value, dim=-1, keepdim=True)
        return x * keep.to(x.dtype)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class RepeatVector(Layer):
    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        self.n = n

    def call(self, x, mask=None, training=False):
        if x.dim() != 2:
            raise ValueError(f"RepeatVector {self.name!r}: expected (batch, features), got shape {tuple(x.shape)}")
        return x.unsqueeze(1).expand(-1, self.n, -1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class TimeDistributed(Layer):
    """Applies ``layer`` to every time step: (B, T, ...) → layer on (B·T, ...) → (B, T, ...)."""

    supports_masking = True

    def __init__(self, layer: Layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def _sublayers(self):
        return [self.layer]

    def build(self, input_shape):
        self.layer._maybe_build(torch.zeros((1, *input_shape[2:])))

    def call(self, x, mask=None, training=False):
        B, T = x.shape[:2]
        y = self.layer(x.reshape(B * T, *x.shape[2:]), training=training)
        return y.reshape(B, T, *y.shape[1:])

    def get_config(self):
        return {**super().get_config(), "layer": self.layer}
