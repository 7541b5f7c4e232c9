"""What ``fit`` / ``evaluate`` / ``predict`` take besides arrays, as Keras 3 with the PyTorch backend does: a
``torch.utils.data.DataLoader``, a ``PyDataset`` (Keras's, or ``rnnkit.keras.utils.PyDataset``: batches by index) or
a Python generator/iterator, whose batches are ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)`` (``x`` and
``y`` a tensor/array or a list of them, one per model input/output).

* a DataLoader is read afresh every epoch (its own batching and shuffling); a PyDataset likewise, batch 0 to
  ``len - 1``, its ``on_epoch_end()`` called after each epoch. With ``steps_per_epoch`` (Keras's iterator): an epoch
  takes that many batches and the next goes on where it stopped; an epoch that reaches the end of a pass stops there
  (Keras's "ran out of data" warning when that is before ``steps_per_epoch``) and the next begins a new pass. Arrays
  given with ``steps_per_epoch`` are read the same way (``ArrayBatches``);
* a generator is read on across epochs, ``steps_per_epoch`` batches each; without ``steps_per_epoch`` its batches are
  read to the end once and each epoch goes over them again (Keras would stop after the first epoch: "ran out of data");
* validation data of either kind is read once (``validation_steps`` batches, or all) and kept as arrays.
"""

from __future__ import annotations

import itertools
import warnings
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


class ArrayBatches:
    """Arrays (xs, ys, w: the inputs, targets and sample weights as tensors) read as a loader: ``batch_size`` slices,
    in a new order each pass with ``shuffle`` (seeded by (seed, pass)); a batch is (xs, ys, w)."""

    def __init__(self, xs, ys, w, batch_size: int, shuffle: bool = True, seed: int = 0) -> None:
        self.xs, self.ys, self.w, self.batch_size = xs, ys, w, batch_size
        self.shuffle, self.seed, self.passes = bool(shuffle), seed, 0

    def __len__(self) -> int:
        return -(-len(self.w) // self.batch_size)

    def __iter__(self):
        n, bs = len(self.w), self.batch_size
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed * 100_003 + self.passes)) \
            if self.shuffle else None
        self.passes += 1

        def take(t, s):  # (a string input stays a NumPy array)
            if order is None:
                return t[s:s + bs]
            idx = order[s:s + bs]
            return t[idx.numpy()] if isinstance(t, np.ndarray) else t[idx]
        for s in range(0, n, bs):
            yield [take(t, s) for t in self.xs], [take(t, s) for t in self.ys], take(self.w, s)


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
        self._left = 0  # the batches left in the current pass of a source of known length (0: begin a new one)

    @property
    def _reiterable(self) -> bool:
        """A source read afresh each pass (a loader, a PyDataset or arrays), not a one-pass generator."""
        return isinstance(self.source, (DataLoader, _IndexedBatches, ArrayBatches))

    def _pass_length(self) -> int | None:
        """The batches in one pass of the source, where that is known."""
        if self.cached is not None:
            return len(self.cached)
        try:
            return len(self.source) if self._reiterable else None
        except TypeError:  # a DataLoader over an IterableDataset: no length
            return None

    def __len__(self) -> int:
        """The batches of the epoch under way, or of the next one."""
        total = self._pass_length()
        if self.steps is None or total is None:
            return total if self.steps is None else self.steps
        return min(self.steps, self._left or total)

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
        n, total = len(self), self._pass_length()
        if total is not None and (self.steps is None or not self._left):
            self._iter, self._left = None, total  # a new pass: every epoch without steps, else where the last ended
        for _ in range(n):
            yield self._next()
        if total is not None:
            self._left -= n
            if self.steps is not None and n < self.steps:
                warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or "
                              "generator can generate at least `steps_per_epoch * epochs` batches.", stacklevel=2)
        if isinstance(self.source, _IndexedBatches):
            self.source.data.on_epoch_end()


class BatchDataset(torch.utils.data.Dataset):
    """The engine's view of a stream: item i is the epoch's i-th whole batch (read in order: the trainer's sampler
    does not shuffle it, batch size 1), flattened by ``flat(batch)``. The engine weighs each batch in the epoch's
    means by its size, as Keras (the model's ``batch_samples``)."""

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


__all__ = ["is_stream", "unpack", "Batches", "BatchDataset", "ArrayBatches"]
