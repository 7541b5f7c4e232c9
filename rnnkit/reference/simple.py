"""Simple RNN step and its backward, by hand.

Forward:   a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,      h_t = σ(a_t)
Backward, given δh_t = ∂L/∂h_t (from the output at t and from step t+1):
    δa_t = δh_t ⊙ σ'(a_t)                 (tanh: 1 - h_t²;  relu: 1[a_t > 0])
    ∂L/∂W_ih += δa_t^T x_t,   ∂L/∂W_hh += δa_t^T h_{t-1},   ∂L/∂b_ih = ∂L/∂b_hh += Σ_batch δa_t
    ∂L/∂x_t = δa_t W_ih,      ∂L/∂h_{t-1} = δa_t W_hh       (the factor W_hh^T diag(σ') of every step is what vanishes)
Rows are batch entries, so ``W x`` is written ``x @ W.T``.
"""

from __future__ import annotations

from rnnkit.reference.common import Array, activation, add_grad


def forward(p: dict[str, Array], x_t: Array, state: tuple[Array, ...], nonlinearity: str = "tanh"):
    (h_prev,) = state
    σ, _ = activation(nonlinearity)
    a_t = x_t @ p["weight_ih"].T + h_prev @ p["weight_hh"].T
    if "bias_ih" in p:
        a_t = a_t + p["bias_ih"] + p["bias_hh"]
    h_t = σ(a_t)
    return h_t, (h_t,), (x_t, h_prev, a_t, h_t)


def backward(p: dict[str, Array], cache, d_state: tuple[Array, ...], grads: dict[str, Array],
             nonlinearity: str = "tanh"):
    x_t, h_prev, a_t, h_t = cache
    (dh_t,) = d_state
    _, dσ = activation(nonlinearity)
    da_t = dh_t * dσ(h_t, a_t)
    add_grad(grads, "weight_ih", da_t.T @ x_t)
    add_grad(grads, "weight_hh", da_t.T @ h_prev)
    if "bias_ih" in p:
        add_grad(grads, "bias_ih", da_t.sum(0))
        add_grad(grads, "bias_hh", da_t.sum(0))
    return da_t @ p["weight_ih"], (da_t @ p["weight_hh"],)
