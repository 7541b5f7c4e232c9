"""The Gated-Feedback RNN's tanh layers on compiled C (``rnnkit.recurrence.native``): the loops of
``bptt_feedback.FeedbackSequence`` between its GEMMs.

On CPUs (float32/float64, recurrent weights up to ``native.WEIGHT_BYTES_MAX``) ``tanh_forward``/``tanh_backward`` run
the whole sequence in one call (``fbseq.c``: batch rows split across OpenMP threads, rnnkit's own matrix product in
between); otherwise — lower-precision autocast products, larger weights — they step from Python, two compiled calls
per layer and step each way (``feedback.c``) around one ``RecurrentProduct`` per layer: the gates' small products (L
rows) run as dot products in C, and above the first layer ``[W_ih^j | U^j]`` multiplies ``[h^{j-1}_t | ĝ ⊙
h*_{t-1}]`` — the input and the feedback in one product (backward: ``δa [W_ih^j | U^j]`` gives both gradients).
The equations are in ``bptt_feedback``'s docstring.
"""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor

from rnnkit.recurrence.native import addresses, ptr
from rnnkit.recurrence.native import function as native_function
from rnnkit.recurrence.native import sequence as native_sequence
from rnnkit.recurrence.packed import RecurrentProduct


def _addr(t: Tensor | None) -> int | None:
    """The address of a (possibly strided) view's first element, for the compiled steps (None: NULL)."""
    return None if t is None else t.data_ptr()


def _steps_of(t: Tensor | None) -> tuple[int, int]:
    """(address of ``t[0]``, bytes from ``t[i]`` to ``t[i+1]``) of a contiguous buffer — the step loops below call C with
    raw addresses worked out from these (a view per argument and step cost more than the C work at H = 128); (0, 0)
    for None, whose address the C side reads as NULL."""
    return (0, 0) if t is None else (t.data_ptr(), t.stride(0) * t.element_size())


def _tanh_matrices(layer, gated: bool) -> tuple[list[Tensor], list[Tensor | None], list[Tensor | None]]:
    """What the compiled tanh steps multiply by, once per sequence, contiguous for C: ``U^1`` and, above,
    ``[W_ih^j | U^j]``; the gates' ``W_g^j`` (None for the first layer, whose input product ran for all steps, and
    ungated) and ``U_g^j`` (None ungated)."""
    mats = [layer[0][3].contiguous()] + [torch.cat([w[0], w[3]], 1) for w in layer[1:]]
    W_g = [None] + [w[2].contiguous() if gated else None for w in layer[1:]]
    U_g = [w[4].contiguous() if gated else None for w in layer]
    return mats, W_g, U_g


def _tanh_operands(layer, B: int, gated: bool, backward: bool):
    """``_tanh_matrices`` with the products as ``RecurrentProduct`` s (their transposes for backward), for the loops
    that step from Python — kept alive with the addresses the loop uses."""
    mats, W_g, U_g = _tanh_matrices(layer, gated)
    first, *joint = [RecurrentProduct(W.t() if backward else W, B) for W in mats]
    return first, [None, *joint], (W_g, U_g)


def _tanh_weight_bytes(HS: Tensor, L: int, H: int) -> int:
    """Bytes of the matrices the tanh layers' steps multiply by: ``U^1`` and each ``[W_ih^j | U^j]`` above it."""
    return (H * L * H + (L - 1) * H * (H + L * H)) * HS.element_size()


