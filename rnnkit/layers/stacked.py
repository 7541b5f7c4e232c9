"""Stacked, optionally bidirectional recurrent layers with ``torch.nn.RNN``'s parameters — and two backends.

Parameters are named and shaped as in torch (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``,
``weight_hr_l{k}`` for LSTM projections, ``_reverse`` for the backward direction) and registered in torch's order, so a
``torch.nn`` module's ``state_dict()`` loads as it is.

Backends (``backend=``):

* ``"fused"``: torch's own kernels, the same ones ``torch.nn.RNN/LSTM/GRU`` call (only where they exist).
* ``"loop"``: rnnkit's cells run over time by ``rnnkit.recurrence.run_loop``; stacking and the reverse direction are composed
  here, around whichever cell, instead of being re-implemented per cell.
* ``"scan"``: the same cells run by ``rnnkit.recurrence.run_scan`` (torch's scan operator): one traced step, so
  ``torch.export`` and the ONNX exporter capture the whole loop with a dynamic length — the export backend.
* ``"auto"`` (default): the faster of the two measured for the configuration and the device — torch's fused kernel on
  GPUs and for the LSTM on CPU (oneDNN); on CPU, the loop's hand-written BPTT for the tanh/relu RNN and the GRU, which
  beats torch's own CPU kernels there (``cpu_prefers_loop``; README, Benchmarks); the loop where no fused kernel exists.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.cells.base import MatMul, Step, check_bool, check_dropout, check_int, init_uniform_, matmul
from rnnkit.layers.base import SequenceLayer
from rnnkit.layers.regularizers import Regularizers, drop_weights, locked_mask, regularized_step, zoneout_draws
from rnnkit.recurrence import (
    BACKENDS,
    active_recorder,
    reverse_padded,
    run_fused,
    run_loop_deferred,
    run_scan,
    scanning,
    step_mask,
    transforming,
    unaliased,
)


def check_no_projection(proj_size) -> None:
    """torch.nn.RNN/GRU take ``proj_size`` only to refuse it (as torch does, with ValueError)."""
    if proj_size:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")


class StackedRNNBase(SequenceLayer):
    num_gates: int = 1
    #: whether ``backend="auto"`` runs the loop's hand-written BPTT rather than torch's fused kernel on CPU (where the
    #: loop was measured faster: the tanh/relu RNN and the GRU, 1.1–3.9× forward+backward, ≥ 1× forward only)
    cpu_prefers_loop: bool = False
    #: whether b_hh may be folded into the input projection (it may when the cell adds it to W_hh h unscaled)
    fold_bias_hh: bool = True

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None, *, backend: str = "auto", variational_dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, zoneout: float = 0.0, weight_drop: float = 0.0) -> None:
        super().__init__()
        name = type(self).__name__
        self.regularizers = Regularizers.checked(name, variational_dropout=variational_dropout,
                                                 recurrent_dropout=recurrent_dropout, zoneout=zoneout,
                                                 weight_drop=weight_drop)
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            check_int(name, arg, value, 1)
        check_bool(name, "bias", bias)
        check_bool(name, "batch_first", batch_first)
        check_dropout(name, dropout, num_layers)
        if proj_size < 0:  # torch's words, then the values
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to disable projections, got "
                             f"{proj_size}")
        if proj_size >= hidden_size and proj_size != 0:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size, got proj_size={proj_size} and "
                             f"hidden_size={hidden_size}")
        if backend not in BACKENDS:
            raise ValueError(f"{name}: unknown backend {backend!r}; expected one of {BACKENDS}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.proj_size = int(proj_size)
        if backend == "fused" and self._fused_mode() is None:
            raise ValueError(f"{name}: backend='fused' is not available for this configuration "
                             f"({self.extra_repr()}); use backend='loop' or 'auto'")
        self.backend = backend

        factory = {"device": device, "dtype": dtype}
        D = 2 if self.bidirectional else 1
        gate_size = self.num_gates * hidden_size
        real_hidden = self.proj_size or hidden_size
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * D
            for direction in range(D):
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if self.bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if self.proj_size:
                    shapes += [("weight_hr", (self.proj_size, hidden_size))]
                for base, shape in shapes:
                    setattr(self, base + sfx, nn.Parameter(torch.empty(shape, **factory)))
                    self._flat_weights_names.append(base + sfx)
        self.reset_parameters()
        self.flatten_parameters()

    # --- torch.nn.RNNBase compatibility ----------------------------------------------------------------------
    def reset_parameters(self) -> None:
        init_uniform_(self, self.hidden_size)

    @property
    def mode(self) -> str | None:
        """``torch.nn.RNNBase.mode``: ``"LSTM"``, ``"GRU"``, ``"RNN_TANH"`` or ``"RNN_RELU"`` (None for a cell torch
        has no kernel for)."""
        return self._fused_mode()

    def flatten_parameters(self) -> None:
        """As ``torch.nn.RNNBase.flatten_parameters``: on a CUDA device with cuDNN, move every weight into one
        contiguous buffer in cuDNN's layout (each parameter becomes a view of it, the same ``Parameter`` objects), so
        cuDNN's fused kernel reads them where they are instead of copying them on every call. Called, as torch.nn does,
        when the layer is built and after every ``.to()``/``.cuda()``/``.half()``. A no-op on the CPU, for a
        configuration without a cuDNN kernel (``_fused_mode()`` is None), or when the weights differ in dtype or share
        memory."""
        mode, weights = self._fused_mode(), self._flat_weights
        if mode is None or not weights:
            return
        first = weights[0]
        if any(w.dtype != first.dtype or not w.is_cuda or not torch.backends.cudnn.is_acceptable(w) for w in weights):
            return
        if len({w.data_ptr() for w in weights}) != len(weights):
            return
        import torch.backends.cudnn.rnn as cudnn_rnn

        with torch.cuda.device_of(first), torch.no_grad():
            if torch._use_cudnn_rnn_flatten_weight():
                per_layer = (4 if self.bias else 2) + (1 if self.proj_size else 0)
                torch._cudnn_rnn_flatten_weight(weights, per_layer, self.input_size, cudnn_rnn.get_cudnn_mode(mode),
                                                self.hidden_size, self.proj_size, self.num_layers, self.batch_first,
                                                self.bidirectional)

    def _apply(self, fn, recurse=True):
        out = super()._apply(fn, recurse)
        self.flatten_parameters()
        return out

    @property
    def _flat_weights(self) -> list[Tensor]:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Tensor]]:
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        for k, v in self.regularizers.active().items():
            s += f", {k}={v}"
        return s

    def to_torch(self) -> nn.RNNBase:
        """The ``torch.nn`` module of this configuration with a copy of these weights (``rnnkit.layers.convert``)."""
        from rnnkit.layers.convert import to_torch

        return to_torch(self)

    def __prepare_scriptable__(self) -> nn.RNNBase:
        """``torch.jit.script(layer)`` compiles the ``torch.nn`` twin sharing these parameters (``convert.scriptable``)."""
        from rnnkit.layers.convert import scriptable

        return scriptable(self)

    @classmethod
    def from_torch(cls, module: nn.RNNBase, **kwargs):
        """This rnnkit layer made from a ``torch.nn`` module (configuration and weights); ``kwargs``: e.g. ``backend``."""
        from rnnkit.layers.convert import from_torch

        return from_torch(cls, module, **kwargs)

    # --- state ----------------------------------------------------------------------------------------------
    def _state_rows(self) -> int:
        return self.num_layers * (2 if self.bidirectional else 1)

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    # --- per-cell hooks -------------------------------------------------------------------------------------
    def _fused_mode(self) -> str | None:
        """The name of torch's fused kernel for this configuration, or None when there is none."""
        raise NotImplementedError

    def _loop_params(self, suffix: str) -> dict[str, Tensor | None]:
        """The tensors one layer-direction's step uses (by default ``weight_hh``, ``bias_hh``, ``weight_hr``)."""
        b_hh = getattr(self, "bias_hh" + suffix, None)
        return {"weight_hh": getattr(self, "weight_hh" + suffix), "bias_hh": None if self.fold_bias_hh else b_hh,
                "weight_hr": getattr(self, "weight_hr" + suffix, None)}

    def _project(self, x: Tensor, weight_ih: Tensor, bias: Tensor | None, suffix: str) -> Tensor:
        """The input part of every step at once, ``W_ih x + bias`` (a layer-normalised cell normalises it here)."""
        return F.linear(x, weight_ih, bias)

    def _bind(self, params: dict[str, Tensor | None], mm: MatMul) -> Step:
        """Build the step from ``_loop_params``' tensors; recurrent products go through ``mm``."""
        raise NotImplementedError

    def _sequence(self, x: Tensor, weight_ih: Tensor, bias: Tensor | None, state: tuple[Tensor, ...],
                  params: dict[str, Tensor | None], mask: Tensor | None):
        """The whole sequence with hand-written BPTT (``rnnkit.recurrence.bptt``, which projects ``x`` itself:
        ``weight_ih x_t + bias``) → ``(carried states, final_state)``, or None where this configuration has no such
        kernel (then autograd runs through the cell's step)."""
        return None

    # --- running --------------------------------------------------------------------------------------------
    def uses_fused(self, device: torch.device | str | None = None, *, packed_backward: bool = False) -> bool:
        """Whether forward calls torch's fused kernel on ``device`` (default: where the parameters are).
        ``packed_backward``: the call has ``lengths=`` and will be differentiated — on CPU, torch's kernel then runs a
        ``PackedSequence`` through its slow native path (no oneDNN), and the loop's hand-written BPTT was measured
        1.2–6× faster forward+backward (LSTM, B 16–64, T 30–400, H 128–512; README, Benchmarks), while without
        gradients the fused kernel stays ahead."""
        if self.backend != "auto" or self._fused_mode() is None:
            return self.backend == "fused"
        device = torch.device(device) if device is not None else self.weight_ih_l0.device
        return not (device.type == "cpu" and (self.cpu_prefers_loop or packed_backward))

    def _autocasts(self, x, lengths) -> bool:
        return self._runs_fused(x, lengths)

    def _runs_fused(self, x: Tensor, lengths: Tensor | None) -> bool:
        # under torch.compile the fused oneDNN LSTM fails to lower (aten.mkldnn_rnn_layer); the loop compiles
        compiling = torch.compiler.is_compiling() and x.device.type == "cpu"
        in_step = self.regularizers.in_step(self.training)  # recurrent dropout, zoneout: inside the step, the loop's
        packed_backward = lengths is not None and torch.is_grad_enabled() and (
            x.requires_grad or any(p.requires_grad for p in self._flat_weights))
        if torch.jit.is_tracing() and self._fused_mode() is not None and not in_step and active_recorder() is None:
            return True  # a trace records torch's own op: any length, savable (the hand kernels' Functions are not)
        return (self.uses_fused(x.device, packed_backward=packed_backward) and active_recorder() is None
                and not scanning(self) and not compiling and not in_step and not transforming())

    def _run(self, x, state, lengths):
        if self._runs_fused(x, lengths):
            if self.training and self.regularizers.active():
                return self._run_fused_regularized(x, state, lengths)
            return run_fused(self._fused_mode(), x, state, self._flat_weights, bias=self.bias,
                             num_layers=self.num_layers, dropout=self.dropout, training=self.training,
                             bidirectional=self.bidirectional, lengths=lengths)
        return self._run_loop(x, state, lengths)

    def _run_loop(self, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None):
        D = 2 if self.bidirectional else 1
        mask = None if lengths is None else step_mask(lengths, x.shape[0], x.device)
        finals: list[tuple[Tensor, ...]] = []
        reg = self.regularizers if self.training else Regularizers()
        for layer in range(self.num_layers):
            outs = []
            if reg.variational_dropout:  # one mask per sequence on this layer's input, shared by both directions
                x = x * locked_mask(x, reg.variational_dropout)
            for direction in range(D):
                sfx = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                b_ih = getattr(self, "bias_ih" + sfx, None)
                if self.fold_bias_hh and b_ih is not None:  # W_ih x + b_ih + b_hh, once for all steps
                    b_ih = b_ih + getattr(self, "bias_hh" + sfx)
                x_dir = x if direction == 0 else reverse_padded(x, lengths)
                W_ih = getattr(self, "weight_ih" + sfx)
                params = self._loop_params(sfx)
                if reg.weight_drop:
                    params = drop_weights(params, reg.weight_drop)
                deferred = [k for k in params if k.startswith("weight")]
                row = layer * D + direction
                label = sfx[1:]
                rec = active_recorder()
                record = None if rec is None else (
                    lambda out, st, label=label, d=direction: rec.add(self, label, out, reverse=d == 1))
                start = tuple(s[row] for s in state)
                scan = scanning(self)
                kernel = rec is None and not scan and x.shape[1] > 0  # a batch of 0 sequences: autograd's loop does it
                kernel = kernel and not reg.in_step(True) and not transforming()
                fast = self._sequence(x_dir, W_ih, b_ih, start, params, mask) if kernel else None
                if reg.in_step(True) and not scan:
                    y, final = self._regularized_loop(reg, params, deferred, x_dir, W_ih, b_ih, sfx, start, mask)
                elif scan:
                    y, final = run_scan(lambda p=unaliased(params): self._bind(p, matmul),
                                        self._project(x_dir, W_ih, b_ih, sfx), start, mask)
                elif fast is None:
                    xw = self._project(x_dir, W_ih, b_ih, sfx)
                    y, final = run_loop_deferred(self._bind, params, deferred, xw, start, mask, record=record)
                else:  # outputs are zero past a sequence's end; the final state is the one carried from there
                    y, final = fast[0] if mask is None else fast[0] * mask, fast[1]
                outs.append(y if direction == 0 else reverse_padded(y, lengths))
                finals.append(final)
            x = outs[0] if D == 1 else torch.cat(outs, dim=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        if reg.variational_dropout:
            x = x * locked_mask(x, reg.variational_dropout)
        h_n = tuple(torch.stack([f[i] for f in finals]) for i in range(len(state)))
        return x, h_n

    def _run_fused_regularized(self, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None):
        """Variational dropout and weight-drop around torch's fused kernel, one layer (both directions) per call: the
        masks and dropped weights are drawn in the loop's order (``_run_loop``), so a seed gives both the same."""
        reg, D, mode = self.regularizers, 2 if self.bidirectional else 1, self._fused_mode()
        per = len(self._flat_weights_names) // (self.num_layers * D)  # w_ih, w_hh[, b_ih, b_hh][, w_hr]
        flat, finals = self._flat_weights, []
        for layer in range(self.num_layers):
            if reg.variational_dropout:
                x = x * locked_mask(x, reg.variational_dropout)
            weights = flat[layer * D * per:(layer + 1) * D * per]
            if reg.weight_drop:  # DropConnect on each direction's W_hh (entry 1 of its group)
                weights = [F.dropout(w, reg.weight_drop, training=True) if i % per == 1 else w
                           for i, w in enumerate(weights)]
            rows = slice(layer * D, (layer + 1) * D)
            x, final = run_fused(mode, x, tuple(s[rows] for s in state), weights, bias=self.bias, num_layers=1,
                                 dropout=0.0, training=True, bidirectional=self.bidirectional, lengths=lengths)
            finals.append(final)
            if self.dropout and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        if reg.variational_dropout:
            x = x * locked_mask(x, reg.variational_dropout)
        return x, tuple(torch.cat([f[i] for f in finals]) for i in range(len(state)))

    def _regularized_loop(self, reg: Regularizers, params, deferred, x, W_ih, b_ih, sfx, start, mask):
        """One layer-direction with recurrent dropout and/or zoneout in its step (autograd through the steps)."""
        xw = self._project(x, W_ih, b_ih, sfx)
        rec_mask = locked_mask(start[0].unsqueeze(0), reg.recurrent_dropout)[0] if reg.recurrent_dropout else None
        sizes = [s.shape[-1] for s in start] if reg.zoneout else None
        inputs = (xw, zoneout_draws(x.shape[0], start, reg.zoneout)) if reg.zoneout else xw

        def bind(p, mm):
            return regularized_step(self._bind(p, mm), rec_mask, sizes)
        return run_loop_deferred(bind, params, deferred, inputs, start, mask)


__all__ = ["StackedRNNBase", "check_no_projection"]
