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
weight gradients in one GEMM after the loop). ``use_cudnn`` (LSTM/GRU) picks among them as Keras's does between cuDNN and
its loop: ``"auto"`` the fastest, ``True`` the whole-sequence kernel or an error naming why not, ``False`` the loop.

Any cell following Keras's protocol works — a user's layer with ``state_size``, ``call(inputs, states[, training])``
and optionally ``output_size``/``get_initial_state(batch_size)`` — run step by step with the same masking rules;
stacked cells keep Keras's nested states (``return_state`` gives ``[output, [h1, c1], [h2, c2]]``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.base import matmul
from rnnkit.keras.layers.base import Layer, flatten
from rnnkit.keras.layers.cells import GRUCell, KerasCell, LSTMCell, SimpleRNNCell, build_with_shape, output_size, state_sizes
from rnnkit.keras.layers.stacked import StackedRNNCells, call_cell, check_cell
from rnnkit.recurrence import run_fused, run_loop_deferred
from rnnkit.recurrence.bptt import run_sequence
from rnnkit.recurrence.scan import run_scan, unaliased


def _cells(cell) -> list:
    return list(cell.cells) if isinstance(cell, StackedRNNCells) else [cell]


class RNN(Layer):
    supports_masking = True

    def __init__(self, cell, return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False, zero_output_for_mask: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell))
        check_cell(cell, type(self).__name__)
        size = cell.state_size
        if not isinstance(size, (int, list, tuple)):
            raise ValueError(f"{type(self).__name__}: state_size must be an integer or a list of integers, got {size!r}")
        self.cell = cell
        self.return_sequences, self.return_state = return_sequences, return_state
        self.go_backwards, self.stateful, self.unroll = go_backwards, stateful, unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.states: list[Tensor] | None = None  # a stateful layer's carried states (flat), fixed batch size
        self._expected_batch_size: int | None = None

    def _sublayers(self):
        return [self.cell] if isinstance(self.cell, Layer) else []

    @property
    def state_size(self) -> list:
        """Keras's RNN.state_size: the cell's, as a list."""
        s = self.cell.state_size
        return [s] if isinstance(s, int) else list(s)

    @property
    def _engine_ready(self) -> bool:
        return isinstance(self.cell, KerasCell) or (isinstance(self.cell, StackedRNNCells) and self.cell.engine_ready)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected input (batch, time, features), got shape "
                             f"{tuple(input_shape)}")
        build_with_shape(self.cell, (input_shape[0], *input_shape[2:]))

    def reset_states(self, states=None) -> None:
        """Keras's reset: a stateful layer's states back to zeros (its batch size stays), or to the given arrays."""
        if states is not None:
            self.states = [torch.as_tensor(s).float() for s in flatten(states)]
            self._expected_batch_size = self.states[0].shape[0]
        elif self.states is not None:
            self.states = [torch.zeros_like(s) for s in self.states]

    reset_state = reset_states

    # --- states: flat inside, nested per cell outside ------------------------------------------------------------
    def _pack(self, flat: list[Tensor]) -> list:
        """Flat states in the cell's structure: a list for one cell; one list per cell for a stack."""
        if not isinstance(self.cell, StackedRNNCells):
            return list(flat)
        out, i = [], 0
        for c in self.cell.cells:
            n = len(state_sizes(c))
            # as Keras: a cell with one int state and no get_initial_state carries a bare tensor, the others lists
            bare = isinstance(c.state_size, int) and getattr(c, "get_initial_state", None) is None
            out.append(flat[i] if bare else list(flat[i:i + n]))
            i += n
        return out

    def _zeros(self, x: Tensor) -> list[Tensor]:
        cell, B = self.cell, x.shape[0]
        if isinstance(cell, (KerasCell, StackedRNNCells)):
            return flatten(cell.get_initial_state(B, x))
        fn = getattr(cell, "get_initial_state", None)
        if fn is not None:
            return [torch.as_tensor(s).to(x) for s in flatten(fn(batch_size=B))]
        return [x.new_zeros(B, n) for n in state_sizes(cell)]

    def _initial(self, x: Tensor, initial_state) -> list[Tensor]:
        B = x.shape[0]
        if self.stateful and self._expected_batch_size is not None and B != self._expected_batch_size:
            raise ValueError(f"{self.name!r}: If an RNN is stateful, the batch size of the input sequences must be the "
                             f"same as the batch size of the initial state.\n- Expected batch size: "
                             f"{self._expected_batch_size}\n- Received batch size: {B}")
        if initial_state is not None:
            states = flatten(initial_state)
            sizes = state_sizes(self.cell)
            if len(states) != len(sizes):
                raise ValueError(f"{self.name!r}: initial_state needs {len(sizes)} tensor(s), got {len(states)}")
            for s, n in zip(states, sizes):
                if tuple(s.shape) != (B, n):
                    raise ValueError(f"{self.name!r}: initial state of shape {tuple(s.shape)}, expected {(B, n)}")
            return states
        if self.stateful:
            if self.states is None:
                self.states, self._expected_batch_size = [s.detach() for s in self._zeros(x)], B
            if self.states[0].device != x.device:  # set from arrays, or the model moved (fit on a GPU)
                self.states = [s.to(x.device) for s in self.states]
            return self.states
        return self._zeros(x)

    # --- running -------------------------------------------------------------------------------------------------
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
        """rnnkit's loop backend over rnnkit.keras cells (a stack included)."""
        cell = self.cell
        first_h = states[0]
        dp, rdp = cell.dropout_masks(x[:, 0], first_h, training)
        xw = cell.project(x, dp).transpose(0, 1)  # (T, B, G·u)
        params = cell.loop_params(rdp)
        zero_out = self.zero_output_for_mask
        # weights used only through mm(h, W) get their gradient in one GEMM after the loop
        deferred = [k for k in params if k.rsplit(".", 1)[-1].startswith("R")]

        def bind(p, mm):
            step = cell.bind(p, mm, rdp, dp) if isinstance(cell, StackedRNNCells) else cell.bind(p, mm, rdp)
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

        def run(inputs, init):  # traced for torch.export / ONNX: torch's scan operator, any length
            if torch.compiler.is_exporting():
                return run_scan(lambda p=unaliased(params): bind(p, matmul), inputs, init)
            return run_loop_deferred(bind, params, deferred, inputs, init)

        if mask is None:
            y, fin = run(xw, tuple(states))
        else:
            init = (*states, first_h.new_zeros(first_h.shape[0], cell.units))
            y, fin = run((xw, mask.transpose(0, 1).bool()), init)
            fin = fin[:-1]
        return y.transpose(0, 1), list(fin)

    def _cell_loop(self, x: Tensor, states: list[Tensor], mask: Tensor | None, training: bool):
        """Any cell, step by step as Keras's ``backend.rnn``: a masked step keeps the states and repeats the previous
        output (zeros with ``zero_output_for_mask``); rnnkit.keras cells inside keep one dropout mask per sequence."""
        own = [c for c in _cells(self.cell) if isinstance(c, KerasCell)]
        for c in own:
            c._sequence_masks = []
        try:
            outs, prev = [], None
            for t in range(x.shape[1]):
                out, new = call_cell(self.cell, x[:, t], self._pack(states), training)
                new = flatten(new)
                if mask is not None:
                    keep = mask[:, t].bool().unsqueeze(-1)
                    new = [torch.where(keep, n, o) for n, o in zip(new, states)]
                    fill = torch.zeros_like(out) if self.zero_output_for_mask or prev is None else prev
                    out = torch.where(keep, out, fill)
                states, prev = new, out
                outs.append(out)
        finally:
            for c in own:
                c._sequence_masks = None
        return torch.stack(outs, 1), states

    def _run(self, x: Tensor, states: list[Tensor], mask: Tensor | None, training: bool):
        """(outputs, final states, whether a whole-sequence kernel ran) — the backend ``use_cudnn`` allows."""
        if not self._engine_ready:
            return (*self._cell_loop(x, states, mask, training), False)
        cell = self.cell
        dropout_active = training and any(c.dropout > 0 or c.recurrent_dropout > 0 for c in _cells(cell))
        whole = None
        use_cudnn = getattr(self, "use_cudnn", "auto")  # LSTM and GRU have the argument, as in Keras; the others: auto
        if use_cudnn is not False and isinstance(cell, KerasCell) and not torch.compiler.is_exporting():
            if not dropout_active:
                whole = self._whole_sequence(x, states, mask)
            elif not cell.recurrent_dropout and cell.mask_count == 1:  # input dropout: one mask per sequence on x
                dp = cell.dropout_masks(x[:, 0], states[0], True)[0]
                whole = self._whole_sequence(x * dp[0].unsqueeze(1), states, mask)
        if whole is None and use_cudnn is True:
            raise ValueError(f"{self.name!r}: use_cudnn=True was specified, but the fused kernel does not support this "
                             "configuration (it needs the default activations, no recurrent dropout, implementation 2"
                             ", GRU reset_after=True, and on GPU no mask). Pass use_cudnn='auto' to fall back to the "
                             "step loop")
        if whole is not None:
            return (*whole, True)
        return (*self._loop(x, states, mask, bool(training)), False)

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
        y, fin, whole = self._run(x, states, mask, training)
        if self.stateful:
            self.states = [s.detach() for s in fin]
        if self.return_sequences:
            output = y
        elif whole and mask is None:  # the kernel's final state: y_T without asking y for a T×B×H gradient
            output = fin[0]
        else:
            output = y[:, -1]
        return [output, *self._pack(fin)] if self.return_state else output

    def compute_mask(self, x, mask):
        out_mask = mask if self.return_sequences else None
        if self.return_state:
            return [out_mask] + [None] * len(state_sizes(self.cell))
        return out_mask

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        out = (batch, steps, output_size(self.cell)) if self.return_sequences else (batch, output_size(self.cell))
        if not self.return_state:
            return out
        shapes = [(batch, n) if isinstance(n, int) else [(batch, m) for m in n] for n in self.state_size]
        return [out, *shapes]

    def get_config(self):
        from rnnkit.keras.layers.serialize import serialize_layer

        return {**super().get_config(), "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask, "cell": serialize_layer(self.cell)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from rnnkit.keras.layers.serialize import deserialize_layer

        config = dict(config)
        return cls(deserialize_layer(config.pop("cell"), custom_objects), **config)


_RNN_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "zero_output_for_mask", "name",
             "input_shape", "trainable", "dtype", "input_dim", "batch_input_shape", "batch_size",
             "activity_regularizer")