def tanh_forward(HS, IN, G, layer, M, L, H) -> None:
    """The tanh layers' forward with the compiled elementwise steps (``native/feedback.c``): per layer and step one
    GEMM and two C calls. ``fb_gates`` forms the gates (their two small products as dot products) and the GEMM's left
    operand — ``ĝ ⊙ h*_{t-1}`` for layer 1, whose input product ran for all steps at once, and ``[h^{j-1}_t | ĝ ⊙
    h*_{t-1}]`` above it, so that ``[W_ih^j | U^j]`` takes the layer's input and its feedback in one product; ``fb_act``
    adds the bias, applies tanh and the mask (the candidate kept in ``IN`` under a mask)."""
    T, B, LH = HS.shape[0] - 1, HS.shape[1], HS.shape[2]
    gated = G is not None
    whole = native_sequence("fb_tanh_sequence_forward", B, HS, weight_bytes=_tanh_weight_bytes(HS, L, H))
    if whole is not None:
        mats, W_g, U_g = _tanh_matrices(layer, gated)
        W_F = [W.t().contiguous() for W in mats]
        X0, X, F = HS.new_empty(B, LH), HS.new_empty(B, H + LH), HS.new_empty(B, H)
        M = None if M is None else M.contiguous()
        arrays = [addresses(v) for v in (IN, W_F, W_g, U_g, [None] + [w[1] for w in layer[1:]])]
        whole(T, B, L, H, ptr(HS), ctypes.addressof(arrays[0]), ptr(G), ptr(M),
              *(ctypes.addressof(a) for a in arrays[1:]), ptr(X0), ptr(X), ptr(F))
        return
    gates, act = native_function("fb_gates", HS), native_function("fb_act", HS)
    first, joint, kept = _tanh_operands(layer, B, gated, backward=False)
    p_wg, p_ug, p_b = [_addr(w) for w in kept[0]], [_addr(w) for w in kept[1]], [_addr(w[1]) for w in layer]
    X0, X, F = HS.new_empty(B, LH), HS.new_empty(B, H + LH), HS.new_empty(B, H)
    p_x0, p_x = X0.data_ptr(), X.data_ptr()
    M = None if M is None else M.contiguous()  # (kept alive: the loop holds only its address)
    (hs0, hstep), (m0, mstep) = _steps_of(HS), _steps_of(M)
    ins, (g0, gstep) = [_steps_of(a) for a in IN], _steps_of(G)
    rows, size = IN[0].shape[2], HS.element_size()  # rows: H + L (gated) or H
    gblock, hblock = B * L * size, H * size  # G[t, j] → G[t, j+1]; one layer's block of a state row
    for t in range(T):
        hs, out, m = hs0 + t * hstep, hs0 + (t + 1) * hstep, m0 + t * mstep if M is not None else None
        for j in range(L):
            a = ins[j][0] + t * ins[j][1]
            g = g0 + t * gstep + j * gblock if gated else None
            if j == 0:
                if gated:
                    gates(B, L, H, a + hblock, rows, None, None, p_ug[0], hs, g, p_x0, LH)
                f = first(X0 if gated else HS[t], out=F)
                act(B, H, LH, a, rows, 1, f.data_ptr(), None, hs, out, m)
            else:
                gates(B, L, H, None, 0, p_wg[j], out + (j - 1) * hblock, p_ug[j], hs, g, p_x, H + LH)
                f = joint[j](X, out=F)
                act(B, H, LH, a, rows, 0, f.data_ptr(), p_b[j], hs + j * hblock, out + j * hblock, m)


def tanh_backward(dHS, HS, IN, G, DIN, layer, M, keep, L, H) -> None:
    """The tanh layers' backward with the compiled steps: per layer and step ``fb_delta`` (δa), one GEMM — ``δa U^1``,
    or ``δa [W_ih^j | U^j]`` above, which gives the layer below its gradient and the feedback's in one product — and
    ``fb_gate_back`` (ĝ ⊙ δf̂, δgx and their products with U_g and W_g, into ḣ*_{t-1} and ḣ^{j-1}_t)."""
    T, B, LH = HS.shape[0] - 1, HS.shape[1], HS.shape[2]
    gated = G is not None
    whole = native_sequence("fb_tanh_sequence_backward", B, HS, weight_bytes=_tanh_weight_bytes(HS, L, H))
    if whole is not None:
        mats, W_g, U_g = _tanh_matrices(layer, gated)
        M = None if M is None else M.contiguous()
        arrays, DX = [addresses(v) for v in (IN, DIN, mats, W_g, U_g)], HS.new_empty(B, H + LH)
        whole(T, B, L, H, ptr(HS), ptr(dHS), *(ctypes.addressof(a) for a in arrays[:2]), ptr(G), ptr(M),
              *(ctypes.addressof(a) for a in arrays[2:]), ptr(DX))
        return
    delta, gate_back = native_function("fb_delta", HS), native_function("fb_gate_back", HS)
    first, joint, kept = _tanh_operands(layer, B, gated, backward=True)
    p_wg, p_ug = [_addr(w) for w in kept[0]], [_addr(w) for w in kept[1]]
    M = None if M is None else M.contiguous()
    (hs0, hstep), (dh0, dstep), (m0, mstep), (g0, gstep) = _steps_of(HS), _steps_of(dHS), _steps_of(M), _steps_of(G)
    ins, dins = [_steps_of(a) for a in IN], [_steps_of(d) for d in DIN]
    rows, size = DIN[0].shape[2], HS.element_size()
    gblock, hblock = B * L * size, H * size
    for t in range(T - 1, -1, -1):
        dh, dprev, m = dh0 + (t + 1) * dstep, dh0 + t * dstep, m0 + t * mstep if M is not None else None
        for j in range(L - 1, -1, -1):
            d = dins[j][0] + t * dins[j][1]
            if M is not None:  # the candidate h̃: kept in IN under a mask, else the state itself
                hc, hc_stride = ins[j][0] + t * ins[j][1], rows
            else:
                hc, hc_stride = hs0 + (t + 1) * hstep + j * hblock, LH
            delta(B, H, dh + j * hblock, LH, hc, hc_stride, m, d, rows)
            dx = (first if j == 0 else joint[j])(DIN[j][t, :, :H]).contiguous()  # δf̂, or [δh^{j-1} | δf̂]
            g = g0 + t * gstep + j * gblock if gated else None
            gate_back(B, L, H, dx.data_ptr(), dx.shape[1], hs0 + t * hstep, g, p_ug[j], p_wg[j], dprev,
                      dh + (j - 1) * hblock if j else None, d + hblock if gated else None, rows)
        if keep is not None:
            dHS[t].addcmul_(dHS[t + 1], keep[t])
