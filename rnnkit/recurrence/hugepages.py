"""Large CPU buffers on transparent huge pages.

Fresh CPU memory is mapped on first write, one 4 KiB page per fault; on a VM a fault costs ~2 µs, so the 200 MB a
long minGRU/minLSTM sequence writes (its projected inputs, its states, their gradients) spends tens of ms faulting —
as much as its arithmetic. Where the kernel's transparent huge pages are in ``madvise`` mode (the usual default:
``/sys/kernel/mm/transparent_hugepage/enabled``), marking a buffer ``MADV_HUGEPAGE`` before anything touches it maps
it 2 MiB at a time. torch's own allocator does so only with ``THP_MEM_ALLOC_ENABLE=1`` set before its first
allocation; these helpers do it for the buffers rnnkit's kernels allocate themselves. Elsewhere (not Linux, small
buffers, THP off or ``never``) they are plain ``torch.empty`` and ``F.linear``.
"""

from __future__ import annotations

import ctypes
import platform

import torch
from torch import Tensor
from torch.nn import functional as F

PAGE = 1 << 21  # a transparent huge page on x86-64 and arm64 (4 KiB granules)
MADV_HUGEPAGE = 14
_libc: list = []


def _madvise():
    if not _libc:
        fn = None
        if platform.system() == "Linux":
            try:
                fn = ctypes.CDLL(None, use_errno=True).madvise
                fn.argtypes, fn.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
            except (OSError, AttributeError):
                fn = None
        _libc.append(fn)
    return _libc[0]


def empty_huge(shape, like: Tensor) -> Tensor:
    """``like.new_empty(shape)`` with its whole 2 MiB pages marked ``MADV_HUGEPAGE`` (CPU buffers of 8 MiB or more)."""
    t = like.new_empty(shape)
    nbytes = t.numel() * t.element_size()
    madvise = _madvise() if t.device.type == "cpu" and nbytes >= 4 * PAGE else None
    if madvise is not None:
        start = (t.data_ptr() + PAGE - 1) // PAGE * PAGE
        end = (t.data_ptr() + nbytes) // PAGE * PAGE
        madvise(start, end - start, MADV_HUGEPAGE)  # refused (EINVAL) where THP is off: nothing changes
    return t


class _Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        rows = x.reshape(-1, x.shape[-1])
        out = empty_huge((*x.shape[:-1], weight.shape[0]), x)
        if bias is None:
            torch.mm(rows, weight.t(), out=out.view(-1, weight.shape[0]))
        else:
            torch.addmm(bias, rows, weight.t(), out=out.view(-1, weight.shape[0]))
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        g = grad.reshape(-1, grad.shape[-1])
        rows = x.reshape(-1, x.shape[-1])
        d_x = (g @ weight).view(x.shape) if ctx.needs_input_grad[0] else None
        d_w = g.t() @ rows if ctx.needs_input_grad[1] else None
        d_b = g.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return d_x, d_w, d_b


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``F.linear(x, weight, bias)``, its output on huge pages when it is a large CPU tensor (autograd's gradients:
    the same products as ``F.linear``'s backward); ``F.linear`` itself elsewhere (GPUs, small outputs, tracing,
    autocast)."""
    big = x.numel() // max(x.shape[-1], 1) * weight.shape[0] * x.element_size() >= 4 * PAGE
    if (not big or x.device.type != "cpu" or _madvise() is None or torch.compiler.is_compiling()
            or torch.is_autocast_enabled("cpu") or x.dtype != weight.dtype):
        return F.linear(x, weight, bias)
    return _Linear.apply(x, weight, bias)


__all__ = ["empty_huge", "linear"]
