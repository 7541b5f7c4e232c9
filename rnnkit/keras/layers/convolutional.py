"""Keras's ``Conv1D``, ``MaxPooling1D`` and ``AveragePooling1D`` on (batch, steps, channels) — the convolutional
front of a CNN-LSTM: short local patterns first, the recurrent layer over the shorter sequence of their features.

    y_t,f = activation(b_f + Σ_{j<k} Σ_c x_{t·s + j·d, c} · kernel_{j, c, f})    (kernel: (k, channels, filters))

``padding``: "valid" (no padding), "same" (⌈T/s⌉ outputs; the padding split with the extra step at the end, as
Keras) or "causal" ((k − 1)·d zeros before the first step: y_t reads no step after t).
"""

from __future__ import annotations

from torch.nn import functional as F

from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.core import KernelBiasLayer


def _one(value, name: str) -> int:
    v = value[0] if isinstance(value, (list, tuple)) and len(value) == 1 else value
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ValueError(f"{name} must be a positive integer (or a 1-tuple of one), got {value!r}")
    return v


def _same_padding(length: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """Keras's "same": ⌈length / stride⌉ outputs; the total padding split floor-left, the rest right."""
    span = (k - 1) * dilation + 1
    total = span - 1 if stride == 1 else max(0, (-(-length // stride) - 1) * stride + span - length)
    return total // 2, total - total // 2


def _check_format(data_format, name):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{name}: only data_format='channels_last' (batch, steps, channels) is supported, got "
                         f"{data_format!r}")


def _conv_arguments(layer, filters, kernel_size, strides, padding, data_format, dilation_rate, paddings) -> None:
    """A convolution's arguments checked and kept (Conv1D's and Conv1DTranspose's, Keras's names)."""
    name = type(layer).__name__
    _check_format(data_format, name)
    layer.filters, layer.kernel_size = _one(filters, "filters"), _one(kernel_size, "kernel_size")
    layer.strides, layer.dilation_rate = _one(strides, "strides"), _one(dilation_rate, "dilation_rate")
    layer.padding = str(padding).lower()
    if layer.padding not in paddings:
        raise ValueError(f"{name}: padding must be one of {', '.join(map(repr, paddings))}, got {padding!r}")


def _conv_config(layer) -> dict:
    return {"filters": layer.filters, "kernel_size": [layer.kernel_size], "strides": [layer.strides],
            "padding": layer.padding, "data_format": "channels_last", "dilation_rate": [layer.dilation_rate]}


class Conv1D(KernelBiasLayer):
    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid", data_format=None,
                 dilation_rate=1, groups: int = 1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _conv_arguments(self, filters, kernel_size, strides, padding, data_format, dilation_rate,
                        ("valid", "same", "causal"))
        self.groups = _one(groups, "groups")
        if self.filters % self.groups:
            raise ValueError(f"The number of filters must be evenly divisible by the number of groups. Received: "
                             f"groups={self.groups}, filters={self.filters}.")
        self._kernel_bias(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                          bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None or channels % self.groups:
            raise ValueError(f"Conv1D {self.name!r}: the input's channels ({channels}) must be known and divisible by "
                             f"groups ({self.groups})")
        self._add_kernel_bias((self.kernel_size, channels // self.groups, self.filters), self.filters)

    def call(self, x, mask=None, training=False):
        if x.dim() != 3:
            raise ValueError(f"Conv1D {self.name!r}: expected (batch, steps, channels), got {tuple(x.shape)}")
        z = x.transpose(1, 2)  # torch's (batch, channels, steps)
        if self.padding == "causal":
            z = F.pad(z, ((self.kernel_size - 1) * self.dilation_rate, 0))
        elif self.padding == "same":
            z = F.pad(z, _same_padding(z.shape[-1], self.kernel_size, self.strides, self.dilation_rate))
        y = F.conv1d(z, self.kernel.permute(2, 1, 0), self.bias if self.use_bias else None, stride=self.strides,
                     dilation=self.dilation_rate, groups=self.groups)
        return self.activation(y.transpose(1, 2))

    def compute_mask(self, x, mask):
        return None  # the steps no longer line up with the input's

    def get_config(self):
        return {**super().get_config(), **_conv_config(self), "groups": self.groups, **self._kernel_bias_config()}


def transposed_length(length: int, k: int, stride: int, padding: str, output_padding, dilation: int) -> int:
    """Keras's output length of a transposed convolution (``deconv_output_length``)."""
    span = (k - 1) * dilation + 1
    if output_padding is None:
        return length * stride + max(span - stride, 0) if padding == "valid" else length * stride
    return (length - 1) * stride + span - 2 * (span // 2 if padding == "same" else 0) + output_padding


class Conv1DTranspose(KernelBiasLayer):
    """The transpose of ``Conv1D`` (an autoencoder's decoder: each input step spreads over ``kernel_size`` output steps,
    ``strides`` apart) — the gradient of a convolution that maps the output length back to the input's:

        y_{t·s + j·d, f} += x_{t, c} · kernel_{j, f, c}          (kernel: (k, filters, channels))

    cut to Keras's length (``valid``: T·s + max(k − s, 0); ``same``: T·s; with ``output_padding``: (T − 1)·s + k
    − 2·pad + output_padding), the same cut as that convolution's padding."""

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _conv_arguments(self, filters, kernel_size, strides, padding, data_format, dilation_rate, ("valid", "same"))
        if isinstance(output_padding, (list, tuple)):
            output_padding = output_padding[0] if len(output_padding) == 1 else output_padding
        if output_padding is not None and not (isinstance(output_padding, int) and 0 <= output_padding
                                               < self.strides):
            raise ValueError(f"Conv1DTranspose: output_padding must be an integer in [0, strides), got "
                             f"{output_padding!r}")
        self.output_padding = output_padding
        self._kernel_bias(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                          bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape):
        self._add_kernel_bias((self.kernel_size, self.filters, input_shape[-1]), self.filters)

    def call(self, x, mask=None, training=False):
        if x.dim() != 3:
            raise ValueError(f"Conv1DTranspose {self.name!r}: expected (batch, steps, channels), got "
                             f"{tuple(x.shape)}")
        length = x.shape[1]
        full = F.conv_transpose1d(x.transpose(1, 2), self.kernel.permute(2, 1, 0), stride=self.strides,
                                  dilation=self.dilation_rate)  # (L − 1)·s + span steps
        out = transposed_length(length, self.kernel_size, self.strides, self.padding, self.output_padding,
                                self.dilation_rate)
        span = (self.kernel_size - 1) * self.dilation_rate + 1
        cut = max((length - 1) * self.strides + span - out, 0) // 2  # the forward convolution's padding before
        y = full[..., cut:cut + out]
        y = F.pad(y, (0, out - y.shape[-1]))  # k < s: zeros after the last window
        if self.use_bias:
            y = y + self.bias.reshape(1, -1, 1)
        return self.activation(y.transpose(1, 2))

    def compute_mask(self, x, mask):
        return None

    def get_config(self):
        op = self.output_padding
        return {**super().get_config(), **_conv_config(self), "output_padding": None if op is None else [op],
                **self._kernel_bias_config()}


class _Pooling1D(Layer):
    """Windows of ``pool_size`` steps, every ``strides`` (default ``pool_size``) steps; "same" padding as Keras's
    torch backend: split evenly, passed to torch; split unevenly, the edge steps repeated."""

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_format(data_format, type(self).__name__)
        self.pool_size = _one(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else _one(strides, "strides")
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{type(self).__name__}: padding must be 'valid' or 'same', got {padding!r}")

    def call(self, x, mask=None, training=False):
        z, pad = x.transpose(1, 2), 0
        if self.padding == "same":
            left, right = _same_padding(z.shape[-1], self.pool_size, self.strides)
            z, pad = (z, left) if left == right else (F.pad(z, (left, right), mode="replicate"), 0)
        return self._pool(z, pad).transpose(1, 2)

    def compute_mask(self, x, mask):
        return None

    def get_config(self):
        return {**super().get_config(), "pool_size": [self.pool_size], "strides": [self.strides],
                "padding": self.padding, "data_format": "channels_last"}


class MaxPooling1D(_Pooling1D):
    """The maximum of each window."""

    def _pool(self, z, pad):
        return F.max_pool1d(z, self.pool_size, self.strides, padding=pad)


class AveragePooling1D(_Pooling1D):
    """The mean of each window (of its steps inside the sequence, where "same" pads it evenly)."""

    def _pool(self, z, pad):
        return F.avg_pool1d(z, self.pool_size, self.strides, padding=pad, count_include_pad=False)


__all__ = ["Conv1D", "Conv1DTranspose", "MaxPooling1D", "AveragePooling1D"]
