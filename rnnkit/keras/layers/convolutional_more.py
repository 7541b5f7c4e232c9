"""Keras's other convolutions, for the convolutional fronts of recurrent models (a keyword spotter's depthwise-
separable front before its GRU, a decoder's upsampling): each computed by a ``keras.ops`` convolution
(``ops/convolution.py``), channels last by default (``data_format="channels_first"`` taken too):

    DepthwiseConv1D/2D   y_c,m = x_c ⋆ K_{c,m}                    (each channel c on its own, depth_multiplier m)
    SeparableConv1D/2D   y = pointwise(depthwise(x))              (a depthwise convolution, then a 1×1 one)
    Conv2D/3DTranspose   the transpose of Conv2D/3D (Keras's output sizes, ``output_padding``)
    AdaptiveAverage/MaxPooling1D/2D/3D   windows sized so the output has ``output_size`` cells (PyTorch's rule)

Kernels in Keras's layouts: depthwise (*k, channels, m), pointwise (*1, channels·m, filters), transposed
(*k, filters, channels).
"""

from __future__ import annotations

from rnnkit.keras import constraints, initializers, regularizers
from rnnkit.keras.backend import activation_name, get_activation
from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.convolutional_nd import _format, _ops, _tuple, conv_geometry
from rnnkit.keras.layers.core import KernelBiasLayer

_ser_i, _ser_r, _ser_c = (initializers.serialize_initializer, regularizers.serialize_regularizer,
                          constraints.serialize_constraint)


class _ConvBase(Layer):
    """Keras's convolution arguments: sizes per axis, padding, data format; the input's rank checked."""

    rank = 2

    def _geometry(self, kernel_size, strides, padding, data_format, dilation_rate) -> None:
        conv_geometry(self, kernel_size, strides, padding, data_format, dilation_rate)

    def _channels(self, input_shape) -> int:
        channels = input_shape[1 if self.data_format == "channels_first" else -1]
        if channels is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the input's channels must be known")
        return channels

    def _checked(self, x):
        if x.dim() != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected a {self.rank + 2}-D input (batch, "
                             f"{self.rank} spatial axes, channels), got shape {tuple(x.shape)}")
        return x

    def _finish(self, y):
        if self.use_bias:
            y = y + (self.bias.reshape(-1, *[1] * self.rank) if self.data_format == "channels_first" else self.bias)
        return self.activation(y)

    def _geometry_config(self) -> dict:
        return {"kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate}

    def compute_mask(self, x, mask):
        return None


class _Depthwise(_ConvBase):
    """The depthwise kernel's arguments (and a separable convolution's pointwise ones): initializer, regularizer and
    constraint per kernel, Keras's names."""

    kernels = ("depthwise",)

    def _arguments(self, activation, use_bias, bias_initializer, bias_regularizer, bias_constraint, **per_kernel):
        self.activation, self._activation_name = get_activation(activation), activation_name(activation) \
            if activation is not None else "linear"
        self.use_bias = use_bias
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer, self.bias_constraint = regularizers.get(bias_regularizer), constraints.get(
            bias_constraint)
        for kind in self.kernels:
            setattr(self, f"{kind}_initializer", initializers.get(per_kernel[f"{kind}_initializer"]))
            setattr(self, f"{kind}_regularizer", regularizers.get(per_kernel[f"{kind}_regularizer"]))
            setattr(self, f"{kind}_constraint", constraints.get(per_kernel[f"{kind}_constraint"]))

    def _add(self, kind: str, shape: tuple) -> None:
        self.add_weight(shape, getattr(self, f"{kind}_initializer"), name=f"{kind}_kernel",
                        regularizer=getattr(self, f"{kind}_regularizer"), constraint=getattr(self, f"{kind}_constraint"))

    def _add_bias(self, size: int) -> None:
        if self.use_bias:
            self.add_weight((size,), self.bias_initializer, name="bias", regularizer=self.bias_regularizer,
                            constraint=self.bias_constraint)

    def _weights_config(self) -> dict:
        out = {"activation": self._activation_name, "use_bias": self.use_bias}
        for part in ("initializer", "regularizer", "constraint"):
            ser = {"initializer": _ser_i, "regularizer": _ser_r, "constraint": _ser_c}[part]
            for kind in (*self.kernels, "bias"):
                out[f"{kind}_{part}"] = ser(getattr(self, f"{kind}_{part}"))
            if part == "regularizer":
                out["activity_regularizer"] = _ser_r(self.activity_regularizer)
        return out


class _DepthwiseConv(_Depthwise):
    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._geometry(kernel_size, strides, padding, data_format, dilation_rate)
        self.depth_multiplier = depth_multiplier
        self._arguments(activation, use_bias, bias_initializer, bias_regularizer, bias_constraint,
                        depthwise_initializer=depthwise_initializer, depthwise_regularizer=depthwise_regularizer,
                        depthwise_constraint=depthwise_constraint)

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self._add("depthwise", (*self.kernel_size, channels, self.depth_multiplier))
        self._add_bias(channels * self.depth_multiplier)

    def call(self, x, mask=None, training=False):
        return self._finish(_ops().depthwise_conv(self._checked(x), self.depthwise_kernel, self.strides, self.padding,
                                                  self.data_format, self.dilation_rate))

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, **self._geometry_config(),
                **self._weights_config()}


