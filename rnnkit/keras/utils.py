"""``keras.utils``' data helpers that recurrent models' code calls: ``pad_sequences`` (lists of token ids of any length
→ one array, for an ``Embedding(mask_zero=True)``), ``to_categorical`` (class ids → one-hot rows) and ``PyDataset``
(``Sequence``: batches by index, for data that does not fit in memory)."""

from __future__ import annotations

import numpy as np


def pad_sequences(sequences, maxlen: int | None = None, dtype="int32", padding: str = "pre", truncating: str = "pre",
                  value=0.0) -> np.ndarray:
    """(num_samples, maxlen[, …]): each sequence cut to ``maxlen`` (its first values dropped with ``truncating="pre"``,
    its last with ``"post"``) and filled with ``value`` before it (``padding="pre"``) or after it (``"post"``);
    ``maxlen`` defaults to the longest sequence. Elements may be arrays of one shape (that shape is kept)."""
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    lengths, sample_shape = [], ()
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__"):
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {s!r} (sequence {i})")
        lengths.append(len(s))
        if len(s) and not sample_shape:
            sample_shape = np.asarray(s).shape[1:]
    maxlen = max(lengths, default=0) if maxlen is None else int(maxlen)
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.object_)
    if isinstance(value, str) and dtype is not object and not is_text:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\nYou should set "
                         "`dtype=object` for variable length strings.")
    out = np.full((len(lengths), maxlen, *sample_shape), value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s) or not maxlen:
            continue
        kept = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {kept.shape[1:]} of sequence at position {i} is different from "
                             f"expected shape {sample_shape}")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, -len(kept):] = kept
    return out


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """One-hot rows (float64) for the class ids x: shape x.shape + (num_classes,), a trailing axis of size 1 in x
    dropped first (as Keras does); ``num_classes`` defaults to the largest id + 1."""
    x = np.asarray(x, dtype="int64")
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x.reshape(x.shape[:-1])
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise ValueError(f"to_categorical: class ids must be in [0, {num_classes}); got {x.min()}..{x.max()}")
    return np.eye(num_classes)[x.reshape(-1)].reshape(*x.shape, num_classes)  # float64, as Keras returns it


__all__ = ["pad_sequences", "to_categorical"]


class PyDataset:
    """Keras 3's ``PyDataset``: subclass it with ``__len__`` (batches per epoch) and ``__getitem__(index)`` returning a
    batch — ``x``, ``(x, y)`` or ``(x, y, sample_weight)`` — and pass it to ``fit``/``evaluate``/``predict``;
    ``on_epoch_end`` runs after each epoch (e.g. to reshuffle). ``workers``/``use_multiprocessing``/``max_queue_size``
    are accepted; batches are read in the training process, one at a time."""

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10) -> None:
        self.workers, self.use_multiprocessing, self.max_queue_size = workers, use_multiprocessing, max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def on_epoch_end(self) -> None:
        pass


Sequence = PyDataset  # Keras 2's name
