"""``keras.utils``' data helpers that recurrent models' code calls: ``pad_sequences`` (lists of token ids of any length
→ one array, for an ``Embedding(mask_zero=True)``), ``to_categorical`` (class ids → one-hot rows), ``PyDataset``
(``Sequence``: batches by index, for data that does not fit in memory), ``timeseries_dataset_from_array`` (windows of
a series and their targets, as a PyDataset) and ``set_random_seed``."""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.keras.backend import clear_session  # noqa: F401 (keras.utils.clear_session)
from rnnkit.keras.data_adapters import unpack as unpack_x_y_sample_weight  # Keras's (x, y, sample_weight) of a batch
from rnnkit.keras.layers.serialize import (  # noqa: F401 (keras.utils' names for the same)
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)


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


def normalize(x, axis: int = -1, order: int = 2):
    """``keras.utils.normalize``: ``x`` divided by its ``order``-norm along ``axis`` (a zero norm leaves zeros)."""
    if isinstance(x, torch.Tensor):
        norm = torch.linalg.vector_norm(x, ord=order, dim=axis, keepdim=True)
        return x / torch.where(norm == 0, torch.ones_like(norm), norm)
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """``keras.utils.pack_x_y_sample_weight``: the batch tuple a ``train_step`` unpacks (``(x,)`` when alone)."""
    if y is None:  # a lone x is not wrapped (as Keras: no ambiguity), a tuple or list of inputs is
        return x if not isinstance(x, (list, tuple)) else (x,)
    return (x, y) if sample_weight is None else (x, y, sample_weight)


__all__ = ["pad_sequences", "to_categorical", "normalize", "pack_x_y_sample_weight", "unpack_x_y_sample_weight"]


def __getattr__(name: str):
    if name == "Config":
        from rnnkit.keras.config_object import Config
        return Config
    if name == "audio_dataset_from_directory":  # (audio_dataset.py builds on PyDataset, defined here)
        from rnnkit.keras.audio_dataset import audio_dataset_from_directory
        return audio_dataset_from_directory
    if name == "get_file":  # (offline: the cache, a local path or a file:// URL)
        from rnnkit.keras.get_file import get_file
        return get_file
    if name == "split_dataset":
        from rnnkit.keras.split_dataset import split_dataset
        return split_dataset
    if name == "Progbar":  # keras.utils.Progbar (imported when asked for: progbar.py builds on the callbacks)
        from rnnkit.keras.progbar import Progbar

        return Progbar
    if name == "text_dataset_from_directory":  # (text_dataset.py builds on PyDataset, defined here)
        from rnnkit.keras.text_dataset import text_dataset_from_directory

        return text_dataset_from_directory
    if name in ("disable_interactive_logging", "enable_interactive_logging", "is_interactive_logging_enabled"):
        from rnnkit.keras import io_utils

        return getattr(io_utils, name)
    if name in ("serialize_keras_object", "deserialize_keras_object", "is_keras_tensor", "get_source_inputs",
                "standardize_dtype"):
        from rnnkit.keras import keras_objects

        return getattr(keras_objects, name)
    if name in ("plot_model", "model_to_dot"):  # (drawing needs pydot; imported when asked for)
        from rnnkit.keras import plot_model

        return getattr(plot_model, name)
    from rnnkit.keras.not_provided import missing

    raise missing("utils", name)  # (a Keras name rnnkit.keras does not provide says why)


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


def set_random_seed(seed: int) -> None:
    """Keras's ``utils.set_random_seed``: Python's, NumPy's and torch's generators seeded at once (a run repeats)."""
    import random

    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed} (of type {type(seed)})")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class TimeseriesDataset(PyDataset):
    """What ``timeseries_dataset_from_array`` returns: a ``PyDataset`` of batches of windows (and their targets), as
    torch tensors (``.numpy()``, ``.shape`` as tf's) — ``fit``/``evaluate``/``predict`` take it, ``for x, y in
    dataset`` iterates it, ``take(n)`` gives its first batches, ``len`` counts them.

    Window j starts at data index p_j = start_index + j · sequence_stride and holds data[p_j + k · sampling_rate] for
    k < sequence_length; its target is targets[p_j] (the caller aligns targets with window starts, as in Keras)."""

    def __init__(self, data, targets, sequence_length: int, sequence_stride: int = 1, sampling_rate: int = 1,
                 batch_size: int | None = 128, shuffle: bool = False, seed: int | None = None,
                 start_index: int | None = None, end_index: int | None = None) -> None:
        super().__init__()
        n = len(data)
        for name, value in (("sequence_stride", sequence_stride), ("sampling_rate", sampling_rate)):
            if value <= 0:
                raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
            if value >= n:
                raise ValueError(f"`{name}` must be lower than the length of the data. Received: {name}={value}, "
                                 f"for data of length {n}")
        if start_index and not 0 <= start_index < n:
            raise ValueError(f"`start_index` must be 0 or greater and lower than the length of the data. Received: "
                             f"start_index={start_index}, for data of length {n}")
        if end_index and not (0 < end_index < n and (not start_index or end_index > start_index)):
            raise ValueError(f"`end_index` must be higher than 0 and `start_index`, and lower than the length of the "
                             f"data. Received: start_index={start_index}, end_index={end_index}, for data of "
                             f"length {n}")
        start, end = start_index or 0, end_index or n
        count = end - start - (sequence_length - 1) * sampling_rate
        if targets is not None:
            count = min(count, len(targets))
        self.positions = np.arange(0, max(count, 0), sequence_stride)
        self.shuffle, self.rng = shuffle, np.random.RandomState(np.random.randint(1e6) if seed is None else seed)
        if shuffle:
            self.rng.shuffle(self.positions)
        self.data = np.asarray(data)[start:end]
        self.targets = None if targets is None else np.asarray(targets)[start:]
        self.offsets = np.arange(0, sequence_length * sampling_rate, sampling_rate)
        self.batch_size = batch_size

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.positions)
        return -(-len(self.positions) // self.batch_size)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of a dataset of {len(self)}")
        single = self.batch_size is None
        at = self.positions[index:index + 1] if single else \
            self.positions[index * self.batch_size:(index + 1) * self.batch_size]
        x = torch.from_numpy(self.data[at[:, None] + self.offsets])
        if self.targets is None:
            return x[0] if single else x
        y = torch.from_numpy(np.asarray(self.targets[at]))
        return (x[0], y[0]) if single else (x, y)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def take(self, count: int) -> list:
        """The first ``count`` batches (``tf.data``'s ``take``, which Keras's examples call on these datasets)."""
        return [self[i] for i in range(min(count, len(self)))]

    def on_epoch_end(self) -> None:
        if self.shuffle:  # a new order of the windows for the next epoch (tf.data reshuffles each one)
            self.rng.shuffle(self.positions)


def timeseries_dataset_from_array(data, targets, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None) -> TimeseriesDataset:
    """Keras's ``utils.timeseries_dataset_from_array`` — the same windows, targets, batches and order (shuffled by
    NumPy's RandomState(seed) as Keras's) — as a ``PyDataset`` instead of a ``tf.data.Dataset`` (rnnkit needs no
    TensorFlow; Keras's own needs it, or grain)."""
    return TimeseriesDataset(data, targets, sequence_length, sequence_stride, sampling_rate, batch_size, shuffle, seed,
                             start_index, end_index)

