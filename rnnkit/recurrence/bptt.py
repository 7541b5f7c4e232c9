"""Hand-written backpropagation through time: the loop backend's fast path for the SimpleRNN, LSTM and GRU.

Autograd through the explicit loop (``loop.py``) records ~10 operations per step and replays ~20 in backward, each paying
Python and dispatch overhead that dwarfs the arithmetic at small sizes (hidden 128, batch 32). The cells' derivatives
are short, so here the loop runs forward *without* autograd, keeping only what backward needs, and backward is a second
loop, t = T … 1, that carries ∂L/∂h_t (and ∂L/∂c_t) — the algorithm of the NumPy reference engine
(``rnnkit.reference``), written in torch. Three things keep each backward step to 4–8 operations:

* every factor that does not depend on the carried gradient (the gates' derivatives, ``1 − tanh²(c_t)``, …) is computed
  for all steps at once before the backward loop;
* ∂L/∂(xw_t), the gradient of the precomputed input projection, is the gate gradient itself — stored, never summed;
* the recurrent weight's gradient is one GEMM after the loop, ``∂L/∂W_hh = Σ_t δ_t^T h_{t-1}`` (as in ``deferred.py``).

And memory is the other half of the cost at these sizes: every fresh T×B×H buffer is first-touched page by page (on this
project's 2-core machine, 20–30% of a GRU's time went to page faults), and ``addmm(x, a, b)`` copies ``x`` before adding
the product. So each kernel computes the input projection ``xw`` itself, into a buffer it owns (one GEMM for all
steps, ∂L/∂x, ∂L/∂W_ih and ∂L/∂b from ``δxw`` by hand — no copy of ``xw`` to write into), each step adds its recurrent
product in place into that buffer (``addmm_``, or oneDNN's product with the weight packed once where that is faster:
``rnnkit.recurrence.packed``), activations are applied in place, and backward turns buffers it needs
anyway (``φ'``, the gate factors) into the gradients in place instead of allocating new ones. An output nobody used
(the outputs of a Keras layer with ``return_sequences=False``, or the final state) arrives as None rather than a
T×B×H buffer of zeros to fill and read.

On CPUs (float32/float64, where ``rnnkit.recurrence.native`` is built) the same loops run in C, the whole sequence in
one call each way (``native/lstmseq.c``: the batch's rows on torch's OpenMP threads, the recurrent products by the
library's own matrix product) for recurrent weights up to ``native.WEIGHT_BYTES_MAX``; the torch-operation loops below
are what runs elsewhere, and both are tested against each other.

Notation below: ``xw_t = W_ih x_t + b_ih (+ b_hh where it folds)``, ``δ`` a gradient, ``ḣ_t = ∂L/∂h_t`` summed over
both of its uses (the output ``y_t`` and the next step). Not twice differentiable.

SimpleRNN   h_t = φ(a_t),  a_t = xw_t + W_hh h_{t-1}
            δa_t = ḣ_t ⊙ φ'(a_t)          (tanh: 1 − h_t², relu: [h_t > 0])
            ḣ_{t-1} = ∂L/∂y_{t-1} + δa_t W_hh

LSTM        [i f g o]_t = [σ σ tanh σ](xw_t + W_hh h_{t-1});  c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)
            ċ_t = ċ_{t+1} ⊙ f_{t+1} + ḣ_t ⊙ o_t ⊙ (1 − tanh²(c_t))
            δ[i f g o]_t = [ċ_t ⊙ g ⊙ i(1−i),  ċ_t ⊙ c_{t-1} ⊙ f(1−f),  ċ_t ⊙ i ⊙ (1−g²),  ḣ_t ⊙ tanh(c_t) ⊙ o(1−o)]
            ḣ_{t-1} = ∂L/∂y_{t-1} + δ[i f g o]_t W_hh

GRU         gh_t = W_hh h_{t-1} + b_hh = [gh_r gh_z gh_n];  r, z = σ(xw_r + gh_r), σ(xw_z + gh_z)
            n = tanh(xw_n + r ⊙ gh_n);  h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}             (torch.nn.GRU, reset_after)
            δa_n = ḣ_t ⊙ (1−z)(1−n²);  δa_r = δa_n ⊙ gh_n ⊙ r(1−r);  δa_z = ḣ_t ⊙ (h_{t-1} − n) ⊙ z(1−z)
            δxw_t = [δa_r δa_z δa_n],  δgh_t = [δa_r δa_z δa_n ⊙ r]
            ḣ_{t-1} = ∂L/∂y_{t-1} + ḣ_t ⊙ z + δgh_t W_hh

Step masks (variable lengths, Keras masks): with ``m_t ∈ {0, 1}`` per sequence, the cell computes a candidate h̃_t (c̃_t)
from the carried state by the equations above and the carried state is ``h_t = m_t h̃_t + (1 − m_t) h_{t-1}`` — a masked
step keeps the state. The kernels return the carried states ``h_1 … h_T`` (Keras's outputs under a mask; multiply by
the mask for zeros past a sequence's end). Backward: the cell receives ``m_t ḣ_t`` and ``(1 − m_t) ḣ_t`` passes
straight to ``ḣ_{t-1}`` (the same for ċ).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.recurrence import bptt_reference as reference
from rnnkit.recurrence.bptt_common import (
    _dh_previous,
    _final_gradient,
    _float_mask,
    _gradient_buffer,
    _project,
    _projection_grads,
    _save,
    _steps,
    _twice_differentiable,
    _weight_grad,
)
from rnnkit.recurrence.hugepages import empty_huge
from rnnkit.recurrence.native import nbytes, ptr
from rnnkit.recurrence.native import sequence as native_sequence
from rnnkit.recurrence.packed import RecurrentProduct


class SimpleRNNSequence(torch.autograd.Function):
    """Forward projects the inputs into a fresh buffer, adds ``W_hh h_{t-1}`` into it in place step by step and
    applies φ there (no per-step allocation or copy); backward turns the buffer of ``φ'(a_t)`` into ``δa_t`` in place
    (one fresh T×B×H buffer: first-touching fresh memory is a large part of the cost at these sizes)."""

    @staticmethod
    def forward(ctx, x: Tensor, W_ih: Tensor, b: Tensor | None, h0: Tensor, W_hh: Tensor, relu: bool,
                M: Tensor | None):
        ctx.set_materialize_grads(False)
        HN, x2 = _project(x, W_ih, b)  # a_t, then the candidates h̃_t = φ(a_t) (φ' reads them)
        whole = native_sequence("rnn_sequence_forward", h0.shape[0], HN, h0, W_hh, M, weight_bytes=nbytes(W_hh))
        if whole is not None:  # the same loop in C (``native/lstmseq.c``)
            Y, W_T = HN if M is None else empty_huge(HN.shape, HN), W_hh.t().contiguous()
            h0, M = h0.contiguous(), None if M is None else M.contiguous()
            whole(HN.shape[0], HN.shape[1], HN.shape[2], int(relu), *(ptr(v) for v in (W_T, HN, h0, M, Y)))
            _save(ctx, (x2, W_ih, h0, W_hh, Y, HN, M), (x, W_ih, b, h0, W_hh, relu, M))
            ctx.relu = relu
            return Y, Y[-1].clone()
        phi = Tensor.relu_ if relu else Tensor.tanh_
        times_W_T, h = RecurrentProduct(W_hh, h0.shape[0]), h0
        if M is None:
            Y = HN
            for a_t in HN.unbind(0):
                h = phi(times_W_T.add_to(a_t, h))
        else:
            Y = torch.empty_like(HN)
            for a_t, y_t, m_t in zip(HN.unbind(0), Y.unbind(0), M.unbind(0)):
                h = torch.lerp(h, phi(times_W_T.add_to(a_t, h)), m_t, out=y_t)
        _save(ctx, (x2, W_ih, h0, W_hh, Y, HN, M), (x, W_ih, b, h0, W_hh, relu, M))
        ctx.relu = relu
        return Y, Y[-1].clone()

    @staticmethod
    @_twice_differentiable(reference.simple_rnn)
    def backward(ctx, dY, dh_T):
        x2, W_ih, h0, W_hh, Y, HN, M = ctx.saved_tensors[:ctx.n_kernel]
        whole = native_sequence("rnn_sequence_backward", HN.shape[1], HN, weight_bytes=nbytes(W_hh))
        if whole is not None:  # ``native/lstmseq.c``: δa_t for every step, ∂L/∂h_0
            T, B, H = HN.shape
            dY = None if dY is None else dY.contiguous()
            dh, dn, dA = _final_gradient(dY, dh_T, h0).contiguous(), torch.empty_like(h0), empty_huge(HN.shape, HN)
            W = W_hh.contiguous()
            whole(T, B, H, int(ctx.relu), *(ptr(v) for v in (W, HN, M, dh, dY, dn, dA)))
            dW = _weight_grad(dA, h0, Y) if ctx.needs_input_grad[4] else None
            return (*_projection_grads(ctx, dA, x2, W_ih), dh if T % 2 == 0 else dn, dW, None, None)
        if ctx.relu:
            dA = (HN > 0).to(Y.dtype)  # φ'(a_t) for all steps at once, turned into δa_t in place below
        else:
            dA = HN * HN
            dA.neg_().add_(1)
        keep = None
        if M is not None:
            keep = (1 - M).unbind(0)  # the cell sees m ḣ; (1 − m) ḣ passes through
            dA.mul_(M)
        dAs, dYs = dA.unbind(0), None if dY is None else dY.unbind(0)
        dh, times_W = _final_gradient(dY, dh_T, h0), RecurrentProduct(W_hh.t(), h0.shape[0])
        for t in range(len(dAs) - 1, -1, -1):
            dh = _dh_previous(dYs, t, dh, keep, dAs[t].mul_(dh), times_W)  # δa_t = ḣ_t ⊙ φ'(a_t)
        dW = _weight_grad(dA, h0, Y) if ctx.needs_input_grad[4] else None
        return (*_projection_grads(ctx, dA, x2, W_ih), dh, dW, None, None)


def _ifog(W: Tensor) -> Tensor:
    """Rows (or the entries of a bias) in gate order i, f, g, o → i, f, o, g: the three sigmoid gates side by side."""
    i, f, g, o = W.chunk(4, dim=0)
    return torch.cat([i, f, o, g], dim=0)


def lstm_gate_factors(i: Tensor, f: Tensor, g: Tensor, o: Tensor, c0: Tensor, C: Tensor, TC: Tensor,
                      M: Tensor | None) -> tuple[Tensor, Tensor, list | None]:
    """The LSTM backward's factors for all steps at once, from the gates, the carried cells ``C`` (c_1 … c_T; c_0 =
    ``c0``) and ``TC = tanh`` of what enters h_t: ``A = o(1 − TC²)`` (ċ_t += ḣ_t ⊙ A_t) and ``KK`` (T, B, 4, H) =
    ``[g i(1−i), c_{t-1} f(1−f), i(1−g²), TC o(1−o)]`` — ``δ[i f g] = ċ ⊙ KK[:, :, :3]``, ``δo = ḣ ⊙ KK[:, :, 3]``,
    which backward forms in place, leaving ``δa`` in torch's gate order (x(1 − y) is formed as x − x y). Under a step
    mask ``M`` the cell's factors are masked and ``keep`` = the per-step ``1 − m_t`` (None without a mask)."""
    A = TC * TC
    A.neg_().add_(1).mul_(o)
    T, B, H = C.shape
    KK = C.new_empty(T, B, 4, H)
    Ki, Kf, Kg, Ko = KK.unbind(2)
    torch.mul(g, i, out=Ki).addcmul_(Ki, i, value=-1)
    torch.mul(c0, f[0], out=Kf[0])
    torch.mul(C[:-1], f[1:], out=Kf[1:])
    Kf.addcmul_(Kf, f, value=-1)
    torch.mul(g, g, out=Kg).neg_().add_(1).mul_(i)
    torch.mul(TC, o, out=Ko).addcmul_(Ko, o, value=-1)
    keep = None
    if M is not None:
        A.mul_(M)
        Ko.mul_(M)
        keep = (1 - M).unbind(0)
    return A, KK, keep