USE_CUDNN = ("auto", True, False)


def _split(kwargs):
    layer = {k: kwargs.pop(k) for k in list(kwargs) if k in _RNN_ARGS}
    return layer, kwargs


class _BuiltInRNN(RNN):
    """SimpleRNN / LSTM / GRU: an RNN over its own cell, whose arguments it takes (and reports in its config)."""

    def _set_use_cudnn(self, use_cudnn) -> None:
        if use_cudnn not in USE_CUDNN:
            raise ValueError(f"{type(self).__name__}: use_cudnn must be 'auto', True or False, got {use_cudnn!r}")
        self.use_cudnn = use_cudnn

    def get_config(self):
        cell = {k: v for k, v in self.cell.get_config().items() if k not in ("name", "trainable", "dtype")}
        layer = {k: v for k, v in super().get_config().items() if k != "cell"}
        return {**layer, "activity_regularizer": layer.get("activity_regularizer"), **cell}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


def _cell_argument(name: str) -> property:
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's ``{name}``, as Keras's layer reports it.")


# Keras's layer properties: the cell's arguments (lstm.units, lstm.activation, gru.recurrent_dropout, …)
for _name in ("units", "activation", "use_bias", "dropout", "recurrent_dropout", *(f"{w}_{kind}" for w in (
        "kernel", "recurrent", "bias") for kind in ("initializer", "regularizer", "constraint"))):
    setattr(_BuiltInRNN, _name, _cell_argument(_name))
