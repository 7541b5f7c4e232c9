"""GRU step and its backward, by hand, in both forms (gate order r, z, n as in torch).

Forward (``xw = W_ih x_t + b_ih = [x_r; x_z; x_n]``):
    reset_after=True:   [h_r; h_z; h_n] = W_hh h_{t-1} + b_hh
                        r = σ(x_r + h_r),  z = σ(x_z + h_z),  n = tanh(x_n + r ⊙ h_n)
    reset_after=False:  [h_r; h_z] = W_h{r,z} h_{t-1} + b_h{r,z}
                        r, z as above,     n = tanh(x_n + W_hn (r ⊙ h_{t-1}) + b_hn)
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}
Backward, given δh_t:
    δn = δh_t ⊙ (1 - z),   δz = δh_t ⊙ (h_{t-1} - n),   δh_{t-1} = δh_t ⊙ z + (terms below)
    δa_n = δn ⊙ (1 - n²)
    reset_after=True:   δr = δa_n ⊙ h_n,   δh_n = δa_n ⊙ r
    reset_after=False:  δ(r⊙h) = δa_n W_hn,  ∂L/∂W_hn += δa_n^T (r ⊙ h_{t-1}),  δr = δ(r⊙h) ⊙ h_{t-1},
                        δh_{t-1} += δ(r⊙h) ⊙ r
    δa_r = δr ⊙ r(1-r),   δa_z = δz ⊙ z(1-z)
"""

from __future__ import annotations

import numpy as np

from rnnkit.reference.common import Array, add_grad, sigmoid


def forward(p: dict[str, Array], x_t: Array, state: tuple[Array, ...], reset_after: bool = True):
    (h_prev,) = state
    H = h_prev.shape[-1]
    W_hh, b_hh = p["weight_hh"], p.get("bias_hh")
    xw = x_t @ p["weight_ih"].T + (p["bias_ih"] if "bias_ih" in p else 0.0)
    x_r, x_z, x_n = np.split(xw, 3, axis=-1)
    if reset_after:
        hw = h_prev @ W_hh.T + (b_hh if b_hh is not None else 0.0)
        h_r, h_z, h_n = np.split(hw, 3, axis=-1)
    else:
        hw = h_prev @ W_hh[:2 * H].T + (b_hh[:2 * H] if b_hh is not None else 0.0)
        h_r, h_z = np.split(hw, 2, axis=-1)
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    if reset_after:
        n = np.tanh(x_n + r * h_n)
    else:
        h_n = None
        n = np.tanh(x_n + (r * h_prev) @ W_hh[2 * H:].T + (b_hh[2 * H:] if b_hh is not None else 0.0))
    h_t = (1 - z) * n + z * h_prev
    return h_t, (h_t,), (x_t, h_prev, r, z, n, h_n)


def backward(p: dict[str, Array], cache, d_state: tuple[Array, ...], grads: dict[str, Array], reset_after: bool = True):
    x_t, h_prev, r, z, n, h_n = cache
    (dh_t,) = d_state
    H = h_prev.shape[-1]
    W_hh = p["weight_hh"]
    has_bias = "bias_ih" in p
    dn = dh_t * (1 - z)
    dz = dh_t * (h_prev - n)
    dh_prev = dh_t * z
    da_n = dn * (1 - n * n)
    if reset_after:
        dr = da_n * h_n
        dh_n = da_n * r
    else:
        d_rh = da_n @ W_hh[2 * H:]
        dW_hn = da_n.T @ (r * h_prev)
        dr = d_rh * h_prev
        dh_prev = dh_prev + d_rh * r
    da_r = dr * r * (1 - r)
    da_z = dz * z * (1 - z)
    dxw = np.concatenate([da_r, da_z, da_n], axis=-1)
    add_grad(grads, "weight_ih", dxw.T @ x_t)
    if has_bias:
        add_grad(grads, "bias_ih", dxw.sum(0))
    if reset_after:
        dhw = np.concatenate([da_r, da_z, dh_n], axis=-1)
        add_grad(grads, "weight_hh", dhw.T @ h_prev)
        if has_bias:
            add_grad(grads, "bias_hh", dhw.sum(0))
        dh_prev = dh_prev + dhw @ W_hh
    else:
        dhw = np.concatenate([da_r, da_z], axis=-1)
        add_grad(grads, "weight_hh", np.concatenate([dhw.T @ h_prev, dW_hn], axis=0))
        if has_bias:
            add_grad(grads, "bias_hh", np.concatenate([dhw.sum(0), da_n.sum(0)]))
        dh_prev = dh_prev + dhw @ W_hh[:2 * H]
    return dxw @ p["weight_ih"], (dh_prev,)