class LSTMSequence(torch.autograd.Function):
    """Forward keeps the gates in the order i, f, o, g (the input projection is computed with ``W_ih``'s rows
    reordered, and ``W_hh``'s to match) so that each step adds ``W_hh h_{t-1}`` in place and squashes with two in-place
    calls, leaving the activations that backward needs; ``δxw`` is formed in torch's order i, f, g, o."""

    @staticmethod
    def forward(ctx, x: Tensor, W_ih: Tensor, b: Tensor | None, h0: Tensor, c0: Tensor, W_hh: Tensor,
                M: Tensor | None):
        ctx.set_materialize_grads(False)
        ACT, x2 = _project(x, _ifog(W_ih), None if b is None else _ifog(b))  # pre-activations, then [i f o g]
        T, B, G = ACT.shape
        H = G // 4
        whole = native_sequence("lstm_sequence_forward", B, ACT, h0, c0, W_hh, M, weight_bytes=nbytes(W_hh))
        if whole is not None:  # the same loop in C (``native/lstmseq.c``)
            C, TC, Y = (empty_huge((T, B, H), ACT) for _ in range(3))
            h0, c0, M = (None if v is None else v.contiguous() for v in (h0, c0, M))
            W_T = _ifog(W_hh).t().contiguous()
            whole(T, B, H, *(ptr(v) for v in (W_T, ACT, h0, c0, M, C, TC, Y)))
            _save(ctx, (x2, W_ih, h0, c0, W_hh, ACT, C, TC, Y, M), (x, W_ih, b, h0, c0, W_hh, M))
            return Y, Y[-1].clone(), C[-1].clone()
        C, TC, Y = ACT.new_empty(T, B, H), ACT.new_empty(T, B, H), ACT.new_empty(T, B, H)
        times_W_T, h, c = RecurrentProduct(_ifog(W_hh), h0.shape[0]), h0, c0
        per_step = (ACT, ACT[:, :, :3 * H], *ACT.chunk(4, dim=2), C, TC, Y)  # views, made once
        for a_t, ifo_t, i, f, o, g, c_t, tc_t, y_t, m_t in zip(*(v.unbind(0) for v in per_step), _steps(M, T)):
            times_W_T.add_to(a_t, h)
            ifo_t.sigmoid_()
            g.tanh_()
            if m_t is None:
                c = torch.mul(f, c, out=c_t).addcmul_(i, g)
                h = torch.mul(o, torch.tanh(c, out=tc_t), out=y_t)
            else:
                cn = torch.addcmul(f * c, i, g)  # c̃_t; tanh(c̃_t) is what backward needs
                hn = o * torch.tanh(cn, out=tc_t)
                c, h = torch.lerp(c, cn, m_t, out=c_t), torch.lerp(h, hn, m_t, out=y_t)
        _save(ctx, (x2, W_ih, h0, c0, W_hh, ACT, C, TC, Y, M), (x, W_ih, b, h0, c0, W_hh, M))
        return Y, Y[-1].clone(), C[-1].clone()

    @staticmethod
    @_twice_differentiable(reference.lstm)
    def backward(ctx, dY, dh_T, dc_T):
        x2, W_ih, h0, c0, W_hh, ACT, C, TC, Y, M = ctx.saved_tensors[:ctx.n_kernel]
        T, B, H = C.shape
        whole = native_sequence("lstm_sequence_backward", B, ACT, weight_bytes=nbytes(W_hh))
        if whole is not None:  # ``native/lstmseq.c``: δa_t for every step, ∂L/∂h_0 and ∂L/∂c_0
            dY = None if dY is None else dY.contiguous()
            dh, dn, dG = _final_gradient(dY, dh_T, h0).contiguous(), torch.empty_like(h0), empty_huge(ACT.shape, ACT)
            dc = torch.zeros_like(c0) if dc_T is None else dc_T.contiguous().clone()
            W = W_hh.contiguous()
            whole(T, B, H, *(ptr(v) for v in (W, ACT, c0, C, TC, M, dh, dY, dn, dc, dG)))
            dW = _weight_grad(dG, h0, Y) if ctx.needs_input_grad[5] else None
            return (*_projection_grads(ctx, dG, x2, W_ih), dh if T % 2 == 0 else dn, dc, dW, None)
        i, f, o, g = ACT.chunk(4, dim=2)
        A, KK, keep = lstm_gate_factors(i, f, g, o, c0, C, TC, M)
        K, Ko = KK[:, :, :3], KK[:, :, 3]
        dG = KK.view(T, B, 4 * H)  # torch's gate order i, f, g, o
        dGs, As, Ks, Kos, fs = dG.unbind(0), A.unbind(0), K.unbind(0), Ko.unbind(0), f.unbind(0)
        dYs, Ms = None if dY is None else dY.unbind(0), _steps(M, T)
        dh, times_W = _final_gradient(dY, dh_T, h0), RecurrentProduct(W_hh.t(), h0.shape[0])
        dc = torch.zeros_like(c0) if dc_T is None else dc_T
        for t in range(T - 1, -1, -1):
            dc_cell = torch.addcmul(dc if Ms[t] is None else dc * Ms[t], dh, As[t])  # ∂L/∂c̃_t
            Ks[t].mul_(dc_cell.unsqueeze(1))
            Kos[t].mul_(dh)
            dc = dc_cell * fs[t] if keep is None else torch.addcmul(dc * keep[t], dc_cell, fs[t])
            dh = _dh_previous(dYs, t, dh, keep, dGs[t], times_W)
        dW = _weight_grad(dG, h0, Y) if ctx.needs_input_grad[5] else None
        return (*_projection_grads(ctx, dG, x2, W_ih), dh, dc, dW, None)


