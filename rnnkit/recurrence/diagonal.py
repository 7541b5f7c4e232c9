"""Recurrences whose recurrent matrix is diagonal, so a step is elementwise — hand-written BPTT for them.

* The linear recurrence ``h_t = a_t ⊙ h_{t-1} + b_t`` (minGRU, minLSTM: a and b come from x_t only), two exact ways:
  ``linear_recurrence`` — sequentially, one fused multiply-add per step forward and one backward (the CPU path: the
  fewest operations), and ``linear_scan_log`` — all steps at once in log space (Heinsen 2023, as Feng et al. 2024
  train minGRU): with ``A_t = Π_{s≤t} a_s``,

      h_t = A_t h_0 + Σ_{s≤t} (A_t / A_s) b_s = exp(log A_t) h_0 + exp(log A_t + logcumsumexp_s(log b_s − log A_s))

  which needs ``b ≥ 0`` (``log b = −inf`` for 0) but no sign on ``h_0``; it is differentiable by autograd (the GPU path).
* IndRNN's ``h_t = σ(xw_t + u ⊙ h_{t-1})`` (``indrnn_sequence``), with masks: a masked step keeps ``h_{t-1}``.

Backward of the linear recurrence, with ``G_t = ∂L/∂h_t`` in total: ``G_t = g_t + a_{t+1} ⊙ G_{t+1}``, ``∂L/∂b_t = G_t``,
``∂L/∂a_t = G_t ⊙ h_{t-1}``, ``∂L/∂h_0 = a_1 ⊙ G_1``. IndRNN: ``δ_t = m_t ⊙ G_t ⊙ σ'(h_t)`` (the pre-activation's
gradient), ``G_{t-1} = g_{t-1} + (1 − m_t) ⊙ G_t + u ⊙ δ_t``, ``∂L/∂u = Σ_t δ_t ⊙ h_{t-1}``. Time-major (T, B, H).
"""

from __future__ import annotations

import functools
import os
import shutil

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.recurrence.bptt_reference import autocast_off
from rnnkit.recurrence.hugepages import empty_huge
from rnnkit.recurrence.native import function as native_function
from rnnkit.recurrence.native import ptr
from rnnkit.recurrence.native import sequence as native_sequence
from rnnkit.recurrence.parallel_scan import scan_carry_back, scan_states
from rnnkit.recurrence.transforms import batched


def _recur_in_place(a: Tensor, out: Tensor, h0: Tensor) -> Tensor:
    """``out`` holds b; each ``out[t]`` becomes ``h_t = a_t ⊙ h_{t-1} + b_t`` (b[t] is read once, at step t)."""
    h = h0
    for t in range(a.shape[0]):
        h = out[t].addcmul_(a[t], h)
    return out


def _carry_back_in_place(a: Tensor, G: Tensor) -> Tensor:
    """``G`` holds ∂L/∂h_t from the outputs; each ``G[t]`` becomes the total, ``g_t + a_{t+1} ⊙ G_{t+1}``."""
    for t in range(a.shape[0] - 1, 0, -1):
        G[t - 1].addcmul_(a[t], G[t])
    return G


def keep_padded(a: Tensor, b: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """A padded step (``mask`` false) gets a = 1, b = 0: the state goes through unchanged."""
    if mask is None:
        return a, b
    return torch.where(mask, a, 1.0), b.masked_fill(~mask, 0.0)


class _LinearRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor, parallel: bool) -> Tensor:
        out = scan_states(a, b, h0) if parallel else _recur_in_place(a, b.clone(), h0)
        ctx.parallel = parallel
        ctx.save_for_backward(a, out, h0)
        return out

    @staticmethod
    @once_differentiable
    @autocast_off
    def backward(ctx, g: Tensor):
        a, out, h0 = ctx.saved_tensors
        g = g.contiguous()  # G[t] = ∂L/∂h_t, all paths:
        G = scan_carry_back(a, g) if ctx.parallel else _carry_back_in_place(a, g.clone())
        h_prev = torch.cat([h0.unsqueeze(0), out[:-1]])
        return G * h_prev, G, a[0] * G[0], None


