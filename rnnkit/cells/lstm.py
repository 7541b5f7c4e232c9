"""Long short-term memory cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

    i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)          input gate
    f_t = σ(W_if x_t + b_if + W_hf h_{t-1} + b_hf)          forget gate
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)       candidate cell (the tutorial's tanh(W_xc x + W_hc h + b_c))
    o_t = σ(W_io x_t + b_io + W_ho h_{t-1} + b_ho)          output gate
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)                                   (with proj_size > 0: h_t = W_hr (o_t ⊙ tanh(c_t)))

Gate order in the stacked weights is ``i, f, g, o``, as in ``torch.nn.LSTM``: ``weight_ih = [W_ii; W_if; W_ig; W_io]``.
Keras uses ``i, f, c, o`` too (``c`` is our ``g``), so no reordering is needed between the two.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.base import CellBase, MatMul, State, Step, matmul


def lstm_step(weight_hh: Tensor, bias_hh: Tensor | None, weight_hr: Tensor | None = None,
              mm: MatMul = matmul) -> Step:
    """Bind ``W_hh, b_hh`` (and the projection ``W_hr``) and return ``step(xw_t, (h, c)) -> (h_t, (h_t, c_t))``.

    ``mm(h, W) = h W^T``; ``b_hh`` may be None when the caller has already added it to ``xw_t``.
    """
    W_hh, b_hh, W_hr = weight_hh, bias_hh, weight_hr

    def step(xw_t: Tensor, state: State) -> tuple[Tensor, State]:
        h_prev, c_prev = state
        gates = mm(h_prev, W_hh, add=xw_t if b_hh is None else xw_t + b_hh)  # W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
        i, f, g, o = gates.chunk(4, dim=-1)
        i_t, f_t, g_t, o_t = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c_t = torch.addcmul(f_t * c_prev, i_t, g_t)  # f ⊙ c_{t-1} + i ⊙ g
        h_t = o_t * torch.tanh(c_t)
        if W_hr is not None:
            h_t = mm(h_t, W_hr)
        return h_t, (h_t, c_t)

    return step


class LSTMCell(CellBase):
    """One LSTM step. Drop-in for ``torch.nn.LSTMCell``: ``forward(input, (h, c)=None) -> (h_t, c_t)``."""

    num_gates = 4
    state_size = 2

    def bind(self) -> Step:
        return lstm_step(self.weight_hh, self.bias_hh)