def gru_gate_factors(r: Tensor, z: Tensor, gh_n: Tensor, N: Tensor, Y: Tensor, h0: Tensor, M: Tensor | None
                     ) -> tuple[Tensor, Tensor, Tensor]:
    """The GRU backward's factors for all steps at once, from r, z, ``gh_n`` (the recurrent part inside r ⊙ ·), n
    (``N``) and the carried states (``Y``; h_0 = ``h0``): ``Pn = (1 − z)(1 − n²)`` (δa_n = ḣ ⊙ Pn), ``Q`` (T, B, 3, H)
    = ``[Pn gh_n r(1−r), (h_{t-1} − n) z(1−z), Pn r]`` (δgh = ḣ ⊙ Q = [δa_r, δa_z, δa_n ⊙ r], formed in place in Q;
    δxw = [δa_r, δa_z, δa_n]) and ``Z`` = ∂h_t/∂h_{t-1} outside W_hh (z, or m z + 1 − m under a step mask ``M``, which
    also masks the cell's factors). x(1 − y) is formed in place as x − x y."""
    T, B, H = N.shape
    Pn = N * N
    Pn.neg_().add_(1).addcmul_(Pn, z, value=-1)
    Q = N.new_empty(T, B, 3, H)
    Qr, Qz, Qn = Q.unbind(2)
    torch.mul(Pn, gh_n, out=Qr).mul_(r).addcmul_(Qr, r, value=-1)
    torch.sub(h0, N[0], out=Qz[0])
    torch.sub(Y[:-1], N[1:], out=Qz[1:])
    Qz.mul_(z).addcmul_(Qz, z, value=-1)
    Z = z
    if M is not None:
        Pn, Z = Pn.mul_(M), torch.addcmul(1 - M, M, z)
        Qr.mul_(M)
        Qz.mul_(M)
    torch.mul(Pn, r, out=Qn)
    return Pn, Q, Z


