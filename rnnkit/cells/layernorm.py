"""Layer-normalised LSTM and GRU steps (Ba, Kiros & Hinton 2016, "Layer Normalization", section 3.1 / 6.7).

``LN(v; γ) = γ ⊙ (v − mean(v)) / sqrt(var(v) + ε)`` over a vector's features (ε = 1e-5, as ``torch.nn.LayerNorm``).

    LayerNormLSTM (gates i, f, g, o, as torch.nn.LSTM):
        a_t = LN(W_ih x_t; γ_ih) + LN(W_hh h_{t−1}; γ_hh) + b_ih + b_hh
        c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g)
        h_t = σ(o) ⊙ tanh(LN(c_t; γ_c) + β_c)
    LayerNormGRU (gates r, z, n, as torch.nn.GRU, reset after the product):
        x̂_t = LN(W_ih x_t; γ_ih) + b_ih        ĥ_t = LN(W_hh h_{t−1}; γ_hh) + b_hh
        r_t = σ(x̂_r + ĥ_r)    z_t = σ(x̂_z + ĥ_z)    n_t = tanh(x̂_n + r_t ⊙ ĥ_n)
        h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

Which variant, and why: this is the paper's LSTM (and haste's ``LayerNormLSTM``): the input and recurrent
pre-activations are normalised separately, and the *carried* cell state ``c_t`` is left un-normalised — only its copy
on the way to ``h_t`` is. PyTorch's ``benchmarks/fastrnns/custom_lstms.py`` instead normalises ``c_t`` itself and
carries the normalised value, which changes the memory the gates act on (a unit can no longer hold a large value) and
is not what the paper writes. Each norm has a gain; the shifts of the two gate norms would only add to ``b_ih + b_hh``,
so the biases play that role (the cell norm keeps its own shift ``β_c``). One norm spans all gates together (4H or 3H
features), as in both references.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.cells.base import MatMul, State, Step, matmul

EPS = 1e-5


def layer_norm(v: Tensor, gain: Tensor, shift: Tensor | None = None) -> Tensor:
    return F.layer_norm(v, (v.shape[-1],), gain, shift, EPS)


def layernorm_lstm_step(weight_hh: Tensor, ln_hh_weight: Tensor, ln_c_weight: Tensor, ln_c_bias: Tensor | None,
                        mm: MatMul = matmul) -> Step:
    """``step(xw_t, (h, c))`` with ``xw_t = LN(W_ih x_t; γ_ih) + b_ih + b_hh`` computed for all steps beforehand."""

    def step(xw_t: Tensor, state: State) -> tuple[Tensor, State]:
        h_prev, c_prev = state
        a = xw_t + layer_norm(mm(h_prev, weight_hh), ln_hh_weight)
        i, f, g, o = a.chunk(4, dim=-1)
        c_t = torch.addcmul(torch.sigmoid(f) * c_prev, torch.sigmoid(i), torch.tanh(g))
        h_t = torch.sigmoid(o) * torch.tanh(layer_norm(c_t, ln_c_weight, ln_c_bias))
        return h_t, (h_t, c_t)

    return step


def layernorm_gru_step(weight_hh: Tensor, bias_hh: Tensor | None, ln_hh_weight: Tensor, mm: MatMul = matmul) -> Step:
    """``step(xw_t, (h,))`` with ``xw_t = LN(W_ih x_t; γ_ih) + b_ih`` computed for all steps beforehand."""

    def step(xw_t: Tensor, state: State) -> tuple[Tensor, State]:
        (h_prev,) = state
        hw = layer_norm(mm(h_prev, weight_hh), ln_hh_weight)
        if bias_hh is not None:
            hw = hw + bias_hh
        x_r, x_z, x_n = xw_t.chunk(3, dim=-1)
        h_r, h_z, h_n = hw.chunk(3, dim=-1)
        r_t, z_t = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n_t = torch.tanh(x_n + r_t * h_n)
        h_t = n_t + z_t * (h_prev - n_t)
        return h_t, (h_t,)

    return step
