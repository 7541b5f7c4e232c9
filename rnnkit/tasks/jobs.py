"""Independent trainings (an ensemble's members) side by side: one CPU process per member, one torch thread each.

A small recurrent model does not keep two cores busy: a forecaster's GRU of 64 units on batches of 256 windows of 16
steps trains as fast on one torch thread as on two (measured on this project's 2-core CPU, 2026-12-04), because each
step's products are tiny and the Python around them (batching, the optimizer) runs on one core anyway. Members of an
ensemble do not depend on each other, so they train at once, one per core — twice the training in the same minutes
on two cores.

The workers are joblib's ``loky`` processes: started fresh (fork + exec), so they work from a script without an
``if __name__ == "__main__"`` guard, from a notebook, and after torch's OpenMP threads have started in the parent. An
exception in a member is raised again in the caller, with its own type and message. Ctrl-C, and SIGTERM (what ``kill``,
``timeout`` and job schedulers send) while the members run, stop the workers too instead of leaving them to finish
their current member.

A shared time budget (``budgets``) is split so that the members, run longest first on the least-loaded worker (the
LPT rule, which is also the order in which they are handed out), finish together when the budget is spent.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import torch
from tqdm.auto import tqdm


def cpu_jobs(requested: int | None, tasks: int, device: torch.device) -> int:
    """How many members train at once: ``requested`` (at most the members), else 1 off the CPU or under torchrun
    (each member then trains across the ranks) and, on the CPU, torch's intra-op threads (its count of cores) capped
    by the members."""
    if tasks < 1:
        return 1
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if requested is not None:
        if requested < 1:
            raise ValueError(f"jobs must be at least 1, got {requested}")
        if requested > 1 and world > 1:
            raise ValueError(f"jobs={requested} cannot run under torchrun (WORLD_SIZE={world}): there each member "
                             "trains across the ranks, one after another; leave jobs unset or 1")
        return min(requested, tasks)
    if world > 1:
        return 1
    if device.type != "cpu":
        return 1
    return max(1, min(torch.get_num_threads(), os.cpu_count() or 1, tasks))


def lpt_order(weights: Sequence[float]) -> list[int]:
    """Indices from the heaviest to the lightest (ties keep their order)."""
    return sorted(range(len(weights)), key=lambda i: -weights[i])


def makespan(weights: Sequence[float], jobs: int) -> float:
    """The finishing time of the LPT schedule: each task, heaviest first, to the worker with the least work."""
    loads = [0.0] * max(1, jobs)
    for i in lpt_order(weights):
        k = loads.index(min(loads))
        loads[k] += weights[i]
    return max(loads)


def budgets(weights: Sequence[float], jobs: int, minutes: float) -> list[float]:
    """Each task's share of a wall-clock budget of ``minutes`` when ``jobs`` workers run them in LPT order: in
    proportion to its weight, scaled so that the schedule ends at ``minutes`` (one worker: the shares sum to it)."""
    span = makespan(weights, jobs)
    return [minutes * w / span for w in weights]


def _one_thread(fn: Callable, args: tuple):
    torch.set_num_threads(1)
    return fn(*args)


class Terminated(SystemExit):
    """SIGTERM arrived while members were training (exit status 128 + 15, as the signal's default would give)."""


def _raise_terminated(signum, frame):
    raise Terminated(128 + signum)


@contextmanager
def _sigterm_raises():
    """SIGTERM raises ``Terminated`` in the main thread (so joblib shuts the workers down, as for Ctrl-C) instead of
    ending this process at once and leaving them to run; a handler the program set itself is left alone."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_all(fn: Callable, calls: Sequence[tuple], jobs: int, weights: Sequence[float] | None = None,
            progress: bool = False, desc: str = "members") -> list:
    """``fn(*args)`` for every ``args`` in ``calls``, ``jobs`` at a time (in this process when ``jobs`` is 1), handed
    out heaviest ``weights`` first; the results in the order of ``calls``."""
    calls = list(calls)
    if jobs <= 1 or len(calls) <= 1:
        return [fn(*args) for args in calls]
    from joblib import Parallel, delayed

    order = lpt_order(weights if weights is not None else [1.0] * len(calls))
    run = Parallel(n_jobs=jobs, backend="loky", batch_size=1, pre_dispatch="n_jobs", return_as="generator")
    results = [None] * len(calls)
    bar = tqdm(total=len(calls), desc=f"{desc} ({jobs} at a time)", unit="member", disable=not progress)
    try:
        with _sigterm_raises():
            for k, result in zip(order, run(delayed(_one_thread)(fn, calls[k]) for k in order)):
                results[k] = result
                bar.update(1)
    finally:
        bar.close()
    return results


__all__ = ["cpu_jobs", "budgets", "makespan", "lpt_order", "run_all", "Terminated"]
