"""What Keras's ``*_dataset_from_directory`` functions share, without TensorFlow: files filed one folder per class
(``rnnkit.data.text_folders``' indexing, Keras's order) read as a ``PyDataset`` of batches that ``fit``,
``evaluate`` and ``predict`` take — (inputs, labels), labels as ``label_mode`` says:

    "int"          the class index, int32 (batch,)
    "categorical"  one-hot float32 (batch, classes)
    "binary"       0./1. float32 (batch, 1) — two classes
    None           the inputs alone

With ``shuffle`` (the default) the files are permuted once by the seed, as Keras's are (so ``validation_split`` with
the same seed gives Keras's training and validation files), and the training batches are reshuffled after every
epoch. ``class_names`` and ``file_paths`` are kept on the dataset. What a file holds and how a batch of them is
stacked is the kind's own (``text_dataset``, ``audio_dataset``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data.text_folders import index_text_folders, split_files, text_files
from rnnkit.keras.io_utils import print_msg
from rnnkit.keras.utils import PyDataset


class _Batches(PyDataset):
    """tf.data's habits on a dataset of batches: iteration, ``take(n)`` (the first n) and ``map(fn)``."""

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def take(self, count: int):
        """The first ``count`` batches (tf.data's ``take``)."""
        return (self[i] for i in range(min(count, len(self))))

    def map(self, fn):
        """tf.data's ``map``: ``fn`` applied to each batch, its parts as arguments (``lambda x, y: x`` keeps the
        inputs — to ``adapt`` a TextVectorization on; ``lambda x, y: (vectorize(x), y)``)."""
        return MappedDataset(self, fn)


class FileDataset(_Batches):
    """Batches of (inputs, labels) read from files: ``load(i)`` reads file i, ``stack(items)`` makes a batch."""

    def __init__(self, paths, labels, class_names, label_mode, batch_size, shuffle: bool, seed):
        super().__init__()
        self.file_paths = [str(p) for p in paths]
        self.labels, self.class_names, self.label_mode = labels, class_names, label_mode
        self.batch_size = batch_size or len(self.file_paths)
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(self.file_paths))

    def load(self, i: int):
        raise NotImplementedError

    def stack(self, items: list):
        raise NotImplementedError

    def __len__(self) -> int:
        return -(-len(self.file_paths) // self.batch_size)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        rows = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        inputs = self.stack([self.load(i) for i in rows])
        if self.label_mode is None:
            return inputs
        y = self.labels[rows]
        if self.label_mode == "categorical":
            y = np.eye(len(self.class_names), dtype=np.float32)[y]
        elif self.label_mode == "binary":
            y = y.astype(np.float32).reshape(-1, 1)
        return inputs, y

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._order = self._rng.permutation(len(self.file_paths))


class MappedDataset(_Batches):
    """A dataset's batches through ``fn`` (``_Batches.map``)."""

    def __init__(self, base, fn):
        super().__init__()
        self.base, self.fn = base, fn
        self.class_names, self.file_paths = getattr(base, "class_names", None), getattr(base, "file_paths", None)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int):
        batch = self.base[index]
        return self.fn(*batch) if isinstance(batch, tuple) else self.fn(batch)

    def on_epoch_end(self) -> None:
        self.base.on_epoch_end()


def from_directory(directory, make, formats: tuple[str, ...], what: str, labels="inferred", label_mode="int",
                   class_names=None, shuffle=True, seed=None, validation_split=None, subset=None, follow_links=False,
                   verbose=True):
    """Keras's checks, indexing and split for files of ``formats`` ("text", "audio": ``what``); ``make(paths, labels,
    class_names, label_mode, shuffled, seed)`` builds a dataset. ``subset="both"``: (training, validation)."""
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError(f"`labels` argument should be a list/tuple of integer labels, of the same size as the number "
                         f"of {what} files in the target directory. If you wish to infer the labels from the "
                         'subdirectory names in the target directory, pass `labels="inferred"`. If you wish to get '
                         f"a dataset that only contains {what} samples (no labels), pass `labels=None`. Received: "
                         f"labels={labels}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f'`label_mode` argument must be one of "int", "categorical", "binary", or None. Received: '
                         f"label_mode={label_mode}")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if bool(validation_split) != bool(subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a `seed` argument, to "
                         "make sure that there is no overlap between the training and validation subset.")
    if labels is None or label_mode is None:
        labels = label_mode = None
    seed = np.random.randint(1e6) if seed is None else seed
    if labels == "inferred":
        paths, found, names = index_text_folders(directory, class_names, formats, shuffle=shuffle, seed=seed,
                                                 follow_links=follow_links)
    else:  # no labels, or one per file: every file of the formats under the folder, in the sorted walk's order
        if class_names is not None:
            raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be specified." if labels is
                             None else "When argument `labels` is specified, argument `class_names` cannot be "
                             "specified (the `class_names` will be the sorted list of labels).")
        if not Path(directory).is_dir():
            raise FileNotFoundError(f"{directory}: no such folder")
        paths = text_files(directory, formats, follow_links)
        found, names = None, None
        if labels is not None:
            if len(labels) != len(paths):
                raise ValueError(f"Expected the lengths of `labels` to match the number of files in the target "
                                 f"directory. len(labels) is {len(labels)} while we found {len(paths)} files in "
                                 f"directory {directory}.")
            found, names = np.asarray(labels, dtype=np.int32), [str(v) for v in sorted(set(labels))]
        if shuffle:
            order = np.random.RandomState(seed).permutation(len(paths))
            paths = [paths[i] for i in order]
            found = None if found is None else found[order]
    if verbose:
        print_msg(f"Found {len(paths)} files." if labels is None else
                  f"Found {len(paths)} files belonging to {len(names)} classes.")
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 class_names. Received: '
                         f"class_names={names}")

    def dataset(part: str | None, shuffled: bool):
        p, y = split_files(paths, found if found is not None else np.zeros(len(paths), np.int32), validation_split,
                           part)
        if validation_split and verbose:
            print_msg(f"Using {len(p)} files for {part}.")
        if not p:
            raise ValueError(f"No {part + ' ' if part else ''}{what} files found in directory {directory}. Allowed "
                             f"format(s): {', '.join(formats)}")
        return make(p, y, names, label_mode, shuffled, seed)

    if subset == "both":
        return dataset("training", shuffle), dataset("validation", False)
    return dataset(subset, shuffle)


__all__ = ["FileDataset", "MappedDataset", "from_directory"]
