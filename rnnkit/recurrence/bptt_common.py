"""What every hand-written BPTT kernel shares (``bptt.py``, ``bptt_layernorm.py``, ``bptt_feedback.py``): saving for
backward and the fallback for second derivatives, the input projection of all steps and its gradients, the recurrent
weight's gradient as one product over all steps, the gradient that enters at the last step, and step masks."""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from rnnkit.recurrence import projection
from rnnkit.recurrence.bptt_reference import autocast_off, regrad
from rnnkit.recurrence.packed import RecurrentProduct
from rnnkit.recurrence.transforms import batched


def _save(ctx, kernel: tuple, args: tuple) -> None:
    """Save what the hand-written backward needs (``kernel``) and the forward's own arguments (for ``create_graph``)."""
    ctx.n_kernel, ctx.arg_is_tensor = len(kernel), [torch.is_tensor(a) for a in args]
    ctx.arg_values = [None if torch.is_tensor(a) else a for a in args]
    ctx.save_for_backward(*kernel, *[a for a in args if torch.is_tensor(a)])


def _args(ctx) -> tuple:
    rest = iter(ctx.saved_tensors[ctx.n_kernel:])
    return tuple(next(rest) if is_tensor else value for is_tensor, value in zip(ctx.arg_is_tensor, ctx.arg_values))


def _twice_differentiable(reference):
    """A kernel's backward, which under ``create_graph=True`` (autograd then runs backward with grad mode on) hands over
    to ``reference`` — the same equations in autograd operations — so the gradient carries a graph (gradient
    penalties, double backward) — and so does a backward whose incoming gradients are torch.func's batched tensors
    (``torch.func.vmap`` over ``autograd.grad`` with ``is_grads_batched=True``: Jacobians, gradcheck's batched check),
    which have no storage for the hand-written loop to read; otherwise the hand-written loop runs, differentiable once.
    Either runs with autocast off, as the forward did."""

    def wrap(backward):
        @functools.wraps(backward)
        @autocast_off
        def run(ctx, *grads):
            if torch.is_grad_enabled():
                return regrad(ctx.needs_input_grad, reference, _args(ctx), grads)
            if any(batched(g) for g in grads):
                with torch.enable_grad():
                    return regrad(ctx.needs_input_grad, reference, _args(ctx), grads, create_graph=False)
            return backward(ctx, *grads)
        return run
    return wrap


def _project(x: Tensor, W_ih: Tensor, b: Tensor | None) -> tuple[Tensor, Tensor]:
    """``xw_t = W_ih x_t + b`` for all steps in one GEMM → a fresh contiguous (T, B, G) buffer that the kernel owns (the
    steps accumulate into it in place, no copy) and the (T·B, I) input it read (kept for ∂L/∂W_ih)."""
    x2 = x.reshape(-1, x.shape[-1])
    xw = projection.mm(x2, W_ih.t(), bias=b)
    return xw.view(x.shape[0], x.shape[1], -1), x2


def _projection_grads(ctx, dXW: Tensor, x2: Tensor, W_ih: Tensor) -> tuple[Tensor | None, ...]:
    """``∂L/∂x, ∂L/∂W_ih, ∂L/∂b`` from ``δxw`` (T, B, G), for the kernel's first three inputs (those asked for)."""
    d = dXW.view(-1, dXW.shape[-1])
    need = ctx.needs_input_grad
    return (projection.mm(d, W_ih).view(*dXW.shape[:2], x2.shape[1]) if need[0] else None,
            projection.mm(d.t(), x2) if need[1] else None, d.sum(0) if need[2] else None)


def _weight_grad(delta: Tensor, h0: Tensor, Y: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """``Σ_t δ_t^T h_{t-1}`` with ``h_{t-1}`` = h0 for t = 1 and Y[t-2] after: one GEMM with inner dimension (T−1)·B
    plus the first step's (no concatenated copy of the states); with ``dtype``, its operands rounded to that dtype
    (a bfloat16 product under autocast, see ``packed.products_in``), the result in ``delta``'s."""
    if dtype is not None and dtype != delta.dtype:
        return _weight_grad(delta.to(dtype), h0.to(dtype), Y.to(dtype)).to(delta.dtype)
    return projection.mm(delta[1:].flatten(0, 1).t(), Y[:-1].flatten(0, 1)).addmm_(delta[0].t(), h0)


def _final_gradient(dY: Tensor | None, dh_T: Tensor | None, like: Tensor) -> Tensor:
    """``ḣ_T = ∂L/∂y_T + ∂L/∂h_T`` as a fresh tensor; either may be None (an output nobody used: autograd is told not
    to materialise zeros for it, which at T×B×H is a buffer to fill and then read)."""
    if dY is None:
        return torch.zeros_like(like) if dh_T is None else dh_T.clone()
    return dY[-1].clone() if dh_T is None else dY[-1] + dh_T


def _gradient_buffer(dY: Tensor | None, dh_T: Tensor | None, like: Tensor) -> Tensor:
    """A fresh contiguous (T, B, H) copy of ``∂L/∂y`` (zeros when the outputs were not used) with ``∂L/∂h_T`` added at
    the last step: backward accumulates ``ḣ_t`` in it in place (``dY`` may be a broadcast view and is never written)."""
    dH = torch.zeros_like(like) if dY is None else dY.clone(memory_format=torch.contiguous_format)
    if dh_T is not None:
        dH[-1] += dh_T
    return dH


def _steps(M: Tensor | None, T: int):
    """The per-step masks ``m_t`` (B, 1) as a list, or T Nones without a mask."""
    return [None] * T if M is None else M.unbind(0)


def _dh_previous(dYs, t: int, dh: Tensor, keep, delta: Tensor, times_W: RecurrentProduct) -> Tensor:
    """``ḣ_{t-1} = ∂L/∂y_{t-1} + (1 − m_t) ḣ_t + δ_t W_hh`` (no output term at t = 0 or when the outputs were not used;
    no pass-through without a mask). ``dYs`` (or None) and ``keep`` are per-step lists."""
    carry = dYs[t - 1] if t and dYs is not None else None
    if keep is not None:
        carry = dh * keep[t] if carry is None else torch.addcmul(carry, dh, keep[t])
    return times_W.plus(carry, delta)


def _float_mask(mask: Tensor | None, like: Tensor) -> Tensor | None:
    """A (T, B, 1) bool step mask as ``like``'s float dtype (None stays None)."""
    return None if mask is None else mask.to(like.dtype)
