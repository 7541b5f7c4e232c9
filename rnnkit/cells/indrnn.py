"""The independently recurrent neural network (IndRNN; Li et al. 2018): each unit sees only its own past.

    h_t = σ(W_ih x_t + b_ih + u ⊙ h_{t−1} + b_hh)

``u`` (H,) is a vector — the recurrent matrix is diagonal — so units do not mix in time (layers mix them), the
gradient through T steps is ``Π_t u ⊙ σ'(·)`` per unit, and the paper keeps it from vanishing or exploding by
bounding ``|u|`` (``recurrent_max``; with ReLU, ``|u| ≤ 2^{1/T}`` keeps a unit's memory for T steps).
σ is ReLU (the paper's choice, and the default) or tanh. In rnnkit the layer stores ``u`` as ``weight_hh_l{k}``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.cells.base import MatMul, State, Step, matmul

NONLINEARITIES = {"relu": torch.relu, "tanh": torch.tanh}


def indrnn_step(recurrent: Tensor, nonlinearity: str = "relu", mm: MatMul = matmul) -> Step:
    """Bind ``u`` and return ``step(xw_t, (h_{t−1},)) -> (h_t, (h_t,))``; ``xw_t = W_ih x_t + b_ih + b_hh``."""
    act = NONLINEARITIES[nonlinearity]

    def step(xw_t: Tensor, state: State) -> tuple[Tensor, State]:
        (h_prev,) = state
        h_t = act(torch.addcmul(xw_t, recurrent, h_prev))
        return h_t, (h_t,)

    return step
