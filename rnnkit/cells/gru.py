"""Gated recurrent unit (Cho et al. 2014), in its two published forms.

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)          reset gate
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)          update gate
    reset_after=True  (torch, cuDNN, Keras 3 default):
        n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    reset_after=False (Cho et al. 2014, the tutorial's form):
        n_t = tanh(W_in x_t + b_in + W_hn (r_t ⊙ h_{t-1}) + b_hn)
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

The difference: with ``reset_after=True`` the reset gate scales the *result* of the recurrent matrix product, so all three
recurrent products ``W_h{r,z,n} h_{t-1}`` are one matmul, done before ``r_t`` is known; that is what cuDNN implements and what
``torch.nn.GRU`` computes. With ``reset_after=False`` the reset gate scales ``h_{t-1}`` *before* ``W_hn``, so ``W_hn`` needs a
second matmul that waits for ``r_t``; it has no fused kernel and runs on rnnkit's loop backend. The two are different
functions of the same weights (they agree only when ``r_t = 1``).

About ``z``: torch (and Keras) use ``z_t`` as the share of the *old* state that is kept, ``h_t = (1 - z) n + z h_{t-1}``. The
tutorial writes ``h_t = (1 - z) h_{t-1} + z h~_t``, i.e. its ``z`` is our ``1 - z``. We follow torch so weights move unchanged.

Gate order in the stacked weights is ``r, z, n`` as in ``torch.nn.GRU`` (Keras orders them ``z, r, h``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.base import CellBase, MatMul, State, Step, matmul


def gru_step(weight_hh: Tensor, bias_hh: Tensor | None, mm: MatMul = matmul) -> Step:
    """``reset_after=True``: bind ``W_hh, b_hh``, return ``step(xw_t, (h_{t-1},)) -> (h_t, (h_t,))``.

    ``xw_t = W_i{r,z,n} x_t + b_i{r,z,n}``; ``mm(h, W) = h W^T``. All three recurrent products are one ``mm``.
    """
    W_hh, b_hh = weight_hh, bias_hh

    def step(xw_t: Tensor, state: State) -> tuple[Tensor, State]:
        (h_prev,) = state
        hw = mm(h_prev, W_hh)
        if b_hh is not None:
            hw = hw + b_hh
        x_r, x_z, x_n = xw_t.chunk(3, dim=-1)
        h_r, h_z, h_n = hw.chunk(3, dim=-1)
        r_t = torch.sigmoid(x_r + h_r)
        z_t = torch.sigmoid(x_z + h_z)
        n_t = torch.tanh(x_n + r_t * h_n)
        h_t = n_t + z_t * (h_prev - n_t)  # = (1 - z) n + z h_{t-1}
        return h_t, (h_t,)

    return step


def gru_step_reset_before(weight_hh_rz: Tensor, weight_hh_n: Tensor, bias_hh_rz: Tensor | None,
                          bias_hh_n: Tensor | None, mm: MatMul = matmul) -> Step:
    """``reset_after=False``: ``W_hh`` and ``b_hh`` come split into their ``r,z`` rows and their ``n`` rows.

    The caller splits them once, outside the loop: slicing a weight at every step would make autograd allocate a
    full-size weight gradient at every step.
    """
    H = weight_hh_n.shape[0]
    W_hrz, W_hn, b_hrz, b_hn = weight_hh_rz, weight_hh_n, bias_hh_rz, bias_hh_n

    def step(xw_t: Tensor, state: State) -> tuple[Tensor, State]:
        (h_prev,) = state
        x_rz, x_n = xw_t.split([2 * H, H], dim=-1)
        a_rz = x_rz + mm(h_prev, W_hrz)
        if b_hrz is not None:
            a_rz = a_rz + b_hrz
        r_t, z_t = torch.sigmoid(a_rz).chunk(2, dim=-1)
        a_n = x_n + mm(r_t * h_prev, W_hn)
        if b_hn is not None:
            a_n = a_n + b_hn
        n_t = torch.tanh(a_n)
        h_t = n_t + z_t * (h_prev - n_t)
        return h_t, (h_t,)

    return step


def split_reset_before(weight_hh: Tensor, bias_hh: Tensor | None) -> dict[str, Tensor | None]:
    """``W_hh, b_hh`` split into the ``r,z`` and ``n`` rows, as ``gru_step_reset_before`` takes them."""
    H = weight_hh.shape[1]
    W_hrz, W_hn = weight_hh.split([2 * H, H])
    b_hrz, b_hn = (None, None) if bias_hh is None else bias_hh.split([2 * H, H])
    return {"weight_hh_rz": W_hrz, "weight_hh_n": W_hn, "bias_hh_rz": b_hrz, "bias_hh_n": b_hn}


class GRUCell(CellBase):
    """One GRU step. Drop-in for ``torch.nn.GRUCell`` (``reset_after=True``, the default).

    ``reset_after=False`` gives the Cho et al. (2014) form with the same parameter names and shapes.
    """

    num_gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, reset_after: bool = True,
                 device=None, dtype=None) -> None:
        self.reset_after = bool(reset_after)
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")

    def bind(self) -> Step:
        if self.reset_after:
            return gru_step(self.weight_hh, self.bias_hh)
        return gru_step_reset_before(**split_reset_before(self.weight_hh, self.bias_hh))
