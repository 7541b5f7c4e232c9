"""A batch sampler whose order is a pure function of (seed, epoch), so a run can resume at any batch.

Each epoch's permutation is ``randperm(n)`` from a generator seeded with (seed, epoch); batch b is
``order[b·B:(b+1)·B]``. With ``lengths`` (bucketing, for variable-length text) the permutation is cut into pools of 50
batches, each pool sorted by length, and the resulting batches shuffled: batches hold sequences of similar length, so
padding (and wasted compute) is small, and the order is still a pure function of (seed, epoch). Under distributed
training, rank r of W takes ``batch[r::W]`` of every *global* batch, so W processes together see exactly the batches one
process would — the same global batch, the same gradient.

``fetch_batch`` turns a batch's indices into the batch: ``data.batch_of(indices)`` when the dataset builds whole
batches at once (array slicing instead of one Python call per example — ``rnnkit.data.windows.SeriesWindows`` does)
and the trainer collates with torch's ``default_collate``, else ``collate([data[i] for i in indices])``.

``length_batches`` is evaluation's counterpart: the indices of items sorted by length, cut into batches, so that a
long item pads only the batch of the longest ones; callers put each batch's results back at its indices.
"""

from __future__ import annotations

import torch
from torch.utils.data import default_collate


def length_batches(items, batch_size: int) -> list[list[int]]:
    """Indices of ``items`` (anything with a length) sorted by length, in batches of ``batch_size``."""
    order = sorted(range(len(items)), key=lambda i: len(items[i]))
    return [order[s:s + batch_size] for s in range(0, len(order), batch_size)]


class ResumableBatchSampler:
    def __init__(self, n: int, batch_size: int, seed: int = 0, shuffle: bool = True, rank: int = 0,
                 world_size: int = 1, lengths: list[int] | None = None, pool: int = 50) -> None:
        if n <= 0:
            raise ValueError("the training data is empty")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if batch_size % world_size:
            raise ValueError(f"the global batch_size {batch_size} must be divisible by the number of processes "
                             f"({world_size})")
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start_batch = 0, 0
        if lengths is not None and len(lengths) != n:
            raise ValueError(f"lengths has {len(lengths)} entries for {n} examples")
        self.lengths, self.pool = lengths, pool

    @property
    def batches_per_epoch(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest >= self.world_size else 0)  # a last batch too small to shard is dropped

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def order(self) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.n)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(self.n, generator=g)
        if self.lengths is None:
            return perm
        B, size = self.batch_size, self.batch_size * self.pool
        idx = perm.tolist()
        pooled = [i for s in range(0, self.n, size) for i in sorted(idx[s:s + size], key=lambda j: self.lengths[j])]
        batches = [pooled[s:s + B] for s in range(0, self.n, B)]
        full = [b for b in batches if len(b) == B]
        rest = [b for b in batches if len(b) < B]
        shuffled = [full[k] for k in torch.randperm(len(full), generator=g).tolist()] + rest
        return torch.tensor([i for b in shuffled for i in b])

    def __iter__(self):
        order = self.order()
        for b in range(self.start_batch, self.batches_per_epoch):
            batch = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield batch[self.rank::self.world_size].tolist()

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start_batch


def fetch_batch(data, indices, collate=default_collate):
    """The batch of ``indices``: its items collated, or ``data.batch_of(indices)`` — which must return what
    ``default_collate`` makes of the items — when the dataset has it and no other ``collate`` was asked for."""
    batch_of = getattr(data, "batch_of", None)
    if batch_of is not None and collate is default_collate:
        return batch_of(indices)
    return collate([data[i] for i in indices])
