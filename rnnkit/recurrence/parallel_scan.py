"""The linear recurrence ``h_t = a_t ⊙ h_{t−1} + b_t`` in ⌈log₂ T⌉ parallel passes (Hillis & Steele 1986), in
linear space — the GPU path of minGRU/minLSTM.

A step is the affine map ``h ↦ a h + b``; two steps compose as ``(a₂, b₂) ∘ (a₁, b₁) = (a₂ a₁, a₂ b₁ + b₂)``. Pass k
(offset ``d = 2^k``) replaces every element t ≥ d by its composition with element t − d:

    B_t ← A_t ⊙ B_{t−d} + B_t,    A_t ← A_t ⊙ A_{t−d}

after which element t covers steps max(0, t − 2d + 1)…t; once d ≥ T every B_t is ``h_t`` (``h_0`` is folded into
the first step: ``b_1 ← b_1 + a_1 ⊙ h_0``). Each pass is a handful of whole-tensor kernels, so a sequence costs
~4 log₂ T launches instead of T (O(T log T) arithmetic instead of O(T): on a CPU the step-by-step loop wins).

No logarithms: b may have any sign, and with a ∈ [0, 1] the products A can only shrink towards 0, where the exact
value is too. Rounding is that of sums of log₂ T products — float32 agrees with the sequential recurrence to ~1e-6 at
any T (one log-space scan over 4096 steps drifts ~4e-4: ``log A_t`` grows with t and its rounding is amplified by the
exp).

Backward is a linear recurrence too, run from the end: with ``G_t = ∂L/∂h_t`` along all paths,
``G_t = g_t + a_{t+1} ⊙ G_{t+1}`` — the same passes, mirrored. Then ``∂L/∂b_t = G_t``, ``∂L/∂a_t = G_t ⊙ h_{t−1}``,
``∂L/∂h_0 = a_1 ⊙ G_1``. Kept for backward: a, the states and h_0 (as the sequential kernel). Time-major (T, …).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.recurrence.bptt_reference import autocast_off


def _passes(a: Tensor, b: Tensor, reverse: bool = False) -> Tensor:
    """All ``h_t = a_t ⊙ h_{t−1} + b_t`` from ``h_{−1} = 0`` (``reverse``: ``h_t = a_t ⊙ h_{t+1} + b_t``). ``b`` is
    a work buffer the passes overwrite; ``a`` is only read. Two ping-pong buffers each for A and B."""
    T = a.shape[0]
    if T == 1:
        return b
    A_in, B_in = a, b
    A_buf = [torch.empty_like(a), torch.empty_like(a)] if T > 2 else []
    B_out = torch.empty_like(b)
    d = 1
    while d < T:
        done, new, old = (slice(T - d, T), slice(0, T - d), slice(d, T)) if reverse else \
            (slice(0, d), slice(d, T), slice(0, T - d))
        B_out[done] = B_in[done]  # already complete: nothing lies d steps before them
        torch.addcmul(B_in[new], A_in[new], B_in[old], out=B_out[new])
        B_in, B_out = B_out, B_in
        if 2 * d < T:  # the last pass needs no products of a
            A_out = A_buf[0] if A_in is not A_buf[0] else A_buf[1]
            A_out[done] = A_in[done]
            torch.mul(A_in[new], A_in[old], out=A_out[new])
            A_in = A_out
        d *= 2
    return B_in


def scan_states(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """The states ``h_1..h_T`` (T, …) from h_0 (…); a fresh tensor (b is not changed)."""
    work = b.clone()
    work[0].addcmul_(a[0], h0)
    return _passes(a, work)


def scan_carry_back(a: Tensor, g: Tensor) -> Tensor:
    """``G_t = g_t + a_{t+1} ⊙ G_{t+1}`` (∂L/∂h_t along all paths) from the outputs' gradients g; a fresh tensor."""
    shifted = torch.empty_like(a)
    shifted[:-1] = a[1:]
    shifted[-1] = 0
    return _passes(shifted, g.clone(), reverse=True)


class _ParallelLinearRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
        out = scan_states(a, b, h0)
        ctx.save_for_backward(a, out, h0)
        return out

    @staticmethod
    @once_differentiable
    @autocast_off
    def backward(ctx, g: Tensor):
        a, out, h0 = ctx.saved_tensors
        G = scan_carry_back(a, g)
        h_prev = torch.cat([h0.unsqueeze(0), out[:-1]])
        return G * h_prev, G, a[0] * G[0]


def parallel_linear_recurrence(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """All ``h_t = a_t ⊙ h_{t−1} + b_t`` (T, B, H) from ``h_0`` (B, H) in log₂ T passes (once differentiable);
    ``linear_recurrence``'s contract and results, computed in parallel over time."""
    return _ParallelLinearRecurrence.apply(a, b, h0)


__all__ = ["parallel_linear_recurrence", "scan_states", "scan_carry_back"]
