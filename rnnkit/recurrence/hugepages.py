"""Large CPU buffers (8 MiB and up): on transparent huge pages, and kept for reuse.

Fresh CPU memory is mapped on first write, one 4 KiB page per fault, each zeroed by the kernel; on a VM a fault costs
~2 µs, so the 200 MB–1.5 GB a long minGRU/minLSTM sequence writes (its projected inputs, its states, their
gradients) spends as long faulting as computing. Two remedies, for the buffers rnnkit's kernels allocate themselves
(``empty_huge``; ``projection.linear``'s outputs among them):

* Huge pages: where the kernel's transparent huge pages are in ``madvise`` mode (the usual default:
  ``/sys/kernel/mm/transparent_hugepage/enabled``), marking a buffer ``MADV_HUGEPAGE`` before anything touches it maps
  it 2 MiB at a time (torch's own allocator does so only with ``THP_MEM_ALLOC_ENABLE=1`` set before its first
  allocation).
* Reuse: a pool keeps the buffers after their tensors die and hands them to the next call of a similar size once no
  tensor uses them (``_Pool``), as torch's CUDA caching allocator does on GPUs — no fault, no zeroing. It matters most
  on VMs whose host takes freed memory back (virtio-balloon free page reporting, this project's machine: memory freed
  2 s earlier costs a second fault on the host — a minGRU call 2–2.5× slower after a pause). It holds at most a
  quarter of the machine's memory, 4 GiB at most (``$RNNKIT_BUFFER_CACHE_MB``; 0 turns reuse off);
  ``release()`` hands the free buffers back.

Elsewhere (GPUs, small buffers; not Linux or THP off for the first) it is plain ``torch.empty``.
"""

from __future__ import annotations

import ctypes
import math
import os
import platform
import threading

import torch
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


def _mark_huge(t: Tensor, nbytes: int) -> None:
    madvise = _madvise()
    if madvise is not None:
        start = (t.data_ptr() + PAGE - 1) // PAGE * PAGE
        end = (t.data_ptr() + nbytes) // PAGE * PAGE
        madvise(start, end - start, MADV_HUGEPAGE)  # refused (EINVAL) where THP is off: nothing changes


def _limit() -> int:
    """Bytes the pool may hold: ``$RNNKIT_BUFFER_CACHE_MB`` (0 turns reuse off), else a quarter of this machine's
    memory, at most 4 GiB."""
    if "RNNKIT_BUFFER_CACHE_MB" in os.environ:
        return int(os.environ["RNNKIT_BUFFER_CACHE_MB"]) << 20
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        ram = 8 << 30
    return min(4 << 30, ram // 4)


_COUNT = getattr(torch._C, "_storage_Use_Count", None)  # a private torch function: without it, no reuse


def _users(buf: Tensor) -> int:
    """How many tensors share ``buf``'s storage (the pool's own included)."""
    return _COUNT(buf.untyped_storage()._cdata) - _BASE


class _Pool:
    """Large CPU buffers kept for the next call instead of being handed back to the system: fresh memory costs a page
    fault and a page of zeroes per page on first touch, and on VMs whose host takes back freed memory (virtio-balloon
    free page reporting, ~2 s after the free) a second fault on the host. A buffer is handed out again only when no
    tensor uses it any more (its storage's use count: a tensor autograd saved, an output the caller kept — every view
    holds the storage); free buffers are dropped oldest first when a new one would take the pool over its limit."""

    def __init__(self) -> None:
        self.bufs: list[Tensor] = []  # uint8, oldest use first
        self.lock = threading.Lock()

    def take(self, shape, dtype: torch.dtype, nbytes: int) -> Tensor | None:
        """A tensor on a free cached buffer of nbytes … 2·nbytes bytes, or on a new one kept in the pool (None: over
        the limit). The tensor is made under the lock, so no other thread can see the buffer free in between."""
        limit = _limit()
        if limit <= 0 or _COUNT is None:
            return None
        with self.lock:
            fit = [i for i, b in enumerate(self.bufs) if nbytes <= b.numel() <= 2 * nbytes and _users(b) == 1]
            if fit:
                buf = self.bufs.pop(min(fit, key=lambda i: self.bufs[i].numel()))
            else:
                size = -(-nbytes // PAGE) * PAGE
                total = sum(b.numel() for b in self.bufs)
                keep = []
                for b in self.bufs:  # oldest first: free ones go while the new buffer does not fit
                    if total + size > limit and _users(b) == 1:
                        total -= b.numel()
                    else:
                        keep.append(b)
                self.bufs = keep
                if total + size > limit:
                    return None
                buf = torch.empty(size, dtype=torch.uint8)
                _mark_huge(buf, size)
            self.bufs.append(buf)
            return buf[:nbytes].view(dtype).view(shape)

    def release(self) -> int:
        """Drop every buffer no tensor uses; returns the bytes let go."""
        with self.lock:
            free = [b for b in self.bufs if _users(b) == 1]
            self.bufs = [b for b in self.bufs if _users(b) != 1]
            return sum(b.numel() for b in free)


_pool = _Pool()
_BASE = 0
if _COUNT is not None:
    _BASE = _users(torch.empty(1, dtype=torch.uint8)) - 1  # what a lone tensor's count reads as here


def empty_huge(shape, like: Tensor) -> Tensor:
    """``like.new_empty(shape)``; for CPU buffers of 8 MiB or more, memory on transparent huge pages
    (``MADV_HUGEPAGE``) that is reused by a later call once nothing uses it (``_Pool``)."""
    nbytes = math.prod(shape) * like.element_size()
    if like.device.type != "cpu" or nbytes < 4 * PAGE:
        return like.new_empty(shape)
    t = _pool.take(shape, like.dtype, nbytes)
    if t is None:
        t = like.new_empty(shape)
        _mark_huge(t, nbytes)
    return t


def release() -> int:
    """Hand the cached buffers no tensor uses back to the system (returns their bytes)."""
    return _pool.release()


__all__ = ["empty_huge", "release"]
