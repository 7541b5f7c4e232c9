"""rnnkit.keras.utils against real Keras's ``keras.utils``: the same arrays (values, shape, dtype) and the same errors."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

SEQS = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]


@pytest.mark.parametrize("kwargs", [{}, {"maxlen": 2},
                                    {"padding": "post", "truncating": "post", "maxlen": 4, "value": -1},
                                    {"dtype": "float32", "value": 0.5}, {"maxlen": 7, "dtype": "int64"}])
def test_pad_sequences_gives_keras_arrays(kwargs):
    ours, theirs = rk.utils.pad_sequences(SEQS, **kwargs), keras.utils.pad_sequences(SEQS, **kwargs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_pad_sequences_keeps_each_elements_shape_and_refuses_what_keras_refuses():
    vectors = [np.ones((2, 3)), np.zeros((4, 3))]
    np.testing.assert_array_equal(rk.utils.pad_sequences(vectors, dtype="float32"),
                                  keras.utils.pad_sequences(vectors, dtype="float32"))
    for bad, message in (({"padding": "middle"}, 'Padding type "middle"'), ({"truncating": "x"}, 'Truncating type "x"')):
        for utils in (keras.utils, rk.utils):
            with pytest.raises(ValueError, match=message):
                utils.pad_sequences(SEQS, **bad)
    with pytest.raises(ValueError, match="different from expected shape"):
        rk.utils.pad_sequences([np.ones((2, 3)), np.ones((2, 4))])


def test_to_categorical_gives_keras_one_hot_rows():
    for y, n in ((np.array([0, 2, 1]), None), (np.array([[1], [0]]), 3), (np.array([[0, 1], [2, 2]]), 4)):
        ours, theirs = rk.utils.to_categorical(y, n), keras.utils.to_categorical(y, n)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match=r"class ids must be in \[0, 2\)"):
        rk.utils.to_categorical([0, 3], 2)


def test_the_imdb_pattern_runs_padded_ids_into_a_masked_lstm():
    # Keras's IMDB example: pad_sequences(maxlen=…) then Embedding(mask_zero=True) → LSTM → Dense(sigmoid)
    rng = np.random.default_rng(0)
    docs = [list(rng.integers(1, 40, size=rng.integers(3, 15))) for _ in range(64)]
    x = rk.utils.pad_sequences(docs, maxlen=10)
    y = np.array([float(d[0] > 20) for d in docs])
    m = rk.Sequential([rk.layers.Embedding(40, 8, mask_zero=True), rk.layers.LSTM(8), rk.layers.Dense(1, "sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "accuracy"} and m.predict(x[:3], verbose=0).shape == (3, 1)
