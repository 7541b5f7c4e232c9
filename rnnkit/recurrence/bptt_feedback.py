"""Hand-written backpropagation through time for the Gated-Feedback RNN (``rnnkit.cells.feedback``): tanh, GRU and
LSTM layers, gated or not.

Same plan as ``bptt.py`` (read its docstring first): forward runs without autograd and keeps what backward needs,
backward is a second loop, t = T … 1, the factors that do not depend on the carried gradient are formed for all steps
at once, and the weights' gradients are GEMMs over all steps after the loop. What is new is that the whole stack is one
cell: every layer at t reads every layer's state at t−1. So both loops carry all L layers' states side by side,
``h*_t = [h^1_t … h^L_t]`` (B, L·H), in one (T+1, B, L·H) buffer — ``h*_{t-1}`` is a row of it, never a
concatenation — and backward carries ``ḣ*_t`` the same way, visiting the layers top-down inside a step (layer j's state
at t is read by layer j+1 at t and by every layer at t+1).

Layer j at step t (``h^0_t = x_t``; ``W_in^j = [W_ih^j; W_g^j]`` projects the input for the cell and the gates
together; ``ĝ^j`` spreads the gate ``g^{i→j}`` over block i's H units):

    [xw^j_t, gx^j_t] = W_in^j h^{j-1}_t + [b^j, 0]        g^j_t = σ(gx^j_t + U_g^j h*_{t-1})        (B, L)
    f^j_t = U^j (ĝ^j_t ⊙ h*_{t-1}) (+ b_hn for the GRU)   — the feedback, which enters the candidate:
    tanh  h = tanh(xw + f)
    gru   [r z] = σ(xw_rz + W_hh h^j_{t-1});  n = tanh(xw_n + r ⊙ f);  h = (1 − z) n + z h^j_{t-1}
    lstm  [i f o] = σ(xw_ifo + W_hh h^j_{t-1});  g = tanh(xw_g + f);  c = f c^j_{t-1} + i g;  h = o tanh(c)

(the hidden biases that only add fold into ``b^j``; the LSTM's gates are kept in the order i, f, o, g inside the
kernel so that the sigmoid gates sit side by side.) Backward, per layer, with ``ḣ^j_t`` summed over its readers:
the cell's own backward (as the SimpleRNN's, GRU's and LSTM's in ``bptt.py``) gives ``δxw``, ``δf`` (the gradient of the
feedback f) and, for the GRU/LSTM, the own-state terms; then

    δf̂ = δf U^j                                      (B, L·H)
    ḣ*_{t-1} += ĝ^j_t ⊙ δf̂ + δgx U_g^j                δgx = g(1−g) ⊙ Σ_block(δf̂ ⊙ h*_{t-1})       (B, L)
    ḣ^{j-1}_t += [δxw, δgx] W_in^j
    ∂L/∂U^j = Σ_t δfᵀ (ĝ^j_t ⊙ h*_{t-1}),  ∂L/∂U_g^j = Σ_t δgxᵀ h*_{t-1},  ∂L/∂W_in^j = Σ_t [δxw, δgx]ᵀ h^{j-1}_t

For tanh layers on CPU (float32/float64) the loops run in compiled C (``feedback_native``: the whole sequence per
call, or compiled steps with one product per layer between them). Elsewhere, and for GRU/LSTM layers, torch operations.

Ungated (``gated=False``) every g = 1 and the gate terms drop out. Step masks as in ``bptt.py``: a masked step keeps
every layer's state (the layer above reads the kept state there, which changes nothing the caller sees: that step's
outputs are masked too); the cell sees ``m_t ḣ*_t`` and ``(1 − m_t) ḣ*_t`` passes straight to ``ḣ*_{t-1}``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.recurrence import bptt_reference as reference
from rnnkit.recurrence import feedback_native, projection
from rnnkit.recurrence.bptt import _ifog, gru_gate_factors, lstm_gate_factors
from rnnkit.recurrence.bptt_common import (
    _args,
    _float_mask,
    _save,
    _steps,
    _twice_differentiable,
)
from rnnkit.recurrence.native import function as native_function
from rnnkit.recurrence.packed import RecurrentProduct

PER_LAYER = 7  # W_ih, b, W_gx, U, U_g, W_hh, b_hn
GATES = {"tanh": 1, "gru": 3, "lstm": 4}


def _input_weights(cell: str, W_ih: Tensor, b: Tensor | None, W_gx: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """``W_in = [W_ih; W_gx]`` (the LSTM's rows in gate order i, f, o, g) and its bias ``[b, 0]``."""
    if cell == "lstm":
        W_ih, b = _ifog(W_ih), None if b is None else _ifog(b)
    if W_gx is None:
        return W_ih, b
    return torch.cat([W_ih, W_gx]), None if b is None else torch.cat([b, b.new_zeros(W_gx.shape[0])])


def _lstm_factors(IFOG: Tensor, C0: Tensor, C: Tensor, TC: Tensor, M: Tensor | None) -> tuple[Tensor, Tensor]:
    """The LSTM's backward factors (``bptt.lstm_gate_factors``) in the kernel's gate order: ``A = o(1 − tanh²c̃)``
    (ċ̃ = ċ_t m + ḣ ⊙ A) and ``K`` (T, B, 4, H) with ``δ[i f o g] = K ⊙ [ċ̃, ċ̃, ḣ, ċ̃]``; masked by M."""
    i, f, o, g = IFOG.unbind(2)
    A, K, _ = lstm_gate_factors(i, f, g, o, C0, C, TC, M)  # K in torch's order i, f, g, o
    return A, K[:, :, [0, 1, 3, 2]]


class FeedbackSequence(torch.autograd.Function):
    """Forward: ``HS`` (T+1, B, L·H) holds ``h*_0 … h*_T`` (``CS`` the LSTM's cells the same way); ``IN[j]``
    (T, B, G·H+L) each layer's ``[xw, gx]``, which each step turns into the cell's activations in place; ``G[t, j]``
    the gates; ``F[j]`` the GRU's ``f + b_hn``, ``TC`` the LSTM's ``tanh(c̃)``. Backward forms ``[δxw, δgx]`` of each
    layer in one (T, B, G·H+L) buffer — the gradient of that layer's input projection."""

    @staticmethod
    def forward(ctx, cell: str, L: int, gated: bool, x: Tensor, h0: Tensor, c0: Tensor | None, M: Tensor | None,
                *W: Tensor | None):
        ctx.set_materialize_grads(False)
        T, B = x.shape[:2]
        H, lstm, gru = W[3].shape[0], cell == "lstm", cell == "gru"
        blk = [slice(j * H, (j + 1) * H) for j in range(L)]
        layer = [W[PER_LAYER * j:PER_LAYER * (j + 1)] for j in range(L)]
        W_in = [_input_weights(cell, *w[:3]) for w in layer]
        ctx.native = cell == "tanh" and native_function("fb_act", x, h0, *W) is not None
        U = [RecurrentProduct(w[3], B) for w in layer] if not ctx.native else None
        own = [RecurrentProduct(w[5], B) for w in layer] if cell != "tanh" else None
        HS = x.new_empty(T + 1, B, L * H)
        HS[0] = h0
        CS = TC = None
        if lstm:
            CS, TC = x.new_empty(T + 1, B, L * H), x.new_empty(T, B, L * H)
            CS[0] = c0
        x2 = x.reshape(T * B, -1)
        IN = [projection.mm(x2, W_in[0][0].t(), bias=W_in[0][1]).view(T, B, -1)] + [
            x.new_empty(T, B, W_in[j][0].shape[0]) for j in range(1, L)]
        F = [x.new_empty(T, B, H) for _ in range(L)] if gru else None
        G = x.new_empty(T, L, B, L) if gated else None
        U_g = torch.cat([w[4] for w in layer]).t() if gated and not ctx.native else None  # (L·H, L·L)
        GH = GATES[cell] * H
        if ctx.native:
            feedback_native.tanh_forward(HS, IN, G, layer, M, L, H)
        for t, m_t in enumerate(_steps(M, T) if not ctx.native else ()):
            hs, out = HS[t], HS[t + 1]
            S = (hs @ U_g).view(B, L, L) if gated else None  # U_g^j h*_{t-1} for every j
            for j in range(L):
                a = IN[j][t]
                if j:
                    below, (Wj, bj) = out[:, blk[j - 1]], W_in[j]
                    torch.mm(below, Wj.t(), out=a) if bj is None else torch.addmm(bj, below, Wj.t(), out=a)
                fb = hs
                if gated:
                    g = torch.add(a[:, GH:], S[:, j], out=G[t, j]).sigmoid_()
                    fb = (hs.view(B, L, H) * g.unsqueeze(-1)).view(B, L * H)  # ĝ^j ⊙ h*_{t-1}
                h_prev, h_out = hs[:, blk[j]], out[:, blk[j]]
                if cell == "tanh":
                    U[j].add_to(a[:, :H], fb)
                    if m_t is None:
                        torch.tanh(a[:, :H], out=h_out)
                    else:  # the candidate stays in IN (backward's 1 − h̃²), the carried state goes to HS
                        torch.lerp(h_prev, a[:, :H].tanh_(), m_t, out=h_out)
                elif gru:
                    rz = own[j].add_to(a[:, :2 * H], h_prev).sigmoid_()
                    f, f_t = U[j](fb, out=F[j][t]), F[j][t]
                    if f.data_ptr() != f_t.data_ptr():  # oneDNN's product is a fresh tensor
                        f_t.copy_(f)
                    if layer[j][6] is not None:
                        f_t.add_(layer[j][6])  # + b_hn
                    n = a[:, 2 * H:GH].addcmul_(rz[:, :H], f_t).tanh_()
                    if m_t is None:
                        torch.lerp(n, h_prev, rz[:, H:], out=h_out)
                    else:
                        torch.lerp(h_prev, torch.lerp(n, h_prev, rz[:, H:]), m_t, out=h_out)
                else:
                    own[j].add_to(a[:, :3 * H], h_prev)
                    U[j].add_to(a[:, 3 * H:GH], fb)
                    a[:, :3 * H].sigmoid_()
                    a[:, 3 * H:GH].tanh_()
                    i, f, o, g_ = (a[:, k * H:(k + 1) * H] for k in range(4))
                    c_prev, c_out, tc = CS[t][:, blk[j]], CS[t + 1][:, blk[j]], TC[t][:, blk[j]]
                    if m_t is None:
                        c = torch.mul(f, c_prev, out=c_out).addcmul_(i, g_)
                        torch.mul(o, torch.tanh(c, out=tc), out=h_out)
                    else:
                        c = torch.addcmul(f * c_prev, i, g_)  # c̃; tanh(c̃) is what backward needs
                        torch.lerp(c_prev, c, m_t, out=c_out)
                        torch.lerp(h_prev, o * torch.tanh(c, out=tc), m_t, out=h_out)
        _save(ctx, (HS, CS, TC, G, *IN, *(F or ())), (cell, L, gated, x, h0, c0, M, *W))
        ctx.cell, ctx.L, ctx.gated, ctx.H = cell, L, gated, H
        finals = (HS[-1].clone(),) + ((CS[-1].clone(),) if lstm else ())
        return HS[1:, :, blk[-1]].contiguous(), *finals

    @staticmethod
    @_twice_differentiable(reference.feedback)
    def backward(ctx, dY, dh_T, dc_T=None):
        cell, L, gated, H = ctx.cell, ctx.L, ctx.gated, ctx.H
        HS, CS, TC, G, *rest = ctx.saved_tensors[:ctx.n_kernel]
        IN, F = rest[:L], rest[L:] or None
        _, _, _, x, h0, c0, M, *W = _args(ctx)
        T1, B, LH = HS.shape
        T, GH = T1 - 1, GATES[cell] * H
        blk = [slice(j * H, (j + 1) * H) for j in range(L)]
        layer = [W[PER_LAYER * j:PER_LAYER * (j + 1)] for j in range(L)]
        W_in = [_input_weights(cell, *w[:3])[0] for w in layer]
        dHS = HS.new_zeros(T + 1, B, LH)  # ḣ*_t, accumulated in place
        if dY is not None:
            dHS[1:, :, blk[-1]] = dY
        if dh_T is not None:
            dHS[-1] += dh_T
        keep = None if M is None else (1 - M).unbind(0)
        DIN = [x.new_empty(T, B, w.shape[0]) for w in W_in]  # [δxw^j, δgx^j] for every step
        if ctx.native:
            feedback_native.tanh_backward(dHS, HS, IN, G, DIN, layer, M, keep, L, H)
            return (None, None, None, *_input_grads(ctx, cell, L, gated, x, HS, G, DIN, None, W_in, dHS[0], []))
        times_U = [RecurrentProduct(w[3].t(), B) for w in layer]
        times_W_in = [None] + [RecurrentProduct(w.t(), B) for w in W_in[1:]]
        factors = []  # per layer, for all steps: what turns ḣ (and ċ) into the cell's δ
        for j in range(L):
            if cell == "tanh":  # 1 − h̃² (h̃ the candidate: the carried state without a mask)
                P = IN[j][:, :, :H].clone() if M is not None else HS[1:, :, blk[j]].clone()
                P.mul_(P).neg_().add_(1)
                factors.append(P if M is None else P.mul_(M))
            elif cell == "gru":
                rz = IN[j][:, :, :2 * H]
                factors.append(gru_gate_factors(rz[:, :, :H], rz[:, :, H:], F[j], IN[j][:, :, 2 * H:GH],
                                                HS[1:, :, blk[j]], HS[0, :, blk[j]], M))
            else:
                factors.append(_lstm_factors(IN[j][:, :, :GH].view(T, B, 4, H), CS[0, :, blk[j]],
                                             CS[1:, :, blk[j]], TC[:, :, blk[j]], M))
        GF = None if G is None else G - G * G  # g(1 − g)
        DF = [x.new_empty(T, B, H) for _ in range(L)] if cell == "gru" else None  # the GRU's δf (≠ any δxw)
        times_own = [RecurrentProduct(w[5].t(), B) for w in layer] if cell != "tanh" else None
        dc = [None if dc_T is None else dc_T[:, blk[j]] for j in range(L)]  # ċ^j, the LSTM's, per layer
        for t in range(T - 1, -1, -1):
            dh, dprev, hs3 = dHS[t + 1], dHS[t], HS[t].view(B, L, H)
            for j in range(L - 1, -1, -1):
                dh_j, dprev_j, d = dh[:, blk[j]], dprev[:, blk[j]], DIN[j][t]
                if cell == "tanh":
                    df = torch.mul(dh_j, factors[j][t], out=d[:, :H])
                elif cell == "gru":
                    Pn, Q, Z = factors[j]
                    torch.mul(Q[t], dh_j.unsqueeze(1), out=d[:, :GH].view(B, 3, H))  # δa_r, δa_z, δa_n ⊙ r = δf
                    df = DF[j][t].copy_(d[:, 2 * H:GH])
                    torch.mul(dh_j, Pn[t], out=d[:, 2 * H:GH])  # δa_n
                    dprev_j.addcmul_(dh_j, Z[t])
                    times_own[j].add_to(dprev_j, d[:, :2 * H])
                else:
                    A, K = factors[j]
                    dc_j = dc[j]
                    dc_cell = dh_j * A[t] if dc_j is None else torch.addcmul(
                        dc_j if M is None else dc_j * M[t], dh_j, A[t])  # ∂L/∂c̃_t
                    d4 = d[:, :GH].view(B, 4, H)
                    torch.mul(K[t], dc_cell.unsqueeze(1), out=d4)
                    torch.mul(K[t, :, 2], dh_j, out=d4[:, 2])  # δo reads ḣ
                    dc[j] = dc_cell * IN[j][t, :, H:2 * H]  # ċ_{t-1} = ċ̃_t f (+ (1 − m) ċ_t)
                    if keep is not None and dc_j is not None:
                        dc[j].addcmul_(dc_j, keep[t])
                    times_own[j].add_to(dprev_j, d[:, :3 * H])
                    df = d[:, 3 * H:GH]
                dfb = times_U[j](df)  # δf U^j, (B, L·H)
                if gated:
                    df3 = dfb.view(B, L, H)
                    dprev.view(B, L, H).addcmul_(df3, G[t, j].unsqueeze(-1))
                    dgx = torch.mul(torch.linalg.vecdot(df3, hs3), GF[t, j], out=d[:, GH:])
                    dprev.addmm_(dgx, layer[j][4])
                else:
                    dprev.add_(dfb)
                if j:
                    times_W_in[j].add_to(dh[:, blk[j - 1]], d)
            if keep is not None and cell != "gru":  # the GRU's Z carries its (1 − m) already
                dprev.addcmul_(dh, keep[t])
        return (None, None, None, *_input_grads(ctx, cell, L, gated, x, HS, G, DIN, DF, W_in, dHS[0], dc))


def _input_grads(ctx, cell, L, gated, x, HS, G, DIN, DF, W_in, dh0, dc) -> list:
    """The gradients for ``x, h0, c0, M, *W`` from the per-step δs: GEMMs over all steps."""
    need = ctx.needs_input_grad[3:]
    T, B, LH = HS.shape[0] - 1, HS.shape[1], HS.shape[2]
    H = LH // L
    GH = GATES[cell] * H
    grads = [None] * (4 + PER_LAYER * L)
    grads[1] = dh0 if need[1] else None
    if cell == "lstm" and need[2]:
        grads[2] = torch.cat([d if d is not None else dh0.new_zeros(B, H) for d in dc], dim=-1)
    if need[0]:
        grads[0] = projection.mm(DIN[0].view(T * B, -1), W_in[0]).view(x.shape)
    hs_prev = HS[:-1].flatten(0, 1)  # h*_{t-1} for every step, (T·B, L·H)
    for j in range(L):
        n = 4 + PER_LAYER * j  # this layer's W_ih, b, W_gx, U, U_g, W_hh, b_hn
        D = DIN[j].view(T * B, -1)
        if need[n] or need[n + 2]:
            below = x.reshape(T * B, -1) if j == 0 else HS[1:, :, j * H - H:j * H].flatten(0, 1)
            dW = projection.mm(D.t(), below)
            grads[n] = (_ifog(dW[:GH]) if cell == "lstm" else dW[:GH]) if need[n] else None
            grads[n + 2] = dW[GH:] if need[n + 2] else None
        if need[n + 1]:
            db = D[:, :GH].sum(0)
            grads[n + 1] = _ifog(db) if cell == "lstm" else db
        df = DF[j].view(T * B, H) if DF is not None else D[:, GH - H:GH]  # δf for all steps
        if need[n + 3]:
            fb = hs_prev if not gated else (HS[:-1].view(T, B, L, H) * G[:, j].unsqueeze(-1)).view(T * B, LH)
            grads[n + 3] = projection.mm(df.t(), fb)
        if need[n + 4]:
            grads[n + 4] = projection.mm(D[:, GH:].t(), hs_prev)
        if need[n + 5]:
            own = D[:, :2 * H] if cell == "gru" else D[:, :3 * H]
            grads[n + 5] = projection.mm(own.t(), hs_prev[:, j * H:(j + 1) * H])
        if need[n + 6]:
            grads[n + 6] = df.sum(0)
    return grads


def feedback_sequence(cell: str, x: Tensor, h0: Tensor, c0: Tensor | None, layers: list[tuple[Tensor | None, ...]],
                      gated: bool, mask: Tensor | None = None) -> tuple[Tensor, ...]:
    """The Gated-Feedback RNN over ``x (T, B, I)`` from ``h0`` (and the LSTM's ``c0``), (B, L·H) each: all layers'
    states side by side. ``layers[j] = (W_ih, b, W_gx, U, U_g, W_hh, b_hn)``: ``b`` the bias of ``xw`` with every
    hidden bias that only adds folded in, ``W_gx``/``U_g`` None when ungated, ``W_hh`` None for tanh, ``b_hn`` the
    GRU's ``b_hh`` of n (else None). Returns the top layer's carried states h^L_1 … h^L_T (T, B, H) and the final
    ``h*_T`` (and ``c*_T``), (B, L·H). ``mask``: optional (T, B, 1) bool, False on padding."""
    flat = [w for layer in layers for w in layer]
    return FeedbackSequence.apply(cell, len(layers), gated, x, h0, c0, _float_mask(mask, x), *flat)


__all__ = ["feedback_sequence"]
