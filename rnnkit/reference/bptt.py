"""Forward over time and backpropagation through time for one layer-direction, any cell.

Forward:  state_t = step(x_t, state_{t-1}),  output_t = state_t[0]
BPTT:     for t = T … 1:   δstate_t[0] += δoutput_t            (the loss at t, plus what step t+1 sent back)
                           δx_t, δstate_{t-1} = step_backward(cache_t, δstate_t)
The gradient of each weight is the sum over time of its per-step contributions (``add_grad`` inside the step backward).
``dh[t]`` — the total ∂L/∂h_t — is recorded: its norm over t is the vanishing/exploding-gradient picture.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnkit.reference.common import Array


def forward_through_time(step: Callable, x: Array, state: tuple[Array, ...]):
    """x: (T, B, I). Returns outputs (T, B, H_out), final state, per-step caches."""
    outputs, caches = [], []
    for t in range(x.shape[0]):
        out, state, cache = step(x[t], state)
        outputs.append(out)
        caches.append(cache)
    return np.stack(outputs), state, caches


def backward_through_time(step_backward: Callable, caches: list, d_outputs: Array, d_final: tuple[Array, ...],
                          input_size: int):
    """Returns (δx (T, B, I), δstate_0, dh (T, B, H_out): total ∂L/∂h_t at every step)."""
    T = len(caches)
    d_state = tuple(d_final)
    dx = np.zeros((T, d_outputs.shape[1], input_size))
    dh = np.zeros_like(d_outputs)
    for t in reversed(range(T)):
        d_state = (d_state[0] + d_outputs[t],) + d_state[1:]
        dh[t] = d_state[0]
        dx[t], d_state = step_backward(caches[t], d_state)
    return dx, d_state, dh