class _SeparableConv(_Depthwise):
    kernels = ("depthwise", "pointwise")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._geometry(kernel_size, strides, padding, data_format, dilation_rate)
        self.filters, self.depth_multiplier = filters, depth_multiplier
        self._arguments(activation, use_bias, bias_initializer, bias_regularizer, bias_constraint,
                        depthwise_initializer=depthwise_initializer, depthwise_regularizer=depthwise_regularizer,
                        depthwise_constraint=depthwise_constraint, pointwise_initializer=pointwise_initializer,
                        pointwise_regularizer=pointwise_regularizer, pointwise_constraint=pointwise_constraint)

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self._add("depthwise", (*self.kernel_size, channels, self.depth_multiplier))
        self._add("pointwise", (*(1,) * self.rank, channels * self.depth_multiplier, self.filters))
        self._add_bias(self.filters)

    def call(self, x, mask=None, training=False):
        return self._finish(_ops().separable_conv(self._checked(x), self.depthwise_kernel, self.pointwise_kernel,
                                                  self.strides, self.padding, self.data_format, self.dilation_rate))

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, "filters": self.filters,
                **self._geometry_config(), **self._weights_config()}


class _ConvTranspose(_ConvBase, KernelBiasLayer):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._geometry(kernel_size, strides, padding, data_format, dilation_rate)
        self.filters = filters
        if isinstance(output_padding, int) and not isinstance(output_padding, bool):
            output_padding = (output_padding,) * self.rank
        self.output_padding = None if output_padding is None else tuple(output_padding)
        if self.output_padding is not None and (len(self.output_padding) != self.rank or any(
                not 0 <= p < s for p, s in zip(self.output_padding, self.strides))):
            raise ValueError(f"{type(self).__name__}: output_padding {self.output_padding} must be smaller than the "
                             f"strides {self.strides}")
        self._kernel_bias(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                          bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape):
        self._add_kernel_bias((*self.kernel_size, self.filters, self._channels(input_shape)), self.filters)

    def call(self, x, mask=None, training=False):
        return self._finish(_ops().conv_transpose(self._checked(x), self.kernel, self.strides, self.padding,
                                                  self.output_padding, self.data_format, self.dilation_rate))

    def get_config(self):
        geometry = self._geometry_config()
        return {**super().get_config(), "filters": self.filters, **geometry, "output_padding": self.output_padding,
                **self._kernel_bias_config(), "activity_regularizer": _ser_r(self.activity_regularizer)}


class _AdaptivePooling(Layer):
    rank, op = 1, "adaptive_average_pool"

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.output_size = _tuple(output_size, self.rank, "output_size")
        self.data_format = _format(data_format)

    def call(self, x, mask=None, training=False):
        if x.dim() != self.rank + 2:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected a {self.rank + 2}-D input, got shape "
                             f"{tuple(x.shape)}")
        return getattr(_ops(), self.op)(x, self.output_size, self.data_format)

    def compute_mask(self, x, mask):
        return None

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size, "data_format": self.data_format}


def _ranked(base, name: str, rank: int, **attrs):
    return type(name, (base,), {"rank": rank, "__doc__": f"Keras's ``{name}``.", "__module__": __name__, **attrs})


DepthwiseConv1D, DepthwiseConv2D = (_ranked(_DepthwiseConv, f"DepthwiseConv{r}D", r) for r in (1, 2))
SeparableConv1D, SeparableConv2D = (_ranked(_SeparableConv, f"SeparableConv{r}D", r) for r in (1, 2))
Conv2DTranspose, Conv3DTranspose = (_ranked(_ConvTranspose, f"Conv{r}DTranspose", r) for r in (2, 3))
AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D = (
    _ranked(_AdaptivePooling, f"AdaptiveAveragePooling{r}D", r, op="adaptive_average_pool") for r in (1, 2, 3))
AdaptiveMaxPooling1D, AdaptiveMaxPooling2D, AdaptiveMaxPooling3D = (
    _ranked(_AdaptivePooling, f"AdaptiveMaxPooling{r}D", r, op="adaptive_max_pool") for r in (1, 2, 3))

__all__ = ["DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "Conv2DTranspose",
           "Conv3DTranspose", "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
           "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D"]
