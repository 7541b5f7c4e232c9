"""What the training loop runs a batch through: ``Steps`` routes the model's step methods through ``forward`` (for
DistributedDataParallel and autocast), ``detach`` cuts a carried state between TBPTT chunks, ``PRECISIONS`` maps
``train.precision`` to the autocast dtype."""

from __future__ import annotations

import torch
from torch import nn

PRECISIONS = {"32": None, "bf16": torch.bfloat16}  # train.precision → the autocast dtype of the training forward


class Steps(nn.Module):
    """Routes the model's step methods through ``forward`` so that DistributedDataParallel sees (and syncs) them; with
    a mixed precision they run under ``torch.autocast`` (backward then follows the dtypes autocast chose)."""

    def __init__(self, model: nn.Module, device_type: str, precision: str = "32") -> None:
        super().__init__()
        self.model, self.device_type, self.dtype = model, device_type, PRECISIONS[precision]

    def forward(self, kind: str, batch, state=None):
        with torch.autocast(self.device_type, dtype=self.dtype, enabled=self.dtype is not None):
            if kind == "tbptt":
                return self.model.tbptt_step(batch, state)
            return self.model.training_step(batch)


def detach(state):
    """A recurrent state (a tensor or a tuple of them) cut from the graph: truncated BPTT's chunk boundary."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()
