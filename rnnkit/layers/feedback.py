"""``rnnkit.FeedbackRNN``: the tutorial's RNN with recurrent connections from other neurons, as the Gated-Feedback RNN.

See ``rnnkit.cells.feedback`` for the equations. Parameters of layer j (0-based ``l{j}``), H = hidden_size, L = num_layers,
G = 1 (tanh), 3 (gru) or 4 (lstm), ``in_j`` = input_size for j = 0 and H above:

=====================  ===============  ==================================================================
name                   shape            role
=====================  ===============  ==================================================================
``weight_ih_l{j}``     (G·H, in_j)      W^{j-1→j}: input from the layer below (x_t for j = 0)
``weight_fb_l{j}``     (H, L·H)         U^j = [U^{1→j} … U^{L→j}]: feedback from every layer's h_{t-1}
``weight_hh_l{j}``     (2H|3H, H)       gru r,z / lstm i,f,o gates from the layer's own h_{t-1} (not for tanh)
``bias_ih_l{j}``       (G·H,)           with ``bias=True``
``bias_hh_l{j}``       (G·H,)           with ``bias=True``
``weight_gx_l{j}``     (L, in_j)        w_g^{i→j}, rows i = 1..L, with ``gated=True``
``weight_gh_l{j}``     (L, L·H)         u_g^{i→j}, rows i = 1..L, with ``gated=True``
=====================  ===============  ==================================================================

The whole stack is one cell for the loop (every layer at time t needs every layer at t-1); torch has no fused kernel
for it. ``backend="auto"`` or ``"loop"`` runs rnnkit's hand-written BPTT for the whole stack
(``rnnkit.recurrence.bptt_feedback``; recorders, e.g. the diagnostics, step through the cell instead), ``"scan"`` the
scan backend (what the ONNX export traces). Forward contract as ``rnnkit.RNN`` (``lengths=``, ``batch_first``,
unbatched input, ``PackedSequence``); ``hx`` is (L, B, H), or ``(h, c)`` for ``cell="lstm"``; the output is the top
layer's state at every step.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from rnnkit.cells.base import check_bool, check_int, init_uniform_, matmul
from rnnkit.cells.feedback import FEEDBACK_CELLS, FeedbackLayerWeights, check_feedback_cell, feedback_step
from rnnkit.layers.base import SequenceLayer
from rnnkit.recurrence import active_recorder, run_loop_deferred, run_scan, scanning, step_mask, transforming
from rnnkit.recurrence.bptt_feedback import feedback_sequence


class FeedbackRNN(SequenceLayer):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 2, cell: str = "tanh", gated: bool = True,
                 batch_first: bool = False, bias: bool = True, device=None, dtype=None, *, backend: str = "auto") -> None:
        super().__init__()
        if backend not in ("auto", "loop", "scan"):
            raise ValueError(f"FeedbackRNN: backend must be 'auto', 'loop' or 'scan' (torch has no fused kernel for it), "
                             f"got {backend!r}")
        self.backend = backend
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            check_int("FeedbackRNN", arg, value, 1)
        for arg, value in (("gated", gated), ("batch_first", batch_first), ("bias", bias)):
            check_bool("FeedbackRNN", arg, value)
        self.cell = check_feedback_cell(cell)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.gated, self.batch_first, self.bias = bool(gated), bool(batch_first), bool(bias)
        factory = {"device": device, "dtype": dtype}
        G, H, L = FEEDBACK_CELLS[cell], hidden_size, num_layers
        own_gates = {"tanh": 0, "gru": 2, "lstm": 3}[cell]
        for j in range(L):
            in_j = input_size if j == 0 else H
            shapes = {"weight_ih": (G * H, in_j), "weight_fb": (H, L * H)}
            if own_gates:
                shapes["weight_hh"] = (own_gates * H, H)
            if self.bias:
                shapes["bias_ih"] = (G * H,)
                shapes["bias_hh"] = (G * H,)
            if self.gated:
                shapes["weight_gx"] = (L, in_j)
                shapes["weight_gh"] = (L, L * H)
            for name, shape in shapes.items():
                setattr(self, f"{name}_l{j}", nn.Parameter(torch.empty(shape, **factory)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_uniform_(self, self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, cell={self.cell!r}"
        if not self.gated:
            s += ", gated=False"
        if self.batch_first:
            s += ", batch_first=True"
        if not self.bias:
            s += ", bias=False"
        return s

    def _state_rows(self) -> int:
        return self.num_layers

    def _state_sizes(self):
        return (self.hidden_size,) * (2 if self.cell == "lstm" else 1)

    def _layer_weights(self, params: dict, j: int) -> FeedbackLayerWeights:
        fields = FeedbackLayerWeights.__dataclass_fields__
        return FeedbackLayerWeights(**{n: params.get(f"{n}_l{j}") for n in fields})

    def _bind(self, params, mm):
        layers = [self._layer_weights(params, j) for j in range(self.num_layers)]
        return feedback_step(self.cell, layers, self.hidden_size, self.gated, mm)

    def _kernel_layers(self) -> list[tuple]:
        """Per layer ``(W_ih, b, W_gx, U, U_g, W_hh, b_hn)`` for the kernel (``rnnkit.recurrence.bptt_feedback``):
        the hidden biases that only add folded into ``b``; the GRU's ``b_hn`` (inside r ⊙ ·) apart."""
        H, layers = self.hidden_size, []
        for j in range(self.num_layers):
            get = lambda name: getattr(self, f"{name}_l{j}", None)  # noqa: E731
            b, b_hn = None, None
            if self.bias:
                b_ih, b_hh = get("bias_ih"), get("bias_hh")
                if self.cell == "gru":
                    b, b_hn = b_ih + torch.cat([b_hh[:2 * H], b_hh.new_zeros(H)]), b_hh[2 * H:]
                else:
                    b = b_ih + b_hh
            layers.append((get("weight_ih"), b, get("weight_gx"), get("weight_fb"), get("weight_gh"), get("weight_hh"),
                           b_hn))
        return layers

    def _run(self, x, state, lengths):
        if x.shape[1] > 0 and active_recorder() is None and not scanning(self) and not transforming():
            # the hand-written BPTT kernel (a batch of 0 sequences: autograd's loop does it)
            L, B, H = self.num_layers, x.shape[1], self.hidden_size
            mask = None if lengths is None else step_mask(lengths, x.shape[0], x.device)
            flat = [s.transpose(0, 1).reshape(B, L * H) for s in state]  # (L, B, H) -> all layers side by side
            y, *finals = feedback_sequence(self.cell, x, flat[0], flat[1] if self.cell == "lstm" else None,
                                           self._kernel_layers(), self.gated, mask)
            return (y if mask is None else y * mask), tuple(f.view(B, L, H).transpose(0, 1).contiguous()
                                                            for f in finals)
        xw = (F.linear(x, self.weight_ih_l0, self.bias_ih_l0),)  # layer 1's input projection for all steps at once
        if self.gated:
            xw += (F.linear(x, self.weight_gx_l0),)
        flat = tuple(h for s in state for h in s.unbind(0))  # (h^1..h^L[, c^1..c^L])
        mask = None if lengths is None else step_mask(lengths, x.shape[0], x.device)
        # layer 1's input weights were used above; every other weight is used inside the loop
        params = {n: p for n, p in self.named_parameters() if n not in ("weight_ih_l0", "bias_ih_l0", "weight_gx_l0")}
        deferred = [n for n in params if n.startswith("weight")]
        rec, L = active_recorder(), self.num_layers
        record = None if rec is None else (
            lambda out, st: [rec.add(self, f"l{j}", st[j]) for j in range(L)])
        if scanning(self):
            y, final = run_scan(lambda: self._bind(params, matmul), xw, flat, mask)
        else:
            y, final = run_loop_deferred(self._bind, params, deferred, xw, flat, mask, record=record)
        h_n = tuple(torch.stack(final[i * L:(i + 1) * L]) for i in range(len(state)))
        return y, h_n
