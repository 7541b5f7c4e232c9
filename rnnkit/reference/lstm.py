"""LSTM step and its backward, by hand (gate order i, f, g, o as in torch).

Forward:
    [a_i; a_f; a_g; a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
    i = σ(a_i),  f = σ(a_f),  g = tanh(a_g),  o = σ(a_o)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    m_t = o ⊙ tanh(c_t),      h_t = m_t   (or h_t = W_hr m_t with proj_size > 0)
Backward, given δh_t and δc_t (the latter from step t+1):
    δm = δh_t (or δh_t W_hr, and ∂L/∂W_hr += δh_t^T m_t)
    δo = δm ⊙ tanh(c_t)
    δc = δc_t + δm ⊙ o ⊙ (1 - tanh²(c_t))            ← the cell path: δc_{t-1} = δc ⊙ f, no matrix, no squashing
    δi = δc ⊙ g,   δg = δc ⊙ i,   δf = δc ⊙ c_{t-1},   δc_{t-1} = δc ⊙ f
    δa = [δi ⊙ i(1-i); δf ⊙ f(1-f); δg ⊙ (1-g²); δo ⊙ o(1-o)]
    ∂L/∂W_ih += δa^T x_t,  ∂L/∂W_hh += δa^T h_{t-1},  ∂L/∂b_ih = ∂L/∂b_hh += Σ δa,  δx_t = δa W_ih,  δh_{t-1} = δa W_hh
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.common import Array, add_grad, sigmoid


def forward(p: dict[str, Array], x_t: Array, state: tuple[Array, ...]):
    h_prev, c_prev = state
    a = x_t @ p["weight_ih"].T + h_prev @ p["weight_hh"].T
    if "bias_ih" in p:
        a = a + p["bias_ih"] + p["bias_hh"]
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=-1)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    c_t = f * c_prev + i * g
    tanh_c = np.tanh(c_t)
    m_t = o * tanh_c
    h_t = m_t @ p["weight_hr"].T if "weight_hr" in p else m_t
    return h_t, (h_t, c_t), (x_t, h_prev, c_prev, i, f, g, o, tanh_c, m_t)


def backward(p: dict[str, Array], cache, d_state: tuple[Array, ...], grads: dict[str, Array]):
    x_t, h_prev, c_prev, i, f, g, o, tanh_c, m_t = cache
    dh_t, dc_t = d_state
    if "weight_hr" in p:
        add_grad(grads, "weight_hr", dh_t.T @ m_t)
        dm = dh_t @ p["weight_hr"]
    else:
        dm = dh_t
    do = dm * tanh_c
    dc = dc_t + dm * o * (1.0 - tanh_c * tanh_c)
    di, dg, df = dc * g, dc * i, dc * c_prev
    dc_prev = dc * f
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=-1)
    add_grad(grads, "weight_ih", da.T @ x_t)
    add_grad(grads, "weight_hh", da.T @ h_prev)
    if "bias_ih" in p:
        add_grad(grads, "bias_ih", da.sum(0))
        add_grad(grads, "bias_hh", da.sum(0))
    return da @ p["weight_ih"], (da @ p["weight_hh"], dc_prev)