def linear_recurrence(a: Tensor, b: Tensor, h0: Tensor, parallel: bool = False) -> Tensor:
    """All ``h_t = a_t ⊙ h_{t-1} + b_t`` (T, B, H) from ``h_0`` (B, H), step by step or, ``parallel``, as a parallel
    scan over all steps (``rnnkit.recurrence.parallel_scan``: the GPU path; same results to rounding). Once
    differentiable."""
    return _LinearRecurrence.apply(a, b, h0, parallel)


def linear_scan_log(log_a: Tensor, log_b: Tensor, h0: Tensor, chunk: int = 64) -> Tensor:
    """The same ``h_t`` from ``log a`` and ``log b`` (−inf allowed in ``log b``), ``chunk`` steps at once (any device).

    The scan restarts every ``chunk`` steps from the state carried so far: ``log A_t`` then never sums more than
    ``chunk`` terms, which keeps float32 within ~1e-6 of the sequential result at any length (one scan over 4096 steps
    drifts to ~4e-4); ``T / chunk`` sequential chunk steps remain."""
    outs, h = [], h0
    for s in range(0, log_a.shape[0], chunk):
        log_A = torch.cumsum(log_a[s:s + chunk], dim=0)
        part = torch.exp(log_A + torch.logcumsumexp(log_b[s:s + chunk] - log_A, dim=0)) + torch.exp(log_A) * h
        outs.append(part)
        h = part[-1]
    return outs[0] if len(outs) == 1 else torch.cat(outs)


ACTIVATIONS = {"relu": (torch.relu, lambda h: (h > 0).to(h.dtype)), "tanh": (torch.tanh, lambda h: 1 - h * h)}


class _IndRNN(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xw: Tensor, u: Tensor, h0: Tensor, mask: Tensor | None, nonlinearity: str) -> Tensor:
        act = ACTIVATIONS[nonlinearity][0]
        out = torch.empty_like(xw)
        h = h0
        for t in range(xw.shape[0]):
            new = act(torch.addcmul(xw[t], u, h))
            h = new if mask is None else torch.where(mask[t], new, h)
            out[t] = h
        ctx.nonlinearity, ctx.has_mask = nonlinearity, mask is not None
        ctx.save_for_backward(u, out, h0, *(() if mask is None else (mask,)))
        return out

    @staticmethod
    @once_differentiable
    @autocast_off
    def backward(ctx, g: Tensor):
        u, out, h0, *rest = ctx.saved_tensors
        m = rest[0].to(out.dtype) if ctx.has_mask else None
        slope = ACTIVATIONS[ctx.nonlinearity][1](out)
        if m is not None:
            slope = slope * m
        T = out.shape[0]
        delta = torch.empty_like(g)  # ∂L/∂(pre-activation) (like g: a batch of gradients under torch.func's vmap)
        G = g[T - 1]
        for t in range(T - 1, -1, -1):
            delta[t] = G * slope[t]
            if t:
                G = g[t - 1] + u * delta[t] + (G * (1 - m[t]) if m is not None else 0)
        G0 = u * delta[0] + (G * (1 - m[0]) if m is not None else 0)
        h_prev = torch.cat([h0.unsqueeze(0), out[:-1]])
        return delta, (delta * h_prev).sum((0, 1)), G0, None, None


def indrnn_sequence(xw: Tensor, u: Tensor, h0: Tensor, nonlinearity: str, mask: Tensor | None = None) -> Tensor:
    """All IndRNN states (T, B, H) from the projected inputs ``xw = W x + b`` and the recurrent weight ``u`` (H,);
    ``mask`` (T, B, 1) bool keeps the state on padded steps."""
    return _IndRNN.apply(xw, u, h0, mask, nonlinearity)




def _g_and_slope(v: Tensor) -> tuple[Tensor, Tensor]:
    """minGRU's ``g(v)`` (v + ½ for v ≥ 0, σ(v) below) and its derivative (1, σ(v)(1 − σ(v)))."""
    sv = torch.sigmoid(v)
    pos = v >= 0
    return torch.where(pos, v + 0.5, sv), torch.where(pos, 1.0, sv * (1 - sv))


