"""Interleaved timing: every implementation of one configuration is timed in turn, repeat after repeat, so a noisy
shared machine slows all of them alike; we report medians and ratios, never absolute thresholds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleaved_medians(fns: dict[str, Callable[[], None]], repeats: int, warmup: int = 1,
                        sync: Callable[[], None] = lambda: None) -> dict[str, float]:
    """Median seconds per call of each function; ``sync`` waits for queued device work (``torch.cuda.synchronize``)
    before a clock is read, so a GPU's asynchronous launches are timed to their end."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    sync()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            sync()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def training_steps(loss_fn: Callable, optimizer, batches: list) -> Callable[[], None]:
    """One timed unit for ``interleaved_medians``: a forward, backward and optimizer step on every batch."""
    def run() -> None:
        for b in batches:
            loss = loss_fn(b)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return run


def machine_line(device: str = "cpu") -> str:
    import os
    import platform

    import torch

    if str(device).startswith("cuda"):
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}, CUDA {torch.version.cuda}"
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads")


def device_sync(device: str) -> Callable[[], None]:
    """What ``interleaved_medians`` calls to wait for ``device``'s queued work (nothing on the CPU)."""
    import torch

    return (lambda: torch.cuda.synchronize(device)) if str(device).startswith("cuda") else (lambda: None)
