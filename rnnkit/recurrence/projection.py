"""The large products of the hand-written kernels — the input projection ``x W^T + b`` of every step at once and its
two gradients — through the compiled matrix product of ``rnnkit.recurrence.native`` (``gemm.c``), rows split across
torch's OpenMP threads.

Why not ``torch.mm``: on this project's AMD CPU, torch's MKL runs these shapes (T·B rows by a few hundred columns,
inner dimension 64…2048) at about half the arithmetic rate that the compiled product reaches, and often on one thread
(measured: (3200 × 64)·(64 × 512) 2.4 ms with ``torch.mm`` on two threads, 2.3 ms with the compiled product on one).
``mm`` takes the compiled product for CPU float32/float64 matrices where the library is built with OpenMP (or torch
runs one thread), ``torch.mm`` otherwise (GPUs, other dtypes, tracing, autocast). ``linear`` is ``F.linear`` with its
output on huge pages when large (``hugepages``) and its products through ``mm``.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.recurrence.hugepages import empty_huge
from rnnkit.recurrence.native import ptr
from rnnkit.recurrence.native import sequence as native_sequence
from rnnkit.recurrence.transforms import batched, transforming

#: the compiled product's vector width (``gemm.c``): results with fewer columns than one vector use torch's product
VECTOR_BYTES = 64


def _operand(a: Tensor) -> tuple[Tensor, int, int] | None:
    """``(storage, row stride, column stride)`` of a 2-D matrix for the compiled product: row-major, or the
    transpose of a row-major one (no copy either way); None for other layouts."""
    if a.is_contiguous():
        return a, a.shape[1], 1
    if a.t().is_contiguous():
        return a.t(), 1, a.shape[0]
    return None


def mm(a: Tensor, b: Tensor, out: Tensor | None = None, bias: Tensor | None = None) -> Tensor:
    """``a @ b`` (+ ``bias`` on every row) for 2-D ``a`` (m × k) and ``b`` (k × n), into ``out`` (m × n, contiguous)
    when given (else a fresh tensor, on huge pages when large). For the compiled product ``a`` may be row-major or a
    transpose of one (read in place) and ``b`` is made row-major; other layouts, devices and dtypes: torch's."""
    m, n = a.shape[0], b.shape[1]
    whole = None
    if (a.device.type == "cpu" and a.dtype in (torch.float32, torch.float64) and b.dtype == a.dtype
            and n * a.element_size() >= VECTOR_BYTES  # narrower results would take the product's scalar loop
            and (bias is None or bias.dtype == a.dtype) and not torch.compiler.is_compiling()
            and not torch.is_autocast_enabled("cpu")):
        whole = native_sequence("gemm_pieces", m, a)
    A = _operand(a) if whole is not None else None
    if A is None:
        if out is None:
            return torch.addmm(bias, a, b) if bias is not None else torch.mm(a, b)
        return torch.addmm(bias, a, b, out=out) if bias is not None else torch.mm(a, b, out=out)
    storage, ai, ap = A
    if out is None:
        out = empty_huge((m, n), a)
    B, bias = b.contiguous(), None if bias is None else bias.contiguous()
    whole(m, n, a.shape[1], ptr(storage), ai, ap, ptr(B), n, ptr(out), n, 0, ptr(bias))
    return out


class _Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        rows = x.reshape(-1, x.shape[-1])
        out = mm(rows, weight.t(), bias=bias)
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return out.view(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        g = grad.reshape(-1, grad.shape[-1])
        if not g.is_contiguous() and not g.t().is_contiguous():  # e.g. y.sum()'s expanded ones
            g = g.contiguous()
        rows = x.reshape(-1, x.shape[-1])
        need = ctx.needs_input_grad
        # create_graph, or batched gradients (torch.func): torch's ops, which autograd and vmap can follow
        times = torch.mm if torch.is_grad_enabled() or batched(g) else mm
        d_x = times(g, weight).view(x.shape) if need[0] else None
        d_w = times(g.t(), rows) if need[1] else None
        d_b = g.sum(0) if ctx.has_bias and need[2] else None
        return d_x, d_w, d_b


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``F.linear(x, weight, bias)`` with its products through ``mm`` (and its output on huge pages when large) on
    CPUs; ``F.linear`` itself elsewhere (GPUs, tracing, autocast, mixed dtypes, torch.func transforms)."""
    if (x.device.type != "cpu" or torch.compiler.is_compiling() or torch.is_autocast_enabled("cpu")
            or x.dtype != weight.dtype or x.dim() < 2 or transforming()):
        return F.linear(x, weight, bias)
    return _Linear.apply(x, weight, bias)


__all__ = ["mm", "linear"]