def _forward_math(kind: str, xw: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """(a, b) of ``h_t = a_t ⊙ h_{t−1} + b_t``; a padded step gets a = 1, b = 0."""
    from rnnkit.cells.minimal import MINIMAL_CELLS

    return keep_padded(*MINIMAL_CELLS[kind][1](xw), mask)


def _backward_math(kind: str, xw: Tensor, G: Tensor, out: Tensor, h0: Tensor, mask: Tensor | None) -> Tensor:
    """∂L/∂xw from ``G_t = ∂L/∂h_t`` (all paths): the gate math's derivative, elementwise."""
    if mask is not None:
        G = G * mask  # a padded step's a = 1, b = 0 are constants
    h_prev = torch.cat([h0.unsqueeze(0), out[:-1]])
    if kind == "mingru":  # a = 1 − s, b = s g(v): ∂h/∂s = g(v) − h_{t−1}
        k, v = xw.chunk(2, dim=-1)
        s = torch.sigmoid(k)
        gv, slope = _g_and_slope(v)
        return torch.cat([G * (gv - h_prev) * s * (1 - s), G * s * slope], dim=-1)
    # minLSTM: a = f / (f + i), b = (1 − a) g(v): ∂h/∂a = h_{t−1} − g(v); ∂a/∂k_f = a(1 − a)(1 − f),
    # ∂a/∂k_i = −a(1 − a)(1 − i)
    from rnnkit.cells.minimal import minlstm_log_ratio

    kf, ki, v = xw.chunk(3, dim=-1)
    f, i = torch.sigmoid(kf), torch.sigmoid(ki)
    a = torch.sigmoid(-minlstm_log_ratio(kf, ki))  # f / (f + i), finite when both underflow
    gv, slope = _g_and_slope(v)
    d_a = G * (h_prev - gv) * a * (1 - a)
    return torch.cat([d_a * (1 - f), -d_a * (1 - i), G * (1 - a) * slope], dim=-1)


#: elementwise work above this many elements runs as one compiled loop (torch.compile/inductor), where a C++ compiler
#: exists: eager PyTorch makes one pass over memory per operation, ~10x slower on CPU at these sizes
COMPILE_ABOVE = 1 << 20
_compiled: dict = {}


@functools.cache
def _has_compiler() -> bool:
    return shutil.which("g++") is not None


def _fused(fn, n_elements: int):
    """``fn`` compiled (torch.compile) when the work is large and compiling works here; else ``fn`` itself.
    ``RNNKIT_COMPILE=0`` turns compiling off; a failed compile is remembered and never retried."""
    if n_elements < COMPILE_ABOVE or os.environ.get("RNNKIT_COMPILE", "1") == "0" or not _has_compiler() \
            or torch.compiler.is_compiling() or _compiled.get("broken"):
        return fn
    if fn not in _compiled:
        _compiled[fn] = torch.compile(fn)  # static first; one dynamic recompile if shapes change
    return _compiled[fn]


def _call_fused(fn, n_elements: int, *args):
    compiled = _fused(fn, n_elements)
    if compiled is fn:
        return fn(*args)
    try:
        return compiled(*args)
    except Exception:  # no working toolchain after all: eager from now on (the numbers are the same)
        _compiled["broken"] = True
        return fn(*args)


_KINDS = {"mingru": 0, "minlstm": 1}

#: a compiled call over at least this many (step, row, unit) elements splits its batch rows across torch's OpenMP
#: threads (the rows are independent; one hand-off per call, not per step)
SPLIT_ABOVE = 1 << 18


def _by_rows(name: str, kind: str, T: int, B: int, H: int, *args) -> None:
    """The compiled whole-sequence call ``name`` over the batch rows: in one piece, or in one piece per torch thread
    run at once (``native.sequence``) when the work is large."""
    whole = native_sequence(name, B, *args[:1]) if T * B * H >= SPLIT_ABOVE else None
    f, pieces = (whole.f, whole.pieces) if whole is not None else (native_function(name, *args[:1]), 1)
    f(pieces, _KINDS[kind], T, B, H, *(ptr(a) for a in args))


def _native_forward(kind: str, xw: Tensor, h0: Tensor, mask: Tensor | None) -> tuple[Tensor, ...]:
    """The whole sequence in one compiled call (``rnnkit.recurrence.native``); keeps xw, the states, h_0, the mask."""
    xw, h0 = xw.contiguous(), h0.contiguous()
    T, B, H = xw.shape[0], xw.shape[1], h0.shape[-1]
    rows = None if mask is None else mask.reshape(T, B).to(xw.dtype)
    out = empty_huge((T, B, H), xw)
    _by_rows("minimal_sequence_forward", kind, T, B, H, xw, h0, rows, out)
    return xw, out, h0, rows


def _native_backward(ctx, grad: Tensor | None) -> tuple[Tensor, Tensor]:
    xw, out, h0, rows = ctx.saved_tensors
    T, B, H = out.shape
    d_xw, d_h0 = empty_huge(xw.shape, xw), torch.zeros_like(h0)
    if grad is not None and not grad.is_contiguous():  # e.g. y.sum()'s expanded ones
        grad = empty_huge(grad.shape, grad).copy_(grad)
    _by_rows("minimal_sequence_backward", ctx.kind, T, B, H, xw, h0, out, rows, grad, d_xw, d_h0)
    return d_xw, d_h0


class _MinimalSequence(torch.autograd.Function):
    """minGRU/minLSTM over a whole sequence: the coefficients, the recurrence and their backward in one Function —
    autograd would keep every intermediate of the gate math (T × B × H each) and run a kernel per operation. On CPU
    (float32/float64) with the compiled loops of ``rnnkit.recurrence.native``, one C call each way; otherwise the gate
    math compiled by torch.compile (or eager) and the recurrence either a torch operation per step or, ``parallel``,
    2 log₂ T rounds of whole-tensor slices each way (``rnnkit.recurrence.parallel_scan``: the GPU path)."""

    @staticmethod
    def forward(ctx, xw: Tensor, h0: Tensor, mask: Tensor | None, kind: str, parallel: bool = False) -> Tensor:
        ctx.kind, ctx.parallel = kind, parallel
        ctx.set_materialize_grads(False)
        step = None if parallel else native_function("minimal_forward", xw, h0)
        ctx.native = step is not None
        if ctx.native:
            saved = _native_forward(kind, xw, h0, mask)
            ctx.save_for_backward(*saved)
            return saved[1]
        a, b = _call_fused(_forward_math, xw.numel(), kind, xw, mask)
        # b is fresh: the states overwrite it
        out = scan_states(a, b, h0, overwrite=True) if parallel else _recur_in_place(a, b, h0)
        ctx.has_mask = mask is not None
        ctx.save_for_backward(xw, a, out, h0, *(() if mask is None else (mask,)))
        return out

    @staticmethod
    @once_differentiable
    @autocast_off
    def backward(ctx, grad: Tensor | None):
        if ctx.native and not batched(grad):
            return (*_native_backward(ctx, grad), None, None, None)
        if grad is None:
            return None, None, None, None, None
        if ctx.native:  # batched gradients (torch.func) have no memory for the C loop: the same math in torch's ops
            xw, out, h0, rows = ctx.saved_tensors
            mask = None if rows is None else rows.bool().unsqueeze(-1)
            a = _forward_math(ctx.kind, xw, mask)[0]
        else:
            xw, a, out, h0, *rest = ctx.saved_tensors
            mask = rest[0] if ctx.has_mask else None
        grad = grad.contiguous()  # ∂L/∂h_t along all paths:
        G = scan_carry_back(a, grad) if ctx.parallel else _carry_back_in_place(a, grad.clone())
        grad_xw = _call_fused(_backward_math, xw.numel(), ctx.kind, xw, G, out, h0, mask)
        return grad_xw, a[0] * G[0], None, None, None


def minimal_sequence(kind: str, xw: Tensor, h0: Tensor, mask: Tensor | None = None, parallel: bool = False) -> Tensor:
    """All minGRU (``kind="mingru"``) or minLSTM states (T, B, H) from ``xw = W_ih x + b_ih`` (T, B, G·H) and ``h_0``;
    ``mask`` (T, B, 1) keeps the state on padded steps; ``parallel``: the recurrence as a parallel scan over all steps
    instead of step by step (same results to rounding). Hand-written backward (once differentiable)."""
    return _MinimalSequence.apply(xw, h0, mask, kind, parallel)

__all__ = ["linear_recurrence", "linear_scan_log", "indrnn_sequence", "minimal_sequence", "keep_padded"]
