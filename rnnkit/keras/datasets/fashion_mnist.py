"""``keras.datasets.fashion_mnist``: 60,000 + 10,000 clothing images, uint8 (28, 28), from the four IDX files in
Keras's cache (``datasets/fashion-mnist``)."""

from __future__ import annotations

import gzip
import os

import numpy as np

from rnnkit.keras.datasets._files import ORIGIN
from rnnkit.keras.get_file import get_file

FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz")


def _read(path: str, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_data():
    paths = [get_file(name, origin=ORIGIN + name, cache_subdir=os.path.join("datasets", "fashion-mnist"))
             for name in FILES]
    y_train, y_test = _read(paths[0], 8), _read(paths[2], 8)
    x_train = _read(paths[1], 16).reshape(len(y_train), 28, 28)
    x_test = _read(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)


__all__ = ["load_data"]
