"""Keras's ``ConvLSTM1D``/``ConvLSTM2D``/``ConvLSTM3D`` (Shi et al. 2015): an LSTM whose states are grids of features
(rows; images; volumes) and whose products are convolutions — over input (batch, time, *spatial, channels), e.g. a
series of spectra, video frames or scans.

    x̃_t^g = conv(x_t ⊙ m^g, W^g) + b^g    (W: (*k, channels, 4F), split by gate g ∈ {i, f, c̄, o}; ``padding``,
                                          ``strides``, ``dilation_rate`` as given; m^g: the input dropout mask)
    h̃^g   = conv(h_{t−1} ⊙ r^g, U^g)      (U: (*k, F, 4F); "same" padding, stride 1, so h keeps its shape)
    i = σ(x̃^i + h̃^i), f = σ(x̃^f + h̃^f), o = σ(x̃^o + h̃^o)      (σ = ``recurrent_activation``)
    c_t = f ⊙ c_{t−1} + i ⊙ tanh(x̃^c̄ + h̃^c̄),  h_t = o ⊙ tanh(c_t)    (tanh = ``activation``)

In training, ``dropout`` and ``recurrent_dropout`` draw four masks each (one per gate, the shape of a step's input /
of h) once per sequence, as Keras's cell does — with a ``seed``, Keras's own masks. Output: h_T (batch, *spatial', F),
or every h_t (``return_sequences``); ``return_state`` adds h_T and c_T. A masked step carries the states over and
repeats the last output, as Keras's RNN does. Channels last only (Keras's default ``image_data_format``).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnnkit.keras import activations, constraints, initializers, regularizers
from rnnkit.keras.backend import SeedStream
from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.convolutional import _check_format, _same_padding

PREFIXES = ("kernel", "recurrent", "bias")  # Keras's argument names: kernel_initializer, recurrent_regularizer, …


def _tuple(value, rank: int, name: str) -> tuple[int, ...]:
    """Keras's ``standardize_tuple``: an int or ``rank`` ints."""
    values = (value,) * rank if isinstance(value, int) and not isinstance(value, bool) else tuple(value)
    if len(values) != rank or not all(isinstance(v, int) and v > 0 for v in values):
        raise ValueError(f"The `{name}` argument must be a tuple of {rank} integers. Received {name}={value}")
    return values


def conv(x: torch.Tensor, kernel: torch.Tensor, strides, padding: str, dilation) -> torch.Tensor:
    """(N, *spatial, channels) ⊛ kernel (*k, channels, out) → (N, *spatial', out), Keras's paddings, any rank 1–3."""
    rank = kernel.dim() - 2
    z = x.movedim(-1, 1)
    if padding == "same":
        pads = [p for d in reversed(range(rank))
                for p in _same_padding(z.shape[2 + d], kernel.shape[d], strides[d], dilation[d])]
        z = F.pad(z, pads)
    weight = kernel.permute(rank + 1, rank, *range(rank))  # (out, channels, *k)
    conv_nd = (F.conv1d, F.conv2d, F.conv3d)[rank - 1]
    return conv_nd(z, weight, stride=strides, dilation=dilation).movedim(1, -1)


