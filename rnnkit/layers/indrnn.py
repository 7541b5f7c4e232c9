"""``rnnkit.IndRNN``: stacked, optionally bidirectional IndRNN layers (equations in ``rnnkit.cells.indrnn``) with
``torch.nn.RNN``'s arguments and forward contract, ``lengths=`` and ``backend="auto"|"loop"|"scan"``.

Parameters as ``torch.nn.RNN``'s but ``weight_hh_l{k}`` is the vector ``u`` (H,), initialised U(0, 1) as in Li et al.
(clipped to ``recurrent_max`` when given); ``recurrent_max`` bounds ``|u|`` in every forward (the paper's constraint:
the stored weights may stray, the ones used never do). On the loop backend a whole sequence runs through hand-written
BPTT (``rnnkit.recurrence.diagonal.indrnn_sequence``): the step is elementwise, so no matrix product is in the loop.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from rnnkit.cells.indrnn import NONLINEARITIES, indrnn_step
from rnnkit.layers.stacked import StackedRNNBase, check_no_projection
from rnnkit.recurrence.diagonal import indrnn_sequence


class IndRNN(StackedRNNBase):
    """Multi-layer IndRNN: ``h_t = σ(W_ih x_t + b_ih + u ⊙ h_{t−1} + b_hh)`` per layer and direction."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "relu",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None, *, recurrent_max: float | None = None, backend: str = "auto",
                 proj_size: int = 0, **regularizers) -> None:
        check_no_projection(proj_size)
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"IndRNN: Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")
        if recurrent_max is not None and (isinstance(recurrent_max, bool) or not isinstance(recurrent_max, (int, float))
                                          or not recurrent_max > 0):
            raise ValueError(f"IndRNN: recurrent_max must be a positive number or None, got {recurrent_max!r}")
        self.nonlinearity, self.recurrent_max = nonlinearity, recurrent_max
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, backend=backend, **regularizers)
        for name in self._flat_weights_names:
            if name.startswith("weight_hh"):
                setattr(self, name, nn.Parameter(torch.empty(hidden_size, device=device, dtype=dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.startswith("weight_hh"):
                    p.uniform_(0.0, 1.0)
                    if self.recurrent_max is not None:
                        p.clamp_(-self.recurrent_max, self.recurrent_max)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if self.nonlinearity != "relu":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s + (f", recurrent_max={self.recurrent_max}" if self.recurrent_max is not None else "")

    def _fused_mode(self):
        return None

    def _loop_params(self, suffix):
        u = getattr(self, "weight_hh" + suffix)
        if self.recurrent_max is not None:
            u = u.clamp(-self.recurrent_max, self.recurrent_max)
        return {"recurrent": u}

    def _bind(self, params, mm):
        return indrnn_step(params["recurrent"], self.nonlinearity, mm)

    def _sequence(self, x, weight_ih, bias, state, params, mask):
        y = indrnn_sequence(F.linear(x, weight_ih, bias), params["recurrent"], state[0], self.nonlinearity, mask)
        return y, (y[-1],)  # padded steps kept the state: the last row is each sequence's final state


__all__ = ["IndRNN"]
