"""What a task exports: its models as graphs with explicit inputs and outputs (state included), described once here and
turned into ONNX by ``rnnkit.export`` — so a new task plugs into export by giving its predictor ``graphs()``.

Each graph is a module whose ``forward`` takes and returns plain tensors, in the order of ``inputs``/``outputs``; the
recurrent state is an input and an output (``h0 → h``, ``c0 → c``: (layers · directions, batch, hidden)), so a caller
streams by feeding the state back. ``dynamic`` names the axes that may change size (``batch``, ``time``) and
``sample(batch, steps, generator)`` makes valid inputs of any such size, for checking the exported graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn


@dataclass
class GraphSpec:
    name: str
    module: nn.Module
    inputs: list[str]
    outputs: list[str]
    dynamic: dict[str, dict[int, str]]
    sample: Callable[[int, int, torch.Generator], tuple[Tensor, ...]]
    description: str = ""
    notes: dict = field(default_factory=dict)


def state_names(layer) -> tuple[list[str], list[str]]:
    """(input names, output names) of a recurrent layer's state: ``h0``/``h``, and ``c0``/``c`` for LSTM-like layers."""
    n = len(layer._state_sizes())
    return ["h0", "c0"][:n], ["h", "c"][:n]


def zero_state(layer, batch: int) -> tuple[Tensor, ...]:
    return tuple(torch.zeros(layer._state_rows(), batch, size) for size in layer._state_sizes())


def random_state(layer, batch: int, g: torch.Generator) -> tuple[Tensor, ...]:
    return tuple(0.5 * torch.randn(layer._state_rows(), batch, size, generator=g) for size in layer._state_sizes())


def random_lengths(batch: int, steps: int, g: torch.Generator) -> Tensor:
    """Lengths in [1, steps], the longest exactly ``steps`` (a padded batch as a collate function makes it)."""
    lengths = torch.randint(1, steps + 1, (batch,), generator=g)
    lengths[0] = steps
    return lengths


def as_tuple(state) -> tuple[Tensor, ...]:
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


__all__ = ["GraphSpec", "state_names", "zero_state", "random_state", "random_lengths", "as_tuple"]