del _name


class SimpleRNN(_BuiltInRNN):
    def __init__(self, units: int, activation="tanh", use_bias=True, **kwargs):
        layer, cell_kw = _split(kwargs)
        super().__init__(SimpleRNNCell(units, activation=activation, use_bias=use_bias, name="simple_rnn_cell",
                                       **cell_kw), **layer)


class LSTM(_BuiltInRNN):
    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 use_cudnn="auto", **kwargs):
        layer, cell_kw = _split(kwargs)
        super().__init__(LSTMCell(units, activation=activation, recurrent_activation=recurrent_activation,
                                  use_bias=use_bias, name="lstm_cell", **cell_kw), **layer)
        self._set_use_cudnn(use_cudnn)

    recurrent_activation, unit_forget_bias = _cell_argument("recurrent_activation"), _cell_argument("unit_forget_bias")


class GRU(_BuiltInRNN):
    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 reset_after: bool = True, use_cudnn="auto", **kwargs):
        layer, cell_kw = _split(kwargs)
        super().__init__(GRUCell(units, activation=activation, recurrent_activation=recurrent_activation,
                                 use_bias=use_bias, reset_after=reset_after, name="gru_cell", **cell_kw), **layer)
        self._set_use_cudnn(use_cudnn)

    recurrent_activation, reset_after = _cell_argument("recurrent_activation"), _cell_argument("reset_after")
