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


def test_timeseries_windows_are_those_of_keras_documented_examples():
    """keras.utils.timeseries_dataset_from_array's docstring examples (Keras's own needs TensorFlow or grain; rnnkit's
    gives the same windows as a PyDataset): indices 0–98, length 10, sampling 2, stride 3 → [0 2 … 18], [3 5 … 21],
    …, last [78 80 … 96]; targets aligned with window starts; two series windowed alike and zipped."""
    data = np.arange(99)
    windows = np.concatenate([x for x in rk.utils.timeseries_dataset_from_array(
        data, None, sequence_length=10, sampling_rate=2, sequence_stride=3, batch_size=8)])
    np.testing.assert_array_equal(windows[0], np.arange(0, 20, 2))
    np.testing.assert_array_equal(windows[1], np.arange(3, 23, 2))
    np.testing.assert_array_equal(windows[2], np.arange(6, 26, 2))
    np.testing.assert_array_equal(windows[-1], np.arange(78, 98, 2))
    assert len(windows) == 27
    data = np.arange(100)
    for inputs, targets in rk.utils.timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10):
        np.testing.assert_array_equal(inputs[0], data[:10])
        assert targets[0] == data[10]
        break
    X, Y = np.arange(100), np.arange(100) * 2
    pairs = zip(rk.utils.timeseries_dataset_from_array(X, None, sequence_length=20, sequence_stride=20),
                rk.utils.timeseries_dataset_from_array(Y, None, sequence_length=20, sequence_stride=20))
    for inputs, targets in pairs:
        np.testing.assert_array_equal(inputs[0], X[:20])
        np.testing.assert_array_equal(targets[1], Y[20:40])


def test_timeseries_dataset_shuffles_as_keras_and_trains_a_forecaster():
    """shuffle with a seed: the window starts in NumPy RandomState(seed)'s order (Keras's), every window still with
    its own target; start/end indices bound the windows; fit/evaluate take the dataset (a GRU learns a sine's next
    value well below the series' variance)."""
    t = np.arange(400, dtype="float32")
    series = np.sin(t / 6).astype("float32")[:, None]
    ds = rk.utils.timeseries_dataset_from_array(series[:-1], series[8:, 0], sequence_length=8, batch_size=32,
                                                shuffle=True, seed=3)
    order = np.arange(0, 392)
    np.random.RandomState(3).shuffle(order)
    x, y = ds[0]
    np.testing.assert_array_equal(x[:, 0, 0], series[order[:32], 0])
    np.testing.assert_array_equal(y, series[order[:32] + 8, 0])
    bounded = rk.utils.timeseries_dataset_from_array(series, None, sequence_length=5, start_index=10, end_index=30,
                                                     batch_size=None)
    assert len(bounded) == 16 and bounded[0][0, 0] == series[10, 0] and bounded[15][-1, 0] == series[29, 0]
    rk.utils.set_random_seed(0)
    model = rk.Sequential([rk.Input((8, 1)), rk.layers.GRU(16), rk.layers.Dense(1)])
    model.compile(rk.optimizers.Adam(0.01), "mse")
    model.fit(ds, epochs=15, verbose=0)
    assert model.evaluate(ds, verbose=0) < 0.05 * float(series.var())
    with pytest.raises(ValueError, match="sampling_rate"):
        rk.utils.timeseries_dataset_from_array(series, None, sequence_length=5, sampling_rate=0)
