"""What ``fit`` / ``evaluate`` / ``predict`` take besides arrays, as Keras 3 with the PyTorch backend does: a
``torch.utils.data.DataLoader``, a ``PyDataset`` (Keras's, or ``rnnkit.keras.utils.PyDataset``: batches by index) or
a Python generator/iterator, whose batches are ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` (``x`` and
``y`` a tensor/array or a list of them, one per model input/output).

* a DataLoader is read afresh every epoch (its own batching and shuffling), ``steps_per_epoch`` of its batches or all;
  a PyDataset likewise, batch 0 to ``len - 1``, its ``on_epoch_end()`` called after each epoch;
* a generator is read on across epochs, ``steps_per_epoch`` batches each; without ``steps_per_epoch`` its batches are
  read to the end once and each epoch goes over them again (Keras would stop after the first epoch: "ran out of data");
* validation data of either kind is read once (``validation_steps`` batches, or all) and kept as arrays.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader


def is_py_dataset(x) -> bool:
    """A Keras ``PyDataset``/``Sequence`` (rnnkit's or Keras's): batches by index, with ``on_epoch_end``."""
    return hasattr(x, "__getitem__") and hasattr(x, "__len__") and callable(getattr(x, "on_epoch_end", None)) \
        and not isinstance(x, (np.ndarray, torch.Tensor, list, tuple, dict, str))


def is_stream(x) -> bool:
    """Batches to iterate (a DataLoader, PyDataset, generator or iterator), not arrays."""
    if isinstance(x, (np.ndarray, torch.Tensor, list, tuple, dict, str)) or x is None:
        return False
    return isinstance(x, (DataLoader, Iterator)) or is_py_dataset(x)


class _IndexedBatches:
    """A PyDataset read as a loader is: each pass goes over its batches by index — in a new order each pass with
    ``shuffle`` (as Keras's ``fit(shuffle=True)`` does; seeded by (seed, pass)) — and ``Batches.epoch`` then calls its
    ``on_epoch_end``."""

    def __init__(self, data, shuffle: bool = False, seed: int = 0) -> None:
        self.data, self.shuffle, self.seed, self.passes = data, shuffle, seed, 0

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self):
        order = list(range(len(self.data)))
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.passes)
            order = torch.randperm(len(order), generator=g).tolist()
        self.passes += 1
        for i in order:
            yield self.data[i]


def unpack(batch) -> tuple:
    """Keras's ``unpack_x_y_sample_weight``: (x, y or None, sample_weight or None)."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        return batch, None, None
    if len(batch) == 1:
        return batch[0], None, None
    if len(batch) == 2:
        return batch[0], batch[1], None
    if len(batch) == 3:
        return batch
    raise ValueError(f"a batch must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of {len(batch)}")


class Batches:
    """The batches of a DataLoader or generator: ``epoch()`` iterates one epoch's worth (``steps`` batches, or the
    loader's / the cached generator's all); ``first()`` a batch to build the model on, without losing it."""

    def __init__(self, source, steps: int | None = None, what: str = "x", shuffle: bool = False,
                 seed: int = 0) -> None:
        if steps is not None and steps < 1:
            raise ValueError(f"steps must be a positive number of batches, got {steps}")
        if is_py_dataset(source):
            source = _IndexedBatches(source, shuffle, seed)
        self.source, self.steps, self.what = source, steps, what
        self.cached: list | None = None
        if not self._reiterable:
            self.source = iter(source)
            if steps is None:  # a generator without a step count: read it to its end once
                self.cached = list(self.source)
                if not self.cached:
                    raise ValueError(f"{what}: the generator gave no batches")
        self._iter: Iterator | None = None

    @property
    def _reiterable(self) -> bool:
        """A source read afresh each pass (a loader or a PyDataset), not a one-pass generator."""
        return isinstance(self.source, (DataLoader, _IndexedBatches))

    def __len__(self) -> int:
        if self.steps is not None:
            return self.steps
        return len(self.cached) if self.cached is not None else len(self.source)

    def first(self):
        if self.cached is not None:
            return self.cached[0]
        if isinstance(self.source, DataLoader):
            return next(iter(self.source))
        if isinstance(self.source, _IndexedBatches):
            return self.source.data[0]
        head = next(self.source)
        self.source = itertools.chain([head], self.source)
        return head

    def _next(self):
        if self._iter is None:
            self._iter = iter(self.cached if self.cached is not None else self.source)
        try:
            return next(self._iter)
        except StopIteration:
            if self.cached is None and not self._reiterable:
                raise ValueError(f"{self.what}: the generator ran out of data after fewer batches than "
                                 f"steps_per_epoch × epochs ({self.steps} per epoch)") from None
            self._iter = iter(self.cached if self.cached is not None else self.source)
            return next(self._iter)

    def epoch(self):
        if self._reiterable and self.steps is None or self.cached is not None:
            self._iter = None  # a loader starts each epoch afresh; the cached generator's batches too
        for _ in range(len(self)):
            yield self._next()
        if isinstance(self.source, _IndexedBatches):
            self.source.data.on_epoch_end()


class BatchDataset(torch.utils.data.Dataset):
    """The engine's view of a stream: item i is the epoch's i-th whole batch (read in order: the trainer's sampler
    does not shuffle it, batch size 1), flattened by ``flat(batch)``. The engine weighs each batch's loss in the
    epoch's mean as one sample (Keras weighs it by its size: the same mean when the batches are of one size)."""

    def __init__(self, batches: Batches, flat) -> None:
        self.batches, self.flat = batches, flat
        self._epoch = None

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int):
        if i == 0 or self._epoch is None:
            self._epoch = self.batches.epoch()
        batch = next(self._epoch)
        if i == len(self) - 1:
            next(self._epoch, None)  # the epoch's end (a PyDataset's on_epoch_end)
        return self.flat(batch)

    def batch_of(self, indices: list[int]):
        """The engine's fetch (``rnnkit.train.sampler.fetch_batch``): one index, one whole batch."""
        return self[indices[0]]


__all__ = ["is_stream", "unpack", "Batches", "BatchDataset"]
