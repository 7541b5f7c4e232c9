"""Batch rows split across torch's intra-op threads, for the compiled whole-sequence loops.

The rows of a batch are independent recurrences, so a loop over all T steps can run on rows [b0, b1) in one thread and
on the others elsewhere, with one hand-off per call instead of one per step (ctypes releases the GIL during a C call).
The pool has ``torch.get_num_threads() − 1`` threads (the calling thread runs the first piece); it is rebuilt in a
forked child (which inherits the pool object but not its threads) and when torch's thread count changes.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import torch

_pool: dict = {}


def pieces(B: int, work: int, split_above: int) -> list[tuple[int, int]]:
    """``[(b0, b1), …]`` covering rows [0, B): one piece when the work (any measure of the call's size) is under
    ``split_above`` or torch runs one thread, else ``min(threads, B)`` near-equal pieces."""
    n = min(torch.get_num_threads(), B)
    if n < 2 or work < split_above:
        return [(0, B)]
    cuts = [B * k // n for k in range(n + 1)]
    return list(zip(cuts[:-1], cuts[1:]))


def run(call, parts: list[tuple[int, int]]) -> None:
    """``call(k, b0, b1)`` for every piece k at once: the first on this thread, the others on the pool."""
    if len(parts) == 1:
        call(0, *parts[0])
        return
    key = (len(parts), os.getpid())
    if _pool.get("key") != key:
        if _pool.get("key", (0, 0))[1] == os.getpid():
            _pool["executor"].shutdown(wait=False)
        _pool["executor"], _pool["key"] = ThreadPoolExecutor(len(parts) - 1, thread_name_prefix="rnnkit-rows"), key
    pending = [_pool["executor"].submit(call, k, b0, b1) for k, (b0, b1) in enumerate(parts) if k]
    call(0, *parts[0])
    for f in pending:
        f.result()


__all__ = ["pieces", "run"]
