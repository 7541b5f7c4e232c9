"""Keras's ``ConvLSTM1D`` (Shi et al. 2015): an LSTM whose states are rows of features and whose products are
convolutions, over input (batch, time, rows, channels) — e.g. a series of spectra or of sensor arrays.

    x̃_t = conv(x_t, W) + b              (W: (k, channels, 4F); ``padding``/``strides``/``dilation_rate`` as given)
    h̃   = conv(h_{t−1}, U)               (U: (k, F, 4F); "same" padding, stride 1, so h keeps its rows)
    i, f, c̄, o = split(x̃_t + h̃)         (Keras's gate order, F filters each)
    i = σ(i), f = σ(f), o = σ(o)         (σ = ``recurrent_activation``, tanh = ``activation``)
    c_t = f ⊙ c_{t−1} + i ⊙ tanh(c̄),  h_t = o ⊙ tanh(c_t)

Output: h_T (batch, rows', F), or every h_t (``return_sequences``); ``return_state`` adds h_T and c_T. A masked step
carries the states over and repeats the last output, as Keras's RNN does.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnnkit.keras import activations, initializers
from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.convolutional import _conv_arguments, _conv_config, _same_padding


def _conv(x: torch.Tensor, kernel: torch.Tensor, stride: int, padding: str, dilation: int) -> torch.Tensor:
    """(N, rows, channels) ⊛ kernel (k, channels, out) → (N, rows', out), Keras's paddings."""
    z = x.transpose(1, 2)
    if padding == "same":
        z = F.pad(z, _same_padding(z.shape[-1], kernel.shape[0], stride, dilation))
    return F.conv1d(z, kernel.permute(2, 1, 0), stride=stride, dilation=dilation).transpose(1, 2)


class ConvLSTMCell(Layer):
    """One step of ConvLSTM1D (module docstring); ``kernel``, ``recurrent_kernel``, ``bias`` as Keras's."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True, **kwargs):
        super().__init__(**kwargs)
        _conv_arguments(self, filters, kernel_size, strides, padding, data_format, dilation_rate, ("valid", "same"))
        self.activation, self.recurrent_activation = activations.get(activation), activations.get(recurrent_activation)
        self.use_bias, self.unit_forget_bias = use_bias, unit_forget_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):  # (batch, rows, channels)
        k, n = self.kernel_size, self.filters
        self.add_weight((k, input_shape[-1], 4 * n), self.kernel_initializer, name="kernel")
        self.add_weight((k, n, 4 * n), self.recurrent_initializer, name="recurrent_kernel")
        if self.use_bias:
            value = None
            if self.unit_forget_bias:
                value = torch.cat([torch.as_tensor(self.bias_initializer((n,))), torch.ones(n),
                                   torch.as_tensor(self.bias_initializer((2 * n,)))])
            self.add_weight((4 * n,), self.bias_initializer, name="bias", value=value)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """x̃ for every step at once: (batch, time, rows, channels) → (batch, time, rows', 4F)."""
        B, T = x.shape[:2]
        z = _conv(x.reshape(B * T, *x.shape[2:]), self.kernel, self.strides, self.padding, self.dilation_rate)
        if self.use_bias:
            z = z + self.bias
        return z.reshape(B, T, *z.shape[1:])

    def step(self, xw: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        i, f, g, o = (xw + _conv(h, self.recurrent_kernel, 1, "same", 1)).chunk(4, dim=-1)
        c = self.recurrent_activation(f) * c + self.recurrent_activation(i) * self.activation(g)
        return self.recurrent_activation(o) * self.activation(c), c

    def get_config(self):
        return {**super().get_config(), **_conv_config(self),
                "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize_initializer(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize_initializer(self.recurrent_initializer),
                "bias_initializer": initializers.serialize_initializer(self.bias_initializer),
                "unit_forget_bias": self.unit_forget_bias}


class ConvLSTM1D(Layer):
    supports_masking = True
    CELL_ARGS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
                 "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
                 "bias_initializer", "unit_forget_bias")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        for key in ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
                    "recurrent_constraint", "bias_constraint"):
            if kwargs.pop(key, None) is not None:
                raise ValueError(f"ConvLSTM1D: {key} is not supported by rnnkit.keras")
        for key in ("unroll", "zero_output_for_mask"):
            kwargs.pop(key, None)
        super().__init__(**kwargs)
        if stateful or dropout or recurrent_dropout:
            raise ValueError("ConvLSTM1D: stateful, dropout and recurrent_dropout are not supported by rnnkit.keras")
        self.cell = ConvLSTMCell(filters, kernel_size, strides, padding, data_format, dilation_rate, activation,
                                 recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                                 bias_initializer, unit_forget_bias, name="conv_lstm_cell")
        self.return_sequences, self.return_state, self.go_backwards = return_sequences, return_state, go_backwards
        self.seed = seed

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"ConvLSTM1D {self.name!r}: expected input (batch, time, rows, channels), got shape "
                             f"{tuple(input_shape)}")
        self.cell.build((input_shape[0], *input_shape[2:]))

    def call(self, x, mask=None, training=False, initial_state=None):
        if self.go_backwards:
            x = x.flip(1)
            mask = None if mask is None else mask.flip(1)
        xw = self.cell.project(x)
        if initial_state is not None:
            h, c = initial_state
        else:
            h = c = xw.new_zeros(xw.shape[0], xw.shape[2], self.cell.filters)
        outputs, last = [], h
        for t in range(xw.shape[1]):
            h_new, c_new = self.cell.step(xw[:, t], h, c)
            if mask is not None:  # a masked step keeps the states and repeats the last output
                keep = mask[:, t].bool().reshape(-1, 1, 1)
                h_new, c_new = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
                last = torch.where(keep, h_new, last)
            else:
                last = h_new
            h, c = h_new, c_new
            outputs.append(last)
        output = torch.stack(outputs, 1) if self.return_sequences else last
        return [output, h, c] if self.return_state else output

    def compute_mask(self, x, mask):
        out = mask if self.return_sequences else None
        return [out, None, None] if self.return_state else out

    def get_config(self):
        cell = {k: v for k, v in self.cell.get_config().items() if k not in ("name", "trainable", "dtype")}
        return {**super().get_config(), "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": False, "unroll": False, "zero_output_for_mask": False,
                **cell, "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": None, "kernel_constraint": None, "recurrent_constraint": None,
                "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0, "seed": self.seed}


__all__ = ["ConvLSTM1D", "ConvLSTMCell"]
