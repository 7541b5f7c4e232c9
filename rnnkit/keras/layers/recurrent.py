"""``RNN(cell)`` and ``SimpleRNN``/``LSTM``/``GRU``: Keras's recurrent layers, run by rnnkit's engine.

Semantics follow Keras 3: inputs are (batch, time, features); ``return_sequences``, ``return_state``, ``go_backwards``
(the sequence is read backwards and the outputs come out in that reversed order), ``stateful`` (the last state of a batch
is the first of the next; ``reset_states()``), masks (a masked step keeps the state and repeats the previous output — or
zeros, with ``zero_output_for_mask``), dropout and recurrent dropout with one mask per sequence.

Speed: when nothing needs the step-by-step path (default activations, no active dropout, GRU with ``reset_after=True``)
the layer converts the weights to torch's layout on the fly and runs the fastest whole-sequence kernel for the device:
torch's fused kernel for the LSTM (oneDNN on CPU) and on GPUs (cuDNN) when there is no mask, and rnnkit's hand-written
BPTT (``rnnkit.recurrence.bptt``) on CPU otherwise — for SimpleRNN and GRU it beats torch's own kernels, and it takes
masks. Otherwise it runs rnnkit's loop backend (input projection for all steps in one matmul, ``unbind``, recurrent
weight gradients in one GEMM after the loop).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.cells import GRUCell, KerasCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from rnnkit.recurrence import run_fused, run_loop_deferred
from rnnkit.recurrence.bptt import run_sequence


class RNN(Layer):
    supports_masking = True

    def __init__(self, cell, return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, zero_output_for_mask: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell))
        if not isinstance(cell, (KerasCell, StackedRNNCells)):
            raise TypeError(f"RNN: cell must be a rnnkit.keras cell (SimpleRNNCell, LSTMCell, GRUCell) or a list of them, "
                            f"got {type(cell).__name__}")
        self.cell = cell
        self.return_sequences, self.return_state = return_sequences, return_state
        self.go_backwards, self.stateful, self.unroll = go_backwards, stateful, unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.states: list[Tensor] | None = None

    def _sublayers(self):
        return [self.cell]

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected input (batch, time, features), got shape "
                             f"{tuple(input_shape)}")
        self.cell._maybe_build(torch.zeros(1, input_shape[-1]))

    def reset_states(self, states=None) -> None:
        self.states = None if states is None else [torch.as_tensor(s).float() for s in states]

    reset_state = reset_states

    # --- running -------------------------------------------------------------------------------------------------
    def _initial(self, x: Tensor, initial_state) -> list[Tensor]:
        B = x.shape[0]
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            sizes = self.cell.state_size
            if len(states) != len(sizes):
                raise ValueError(f"{self.name!r}: initial_state needs {len(sizes)} tensor(s), got {len(states)}")
            for s, n in zip(states, sizes):
                if tuple(s.shape) != (B, n):
                    raise ValueError(f"{self.name!r}: initial state of shape {tuple(s.shape)}, expected {(B, n)}")
            return states
        if self.stateful and self.states is not None:
            if self.states[0].shape[0] != B:
                raise ValueError(f"{self.name!r} is stateful with batch size {self.states[0].shape[0]}, but got a batch "
                                 f"of {B}; call reset_states() to change it")
            return self.states
        return self.cell.get_initial_state(B, x)

    def _whole_sequence(self, x: Tensor, states: list[Tensor], mask: Tensor | None):
        """The fastest whole-sequence kernel for this configuration and device, or None when it needs the step loop."""
        spec = self.cell.fused_spec() if isinstance(self.cell, KerasCell) else None
        if spec is None:
            return None
        mode, flat, bias = spec
        if x.device.type == "cpu" and (mode != "LSTM" or mask is not None):
            m = None if mask is None else mask.bool().transpose(0, 1).unsqueeze(-1)  # (T, B, 1)
            y, fin = run_sequence(mode, x.transpose(0, 1), tuple(states), *flat, mask=m)
            if m is not None:  # masked steps repeat the previous output: the carried state, zeros before the first step
                y = y * (m if self.zero_output_for_mask else m.cummax(0).values)
            return y.transpose(0, 1), list(fin)
        if mask is not None:
            return None
        hx = tuple(s.unsqueeze(0) for s in states)
        y, fin = run_fused(mode, x.transpose(0, 1), hx, flat, bias=bias, num_layers=1, dropout=0.0, training=False,
                           bidirectional=False)
        return y.transpose(0, 1), [f.squeeze(0) for f in fin]

    def _loop(self, x: Tensor, states: list[Tensor], mask: Tensor | None, training: bool):
        cell = self.cell
        first_h = states[0]
        dp, rdp = cell.dropout_masks(x[:, 0], first_h, training)
        if isinstance(cell, StackedRNNCells):
            cell._step_dps = dp
        xw = cell.project(x, dp).transpose(0, 1)  # (T, B, G·u)
        params = cell.loop_params(rdp)
        zero_out = self.zero_output_for_mask
        # weights used only through mm(h, W) get their gradient in one GEMM after the loop
        deferred = [k for k in params if k.rsplit(".", 1)[-1].startswith("R")]

        def bind(p, mm):
            step = cell.bind(p, mm, rdp)
            if mask is None:
                return step

            def masked(inputs, s):
                xw_t, m_t = inputs
                prev_out, st = s[-1], s[:-1]
                out, new = step(xw_t, st)
                keep = m_t.unsqueeze(-1)
                new = tuple(torch.where(keep, n, o) for n, o in zip(new, st))
                out = torch.where(keep, out, torch.zeros_like(out) if zero_out else prev_out)
                return out, (*new, out)
            return masked

        if mask is None:
            y, fin = run_loop_deferred(bind, params, deferred, xw, tuple(states))
        else:
            init = (*states, first_h.new_zeros(first_h.shape[0], cell.units))
            y, fin = run_loop_deferred(bind, params, deferred, (xw, mask.transpose(0, 1).bool()), init)
            fin = fin[:-1]
        if isinstance(cell, StackedRNNCells):
            del cell._step_dps
        return y.transpose(0, 1), list(fin)

    def call(self, x, mask=None, training=False, initial_state=None):
        if not x.is_floating_point():
            raise TypeError(f"{type(self).__name__} {self.name!r}: expected a float input, got {x.dtype}")
        if x.dim() != 3:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected (batch, time, features), got shape "
                             f"{tuple(x.shape)}")
        states = self._initial(x, initial_state)
        if self.go_backwards:
            x = x.flip(1)
            mask = None if mask is None else mask.flip(1)
        dropout_active = training and (getattr(self.cell, "dropout", 0) > 0 or getattr(self.cell, "recurrent_dropout", 0) > 0)
        out = None if dropout_active else self._whole_sequence(x, states, mask)
        y, fin = out if out is not None else self._loop(x, states, mask, bool(training))
        if self.stateful:
            self.states = [s.detach() for s in fin]
        if self.return_sequences:
            output = y
        elif out is not None and mask is None:  # the kernel's final state: y_T without asking y for a T×B×H gradient
            output = fin[0]
        else:
            output = y[:, -1]
        return [output, *fin] if self.return_state else output

    def compute_mask(self, x, mask):
        out_mask = mask if self.return_sequences else None
        if self.return_state:
            return [out_mask] + [None] * len(self.cell.state_size)
        return out_mask

    def get_config(self):
        return {**super().get_config(), "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask, "cell": self.cell}


_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask", "name",
             "input_shape", "trainable", "dtype", "input_dim", "batch_input_shape", "batch_size")


def _split(kwargs):
    layer = {k: kwargs.pop(k) for k in list(kwargs) if k in _RNN_ARGS}
    return layer, kwargs


class _BuiltInRNN(RNN):
    """SimpleRNN / LSTM / GRU: an RNN over its own cell, whose arguments it takes (and reports in its config)."""

    @property
    def units(self):
        return self.cell.units

    def get_config(self):
        cell = {k: v for k, v in self.cell.get_config().items() if k not in ("name", "trainable")}
        layer = {k: v for k, v in super().get_config().items() if k != "cell"}
        return {**layer, **cell}


class SimpleRNN(_BuiltInRNN):
    def __init__(self, units: int, activation="tanh", **kwargs):
        layer, cell_kw = _split(kwargs)
        super().__init__(SimpleRNNCell(units, activation=activation, name="simple_rnn_cell", **cell_kw), **layer)


class LSTM(_BuiltInRNN):
    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid", **kwargs):
        layer, cell_kw = _split(kwargs)
        super().__init__(LSTMCell(units, activation=activation, recurrent_activation=recurrent_activation,
                                  name="lstm_cell", **cell_kw), **layer)


class GRU(_BuiltInRNN):
    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid", reset_after: bool = True,
                 **kwargs):
        layer, cell_kw = _split(kwargs)
        super().__init__(GRUCell(units, activation=activation, recurrent_activation=recurrent_activation,
                                 reset_after=reset_after, name="gru_cell", **cell_kw), **layer)