def conv_output_shape(spatial, kernel_size, strides, padding: str, dilation) -> tuple:
    out = []
    for n, k, s, d in zip(spatial, kernel_size, strides, dilation):
        if n is None:
            out.append(None)
        elif padding == "same":
            out.append(-(-n // s))
        else:
            out.append((n - (k - 1) * d - 1) // s + 1)
    return tuple(out)


class ConvLSTMCell(Layer):
    """One step of a ConvLSTM of ``rank`` 1–3 (module docstring); ``kernel``, ``recurrent_kernel``, ``bias`` as
    Keras's. Called as Keras's cell: ``cell(x_t, [h, c], training)`` → (h_t, [h_t, c_t])."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", unit_forget_bias=True,
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        if rank not in (1, 2, 3):
            raise ValueError(f"Rank {rank} convolutions are not currently implemented. Received: rank={rank}")
        _check_format(data_format, type(self).__name__)
        self.rank, self.filters = rank, filters
        self.kernel_size = _tuple(kernel_size, rank, "kernel_size")
        self.strides = _tuple(strides, rank, "strides")
        self.dilation_rate = _tuple(dilation_rate, rank, "dilation_rate")
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"The `padding` argument must be one of 'valid', 'same'. Received: {padding}")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("Specifying `strides > 1` is not compatible with `dilation_rate > 1`. Please provide "
                             f"`strides=1` or `dilation_rate=1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.activation, self.recurrent_activation = activations.get(activation), activations.get(recurrent_activation)
        self.use_bias, self.unit_forget_bias = use_bias, unit_forget_bias
        self.kernel_initializer, self.recurrent_initializer, self.bias_initializer = (
            initializers.get(kernel_initializer), initializers.get(recurrent_initializer),
            initializers.get(bias_initializer))
        self.kernel_regularizer, self.recurrent_regularizer, self.bias_regularizer = (
            regularizers.get(kernel_regularizer), regularizers.get(recurrent_regularizer),
            regularizers.get(bias_regularizer))
        self.kernel_constraint, self.recurrent_constraint, self.bias_constraint = (
            constraints.get(kernel_constraint), constraints.get(recurrent_constraint), constraints.get(bias_constraint))
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed, self.seeds = seed, SeedStream(seed)

    def build(self, input_shape):  # (batch, *spatial, channels)
        k, n = self.kernel_size, self.filters
        self.add_weight((*k, input_shape[-1], 4 * n), self.kernel_initializer, name="kernel",
                        regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.add_weight((*k, n, 4 * n), self.recurrent_initializer, name="recurrent_kernel",
                        regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        if self.use_bias:
            value = None
            if self.unit_forget_bias:
                value = torch.cat([torch.as_tensor(self.bias_initializer((n,))), torch.ones(n),
                                   torch.as_tensor(self.bias_initializer((2 * n,)))])
            self.add_weight((4 * n,), self.bias_initializer, name="bias", value=value,
                            regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    # --- dropout: four masks each (one per gate), once per sequence --------------------------------------------------
    def dropout_masks(self, x_step: torch.Tensor, h: torch.Tensor, training: bool):
        def masks(rate, like):
            if not training or not 0 < rate < 1:
                return None
            return [self.seeds.dropout_mask(like.shape, rate, like) for _ in range(4)]
        return masks(self.dropout, x_step), masks(self.recurrent_dropout, h)

    # --- the step, split: the input part for all steps at once, then the recurrence -----------------------------------
    def project(self, x: torch.Tensor, dp=None) -> torch.Tensor:
        """x̃ for every step at once: (batch, time, *spatial, channels) → (batch, time, *spatial', 4F)."""
        B, T = x.shape[:2]
        flat = x.reshape(B * T, *x.shape[2:])
        args = (self.strides, self.padding, self.dilation_rate)
        if dp is None:
            z = conv(flat, self.kernel, *args)
        else:  # gate g reads x ⊙ m^g (the same mask at every step)
            kernels = self.kernel.chunk(4, dim=-1)
            z = torch.cat([conv((x * m.unsqueeze(1)).reshape(flat.shape), kg, *args) for m, kg in zip(dp, kernels)],
                          dim=-1)
        if self.use_bias:
            z = z + self.bias
        return z.reshape(B, T, *z.shape[1:])

    def step(self, xw: torch.Tensor, h: torch.Tensor, c: torch.Tensor, rdp=None) -> tuple[torch.Tensor, torch.Tensor]:
        ones = (1,) * self.rank
        if rdp is None:
            hu = conv(h, self.recurrent_kernel, ones, "same", ones)
        else:
            hu = torch.cat([conv(h * m, ug, ones, "same", ones)
                            for m, ug in zip(rdp, self.recurrent_kernel.chunk(4, dim=-1))], dim=-1)
        i, f, g, o = (xw + hu).chunk(4, dim=-1)
        c = self.recurrent_activation(f) * c + self.recurrent_activation(i) * self.activation(g)
        return self.recurrent_activation(o) * self.activation(c), c

    def call(self, inputs, states, training=False):
        """One step, Keras's cell API (fresh dropout masks each call)."""
        h, c = states
        dp, rdp = self.dropout_masks(inputs, h, training)
        h, c = self.step(self.project(inputs.unsqueeze(1), dp)[:, 0], h, c, rdp)
        return h, [h, c]

    def output_spatial(self, spatial) -> tuple:
        return conv_output_shape(spatial, self.kernel_size, self.strides, self.padding, self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": "channels_last",
                "dilation_rate": list(self.dilation_rate), "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation), "use_bias": self.use_bias,
                **{f"{p}_initializer": initializers.serialize_initializer(getattr(self, f"{p}_initializer"))
                   for p in PREFIXES},
                "unit_forget_bias": self.unit_forget_bias,
                **{f"{p}_regularizer": regularizers.serialize_regularizer(getattr(self, f"{p}_regularizer"))
                   for p in PREFIXES},
                **{f"{p}_constraint": constraints.serialize_constraint(getattr(self, f"{p}_constraint"))
                   for p in PREFIXES},
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}


class ConvLSTM(Layer):
    """The recurrence of a ``ConvLSTMCell`` over time (module docstring): Keras's ``ConvLSTM(rank, filters,
    kernel_size, …, return_sequences, return_state, go_backwards)``; ``ConvLSTM1D/2D/3D`` fix the rank."""

    supports_masking = True
    rank: int | None = None  # the subclasses' (ConvLSTM itself takes it as its first argument)

    def __init__(self, *args, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        if type(self).rank is None:
            rank, *args = args if args else (kwargs.pop("rank"),)
        else:
            rank = type(self).rank
        cell_keys = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
                     "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
                     "bias_initializer", "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer",
                     "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
                     "recurrent_dropout", "seed")
        cell_kwargs = {k: kwargs.pop(k) for k in cell_keys if k in kwargs}
        super().__init__(**kwargs)
        if stateful:
            raise ValueError(f"{type(self).__name__}: stateful=True is not supported by rnnkit.keras")
        self.cell = ConvLSTMCell(rank, *args, **cell_kwargs, name="conv_lstm_cell")
        self.rank = rank
        self.return_sequences, self.return_state, self.go_backwards = return_sequences, return_state, go_backwards

    def build(self, input_shape):
        if len(input_shape) != self.rank + 3:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected input (batch, time, "
                             f"{', '.join(['rows', 'columns', 'depth'][:self.rank])}, channels), got shape "
                             f"{tuple(input_shape)}")
        self.cell.build((input_shape[0], *input_shape[2:]))

    def call(self, x, mask=None, training=False, initial_state=None):
        if self.go_backwards:
            x = x.flip(1)
            mask = None if mask is None else mask.flip(1)
        cell = self.cell
        shape = (x.shape[0], *cell.output_spatial(x.shape[2:-1]), cell.filters)
        if initial_state is not None:
            h, c = (torch.as_tensor(s, dtype=x.dtype) for s in initial_state)
        else:
            h = c = x.new_zeros(shape)
        dp, rdp = cell.dropout_masks(x[:, 0], h, training)  # once per sequence
        xw = cell.project(x, dp)
        outputs, last = [], h
        for t in range(xw.shape[1]):
            h_new, c_new = cell.step(xw[:, t], h, c, rdp)
            if mask is not None:  # a masked step keeps the states and repeats the last output
                keep = torch.as_tensor(mask)[:, t].bool().reshape(-1, *(1,) * (self.rank + 1))
                h_new, c_new = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
                last = torch.where(keep, h_new, last)
            else:
                last = h_new
            h, c = h_new, c_new
            outputs.append(last)
        output = torch.stack(outputs, 1) if self.return_sequences else last
        return [output, h, c] if self.return_state else output

    def compute_output_shape(self, input_shape):
        state = (input_shape[0], *self.cell.output_spatial(input_shape[2:-1]), self.cell.filters)
        output = (state[0], input_shape[1], *state[1:]) if self.return_sequences else state
        return [output, state, state] if self.return_state else output

    def compute_mask(self, x, mask):
        out = mask if self.return_sequences else None
        return [out, None, None] if self.return_state else out

    def get_config(self):
        cell = {k: v for k, v in self.cell.get_config().items() if k not in ("name", "trainable", "dtype")}
        return {**super().get_config(), "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": False, "unroll": False, "zero_output_for_mask": False,
                **cell, "activity_regularizer": regularizers.serialize_regularizer(self.activity_regularizer),
                **({"rank": self.rank} if type(self).rank is None else {})}


class ConvLSTM1D(ConvLSTM):
    rank = 1


class ConvLSTM2D(ConvLSTM):
    rank = 2


class ConvLSTM3D(ConvLSTM):
    rank = 3


__all__ = ["ConvLSTM", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "ConvLSTMCell", "conv"]