class GRUSequence(torch.autograd.Function):
    """Forward: the input projection ``S`` (with ``b_hr, b_hz`` folded into its bias) moves its n third, ``xw_n``, to
    the buffer N and starts it over as ``b_hn``; each step adds ``W_hh h_{t-1}`` into ``S_t`` in place and squashes
    the first two thirds, leaving ``[r_t, z_t, gh_n]`` — all that backward needs besides n and h — and turns
    ``N_t`` into ``n_t`` in place; ``h_t = lerp(n, h_{t-1}, z)``. Backward accumulates ``ḣ_t`` in place in a copy of
    ``∂L/∂y``; per step only ``δgh_t`` (the recurrent GEMM's input) is formed, in place in the buffer of its factors,
    ``δxw`` for all steps at once after the loop. Both avoid fresh T×B×H temporaries where an in-place update does
    (first-touching fresh memory is a large part of the cost here)."""

    @staticmethod
    def forward(ctx, x: Tensor, W_ih: Tensor, b_ih: Tensor | None, h0: Tensor, W_hh: Tensor, b_hh: Tensor | None,
                M: Tensor | None):
        ctx.set_materialize_grads(False)
        H = W_hh.shape[1]
        bias = b_ih
        if b_hh is not None:  # b_hr and b_hz join the projection; b_hn stays inside r ⊙ (W_hn h + b_hn)
            bias = torch.cat([b_hh[:2 * H], b_hh.new_zeros(H)]) + (0 if b_ih is None else b_ih)
        S, x2 = _project(x, W_ih, bias)
        T, B, _ = S.shape
        N = S[:, :, 2 * H:].clone(memory_format=torch.contiguous_format)  # xw_n, then n_t in place
        S[:, :, 2 * H:] = 0 if b_hh is None else b_hh[2 * H:]
        whole = native_sequence("gru_sequence_forward", B, S, h0, W_hh, M, weight_bytes=nbytes(W_hh))
        if whole is not None:  # the same loop in C (``native/lstmseq.c``)
            Y, W_T = empty_huge((T, B, H), S), W_hh.t().contiguous()
            h0, M = h0.contiguous(), None if M is None else M.contiguous()
            whole(T, B, H, *(ptr(v) for v in (W_T, S, N, h0, M, Y)))
            _save(ctx, (x2, W_ih, h0, W_hh, S, N, Y, M), (x, W_ih, b_ih, h0, W_hh, b_hh, M))
            return Y, Y[-1].clone()
        Y = S.new_empty(T, B, H)
        times_W_T, h = RecurrentProduct(W_hh, h0.shape[0]), h0
        per_step = (S, S[:, :, :2 * H], S[:, :, :H], S[:, :, H:2 * H], S[:, :, 2 * H:], N, Y)  # views, made once
        for s_t, rz_t, r, z, gh_n, n_t, y_t, m_t in zip(*(v.unbind(0) for v in per_step), _steps(M, T)):
            times_W_T.add_to(s_t, h)  # [a_r, a_z, gh_n]
            rz_t.sigmoid_()  # [r, z]
            n = n_t.addcmul_(r, gh_n).tanh_()
            h = torch.lerp(n, h, z, out=y_t) if m_t is None else torch.lerp(h, torch.lerp(n, h, z), m_t, out=y_t)
        _save(ctx, (x2, W_ih, h0, W_hh, S, N, Y, M), (x, W_ih, b_ih, h0, W_hh, b_hh, M))
        return Y, Y[-1].clone()

    @staticmethod
    @_twice_differentiable(reference.gru)
    def backward(ctx, dY, dh_T):
        x2, W_ih, h0, W_hh, S, N, Y, M = ctx.saved_tensors[:ctx.n_kernel]
        T, B, H = N.shape
        whole = native_sequence("gru_sequence_backward", B, S, weight_bytes=nbytes(W_hh))
        if whole is not None:  # ``native/lstmseq.c``: δgh_t and δa_n for every step, ∂L/∂h_0
            dY = None if dY is None else dY.contiguous()
            dh, dn = _final_gradient(dY, dh_T, h0).contiguous(), torch.empty_like(h0)
            dGH, dXN, W = empty_huge(S.shape, S), empty_huge(N.shape, N), W_hh.contiguous()
            whole(T, B, H, *(ptr(v) for v in (W, S, N, h0, Y, M, dh, dY, dn, dGH, dXN)))
            dW = _weight_grad(dGH, h0, Y) if ctx.needs_input_grad[4] else None
            db = dGH.sum((0, 1)) if ctx.needs_input_grad[5] else None
            dGH[:, :, 2 * H:] = dXN  # δxw = [δa_r, δa_z, δa_n]
            return (*_projection_grads(ctx, dGH, x2, W_ih), dh if T % 2 == 0 else dn, dW, db, None)
        r, z, gh_n = S.chunk(3, dim=2)
        Pn, Q, Z = gru_gate_factors(r, z, gh_n, N, Y, h0, M)
        dH = _gradient_buffer(dY, dh_T, N)  # ḣ_t
        dGH = Q.view(T, B, 3 * H)  # Q_t becomes δgh_t = ḣ_t ⊙ Q_t in place, step by step
        dHs, dH3s, Qs, Zs = dH.unbind(0), dH.unsqueeze(2).unbind(0), Q.unbind(0), Z.unbind(0)  # dH3s: (B, 1, H)
        dGHs, times_W = dGH.unbind(0), RecurrentProduct(W_hh.t(), B)
        for t in range(T - 1, 0, -1):
            Qs[t].mul_(dH3s[t])
            times_W.add_to(dHs[t - 1].addcmul_(dHs[t], Zs[t]), dGHs[t])
        Qs[0].mul_(dH3s[0])
        dh = times_W.plus(dH[0] * Zs[0], dGHs[0])
        dW = _weight_grad(dGH, h0, Y) if ctx.needs_input_grad[4] else None
        db = dGH.sum((0, 1)) if ctx.needs_input_grad[5] else None
        dXW = dGH  # δa_r, δa_z are shared; the n part becomes δa_n = ḣ ⊙ Pn (dGH is not needed any more)
        torch.mul(dH, Pn, out=dXW[:, :, 2 * H:])
        return (*_projection_grads(ctx, dXW, x2, W_ih), dh, dW, db, None)


