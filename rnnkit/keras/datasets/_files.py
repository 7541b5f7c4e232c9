"""Keras's data files, found through ``utils.get_file`` (offline), and read safely: numeric arrays with pickling off,
ragged (object) arrays with an unpickler that rebuilds NumPy arrays and nothing else — never ``allow_pickle=True``."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np

from rnnkit.keras.get_file import get_file

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_NUMPY_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy", "ndarray"), ("numpy", "dtype")}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data set file: it holds something other "
                                     "than arrays (corrupted or not Keras's file)")


def _read_member(raw: bytes) -> np.ndarray:
    buffer = io.BytesIO(raw)
    try:
        return np.lib.format.read_array(buffer, allow_pickle=False)
    except ValueError:  # an object array: its header, then a pickle stream of arrays and lists
        buffer.seek(0)
        major, _ = np.lib.format.read_magic(buffer)
        (np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0)(buffer)
        return _ArraysOnly(buffer).load()


def fetch(fname: str, file_hash: str, origin_name: str | None = None) -> str:
    """The cached file's path (checked against Keras's hash)."""
    return get_file(fname=fname, origin=ORIGIN + (origin_name or fname), file_hash=file_hash)


def load_npz(path: str) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        return {name[:-4]: _read_member(archive.read(name)) for name in archive.namelist() if name.endswith(".npy")}


def load_json(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def shift_and_filter(xs, labels, start_char, index_from, maxlen):
    """Keras's first step on word-id sequences: ids shifted by ``index_from`` (``start_char`` put first), then the
    sequences of ``maxlen`` words or more dropped (with their labels)."""
    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    else:
        xs = [[w + (index_from or 0) for w in x] for x in xs]
    if maxlen:
        kept = [i for i, x in enumerate(xs) if len(x) < maxlen]
        xs, labels = [xs[i] for i in kept], labels[kept]
    return xs, labels


def limit_vocabulary(xs, skip_top, num_words, oov_char):
    """Ids outside [skip_top, num_words) replaced by ``oov_char``, or dropped without one; ``num_words`` None: the
    largest id (nothing replaced above)."""
    num_words = num_words or max(max(x) for x in xs)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def shuffled(seed, *arrays_pairs):
    """Keras's seeded shuffles: one RandomState, each (x, y) pair permuted in turn."""
    rng = np.random.RandomState(seed)
    out = []
    for x, y in arrays_pairs:
        order = np.arange(len(x))
        rng.shuffle(order)
        out.append((x[order], y[order]))
    return out
