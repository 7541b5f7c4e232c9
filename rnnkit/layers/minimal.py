"""``rnnkit.MinGRU`` / ``rnnkit.MinLSTM``: stacked, optionally bidirectional minGRU/minLSTM layers (equations in
``rnnkit.cells.minimal``) with ``torch.nn.GRU``'s forward contract: ``output, h_n = layer(x, h_0, lengths=...)``.

Every gate depends on x_t only, so a layer's whole sequence is the linear recurrence ``h_t = a_t ⊙ h_{t−1} + b_t``
after one matrix product for all steps. Two exact backends compute it (``rnnkit.recurrence.diagonal``):

* ``"loop"``: step by step, one multiply-add per step each way with hand-written BPTT — the fastest on CPU;
* ``"scan"``: every step at once in log space (logcumsumexp), as the paper trains (autograd: twice differentiable);
* ``"auto"`` (default): the loop on CPU; on GPUs a parallel scan in linear space — 2⌈log₂ T⌉ rounds of
  whole-tensor slices each way with a hand-written backward (``rnnkit.recurrence.parallel_scan``): the fastest
  there, exact to float32 rounding at any T (the log-space scan's ``log A_t`` loses digits as t grows), and keeping
  for backward what the loop keeps.

They agree to rounding (float64: 1e-10). Inference can carry ``h_n`` from one call to the next (a call of one step is a
step). ``lengths=``: a padded step leaves the state as it is and outputs zeros, as the other rnnkit layers.
Parameters ``weight_ih_l{k}`` (G·H, in), ``bias_ih_l{k}`` (G·H) per layer (``_reverse`` for the backward direction).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.cells.base import check_bool, check_dropout, check_int, init_uniform_
from rnnkit.cells.minimal import MINIMAL_CELLS
from rnnkit.layers.base import SequenceLayer
from rnnkit.layers.regularizers import Regularizers, locked_mask
from rnnkit.recurrence import active_recorder, projection, reverse_padded, run_scan, step_mask, transforming
from rnnkit.recurrence.diagonal import keep_padded, linear_recurrence, linear_scan_log, minimal_sequence

BACKENDS = ("auto", "loop", "scan")


class _MinimalRNN(SequenceLayer):
    kind = ""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None, *, backend: str = "auto", variational_dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 zoneout: float = 0.0, weight_drop: float = 0.0) -> None:
        super().__init__()
        name = type(self).__name__
        if weight_drop:
            raise ValueError(f"{name}: weight_drop is DropConnect on recurrent weights, and {name} has none (its "
                             "gates read x_t only); use recurrent_dropout or zoneout")
        self.regularizers = Regularizers.checked(name, variational_dropout=variational_dropout,
                                                 recurrent_dropout=recurrent_dropout, zoneout=zoneout)
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            check_int(name, arg, value, 1)
        for arg, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            check_bool(name, arg, value)
        check_dropout(name, dropout, num_layers)
        if backend not in BACKENDS:
            raise ValueError(f"{name}: backend must be one of {BACKENDS}, got {backend!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout, self.backend = float(dropout), backend
        G = MINIMAL_CELLS[self.kind][0]
        D = 2 if bidirectional else 1
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * D
            for direction in range(D):
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                setattr(self, "weight_ih" + sfx, nn.Parameter(torch.empty(G * hidden_size, in_size, device=device,
                                                                           dtype=dtype)))
                bias_p = nn.Parameter(torch.empty(G * hidden_size, device=device, dtype=dtype)) if bias else None
                setattr(self, "bias_ih" + sfx, bias_p)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_uniform_(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for arg, default in (("num_layers", 1), ("bias", True), ("batch_first", False), ("dropout", 0.0),
                             ("bidirectional", False), ("backend", "auto")):
            if getattr(self, arg) != default:
                s += f", {arg}={getattr(self, arg)!r}"
        for k, v in self.regularizers.active().items():
            s += f", {k}={v}"
        return s

    def _state_rows(self) -> int:
        return self.num_layers * (2 if self.bidirectional else 1)

    def _state_sizes(self):
        return (self.hidden_size,)

    def uses_scan(self, device) -> bool:
        """Whether the recurrence runs in parallel over time on ``device``: ``backend="scan"`` (in log space)
        anywhere, ``"auto"`` (in linear space) off the CPU."""
        return self.backend == "scan" or (self.backend == "auto" and torch.device(device).type != "cpu")

    def _direction(self, x: Tensor, sfx: str, h0: Tensor, mask: Tensor | None) -> Tensor:
        """All states of one layer-direction (T, B, H); padded steps: a = 1, b = 0 (the state is kept).

        In training, recurrent dropout and zoneout keep the recurrence linear: with the mask m on h_{t−1},
        ``a ← m ⊙ a``; with zoneout's keep draw d_t, ``h_t = d_t h_{t−1} + (1 − d_t)(a_t h_{t−1} + b_t)``, i.e.
        ``a ← d + (1 − d) a``, ``b ← (1 − d) b``."""
        _, coefficients, log_coefficients = MINIMAL_CELLS[self.kind]
        xw = projection.linear(x, getattr(self, "weight_ih" + sfx), getattr(self, "bias_ih" + sfx))
        if torch.compiler.is_exporting():  # torch.export / ONNX: one traced step under torch's scan operator
            def make_step():
                def step(xw_t, state):
                    a_t, b_t = coefficients(xw_t)
                    h_t = torch.addcmul(b_t, a_t, state[0])
                    return h_t, (h_t,)
                return step
            y, final = run_scan(make_step, xw, (h0,), mask)
            return y if mask is None else torch.where(mask, y, final[0].expand_as(y))  # padded rows: the kept state
        reg, rec, plain = self.regularizers, active_recorder(), transforming()
        if rec is not None or plain or reg.in_step(self.training):  # (a, b) through autograd, changed or read step by step
            a, b = coefficients(xw)
            if reg.in_step(self.training):
                if reg.recurrent_dropout:
                    a = a * locked_mask(a, reg.recurrent_dropout)  # one mask per sequence on h_{t−1}
                if reg.zoneout:
                    d = torch.bernoulli(torch.full_like(a, reg.zoneout))
                    a, b = d + (1 - d) * a, (1 - d) * b
            a, b = keep_padded(a, b, mask)
            if rec is None and not plain:
                return linear_recurrence(a, b, h0, parallel=self.uses_scan(x.device))
            h, states = h0, []  # every step's state (diagnostics: the very tensor the next step reads; torch.func:
            for t in range(a.shape[0]):  # plain operations it can transform)
                h = torch.addcmul(b[t], a[t], h)
                if rec is not None:
                    rec.add(self, sfx[1:], h, reverse=sfx.endswith("_reverse"))
                states.append(h)
            return torch.stack(states)
        if self.backend == "scan":
            log_a, log_b = log_coefficients(xw)
            if mask is not None:
                log_a = log_a.masked_fill(~mask, 0.0)
                log_b = log_b.masked_fill(~mask, float("-inf"))
            return linear_scan_log(log_a, log_b, h0)
        return minimal_sequence(self.kind, xw, h0, mask, parallel=self.uses_scan(x.device))

    def _run(self, x: Tensor, state: tuple[Tensor, ...], lengths: Tensor | None):
        D = 2 if self.bidirectional else 1
        mask = None if lengths is None else step_mask(lengths, x.shape[0], x.device)
        finals = []
        variational = self.regularizers.variational_dropout if self.training else 0.0
        for layer in range(self.num_layers):
            outs = []
            if variational:
                x = x * locked_mask(x, variational)
            for direction in range(D):
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                x_dir = x if direction == 0 else reverse_padded(x, lengths)
                h = self._direction(x_dir, sfx, state[0][layer * D + direction], mask)
                finals.append(h[-1])  # padded steps kept the state: the last row is each sequence's final state
                y = h if mask is None else h * mask
                outs.append(y if direction == 0 else reverse_padded(y, lengths))
            x = outs[0] if D == 1 else torch.cat(outs, dim=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        if variational:
            x = x * locked_mask(x, variational)
        return x, (torch.stack(finals),)


class MinGRU(_MinimalRNN):
    """Stacked minGRU (``rnnkit.cells.minimal``): ``torch.nn.GRU``'s arguments and forward contract, ``backend=``."""

    kind = "mingru"


class MinLSTM(_MinimalRNN):
    """Stacked minLSTM (``rnnkit.cells.minimal``): one state h (no c: the paper's minLSTM has none)."""

    kind = "minlstm"


__all__ = ["MinGRU", "MinLSTM"]
