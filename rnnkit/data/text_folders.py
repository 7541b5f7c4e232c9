"""Texts filed by class, one folder per label — the layout of IMDB's ``aclImdb/train/{neg,pos}/*.txt``, 20 Newsgroups
and Keras's ``text_dataset_from_directory``:

    DIR/<class name>/**/<file>.txt      (each file one text; folders starting with "." skipped)

or, with no class folders, one file per class and one text per line (PyTorch's name-classification tutorial)::

    DIR/<class name>.txt

Indexed as Keras indexes it, so a seed gives Keras's order: the classes are the subfolders in sorted order (or the
given ``class_names``, in their order), each class's files those of a walk of its folder sorted by folder then by
name; with ``shuffle`` the list is permuted by ``numpy.random.RandomState(seed)``. A ``validation_split`` f keeps the
first n − ⌊f·n⌋ files for training and the last ⌊f·n⌋ for validation."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rnnkit.data.readers import TextExample, read_utf8


def text_files(folder, formats: tuple[str, ...] = (".txt",), follow_links: bool = False) -> list[Path]:
    """The files under ``folder`` with one of the ``formats``, in Keras's order: folders sorted, then names."""
    walk = sorted(os.walk(folder, followlinks=follow_links), key=lambda entry: entry[0])
    return [Path(root) / name for root, _, names in walk for name in sorted(names) if name.lower().endswith(formats)]


def index_text_folders(directory, class_names=None, formats=(".txt",), shuffle: bool = False, seed: int | None = None,
                       follow_links: bool = False) -> tuple[list[Path], np.ndarray, list[str]]:
    """(file paths, their class indices, the class names) of ``directory`` (module docstring)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such folder (expected one subfolder of files per class)")
    found = sorted(p.name for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if class_names is not None:
        if not set(class_names) <= set(found):
            raise ValueError(f"{directory}: the `class_names` passed did not match the names of the subdirectories of "
                             f"the target directory. Expected: {found} (or a subset of it), but received: "
                             f"class_names={list(class_names)}")
        found = list(class_names)
    paths, labels = [], []
    for k, name in enumerate(found):
        files = text_files(directory / name, tuple(formats), follow_links)
        paths += files
        labels += [k] * len(files)
    labels = np.asarray(labels, dtype=np.int32)
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        order = np.random.RandomState(seed).permutation(len(paths))  # as Keras's two seeded shuffles pair them
        paths, labels = [paths[i] for i in order], labels[order]
    return paths, labels, found


def split_files(paths: list, labels, validation_split: float | None, subset: str | None):
    """Keras's split: the last ⌊f·n⌋ files for "validation", the rest for "training"."""
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    if subset == "training":
        return paths[:len(paths) - n_val], labels[:len(paths) - n_val]
    if subset == "validation":
        return paths[len(paths) - n_val:], labels[len(paths) - n_val:]
    raise ValueError(f'`subset` must be either "training" or "validation", received: {subset}')


def read_class_files(directory) -> list[TextExample]:
    """One .txt file per class, one text per line — the layout of PyTorch's name-classification tutorial
    (``data/names/English.txt``, ``German.txt``, …): each non-empty line an example labelled with its file's name
    (without ``.txt``), classes in sorted order; an empty file is an error naming it."""
    out = []
    for path in sorted(Path(directory).glob("*.txt"), key=lambda p: p.name):
        lines = [(i, s.strip()) for i, s in enumerate(read_utf8(path).splitlines(), 1) if s.strip()]
        if not lines:
            raise ValueError(f"{path}: the file is empty (each class file holds one text per line)")
        out += [TextExample(text, path.stem, i) for i, text in lines]
    return out


def read_text_folders(directory) -> list[TextExample]:
    """Every text file of ``directory``'s class folders as a labelled example (its label the folder's name); an empty
    file or one that is not UTF-8 is an error naming it. A folder with no class folders but .txt files of its own is
    read as one file per class (``read_class_files``)."""
    folder = Path(directory)
    if folder.is_dir() and not any(p.is_dir() and not p.name.startswith(".") for p in folder.iterdir()) \
            and any(folder.glob("*.txt")):
        return read_class_files(folder)
    paths, labels, names = index_text_folders(directory)
    if not paths:
        raise ValueError(f"{directory}: no .txt files in its class folders ({', '.join(names) or 'none found'})")
    out = []
    for path, k in zip(paths, labels):
        text = read_utf8(path).strip()
        if not text:
            raise ValueError(f"{path}: the file is empty")
        out.append(TextExample(text, names[k], 1))
    return out


__all__ = ["index_text_folders", "split_files", "read_class_files", "read_text_folders", "text_files"]
