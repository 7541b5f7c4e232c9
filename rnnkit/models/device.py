"""Where a model lives, so code that feeds it (evaluation, decoding, prediction) sends its inputs there."""

from __future__ import annotations

import torch
from torch import nn


def device_of(module: nn.Module) -> torch.device:
    """The device of ``module``'s first parameter (the CPU for a module without any)."""
    p = next(module.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def to_device_of(module: nn.Module, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``tensors`` moved to ``module``'s device (no copy when they are there already)."""
    device = device_of(module)
    return tuple(t.to(device) for t in tensors)