def simple_rnn_sequence(x: Tensor, W_ih: Tensor, b: Tensor | None, h0: Tensor, W_hh: Tensor, nonlinearity: str,
                        mask: Tensor | None = None) -> tuple[Tensor, tuple[Tensor]]:
    """SimpleRNN over ``x (T, B, I)`` (``b``: the bias of ``a_t``, e.g. ``b_ih + b_hh``) from ``h0 (B, H)``; returns
    ``(states h_1…h_T (T, B, H), (h_T,))``. ``mask``: optional (T, B, 1) bool, False where a step is padding (the state
    is kept there)."""
    Y, h = SimpleRNNSequence.apply(x, W_ih, b, h0, W_hh, nonlinearity == "relu", _float_mask(mask, x))
    return Y, (h,)


def lstm_sequence(x: Tensor, W_ih: Tensor, b: Tensor | None, h0: Tensor, c0: Tensor, W_hh: Tensor,
                  mask: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """LSTM over ``x (T, B, I)`` (gate order i, f, g, o; ``b`` = both biases); returns ``(states h_1…h_T, (h_T, c_T))``."""
    Y, h, c = LSTMSequence.apply(x, W_ih, b, h0, c0, W_hh, _float_mask(mask, x))
    return Y, (h, c)


def gru_sequence(x: Tensor, W_ih: Tensor, b_ih: Tensor | None, h0: Tensor, W_hh: Tensor, b_hh: Tensor | None,
                 mask: Tensor | None = None) -> tuple[Tensor, tuple[Tensor]]:
    """GRU (reset_after) over ``x (T, B, I)`` (gate order r, z, n); returns ``(states h_1…h_T (T, B, H), (h_T,))``."""
    Y, h = GRUSequence.apply(x, W_ih, b_ih, h0, W_hh, b_hh, _float_mask(mask, x))
    return Y, (h,)


def run_sequence(mode: str, x: Tensor, state: tuple[Tensor, ...], weight_ih: Tensor, weight_hh: Tensor,
                 bias_ih: Tensor | None = None, bias_hh: Tensor | None = None, *, mask: Tensor | None = None
                 ) -> tuple[Tensor, tuple[Tensor, ...]]:
    """One layer, one direction, on time-major ``x (T, B, I)`` with torch.nn's weights and modes (``RNN_TANH``,
    ``RNN_RELU``, ``LSTM``, ``GRU``) — the counterpart of ``run_fused`` for a single layer; ``state`` is ``(h0,)`` or
    ``(h0, c0)`` with (B, H) tensors; ``mask`` as in ``simple_rnn_sequence``. Returns the carried states h_1…h_T and
    the final state."""
    if mode not in ("RNN_TANH", "RNN_RELU", "LSTM", "GRU"):
        raise ValueError(f"run_sequence: unknown mode {mode!r}; expected RNN_TANH, RNN_RELU, LSTM or GRU")
    if mode == "GRU":
        return gru_sequence(x, weight_ih, bias_ih, state[0], weight_hh, bias_hh, mask)
    b = bias_hh if bias_ih is None else bias_ih if bias_hh is None else bias_ih + bias_hh  # both add to a_t
    if mode == "LSTM":
        return lstm_sequence(x, weight_ih, b, state[0], state[1], weight_hh, mask)
    return simple_rnn_sequence(x, weight_ih, b, state[0], weight_hh, "tanh" if mode == "RNN_TANH" else "relu", mask)


__all__ = ["simple_rnn_sequence", "lstm_sequence", "gru_sequence", "run_sequence"]
