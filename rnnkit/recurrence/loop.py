"""The loop backend: runs any cell's ``step`` over time, explicitly, in Python.

    for t = 1..T:   output_t, state_t = step(xw_t, state_{t-1})

Two details make it fast enough to be a real backend and not only a teaching aid:

* The input projection ``xw = W_ih x + b_ih`` is computed for all steps *before* the loop, in one matmul (the caller does it).
* ``xw`` is split with ``unbind`` rather than indexed as ``xw[t]``: the backward of ``unbind`` is one ``stack``, while the
  backward of each ``xw[t]`` allocates and fills a full (T, B, G·H) gradient, which makes backward O(T²) (10–20× slower at
  T = 100–400 on this project's 2-core CPU).

With a step mask (variable lengths) the state is carried unchanged through padded steps and their outputs are zero.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.base import State, Step


def run_loop(step: Step, xw: Tensor | tuple[Tensor, ...], state: State, mask: Tensor | None = None
             ) -> tuple[Tensor, State]:
    """Run ``step`` over dim 0 of ``xw`` (a tensor, or a tuple of tensors stepped together).

    Returns ``(outputs, final_state)`` with ``outputs`` stacked on dim 0.
    """
    if isinstance(xw, Tensor):
        inputs = xw.unbind(0)
    else:
        inputs = list(zip(*(x.unbind(0) for x in xw)))
    outputs: list[Tensor] = []
    if mask is None:
        for xw_t in inputs:
            out, state = step(xw_t, state)
            outputs.append(out)
    else:
        for xw_t, m_t in zip(inputs, mask.unbind(0)):
            out, new_state = step(xw_t, state)
            state = tuple(torch.where(m_t, n, s) for n, s in zip(new_state, state))
            outputs.append(out * m_t)
    return torch.stack(outputs), state
