"""Variable-length batches: right-padded sequences described by their lengths.

A batch ``x`` of shape (T, B, ...) holds sequence b in ``x[:lengths[b], b]``; the rest is padding. Two tools make any
backend honour that:

* ``step_mask(lengths, T)``: a (T, B, 1) boolean mask, True where a step is real. The loop keeps the state unchanged and
  writes zeros on padded steps, so the final state is the state at each sequence's true end — the same as packing.
* ``reverse_padded(x, lengths)``: reverses each sequence within its own length (padding stays at the end), which is what the
  backward direction of a bidirectional layer must read. Applying it twice gives ``x`` back.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def as_lengths(lengths: Tensor | Sequence[int], batch: int, steps: int) -> Tensor:
    """Check and convert ``lengths`` to a 1-D int64 CPU tensor; raise ``ValueError`` naming what is wrong.

    While ``torch.export`` traces a model the values are symbolic: then only the dtype is made int64 (the exported graph
    takes the lengths as given, like ONNX's ``sequence_lens``)."""
    if isinstance(lengths, Tensor) and torch.compiler.is_exporting():
        return lengths.to(torch.int64)
    if isinstance(lengths, Tensor):
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(f"lengths must hold integers, got dtype {lengths.dtype}")
        t = lengths.detach().to("cpu", torch.int64)
    else:
        try:
            t = torch.as_tensor(list(lengths), dtype=torch.int64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"lengths must be a 1-D sequence of integers, got {lengths!r}") from e
    if t.dim() != 1:
        raise ValueError(f"lengths must be 1-D (one length per sequence), got shape {tuple(t.shape)}")
    if t.numel() != batch:
        raise ValueError(f"lengths has {t.numel()} entries but the batch has {batch} sequences")
    if batch and int(t.min()) < 1:
        bad = int(torch.nonzero(t < 1)[0])
        raise ValueError(f"lengths[{bad}] = {int(t[bad])}: every sequence must have at least one step")
    if batch and int(t.max()) > steps:
        bad = int(torch.nonzero(t > steps)[0])
        raise ValueError(f"lengths[{bad}] = {int(t[bad])} is longer than the padded sequence ({steps} steps)")
    return t


def step_mask(lengths: Tensor, steps: int, device=None) -> Tensor:
    """(T, B, 1) bool: ``mask[t, b] = t < lengths[b]``."""
    t = torch.arange(steps, device=device).unsqueeze(1)
    return (t < lengths.to(device).unsqueeze(0)).unsqueeze(-1)


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse the time axis (dim 0) of each sequence within its length; padding stays where it is."""
    if lengths is None:
        return x.flip(0)
    T, B = x.shape[0], x.shape[1]
    t = torch.arange(T).unsqueeze(1)  # (T, 1)
    L = lengths.unsqueeze(0)  # (1, B)
    index = torch.where(t < L, L - 1 - t, t).to(x.device)  # (T, B)
    index = index.view(T, B, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)
