"""A batch sampler whose order is a pure function of (seed, epoch), so a run can resume at any batch.

Each epoch's permutation is ``randperm(n)`` from a generator seeded with (seed, epoch); batch b is
``order[b·B:(b+1)·B]``. Under distributed training, rank r of W takes ``batch[r::W]`` of every *global* batch, so W
processes together see exactly the batches one process would — the same global batch, the same gradient.
"""

from __future__ import annotations

import torch


class ResumableBatchSampler:
    def __init__(self, n: int, batch_size: int, seed: int = 0, shuffle: bool = True, rank: int = 0,
                 world_size: int = 1) -> None:
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
        return torch.randperm(self.n, generator=g)

    def __iter__(self):
        order = self.order()
        for b in range(self.start_batch, self.batches_per_epoch):
            batch = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield batch[self.rank::self.world_size].tolist()

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start_batch
