"""Simple (Elman) RNN cell, the tutorial's first formula.

    h_t = σ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)          σ = tanh or relu

The tutorial writes one bias ``b_h``; torch (and cuDNN) keep two, ``b_ih`` and ``b_hh``, whose sum plays the role of ``b_h``.
We keep two so that ``torch.nn.RNN`` / ``torch.nn.RNNCell`` weights load unchanged. In code, ``xw_t = W_ih x_t + b_ih``
is computed before the loop (see ``CellBase``), so the step reads ``h_t = σ(xw_t + W_hh h_{t-1} + b_hh)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.base import CellBase, MatMul, State, Step, matmul

NONLINEARITIES = {"tanh": torch.tanh, "relu": torch.relu}


def check_nonlinearity(nonlinearity: str) -> str:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")  # torch.nn's words
    return nonlinearity


def simple_rnn_step(weight_hh: Tensor, bias_hh: Tensor | None, nonlinearity: str = "tanh",
                    mm: MatMul = matmul) -> Step:
    """Bind ``W_hh, b_hh`` and return ``step(xw_t, (h_{t-1},)) -> (h_t, (h_t,))``; ``mm(h, W) = h W^T``.

    ``b_hh`` may be None when the caller has already added it to ``xw_t`` (the layers do: it saves an add per step).
    """
    σ = NONLINEARITIES[check_nonlinearity(nonlinearity)]
    W_hh, b_hh = weight_hh, bias_hh

    def step(xw_t: Tensor, state: State) -> tuple[Tensor, State]:
        (h_prev,) = state
        a_t = mm(h_prev, W_hh, add=xw_t if b_hh is None else xw_t + b_hh)
        h_t = σ(a_t)
        return h_t, (h_t,)

    return step


class SimpleRNNCell(CellBase):
    """One step of a simple RNN: ``h_t = σ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``.

    Drop-in for ``torch.nn.RNNCell(input_size, hidden_size, bias, nonlinearity)``: same parameters, same state_dict,
    ``forward(input, hx=None) -> h_t`` for input ``(batch, input_size)`` or unbatched ``(input_size,)``.
    """

    num_gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        self.nonlinearity = check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity!r}"

    def bind(self) -> Step:
        return simple_rnn_step(self.weight_hh, self.bias_hh, self.nonlinearity)
