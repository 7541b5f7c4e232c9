"""``keras.datasets`` offline: given a data file in the cache, ``imdb``/``reuters``/``mnist``/``fashion_mnist`` load
it as Keras 3's own ``load_data`` does (the reference: Keras's functions on the same file, its fetching pointed at
it), for Keras's arguments (``num_words``, ``skip_top``, ``maxlen``, ``start_char``, ``oov_char=None``,
``index_from``, ``test_split``, seeds); a missing file is refused with where to put it; a file whose pickled arrays
hold anything else is refused."""

from __future__ import annotations

import gzip
import io
import os
import pickle

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras.src.datasets import fashion_mnist as k_fashion  # noqa: E402
from keras.src.datasets import imdb as k_imdb  # noqa: E402
from keras.src.datasets import mnist as k_mnist  # noqa: E402
from keras.src.datasets import reuters as k_reuters  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from rnnkit.keras.datasets import _files  # noqa: E402

RNG = np.random.default_rng(0)


def ragged(n: int, vocab: int = 60) -> np.ndarray:
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = [int(v) for v in RNG.integers(1, vocab, int(RNG.integers(3, 30)))]  # (Python ints, as Keras's)
    return out


@pytest.fixture()
def files(tmp_path, monkeypatch):
    """Keras-shaped data files in a folder both libraries' fetching is pointed at (hash checks off: not Keras's data)."""
    folder = tmp_path / "cache"
    folder.mkdir()
    np.savez(folder / "imdb.npz", x_train=ragged(40), y_train=RNG.integers(0, 2, 40), x_test=ragged(30),
             y_test=RNG.integers(0, 2, 30))
    np.savez(folder / "reuters.npz", x=ragged(50), y=RNG.integers(0, 46, 50))
    np.savez(folder / "mnist.npz", x_train=RNG.integers(0, 255, (6, 28, 28), dtype=np.uint8),
             y_train=RNG.integers(0, 10, 6, dtype=np.uint8), x_test=RNG.integers(0, 255, (4, 28, 28), dtype=np.uint8),
             y_test=RNG.integers(0, 10, 4, dtype=np.uint8))
    for name, payload in (("train-labels-idx1-ubyte.gz", b"\0" * 8 + bytes(range(5))),
                          ("train-images-idx3-ubyte.gz", b"\0" * 16 + bytes(5 * 784)),
                          ("t10k-labels-idx1-ubyte.gz", b"\0" * 8 + bytes(range(3))),
                          ("t10k-images-idx3-ubyte.gz", b"\0" * 16 + bytes(range(256)) * 9 + bytes(3 * 784 - 2304))):
        with gzip.open(folder / name, "wb") as f:
            f.write(payload)

    def found(fname=None, origin=None, **kwargs):
        return str(folder / (fname or os.path.basename(origin)))
    for module in (k_imdb, k_reuters, k_mnist, k_fashion, _files, rk.datasets.fashion_mnist):
        monkeypatch.setattr(module, "get_file", found)
    return folder


@pytest.mark.parametrize("kwargs", [{}, {"num_words": 20, "skip_top": 4}, {"maxlen": 15, "seed": 7},
                                    {"oov_char": None, "num_words": 30}, {"start_char": None, "index_from": 0}])
def test_imdb_and_reuters_are_keras(files, kwargs):
    for ours, theirs, extra in ((rk.datasets.imdb, k_imdb, {}), (rk.datasets.reuters, k_reuters,
                                                                 {"test_split": 0.3})):
        got, want = ours.load_data(**kwargs, **extra), theirs.load_data(**kwargs, **extra)
        for (gx, gy), (wx, wy) in zip(got, want):
            assert [list(x) for x in gx] == [list(x) for x in wx] and gy.tolist() == wy.tolist()
            assert gx.dtype == object


def test_image_sets_are_keras(files):
    for ours, theirs in ((rk.datasets.mnist, k_mnist), (rk.datasets.fashion_mnist, k_fashion)):
        for (gx, gy), (wx, wy) in zip(ours.load_data(), theirs.load_data()):
            np.testing.assert_array_equal(gx, wx)
            np.testing.assert_array_equal(gy, wy)
            assert gx.dtype == np.uint8 and gx.shape[1:] == (28, 28)


def test_a_missing_file_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    with pytest.raises(RuntimeError, match="downloads nothing.*imdb.npz"):
        rk.datasets.imdb.load_data()


def test_a_file_pickling_anything_but_arrays_is_refused(tmp_path):
    class Sneaky:
        def __reduce__(self):
            return (os.system, ("echo unsafe",))
    payload = io.BytesIO()
    np.lib.format.write_array_header_1_0(payload, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    pickle.dump(np.array([Sneaky()], dtype=object), payload)
    import zipfile
    with zipfile.ZipFile(tmp_path / "bad.npz", "w") as z:
        z.writestr("x.npy", payload.getvalue())
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        _files.load_npz(str(tmp_path / "bad.npz"))
