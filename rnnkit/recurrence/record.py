"""Recording every step's hidden state, so that ∂L/∂h_t can be read for every t (the diagnostics use this).

Inside ``with record_steps() as rec:`` every rnnkit layer runs on the plain loop (no fused kernel, no deferred weight
gradients: both hide the per-step tensors) and appends each step's hidden state tensor — the very tensor the next step
reads — to ``rec.series[(layer, label)]``. ``torch.autograd.grad(loss, tensors)`` then gives the *total* gradient reaching
each h_t: through the output at t and through every later step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import Tensor


class StepRecorder:
    def __init__(self) -> None:
        self.series: dict[tuple[object, str], list[Tensor]] = {}
        self.reversed: set[tuple[object, str]] = set()

    def add(self, layer: object, label: str, tensor: Tensor, reverse: bool = False) -> None:
        key = (layer, label)
        self.series.setdefault(key, []).append(tensor)
        if reverse:
            self.reversed.add(key)


_ACTIVE: list[StepRecorder] = []


@contextmanager
def record_steps() -> Iterator[StepRecorder]:
    rec = StepRecorder()
    _ACTIVE.append(rec)
    try:
        yield rec
    finally:
        _ACTIVE.remove(rec)


def active_recorder() -> StepRecorder | None:
    return _ACTIVE[-1] if _ACTIVE else None
