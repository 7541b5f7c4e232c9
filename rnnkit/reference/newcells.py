"""Three of the newer cells, step and backward by hand: the layer-normalised LSTM, IndRNN and minGRU
(equations as ``rnnkit.cells.layernorm``, ``indrnn``, ``minimal``; rows are batch entries, so ``W x`` is ``x @ W.T``).

Layer norm, ``y = γ ⊙ x̂ (+ β)`` with ``x̂ = (v − μ) / s``, ``s = sqrt(var(v) + ε)`` over the features; backward:
    ∂L/∂γ += Σ_batch δy ⊙ x̂,   ∂L/∂β += Σ_batch δy,   δx̂ = δy ⊙ γ,
    δv = (δx̂ − mean(δx̂) − x̂ ⊙ mean(δx̂ ⊙ x̂)) / s          (means over the features)

LayerNormLSTM:  a = LN(W_ih x; γ_ih) + LN(W_hh h_{t−1}; γ_hh) + b_ih + b_hh;  i, f, g, o from a;
    c_t = f ⊙ c_{t−1} + i ⊙ g;   n_t = LN(c_t; γ_c, β_c);   h_t = o ⊙ tanh(n_t)
  backward: δo = δh ⊙ tanh(n_t);  δn = δh ⊙ o ⊙ (1 − tanh²);  δc = δc_t + LN-backward(δn);  then as the LSTM:
    δi = δc ⊙ g, δg = δc ⊙ i, δf = δc ⊙ c_{t−1}, δc_{t−1} = δc ⊙ f;  δa through the gates' derivatives;
    δ(W_ih x) = LN-backward_ih(δa),  δ(W_hh h) = LN-backward_hh(δa),  ∂L/∂b_ih = ∂L/∂b_hh += Σ δa.
IndRNN:  h_t = σ(W_ih x + b_ih + u ⊙ h_{t−1} + b_hh);  δa = δh ⊙ σ';  ∂L/∂u += Σ_batch δa ⊙ h_{t−1};  δh_{t−1} = δa ⊙ u.
minGRU:  [k; v] = W_ih x + b_ih;  z = σ(k);  h_t = (1 − z) ⊙ h_{t−1} + z ⊙ g(v);
  δk = δh ⊙ (g(v) − h_{t−1}) ⊙ z(1 − z),  δv = δh ⊙ z ⊙ g'(v),  δh_{t−1} = δh ⊙ (1 − z).
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.common import Array, activation, add_grad, sigmoid

EPS = 1e-5


def layer_norm(v: Array, gain: Array, shift: Array | None = None):
    mu = v.mean(-1, keepdims=True)
    s = np.sqrt(((v - mu) ** 2).mean(-1, keepdims=True) + EPS)
    xhat = (v - mu) / s
    y = gain * xhat + (0.0 if shift is None else shift)
    return y, (xhat, s)


def layer_norm_backward(dy: Array, cache, gain: Array, grads: dict[str, Array], gain_name: str,
                        shift_name: str | None = None) -> Array:
    xhat, s = cache
    add_grad(grads, gain_name, (dy * xhat).sum(0))
    if shift_name is not None:
        add_grad(grads, shift_name, dy.sum(0))
    dxhat = dy * gain
    return (dxhat - dxhat.mean(-1, keepdims=True) - xhat * (dxhat * xhat).mean(-1, keepdims=True)) / s


# --- LayerNormLSTM -------------------------------------------------------------------------------------------------
def layernorm_lstm_forward(p: dict[str, Array], x_t: Array, state: tuple[Array, ...]):
    h_prev, c_prev = state
    xi, ln_x = layer_norm(x_t @ p["weight_ih"].T, p["ln_ih_weight"])
    hh, ln_h = layer_norm(h_prev @ p["weight_hh"].T, p["ln_hh_weight"])
    a = xi + hh + (p["bias_ih"] + p["bias_hh"] if "bias_ih" in p else 0.0)
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=-1)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    c_t = f * c_prev + i * g
    n_t, ln_c = layer_norm(c_t, p["ln_c_weight"], p.get("ln_c_bias"))
    tanh_n = np.tanh(n_t)
    h_t = o * tanh_n
    return h_t, (h_t, c_t), (x_t, h_prev, c_prev, i, f, g, o, tanh_n, ln_x, ln_h, ln_c)


def layernorm_lstm_backward(p: dict[str, Array], cache, d_state: tuple[Array, ...], grads: dict[str, Array]):
    x_t, h_prev, c_prev, i, f, g, o, tanh_n, ln_x, ln_h, ln_c = cache
    dh_t, dc_t = d_state
    do = dh_t * tanh_n
    dn = dh_t * o * (1.0 - tanh_n * tanh_n)
    dc = dc_t + layer_norm_backward(dn, ln_c, p["ln_c_weight"], grads, "ln_c_weight",
                                    "ln_c_bias" if "ln_c_bias" in p else None)
    di, dg, df = dc * g, dc * i, dc * c_prev
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=-1)
    if "bias_ih" in p:
        add_grad(grads, "bias_ih", da.sum(0))
        add_grad(grads, "bias_hh", da.sum(0))
    d_xw = layer_norm_backward(da, ln_x, p["ln_ih_weight"], grads, "ln_ih_weight")
    d_hw = layer_norm_backward(da, ln_h, p["ln_hh_weight"], grads, "ln_hh_weight")
    add_grad(grads, "weight_ih", d_xw.T @ x_t)
    add_grad(grads, "weight_hh", d_hw.T @ h_prev)
    return d_xw @ p["weight_ih"], (d_hw @ p["weight_hh"], dc * f)


# --- IndRNN ------------------------------------------------------------------------------------------------------
def indrnn_forward(p: dict[str, Array], x_t: Array, state: tuple[Array, ...], nonlinearity: str = "relu"):
    (h_prev,) = state
    σ, _ = activation(nonlinearity)
    a = x_t @ p["weight_ih"].T + p["weight_hh"] * h_prev
    if "bias_ih" in p:
        a = a + p["bias_ih"] + p["bias_hh"]
    h_t = σ(a)
    return h_t, (h_t,), (x_t, h_prev, a, h_t)


def indrnn_backward(p: dict[str, Array], cache, d_state: tuple[Array, ...], grads: dict[str, Array],
                    nonlinearity: str = "relu"):
    x_t, h_prev, a, h_t = cache
    _, dσ = activation(nonlinearity)
    da = d_state[0] * dσ(h_t, a)
    add_grad(grads, "weight_ih", da.T @ x_t)
    add_grad(grads, "weight_hh", (da * h_prev).sum(0))
    if "bias_ih" in p:
        add_grad(grads, "bias_ih", da.sum(0))
        add_grad(grads, "bias_hh", da.sum(0))
    return da @ p["weight_ih"], (da * p["weight_hh"],)


# --- minGRU ------------------------------------------------------------------------------------------------------
def g(v: Array) -> Array:
    return np.where(v >= 0, v + 0.5, sigmoid(v))


def g_slope(v: Array) -> Array:
    s = sigmoid(v)
    return np.where(v >= 0, 1.0, s * (1 - s))


def mingru_forward(p: dict[str, Array], x_t: Array, state: tuple[Array, ...]):
    (h_prev,) = state
    kv = x_t @ p["weight_ih"].T + (p["bias_ih"] if "bias_ih" in p else 0.0)
    k, v = np.split(kv, 2, axis=-1)
    z = sigmoid(k)
    h_t = (1 - z) * h_prev + z * g(v)
    return h_t, (h_t,), (x_t, h_prev, z, v)


def mingru_backward(p: dict[str, Array], cache, d_state: tuple[Array, ...], grads: dict[str, Array]):
    x_t, h_prev, z, v = cache
    dh = d_state[0]
    d_kv = np.concatenate([dh * (g(v) - h_prev) * z * (1 - z), dh * z * g_slope(v)], axis=-1)
    add_grad(grads, "weight_ih", d_kv.T @ x_t)
    if "bias_ih" in p:
        add_grad(grads, "bias_ih", d_kv.sum(0))
    return d_kv @ p["weight_ih"], (dh * (1 - z),)
