"""The linear recurrence ``h_t = a_t ⊙ h_{t−1} + b_t`` as a parallel scan in linear space — the GPU path of
minGRU/minLSTM.

A step is the affine map ``h ↦ a h + b``; two steps compose as ``(a₂, b₂) ∘ (a₁, b₁) = (a₂ a₁, a₂ b₁ + b₂)``, an
associative operation, so all prefixes can be formed in parallel rounds. The work-efficient scheme (Brent & Kung 1982,
Blelloch 1990) does it in 2⌈log₂ T⌉ rounds of ~2T compositions in all: an up-sweep where, for d = 1, 2, 4, …, every
position p = 2dk − 1 takes in p − d,

    B_p ← A_p ⊙ B_{p−d} + B_p,    A_p ← A_p ⊙ A_{p−d}

(p then covers its block of 2d steps), and a down-sweep, for d back down to 1, where every p = 2dk + d − 1 (k ≥ 1)
takes in the complete prefix ending at p − d (B only). ``h_0`` is folded into the first step (``b_1 ← b_1 + a_1 ⊙
h_0``); at the end every B_p is ``h_p``. A round is one or two kernels over strided whole-tensor slices, so a sequence
costs ~4 log₂ T launches instead of T, and about twice the sequential loop's arithmetic.

No logarithms: b may have any sign, and with a ∈ [0, 1] the products A can only shrink towards 0, where the exact
value is too. Rounding is that of sums of ≤ 2 log₂ T products — float32 agrees with the sequential recurrence to ~1e-6
at any T (one log-space scan over 4096 steps drifts ~4e-4: ``log A_t`` grows with t and its rounding is amplified by
the exp).

Backward is a linear recurrence too, run from the end: with ``G_t = ∂L/∂h_t`` along all paths,
``G_t = g_t + a_{t+1} ⊙ G_{t+1}`` — the same rounds on mirrored positions. Then ``∂L/∂b_t = G_t``,
``∂L/∂a_t = G_t ⊙ h_{t−1}``, ``∂L/∂h_0 = a_1 ⊙ G_1``. Kept for backward: a, the states and h_0 (as the sequential
kernel). Time-major (T, …).
"""

from __future__ import annotations

import torch
from torch import Tensor


def _positions(first: int, step: int, T: int, reverse: bool) -> slice:
    """Scan positions first, first + step, … < T as a slice of the tensor (position p is index T − 1 − p when
    ``reverse``: the same elements in mirrored order, so paired slices stay paired)."""
    last = first + step * ((T - 1 - first) // step)
    return slice(first, last + 1, step) if not reverse else slice(T - 1 - last, T - first, step)


def _rounds(a: Tensor, b: Tensor, reverse: bool = False) -> Tensor:
    """All ``h_t = a_t ⊙ h_{t−1} + b_t`` from ``h_{−1} = 0`` (``reverse``: ``h_t = a_t ⊙ h_{t+1} + b_t``), in place in
    ``b``, which is returned; ``a`` is only read. Work-efficient (Brent & Kung 1982): an up-sweep composes blocks of 2,
    4, 8, … steps into their last element, a down-sweep completes the rest — ~2T compositions in 2 log₂ T rounds of
    whole strided slices (Hillis–Steele's simpler passes do T log₂ T)."""
    T = a.shape[0]
    if T == 1:
        return b
    A = a.clone()
    d = 1
    while 2 * d <= T:  # up: position p = 2dk − 1 takes in its block's first half, p − d
        later, earlier = _positions(2 * d - 1, 2 * d, T, reverse), _positions(d - 1, 2 * d, T, reverse)
        n = len(range(T)[later])
        earlier_b = b[earlier][:n] if not reverse else b[earlier][-n:]
        earlier_a = A[earlier][:n] if not reverse else A[earlier][-n:]
        b[later].addcmul_(A[later], earlier_b)
        if 4 * d <= T:  # the last round's products are never read
            A[later].mul_(earlier_a)
        d *= 2
    while d >= 1:  # down: position p = 2dk + d − 1 (k ≥ 1) takes in the complete prefix p − d
        if 3 * d - 1 < T:
            later, earlier = _positions(3 * d - 1, 2 * d, T, reverse), _positions(2 * d - 1, 2 * d, T, reverse)
            n = len(range(T)[later])
            earlier_b = b[earlier][:n] if not reverse else b[earlier][-n:]
            b[later].addcmul_(A[later], earlier_b)
        d //= 2
    return b


def scan_states(a: Tensor, b: Tensor, h0: Tensor, overwrite: bool = False) -> Tensor:
    """The states ``h_1..h_T`` (T, …) from h_0 (…): a fresh tensor, or — ``overwrite``, for a b the caller made and
    no longer needs — b itself, the states written over it."""
    work = b if overwrite else b.clone()
    work[0].addcmul_(a[0], h0)
    return _rounds(a, work)


def scan_carry_back(a: Tensor, g: Tensor) -> Tensor:
    """``G_t = g_t + a_{t+1} ⊙ G_{t+1}`` (∂L/∂h_t along all paths) from the outputs' gradients g; a fresh tensor."""
    shifted = torch.empty_like(a)
    shifted[:-1] = a[1:]
    shifted[-1] = 0
    return _rounds(shifted, g.clone(), reverse=True)


__all__ = ["scan_states", "scan_carry_back"]
