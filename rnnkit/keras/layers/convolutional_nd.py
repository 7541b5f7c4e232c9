"""Keras's two- and three-dimensional convolution and pooling layers — ``Conv2D``, ``Conv3D``, ``MaxPooling2D/3D``,
``AveragePooling2D/3D``, ``GlobalAveragePooling2D/3D``, ``GlobalMaxPooling2D/3D`` — for the convolutional fronts of
recurrent models: a CRNN's Conv2D over a spectrogram before its GRU, the Conv3D that reads a ConvLSTM2D's frames.
Computed by ``keras.ops`` (``ops/convolution.py``: Keras's kernel layout (*k, channels / groups, filters), its "same"
padding), channels last by default (``data_format="channels_first"`` taken too)."""

from __future__ import annotations

from rnnkit.keras import regularizers
from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.core import KernelBiasLayer


def _ops():
    """``ops/convolution.py`` (imported when first used: the ops import the layers package)."""
    from rnnkit.keras.ops import convolution

    return convolution


def _tuple(value, rank: int, name: str) -> tuple[int, ...]:
    values = (value,) * rank if isinstance(value, int) and not isinstance(value, bool) else tuple(value)
    if len(values) != rank or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(f"The `{name}` argument must be a tuple of {rank} integers. Received {name}={value}")
    return values


def _format(data_format) -> str:
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def conv_geometry(layer, kernel_size, strides, padding, data_format, dilation_rate) -> None:
    """A convolution's sizes per axis (``layer.rank`` of them), padding and data format, checked and kept."""
    layer.kernel_size = _tuple(kernel_size, layer.rank, "kernel_size")
    layer.strides = _tuple(strides, layer.rank, "strides")
    layer.dilation_rate = _tuple(dilation_rate, layer.rank, "dilation_rate")
    layer.padding, layer.data_format = str(padding).lower(), _format(data_format)
    if layer.padding not in ("valid", "same"):
        raise ValueError(f"{type(layer).__name__}: padding must be 'valid' or 'same', got {padding!r}")


class _ConvND(KernelBiasLayer):
    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1, groups=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters, self.groups = filters, groups
        conv_geometry(self, kernel_size, strides, padding, data_format, dilation_rate)
        if filters % groups:
            raise ValueError(f"The number of filters must be evenly divisible by the number of groups. Received: "
                             f"groups={groups}, filters={filters}.")
        self._kernel_bias(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                          bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape):
        channels = input_shape[1 if self.data_format == "channels_first" else -1]
        if channels is None or channels % self.groups:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the input's channels ({channels}) must be known "
                             f"and divisible by groups ({self.groups})")
        self._add_kernel_bias((*self.kernel_size, channels // self.groups, self.filters), self.filters)

    def call(self, x, mask=None, training=False):
        if x.dim() != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected a {self.rank + 2}-D input (batch, "
                             f"{self.rank} spatial axes, channels), got shape {tuple(x.shape)}")
        y = _ops().conv(x, self.kernel, self.strides, self.padding, self.data_format, self.dilation_rate)
        if self.use_bias:
            y = y + (self.bias.reshape(-1, *[1] * self.rank) if self.data_format == "channels_first" else self.bias)
        return self.activation(y)

    def compute_mask(self, x, mask):
        return None

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups, **self._kernel_bias_config(),
                "activity_regularizer": regularizers.serialize_regularizer(self.activity_regularizer)}


class Conv2D(_ConvND):
    """Keras's ``Conv2D`` on (batch, rows, columns, channels)."""

    rank = 2


class Conv3D(_ConvND):
    """Keras's ``Conv3D`` on (batch, depth, rows, columns, channels) — e.g. time × a frame's rows × columns."""

    rank = 3


class _PoolingND(Layer):
    rank, op = 2, "max_pool"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _tuple(pool_size, self.rank, "pool_size")
        self.strides = self.pool_size if strides is None else _tuple(strides, self.rank, "strides")
        self.padding, self.data_format = str(padding).lower(), _format(data_format)
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{type(self).__name__}: padding must be 'valid' or 'same', got {padding!r}")

    def call(self, x, mask=None, training=False):
        return getattr(_ops(), self.op)(x, self.pool_size, self.strides, self.padding, self.data_format)

    def compute_mask(self, x, mask):
        return None

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "padding": self.padding,
                "strides": list(self.strides), "data_format": self.data_format}


class MaxPooling2D(_PoolingND):
    rank, op = 2, "max_pool"


class MaxPooling3D(_PoolingND):
    rank, op = 3, "max_pool"


class AveragePooling2D(_PoolingND):
    rank, op = 2, "average_pool"


class AveragePooling3D(_PoolingND):
    rank, op = 3, "average_pool"


class _GlobalPoolingND(Layer):
    rank, reduce = 2, "mean"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format, self.keepdims = _format(data_format), keepdims

    def call(self, x, mask=None, training=False):
        axes = tuple(range(2, 2 + self.rank)) if self.data_format == "channels_first" else tuple(
            range(1, 1 + self.rank))
        return x.mean(axes, keepdim=self.keepdims) if self.reduce == "mean" else x.amax(axes, keepdim=self.keepdims)

    def compute_mask(self, x, mask):
        return None

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPoolingND):
    rank, reduce = 2, "mean"


class GlobalAveragePooling3D(_GlobalPoolingND):
    rank, reduce = 3, "mean"


class GlobalMaxPooling2D(_GlobalPoolingND):
    rank, reduce = 2, "max"


class GlobalMaxPooling3D(_GlobalPoolingND):
    rank, reduce = 3, "max"


__all__ = ["Conv2D", "Conv3D", "MaxPooling2D", "MaxPooling3D", "AveragePooling2D", "AveragePooling3D",
           "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling2D", "GlobalMaxPooling3D"]
