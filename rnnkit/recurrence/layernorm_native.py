"""The layer-normalised LSTM and GRU on compiled C (``rnnkit.recurrence.native``): the native paths of
``bptt_layernorm.LayerNormLSTMSequence`` / ``LayerNormGRUSequence``.

On CPUs (float32/float64) the whole sequence runs in one C call each way (``lnseq.c``: batch rows split across OpenMP
threads, rnnkit's own matrix product in between); where that is not available (autocast's lower-precision products)
each step runs torch's GEMM and one compiled call for the rest (``lnrnn.c``). The equations are in
``bptt_layernorm``'s docstring; ``lstm_forward``/``gru_forward`` return what backward needs, ``lstm_backward``/
``gru_backward`` the autograd Function's gradients.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.layernorm import EPS
from rnnkit.recurrence.bptt_common import _final_gradient, _weight_grad
from rnnkit.recurrence.hugepages import empty_huge
from rnnkit.recurrence.native import Sequence, nbytes, ptr
from rnnkit.recurrence.native import function as native_function
from rnnkit.recurrence.native import sequence as native_sequence
from rnnkit.recurrence.packed import RecurrentProduct


def _contiguous(*ts):
    return tuple(None if t is None else t.contiguous() for t in ts)


def _step_rows(M: Tensor | None, T: int, B: int) -> Tensor | None:
    return None if M is None else M.reshape(T, B).contiguous()


#: backward forms ∂L/∂W_hh = Σ_t δp_tᵀ h_{t-1} every CHUNK steps, from a (CHUNK, B, G) buffer it reuses
CHUNK = 32


def _whole_sequence(name: str, xw: Tensor, W_hh: Tensor, lowp: torch.dtype | None) -> Sequence | None:
    """The whole-sequence loop ``name`` (``native/lnseq.c``) for these tensors, or None where the steps return to
    Python between products (also for products in another precision: autocast's)."""
    if lowp not in (None, xw.dtype):
        return None
    return native_sequence(name, xw.shape[1], xw, W_hh, weight_bytes=nbytes(W_hh))


def _piece_buffers(whole, dh: Tensor, W_hh: Tensor, T: int, need_dW: bool) -> tuple:
    """Backward's buffers: the chunk length (min(CHUNK, T)) and, for each piece of rows, δp_t and h_{t-1} for a
    chunk of steps, its ∂L/∂W_hh and its double accumulators for the norms' parameters (6H); and ∂L/∂h_t's second
    buffer."""
    (G, H), n, steps = W_hh.shape, whole.pieces, min(CHUNK, T)
    return steps, (dh.new_empty(n, steps, whole.rmax, G), dh.new_empty(n, steps, whole.rmax, H) if need_dW else None,
                   W_hh.new_zeros(n, G, H) if need_dW else None, torch.zeros(n, 6 * H, dtype=torch.float64),
                   torch.empty_like(dh))


def _native_backward_loop(call, T: int, dY: Tensor | None, dh: Tensor, W_hh: Tensor, h0: Tensor, Y: Tensor,
                          need_dW: bool, lowp: torch.dtype | None) -> tuple[Tensor, Tensor | None]:
    """Steps t = T … 1: ``call(t, ḣ_t, ∂L/∂y_{t-1} or None, out, δp buffer)`` runs the compiled step (it writes
    ``∂L/∂y_{t-1} + (pass-through of ḣ_t)`` into ``out`` and δp_t into the buffer), then ``out += δp_t W_hh`` is
    ḣ_{t-1}. Returns ``(∂L/∂h_0, ∂L/∂W_hh)``."""
    B, G = dh.shape[0], W_hh.shape[0]
    chunk = dh.new_empty(min(CHUNK, T), B, G)
    rows = [ptr(r) for r in chunk.unbind(0)]
    dYs = [None] * T if dY is None else [None, *(ptr(r) for r in dY.unbind(0)[:-1])]
    dn = torch.empty_like(dh)
    dW = torch.zeros_like(W_hh) if need_dW else None
    times_W = RecurrentProduct(W_hh.t(), B, lowp)  # δp W_hh
    for t in range(T - 1, -1, -1):
        r = t % CHUNK
        call(t, ptr(dh), dYs[t], ptr(dn), rows[r])
        times_W.add_to(dn, chunk[r])
        dh, dn = dn, dh
        if r == 0 and dW is not None:  # the chunk holds steps t … t + n − 1, whose h_{t-1} are h_0 or Y[t-1], Y[t] …
            n = min(CHUNK, T - t)
            dW += _weight_grad(chunk[:n], h0 if t == 0 else Y[t - 1], Y[t:t + n], lowp)
    return dh, dW


def _recurrent_products(W_hh: Tensor, h0: Tensor, Y: Tensor, out: Tensor, lowp: torch.dtype | None):
    """``W_hh h_{t-1}`` for t = 1 … T, each yielded before step t runs (which writes ``h_t`` into ``Y[t-1]``): into
    ``out`` by torch.mm, or a fresh tensor from oneDNN's packed product where that pays."""
    times_W_T, h = RecurrentProduct(W_hh, h0.shape[0], lowp), h0
    for y_t in Y.unbind(0):
        yield times_W_T(h, out=out)
        h = y_t


def _start_gradient(dY: Tensor | None, dh_T: Tensor | None, h0: Tensor) -> tuple[Tensor | None, Tensor]:
    dY = None if dY is None else dY.contiguous()
    return dY, _final_gradient(dY, dh_T, h0).contiguous()


def _forward_steps(name: str, step, xw: Tensor, W_hh: Tensor, h0: Tensor, Y: Tensor, PS: Tensor, args: list,
                   lowp: torch.dtype | None) -> None:
    """Forward over all steps: the whole-sequence loop ``name`` (its products by ``gemm.c``) where there is one,
    else the compiled ``step`` with ``W_hh h_{t-1}`` into PS in between. ``args``: the step's addresses, xw first
    (the product's buffer goes after it)."""
    T, B, H = xw.shape[0], xw.shape[1], h0.shape[-1]
    whole = _whole_sequence(name, xw, W_hh, lowp)
    if whole is not None:
        W_T = W_hh.t().contiguous()
        whole(T, B, H, EPS, ptr(W_T), args[0], ptr(PS), *args[1:])
        return
    for t, p in enumerate(_recurrent_products(W_hh, h0, Y, PS, lowp)):  # the step overwrites p
        step(t, B, 0, B, H, EPS, args[0], ptr(p), *args[1:])


def lstm_forward(step, xw, h0, c0, W_hh, g_hh, g_c, b_c, M, lowp):
    xw, h0, c0, g_hh, g_c, b_c = _contiguous(xw, h0, c0, g_hh, g_c, b_c)
    T, B, G = xw.shape
    H = G // 4
    PH, S, PS = empty_huge((T, B, G), xw), xw.new_empty(T, B, 4), xw.new_empty(B, G)  # p̂; statistics; W_hh h_{t-1}
    CC, Y = empty_huge((T, B, H), xw), empty_huge((T, B, H), xw)
    C = CC if M is None else empty_huge((T, B, H), xw)
    Mr = _step_rows(M, T, B)
    args = [ptr(v) for v in (xw, g_hh, g_c, b_c, h0, c0, Mr, PH, CC, C, Y, S)]
    _forward_steps("lnlstm_sequence_forward", step, xw, W_hh, h0, Y, PS, args, lowp)
    return xw, h0, c0, W_hh, g_hh, g_c, b_c, Mr, PH, S, CC, Y, C


def lstm_backward(ctx, dY, dh_T, dc_T):
    xw, h0, c0, W_hh, g_hh, g_c, b_c, Mr, PH, S, CC, Y, C = ctx.saved_tensors[:ctx.n_kernel]
    step = native_function("lnlstm_backward", xw)
    T, B, H = Y.shape
    dY, dh = _start_gradient(dY, dh_T, h0)
    dc = torch.zeros_like(c0) if dc_T is None else dc_T.contiguous().clone()
    DA, work = empty_huge((T, B, 4 * H), xw), xw.new_empty(B, 7 * H)
    acc = torch.zeros(6 * H, dtype=torch.float64)  # ∂L/∂γ_hh (4H), ∂L/∂γ_c, ∂L/∂β_c
    head = [ptr(v) for v in (xw, PH, g_hh, g_c, b_c, c0, Mr, CC, C, S)]
    tail = [ptr(v) for v in (work, acc[:4 * H], acc[4 * H:5 * H], acc[5 * H:])]
    p_dc, p_DA = ptr(dc), ptr(DA)
    need = ctx.needs_input_grad
    whole = _whole_sequence("lnlstm_sequence_backward", xw, W_hh, ctx.lowp)
    if whole is not None:
        steps, (DP, HB, dW, acc, dn) = _piece_buffers(whole, dh, W_hh, T, need[3])
        W = W_hh.contiguous()
        whole(T, B, H, steps, ptr(W), ptr(h0), ptr(Y), *head, ptr(dh), ptr(dY), ptr(dn), p_dc, p_DA, ptr(DP), ptr(HB),
              ptr(dW), tail[0], ptr(acc))
        dh0, dW, acc = dh if T % 2 == 0 else dn, None if dW is None else dW.sum(0), acc.sum(0)
    else:
        def call(t, dh_p, dy_p, dn_p, dp_p):
            step(t, B, 0, B, H, *head, dh_p, dy_p, dn_p, p_dc, p_DA, dp_p, *tail)
        dh0, dW = _native_backward_loop(call, T, dY, dh, W_hh, h0, Y, need[3], ctx.lowp)
    dg_hh, dg_c, db_c = (a.to(xw.dtype) for a in acc.split([4 * H, H, H]))
    return (DA if need[0] else None, dh0, dc, dW, dg_hh if need[4] else None, dg_c if need[5] else None,
            db_c if need[6] else None, None)


def gru_forward(step, xw, h0, W_hh, g_hh, b_hh, M, lowp):
    xw, h0, g_hh, b_hh = _contiguous(xw, h0, g_hh, b_hh)
    T, B, G = xw.shape
    H = G // 3
    PH, S, PS, Y = empty_huge((T, B, G), xw), xw.new_empty(T, B, 2), xw.new_empty(B, G), empty_huge((T, B, H), xw)
    Mr = _step_rows(M, T, B)
    args = [ptr(v) for v in (xw, g_hh, b_hh, h0, Mr, PH, Y, S)]
    _forward_steps("lngru_sequence_forward", step, xw, W_hh, h0, Y, PS, args, lowp)
    return xw, h0, W_hh, g_hh, b_hh, Mr, PH, S, Y


def gru_backward(ctx, dY, dh_T):
    xw, h0, W_hh, g_hh, b_hh, Mr, PH, S, Y = ctx.saved_tensors[:ctx.n_kernel]
    step = native_function("lngru_backward", xw)
    T, B, H = Y.shape
    dY, dh = _start_gradient(dY, dh_T, h0)
    DX, work = empty_huge((T, B, 3 * H), xw), xw.new_empty(B, 3 * H)
    acc = torch.zeros(6 * H, dtype=torch.float64)  # ∂L/∂γ_hh, ∂L/∂b_hh
    head = [ptr(v) for v in (xw, PH, g_hh, b_hh, h0, Mr, Y)]
    p_DX, p_work, p_S, p_dg, p_db = ptr(DX), ptr(work), ptr(S), ptr(acc[:3 * H]), ptr(acc[3 * H:])

    need = ctx.needs_input_grad
    whole = _whole_sequence("lngru_sequence_backward", xw, W_hh, ctx.lowp)
    if whole is not None:
        steps, (DP, HB, dW, acc, dn) = _piece_buffers(whole, dh, W_hh, T, need[2])
        W = W_hh.contiguous()
        whole(T, B, H, steps, ptr(W), ptr(h0), ptr(Y), *head[:4], head[5], p_S, ptr(dh), ptr(dY), ptr(dn), p_DX,
              ptr(DP), ptr(HB), ptr(dW), p_work, ptr(acc))
        dh0, dW, acc = dh if T % 2 == 0 else dn, None if dW is None else dW.sum(0), acc.sum(0)
    else:
        def call(t, dh_p, dy_p, dn_p, dp_p):
            step(t, B, 0, B, H, *head, dh_p, dy_p, dn_p, p_DX, dp_p, p_work, p_S, p_dg, p_db)
        dh0, dW = _native_backward_loop(call, T, dY, dh, W_hh, h0, Y, need[2], ctx.lowp)
    dg, db = (a.to(xw.dtype) for a in acc.split([3 * H, 3 * H]))
    return DX if need[0] else None, dh0, dW, dg if need[3] else None, db if need[4] else None, None


__all__ = ["lstm_forward", "lstm_backward", "gru_forward", "gru_backward", "CHUNK"]
