"""``Conv1DTranspose`` is Keras's: for every kernel size, stride, padding, output_padding and dilation tried, the same
output length and values as Keras's with the same weights; and keras.io's "Timeseries anomaly detection using an
Autoencoder" model (strided Conv1D down, Conv1DTranspose up) trains to Keras's weights and moves between the two
libraries' files (real Keras 3, PyTorch backend, is the reference)."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways  # noqa: E402

X = np.random.default_rng(0).standard_normal((2, 7, 3)).astype("float32")
CASES = [c for c in itertools.product([1, 2, 3, 5], [1, 2, 3], ["valid", "same"], [None, 0, 1, 2], [1, 2])
         if (c[3] is None or c[3] < c[1]) and (c[4] == 1 or c[1] == 1)]


@pytest.mark.parametrize("k,s,padding,output_padding,d", CASES)
def test_output_is_keras(k, s, padding, output_padding, d):
    kw = dict(strides=s, padding=padding, output_padding=output_padding, dilation_rate=d)
    theirs = keras.layers.Conv1DTranspose(4, k, **kw)
    want = keras.ops.convert_to_numpy(theirs(X))
    ours = rk.layers.Conv1DTranspose(4, k, **kw)
    ours(X)
    ours.set_weights(theirs.get_weights())
    got = ours(X).detach().numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5)


def autoencoder(lib, steps=32):
    L = lib.layers
    return lib.Sequential([
        L.Input(shape=(steps, 1)),
        L.Conv1D(filters=8, kernel_size=7, padding="same", strides=2, activation="relu"),
        L.Dropout(rate=0.2, seed=1),
        L.Conv1D(filters=4, kernel_size=7, padding="same", strides=2, activation="relu"),
        L.Conv1DTranspose(filters=4, kernel_size=7, padding="same", strides=2, activation="relu"),
        L.Dropout(rate=0.2, seed=2),
        L.Conv1DTranspose(filters=8, kernel_size=7, padding="same", strides=2, activation="relu"),
        L.Conv1DTranspose(filters=1, kernel_size=7, padding="same"),
    ])


def test_keras_io_anomaly_autoencoder_trains_and_saves_as_keras(tmp_path):
    t = np.arange(40 * 32, dtype="float32").reshape(40, 32, 1)
    x = np.sin(t / 5.0) + 0.1 * np.random.default_rng(1).standard_normal(t.shape).astype("float32")
    km, rm = autoencoder(keras), autoencoder(rk)
    rm.set_weights(km.get_weights())
    for m, lib in ((km, keras), (rm, rk)):
        m.compile(optimizer=lib.optimizers.Adam(learning_rate=0.001), loss="mse")
        m.fit(x, x, epochs=2, batch_size=8, validation_split=0.1, shuffle=False, verbose=0)
    for got, want in zip(rm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert_keras_files_move_both_ways(km, rm, x, tmp_path)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="output_padding"):
        rk.layers.Conv1DTranspose(4, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="padding"):
        rk.layers.Conv1DTranspose(4, 3, padding="causal")
