"""Keras's pooling over time and reshaping layers that recurrent models use between their RNNs:
``GlobalAveragePooling1D`` (over the unmasked steps), ``GlobalMaxPooling1D``, ``Flatten``, ``Reshape``, ``Permute`` and
``SpatialDropout1D`` (whole feature channels dropped for every step)."""

from __future__ import annotations

from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.convolutional import _check_format
from rnnkit.keras.layers.core import Dropout


class _GlobalPooling1D(Layer):
    supports_masking = True

    def __init__(self, data_format=None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        _check_format(data_format, type(self).__name__)
        self.data_format, self.keepdims = "channels_last", keepdims

    def compute_mask(self, x, mask):
        return None

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over time of (batch, steps, features); with a mask, over the valid steps only: Σ_t m_t x_t / Σ_t m_t."""

    def call(self, x, mask=None, training=False):
        if mask is None:
            return x.mean(1, keepdim=self.keepdims)
        m = mask.to(x.dtype).unsqueeze(-1)
        return (x * m).sum(1, keepdim=self.keepdims) / m.sum(1, keepdim=self.keepdims)


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over time of (batch, steps, features) (every step, as Keras: the mask is not read)."""

    def call(self, x, mask=None, training=False):
        return x.amax(1, keepdim=self.keepdims)


class Flatten(Layer):
    """(batch, d1, d2, …) → (batch, d1·d2·…)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format

    def call(self, x, mask=None, training=False):
        return x.reshape(x.shape[0], -1)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """(batch, …) → (batch, *target_shape); one entry may be -1 (inferred)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, x, mask=None, training=False):
        try:
            return x.reshape(x.shape[0], *self.target_shape)
        except RuntimeError:
            raise ValueError(f"Reshape {self.name!r}: the input of shape {tuple(x.shape)} does not hold "
                             f"{self.target_shape} per sample") from None

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """The non-batch axes reordered: ``dims`` (1-based, as Keras), e.g. (2, 1) swaps steps and features."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` "
                             f"must be consecutive and start from 1. Received dims={self.dims}")

    def call(self, x, mask=None, training=False):
        return x.permute(0, *self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class SpatialDropout1D(Dropout):
    """Dropout of whole feature channels: one mask per (sample, feature), shared by every step of (batch, steps,
    features) — Keras's ``noise_shape=(batch, 1, features)``."""

    def __init__(self, rate: float, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)

    def call(self, x, mask=None, training=False):
        if x.dim() != 3:
            raise ValueError(f"SpatialDropout1D {self.name!r}: expected (batch, steps, features), got "
                             f"{tuple(x.shape)}")
        self.noise_shape = (x.shape[0], 1, x.shape[2])
        try:
            return super().call(x, mask, training)
        finally:
            self.noise_shape = None

    def get_config(self):  # Keras's SpatialDropout1D takes exactly these (no trainable, no noise_shape)
        cfg = super().get_config()
        return {**{k: cfg[k] for k in ("rate", "seed", "name")}, "dtype": "float32"}  # (Keras: the dtype's name)


class Lambda(Layer):
    """Keras's ``Lambda(function, output_shape=None, mask=None, arguments=None)``: ``function(x, **arguments)`` as a
    layer (``x[:, -1]``, a sum over time, …); ``mask`` a function (x, mask) → the mask to pass on, or a fixed one. It
    holds Python code, so it is not saved: Keras stores it as bytecode, which is unsafe to load (rnnkit refuses both
    ways) — write a ``Layer`` subclass registered with ``register_keras_serializable`` to save one."""

    supports_masking = True

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"Lambda: function must be callable, got {type(function).__name__}")
        self.function, self.output_shape, self.mask, self.arguments = function, output_shape, mask, arguments or {}

    def call(self, x, mask=None, training=False):
        return self.function(x, **self.arguments)

    def compute_mask(self, x, mask):
        if callable(self.mask):
            return self.mask(x, mask)
        return self.mask

    def get_config(self):
        raise ValueError(f"Lambda layer {self.name!r} holds Python code, which rnnkit does not save (Keras saves it as "
                         "bytecode, unsafe to load): write a Layer subclass and register it with "
                         "@rnnkit.keras.saving.register_keras_serializable() instead")

    @classmethod
    def from_config(cls, config, custom_objects=None):
        raise ValueError(f"Lambda layer {config.get('name')!r}: its function is Python bytecode, which rnnkit does not "
                         "load (unsafe: it runs whatever the file holds); rebuild the model in code and load its "
                         "weights instead")


__all__ = ["Lambda", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "Flatten", "Reshape", "Permute",
           "SpatialDropout1D"]
