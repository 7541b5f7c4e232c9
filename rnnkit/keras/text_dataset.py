"""Keras's ``utils.text_dataset_from_directory`` without TensorFlow: texts filed one folder per class
(``directory_dataset``: Keras's indexing, labels, split and reshuffling) as a ``PyDataset`` of batches — (texts,
labels), texts a NumPy array of ``str`` (Keras's hold ``tf.string``), each cut to ``max_length`` characters."""

from __future__ import annotations

import numpy as np

from rnnkit.keras.directory_dataset import FileDataset, MappedDataset, _Batches, from_directory  # noqa: F401


class TextFileDataset(FileDataset):
    """Batches of (texts, labels) read from text files."""

    def __init__(self, paths, labels, class_names, label_mode, batch_size, max_length, shuffle: bool, seed):
        super().__init__(paths, labels, class_names, label_mode, batch_size, shuffle, seed)
        self.max_length = max_length

    def load(self, i: int) -> str:
        with open(self.file_paths[i], encoding="utf-8", errors="replace") as f:
            text = f.read()
        return text[:self.max_length] if self.max_length is not None else text

    def stack(self, items: list):
        return np.array(items, dtype=object)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, format="tf", verbose=True):
    """Keras's ``text_dataset_from_directory``; ``subset="both"`` returns (training, validation). Labels given as a
    list (one per file, in the sorted walk's order) are taken as Keras takes them."""
    def make(paths, y, names, mode, shuffled, seed):
        return TextFileDataset(paths, y, names, mode, batch_size, max_length, shuffled, seed)
    return from_directory(directory, make, (".txt",), "text", labels, label_mode, class_names, shuffle, seed,
                          validation_split, subset, follow_links, verbose)


__all__ = ["text_dataset_from_directory", "TextFileDataset", "MappedDataset"]
