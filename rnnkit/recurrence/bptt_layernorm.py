"""Hand-written backpropagation through time for the layer-normalised LSTM and GRU (``rnnkit.cells.layernorm``).

Same plan as ``bptt.py`` (read its docstring first): forward runs without autograd and keeps what backward needs;
backward is a second loop, t = T … 1, carrying ∂L/∂h_t (and ∂L/∂c_t); every factor that does not depend on the carried
gradient is formed for all steps at once; the parameters' gradients are sums over all steps, formed after the loop.
What is new is the layer norm in the step. Each one is a single call both ways — ``torch.native_layer_norm`` forward
(it returns the per-row mean μ and 1/σ, kept) and ``aten.native_layer_norm_backward`` for ∂L/∂input — the same
kernels autograd uses for ``F.layer_norm``. The gains' (and shifts') gradients are not formed per step: with
``v̂ = (v − μ) / σ`` recomputed for all steps at once, ``∂L/∂γ = Σ_t Σ_b δ_t ⊙ v̂_t`` and ``∂L/∂β = Σ δ_t``.

The kernels start from the input part ``xw_t`` of every step (the input norm needs no recurrence, so the layer computes
it for all steps with autograd: ``LN(W_ih x_t; γ_ih) + b``) and return ``∂L/∂xw``.

LayerNormLSTM (gates i, f, g, o)
    p_t = W_hh h_{t-1};  a_t = xw_t + γ_hh ⊙ p̂_t;  [i f g o] = [σ σ tanh σ](a_t)
    c_t = f ⊙ c_{t-1} + i ⊙ g;  u_t = γ_c ⊙ ĉ_t + β_c;  h_t = o ⊙ tanh(u_t)
    δu_t = ḣ_t ⊙ o ⊙ (1 − tanh²u_t);  ċ_t = ċ_{t+1} ⊙ f_{t+1} + LNᵀ_c(δu_t)
    δ[i f g o]_t = [ċ_t ⊙ g ⊙ i(1−i),  ċ_t ⊙ c_{t-1} ⊙ f(1−f),  ċ_t ⊙ i ⊙ (1−g²),  ḣ_t ⊙ tanh(u_t) ⊙ o(1−o)] = δxw_t
    δp_t = LNᵀ_hh(δa_t);  ḣ_{t-1} = ∂L/∂y_{t-1} + δp_t W_hh
LayerNormGRU (gates r, z, n; reset after the product)
    gh_t = γ_hh ⊙ p̂_t + b_hh,  p_t = W_hh h_{t-1};  r, z = σ(xw_r + gh_r), σ(xw_z + gh_z)
    n = tanh(xw_n + r ⊙ gh_n);  h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
    δgh_t = [δa_r, δa_z, δa_n ⊙ r] (as the GRU in ``bptt.py``);  δp_t = LNᵀ_hh(δgh_t)
    ḣ_{t-1} = ∂L/∂y_{t-1} + ḣ_t ⊙ z + δp_t W_hh

``LNᵀ(δ)`` is the layer norm's backward for its input at that step. Step masks as in ``bptt.py``: a masked step keeps
the state; the cell sees ``m_t ḣ_t`` and ``(1 − m_t) ḣ_t`` passes straight to ``ḣ_{t-1}`` (the same for ċ).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.layernorm import EPS, layernorm_gru_step, layernorm_lstm_step
from rnnkit.recurrence import layernorm_native
from rnnkit.recurrence.bptt import gru_gate_factors, lstm_gate_factors
from rnnkit.recurrence.bptt_common import (
    _dh_previous,
    _final_gradient,
    _float_mask,
    _gradient_buffer,
    _save,
    _steps,
    _twice_differentiable,
    _weight_grad,
)
from rnnkit.recurrence.bptt_reference import _masked, _masks
from rnnkit.recurrence.native import function as native_function
from rnnkit.recurrence.packed import RecurrentProduct, product_dtype

_LN_BACKWARD = torch.ops.aten.native_layer_norm_backward


def _norm_input_grad(delta: Tensor, v: Tensor, mu: Tensor, rstd: Tensor, gain: Tensor) -> Tensor:
    """∂L/∂v of ``γ ⊙ (v − μ) / σ (+ β)`` over the last dimension, given δ = ∂L/∂(its output)."""
    return _LN_BACKWARD(delta, v, (v.shape[-1],), mu, rstd, gain, None, (True, False, False))[0]


def _gain_grad(delta: Tensor, V: Tensor, MU: Tensor, RSTD: Tensor) -> Tensor:
    """``Σ_t Σ_b δ ⊙ v̂`` with ``v̂ = (v − μ) / σ`` recomputed for all steps at once."""
    return (delta * (V - MU) * RSTD).sum((0, 1))


def _reference_lstm(xw, h0, c0, W_hh, g_hh, g_c, b_c, M):
    """The same equations in autograd operations (for gradients with a graph)."""
    step, h, c, ys = layernorm_lstm_step(W_hh, g_hh, g_c, b_c), h0, c0, []
    for xw_t, m_t in zip(xw.unbind(0), _masks(M, xw.shape[0])):
        hn, (_, cn) = step(xw_t, (h, c))
        h, c = _masked(hn, h, m_t), _masked(cn, c, m_t)
        ys.append(h)
    return torch.stack(ys), h, c


def _reference_gru(xw, h0, W_hh, g_hh, b_hh, M):
    step, h, ys = layernorm_gru_step(W_hh, b_hh, g_hh), h0, []
    for xw_t, m_t in zip(xw.unbind(0), _masks(M, xw.shape[0])):
        h = _masked(step(xw_t, (h,))[0], h, m_t)
        ys.append(h)
    return torch.stack(ys), h


class LayerNormLSTMSequence(torch.autograd.Function):
    """The compiled path (``layernorm_native.lstm_*``) where ``rnnkit.recurrence.native`` has it; otherwise torch
    operations: forward writes each step's pre-activations into a (T, B, 4H) buffer and squashes them there in place
    (what backward needs); backward turns a buffer of the gate factors into ``δxw`` in place, step by step."""

    @staticmethod
    def forward(ctx, xw: Tensor, h0: Tensor, c0: Tensor, W_hh: Tensor, g_hh: Tensor, g_c: Tensor, b_c: Tensor | None,
                M: Tensor | None):
        ctx.set_materialize_grads(False)
        ctx.lowp = product_dtype()
        step = native_function("lnlstm_forward", xw, h0, c0, W_hh, g_hh, g_c, b_c, M)
        ctx.native = step is not None
        if ctx.native:
            saved = layernorm_native.lstm_forward(step, xw, h0, c0, W_hh, g_hh, g_c, b_c, M, ctx.lowp)
            _save(ctx, saved, (xw, h0, c0, W_hh, g_hh, g_c, b_c, M))
            Y, C = saved[-2], saved[-1]
            return Y, Y[-1].clone(), C[-1].clone()
        T, B, G = xw.shape
        H = G // 4
        P, ACT = xw.new_empty(T, B, G), xw.new_empty(T, B, G)  # W_hh h_{t-1}; a_t, then the gates
        CC, TU, Y = xw.new_empty(T, B, H), xw.new_empty(T, B, H), xw.new_empty(T, B, H)  # c̃_t, tanh(u_t), h_t
        C = CC if M is None else xw.new_empty(T, B, H)  # the carried c_t (= c̃_t without a mask)
        stats, times_W_T, h, c = [], RecurrentProduct(W_hh, B, ctx.lowp), h0, c0
        per_step = (xw, P, ACT, ACT[:, :, :2 * H], *ACT.chunk(4, dim=2), CC, C, TU, Y)  # views, made once
        for xw_t, p_t, a_t, if_t, i, f, g, o, cc_t, c_t, tu_t, y_t, m_t in zip(*(v.unbind(0) for v in per_step),
                                                                               _steps(M, T)):
            p_hat, mu, rstd = torch.native_layer_norm(times_W_T(h, out=p_t), (G,), None, None, EPS)
            torch.addcmul(xw_t, p_hat, g_hh, out=a_t)
            if_t.sigmoid_()
            o.sigmoid_()
            g.tanh_()
            cn = torch.mul(f, c, out=cc_t).addcmul_(i, g)
            u, mu_c, rstd_c = torch.native_layer_norm(cn, (H,), g_c, b_c, EPS)
            hn = torch.mul(o, torch.tanh(u, out=tu_t), out=y_t if m_t is None else None)
            if m_t is None:
                c, h = cn, hn
            else:
                c, h = torch.lerp(c, cn, m_t, out=c_t), torch.lerp(h, hn, m_t, out=y_t)
            stats.append((mu, rstd, mu_c, rstd_c))
        MU, RSTD, MU_C, RSTD_C = (torch.stack(s) for s in zip(*stats))
        _save(ctx, (h0, c0, W_hh, g_hh, g_c, P, MU, RSTD, ACT, CC, C, MU_C, RSTD_C, TU, Y, M),
              (xw, h0, c0, W_hh, g_hh, g_c, b_c, M))
        return Y, Y[-1].clone(), C[-1].clone()

    @staticmethod
    @_twice_differentiable(_reference_lstm)
    def backward(ctx, dY, dh_T, dc_T):
        if ctx.native:
            return layernorm_native.lstm_backward(ctx, dY, dh_T, dc_T)
        h0, c0, W_hh, g_hh, g_c, P, MU, RSTD, ACT, CC, C, MU_C, RSTD_C, TU, Y, M = ctx.saved_tensors[:ctx.n_kernel]
        T, B, H = CC.shape
        i, f, g, o = ACT.chunk(4, dim=2)
        # DU = o(1 − tanh²u): δu_t = ḣ_t ⊙ DU_t, formed in place step by step (then summed for γ_c, β_c); KK as the LSTM's
        DU, KK, keep = lstm_gate_factors(i, f, g, o, c0, C, TU, M)
        K, Ko = KK[:, :, :3], KK[:, :, 3]
        dA = KK.view(T, B, 4 * H)
        dAs, DUs, Ks, Kos, fs = dA.unbind(0), DU.unbind(0), K.unbind(0), Ko.unbind(0), f.unbind(0)
        dYs, Ms = None if dY is None else dY.unbind(0), _steps(M, T)
        dh, times_W = _final_gradient(dY, dh_T, h0), RecurrentProduct(W_hh.t(), B, ctx.lowp)
        dc = torch.zeros_like(c0) if dc_T is None else dc_T
        dP = []
        for t in range(T - 1, -1, -1):
            du = DUs[t].mul_(dh)
            dc_cell = _norm_input_grad(du, CC[t], MU_C[t], RSTD_C[t], g_c)  # ∂L/∂c̃_t
            dc_cell += dc if Ms[t] is None else dc * Ms[t]
            Ks[t].mul_(dc_cell.unsqueeze(1))
            Kos[t].mul_(dh)
            dc = dc_cell * fs[t] if keep is None else torch.addcmul(dc * keep[t], dc_cell, fs[t])
            dp = _norm_input_grad(dAs[t], P[t], MU[t], RSTD[t], g_hh)
            dP.append(dp)
            dh = _dh_previous(dYs, t, dh, keep, dp, times_W)
        need = ctx.needs_input_grad
        dW = _weight_grad(torch.stack(dP[::-1]), h0, Y, ctx.lowp) if need[3] else None
        dg_hh = _gain_grad(dA, P, MU, RSTD) if need[4] else None
        dg_c = _gain_grad(DU, CC, MU_C, RSTD_C) if need[5] else None
        db_c = DU.sum((0, 1)) if need[6] else None
        return dA if need[0] else None, dh, dc, dW, dg_hh, dg_c, db_c, None


class LayerNormGRUSequence(torch.autograd.Function):
    """The compiled path (``layernorm_native.gru_*``) where ``rnnkit.recurrence.native`` has it; otherwise torch
    operations: forward keeps ``[r, z]``, ``gh_n`` and ``n`` per step; backward accumulates ``ḣ_t`` in place in a copy
    of ``∂L/∂y`` and forms ``δgh_t`` in place in the buffer of its factors, as ``GRUSequence`` does."""

    @staticmethod
    def forward(ctx, xw: Tensor, h0: Tensor, W_hh: Tensor, g_hh: Tensor, b_hh: Tensor | None, M: Tensor | None):
        ctx.set_materialize_grads(False)
        ctx.lowp = product_dtype()
        step = native_function("lngru_forward", xw, h0, W_hh, g_hh, b_hh, M)
        ctx.native = step is not None
        if ctx.native:
            saved = layernorm_native.gru_forward(step, xw, h0, W_hh, g_hh, b_hh, M, ctx.lowp)
            _save(ctx, saved, (xw, h0, W_hh, g_hh, b_hh, M))
            return saved[-1], saved[-1][-1].clone()
        T, B, G = xw.shape
        H = G // 3
        P, RZ = xw.new_empty(T, B, G), xw.new_empty(T, B, 2 * H)  # W_hh h_{t-1}; [r, z]
        N, Y = xw.new_empty(T, B, H), xw.new_empty(T, B, H)
        stats, times_W_T, h = [], RecurrentProduct(W_hh, B, ctx.lowp), h0
        per_step = (xw[:, :, :2 * H], xw[:, :, 2 * H:], P, RZ, *RZ.chunk(2, dim=2), N, Y)
        for xrz_t, xn_t, p_t, rz_t, r, z, n_t, y_t, m_t in zip(*(v.unbind(0) for v in per_step), _steps(M, T)):
            gh, mu, rstd = torch.native_layer_norm(times_W_T(h, out=p_t), (G,), g_hh, b_hh, EPS)
            torch.add(xrz_t, gh[:, :2 * H], out=rz_t).sigmoid_()
            gh_n = gh[:, 2 * H:]
            n = torch.addcmul(xn_t, r, gh_n, out=n_t).tanh_()
            h = torch.lerp(n, h, z, out=y_t) if m_t is None else torch.lerp(h, torch.lerp(n, h, z), m_t, out=y_t)
            stats.append((mu, rstd, gh_n))
        MU, RSTD, GHN = (torch.stack(s) for s in zip(*stats))
        _save(ctx, (h0, W_hh, g_hh, P, MU, RSTD, RZ, GHN, N, Y, M), (xw, h0, W_hh, g_hh, b_hh, M))
        return Y, Y[-1].clone()

    @staticmethod
    @_twice_differentiable(_reference_gru)
    def backward(ctx, dY, dh_T):
        if ctx.native:
            return layernorm_native.gru_backward(ctx, dY, dh_T)
        h0, W_hh, g_hh, P, MU, RSTD, RZ, gh_n, N, Y, M = ctx.saved_tensors[:ctx.n_kernel]
        T, B, H = N.shape
        r, z = RZ.chunk(2, dim=2)
        Pn, Q, Z = gru_gate_factors(r, z, gh_n, N, Y, h0, M)  # as the GRU's (bptt.py)
        dH = _gradient_buffer(dY, dh_T, N)  # ḣ_t
        dGH = Q.view(T, B, 3 * H)
        dHs, dH3s, Qs, Zs, dGHs = dH.unbind(0), dH.unsqueeze(2).unbind(0), Q.unbind(0), Z.unbind(0), dGH.unbind(0)
        dP, times_W = [], RecurrentProduct(W_hh.t(), B, ctx.lowp)  # δp_t = LNᵀ(δgh_t), from t = T down; δp_t W_hh
        for t in range(T - 1, 0, -1):
            Qs[t].mul_(dH3s[t])
            dP.append(_norm_input_grad(dGHs[t], P[t], MU[t], RSTD[t], g_hh))
            times_W.add_to(dHs[t - 1].addcmul_(dHs[t], Zs[t]), dP[-1])
        Qs[0].mul_(dH3s[0])
        dP.append(_norm_input_grad(dGHs[0], P[0], MU[0], RSTD[0], g_hh))
        dh = times_W.plus(dH[0] * Zs[0], dP[-1])
        need = ctx.needs_input_grad
        dW = _weight_grad(torch.stack(dP[::-1]), h0, Y, ctx.lowp) if need[2] else None
        dg = _gain_grad(dGH, P, MU, RSTD) if need[3] else None
        db = dGH.sum((0, 1)) if need[4] else None
        dXW = None
        if need[0]:
            dXW = dGH  # δa_r, δa_z are shared; the n part becomes δa_n = ḣ ⊙ Pn
            torch.mul(dH, Pn, out=dXW[:, :, 2 * H:])
        return dXW, dh, dW, dg, db, None


def layernorm_lstm_sequence(xw: Tensor, h0: Tensor, c0: Tensor, W_hh: Tensor, ln_hh_weight: Tensor,
                            ln_c_weight: Tensor, ln_c_bias: Tensor | None, mask: Tensor | None = None
                            ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """LayerNormLSTM's recurrence over ``xw (T, B, 4H)`` (the input part of every step, gates i, f, g, o) from
    ``(h0, c0)``; returns ``(states h_1…h_T, (h_T, c_T))``. ``mask``: optional (T, B, 1) bool, False on padding."""
    Y, h, c = LayerNormLSTMSequence.apply(xw, h0, c0, W_hh, ln_hh_weight, ln_c_weight, ln_c_bias,
                                          _float_mask(mask, xw))
    return Y, (h, c)


def layernorm_gru_sequence(xw: Tensor, h0: Tensor, W_hh: Tensor, ln_hh_weight: Tensor, bias_hh: Tensor | None,
                           mask: Tensor | None = None) -> tuple[Tensor, tuple[Tensor]]:
    """LayerNormGRU's recurrence over ``xw (T, B, 3H)`` (``LN(W_ih x_t; γ_ih) + b_ih``, gates r, z, n)."""
    Y, h = LayerNormGRUSequence.apply(xw, h0, W_hh, ln_hh_weight, bias_hh, _float_mask(mask, xw))
    return Y, (h,)


__all__ = ["layernorm_lstm_sequence", "layernorm_gru_sequence"]
