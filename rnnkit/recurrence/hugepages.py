"""Large CPU buffers on transparent huge pages.

Fresh CPU memory is mapped on first write, one 4 KiB page per fault; on a VM a fault costs ~2 µs, so the 200 MB a
long minGRU/minLSTM sequence writes (its projected inputs, its states, their gradients) spends tens of ms faulting —
as much as its arithmetic. Where the kernel's transparent huge pages are in ``madvise`` mode (the usual default:
``/sys/kernel/mm/transparent_hugepage/enabled``), marking a buffer ``MADV_HUGEPAGE`` before anything touches it maps
it 2 MiB at a time. torch's own allocator does so only with ``THP_MEM_ALLOC_ENABLE=1`` set before its first
allocation; ``empty_huge`` does it for the buffers rnnkit's kernels allocate themselves (``projection.linear``'s
outputs among them). Elsewhere (not Linux, small buffers, THP off or ``never``) it is plain ``torch.empty``.
"""

from __future__ import annotations

import ctypes
import platform

from torch import Tensor

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


__all__ = ["empty_huge"]
