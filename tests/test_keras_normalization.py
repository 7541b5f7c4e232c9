"""rnnkit.keras's BatchNormalization against real Keras 3 (PyTorch backend): same weights in, the same outputs, the
same moving statistics after the same training, masks, freezing and files — and the keras.io RNN guide's model that
puts it after an LSTM."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways  # noqa: E402

RNG = np.random.default_rng(0)
X = (RNG.normal(size=(64, 7, 3)) * 3 + 2).astype("float32")
Y = RNG.integers(0, 4, 64)


def kn(t):
    return keras.ops.convert_to_numpy(t)


def recurrent_bn(K):
    return K.Sequential([K.Input((7, 3)), K.layers.LSTM(8, return_sequences=True),
                         K.layers.BatchNormalization(momentum=0.9), K.layers.LSTM(6), K.layers.BatchNormalization(),
                         K.layers.Dense(4)])


def test_training_moves_the_statistics_and_weights_as_keras(tmp_path):
    """Two epochs of SGD, unshuffled: every weight — gamma/beta and the moving mean/variance, non-trainable in both —
    and the predictions (which use the moving statistics) agree with Keras's; files go both ways."""
    theirs, ours = recurrent_bn(keras), recurrent_bn(rk)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), atol=1e-5)
    assert (len(ours.trainable_weights), len(ours.non_trainable_weights)) == \
        (len(theirs.trainable_weights), len(theirs.non_trainable_weights)) == (12, 4)
    for K, model in ((keras, theirs), (rk, ours)):
        model.compile(optimizer=K.optimizers.SGD(0.1), loss=K.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert not np.allclose(ours.layers[1].moving_mean.numpy(), 0)  # the statistics did move
    expected = theirs.predict(X, verbose=0)
    np.testing.assert_allclose(ours.predict(X, verbose=0), expected, atol=1e-5)
    assert_keras_files_move_both_ways(theirs, ours, X, tmp_path, want=expected)


def test_the_batch_moments_count_only_unmasked_steps():
    """With a mask (as ``Embedding(mask_zero=True)`` passes one), a training call's output and moving statistics
    equal Keras's, whose moments skip the padded steps — here three sequences padded from step 3 with values far
    from the rest, which would move the moments if they counted."""
    ids = np.random.default_rng(1).integers(1, 9, (8, 5))
    ids[:3, 3:] = 0
    e = np.random.default_rng(2).normal(size=(8, 5, 4)).astype("float32")
    e[ids == 0] = 10.0
    theirs, ours = keras.layers.BatchNormalization(), rk.layers.BatchNormalization()
    out_k = kn(theirs(e, training=True, mask=ids != 0))
    out_r = ours(e, training=True, mask=ids != 0).detach().numpy()
    np.testing.assert_allclose(out_r, out_k, atol=1e-5)
    np.testing.assert_allclose(ours.moving_mean.numpy(), kn(theirs.moving_mean), atol=1e-6)
    np.testing.assert_allclose(ours.moving_variance.numpy(), kn(theirs.moving_variance), atol=1e-6)
    all_steps = rk.layers.BatchNormalization()(e, training=True).detach().numpy()
    assert np.abs(all_steps - out_r)[ids != 0].max() > 0.1  # the padded steps would have moved the moments


def test_inference_uses_the_moving_statistics_and_a_frozen_layer_does_even_in_fit():
    """By hand: predict normalizes with (moving_mean, moving_variance); ``trainable=False`` makes fit do the same and
    leaves every statistic where it was (Keras: ``training and self.trainable``)."""
    layer = rk.layers.BatchNormalization(epsilon=0.5)
    x = RNG.normal(size=(6, 2)).astype("float32")
    layer.build((None, 2))
    layer.set_weights([np.array([2.0, 3.0]), np.array([0.5, -1.0]), np.array([1.0, -1.0]), np.array([4.0, 1.5])])
    expected = np.array([2.0, 3.0]) * (x - np.array([1.0, -1.0])) / np.sqrt(np.array([4.0, 1.5]) + 0.5) + \
        np.array([0.5, -1.0])
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, atol=1e-6)
    batch = layer(x, training=True).detach().numpy()
    by_hand = (x - x.mean(0)) / np.sqrt(x.var(0) + 0.5) * np.array([2.0, 3.0]) + np.array([0.5, -1.0])
    np.testing.assert_allclose(batch, by_hand, atol=1e-5)
    frozen = rk.Sequential([rk.Input((7, 3)), rk.layers.LSTM(4), rk.layers.BatchNormalization(trainable=False),
                            rk.layers.Dense(1)])
    stats = [w.copy() for w in frozen.layers[1].get_weights()]
    frozen.compile("adam", "mse")
    frozen.fit(X, Y.astype("float32"), epochs=1, verbose=0)
    for a, b in zip(frozen.layers[1].get_weights(), stats):
        np.testing.assert_array_equal(a, b)


def test_unsupported_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match="renorm"):
        rk.layers.BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="synchronized"):
        rk.layers.BatchNormalization(synchronized=True)


def test_the_keras_rnn_guides_model_with_batch_normalization():
    """keras.io's "Working with RNNs", performance section: LSTM → BatchNormalization → Dense trained with
    SparseCategoricalCrossentropy(from_logits=True) on SGD; the same weights in the RNN(LSTMCell) version predict the
    same — and Keras's model with those weights predicts the same too."""
    x, y = RNG.random((256, 28, 28)).astype("float32"), RNG.integers(0, 10, 256)

    def build_model(K, allow_cudnn_kernel=True):
        if allow_cudnn_kernel:
            lstm_layer = K.layers.LSTM(64, input_shape=(None, 28))
        else:
            lstm_layer = K.layers.RNN(K.layers.LSTMCell(64), input_shape=(None, 28))
        return K.models.Sequential([lstm_layer, K.layers.BatchNormalization(), K.layers.Dense(10)])

    model = build_model(rk)
    model.compile(loss=rk.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer="sgd",
                  metrics=["accuracy"])
    history = model.fit(x, y, validation_data=(x, y), batch_size=64, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and "val_accuracy" in history.history
    slow_model = build_model(rk, allow_cudnn_kernel=False)
    slow_model.set_weights(model.get_weights())
    np.testing.assert_allclose(slow_model.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0), atol=1e-5)
    theirs = build_model(keras)
    theirs(x[:1])
    theirs.set_weights(model.get_weights())
    np.testing.assert_allclose(theirs.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0), atol=1e-5)


SERIES = (RNG.normal(size=(40, 6, 3)) * [1, 5, 0.1] + [0, 3, -1]).astype("float32")


@pytest.mark.parametrize("args", [{}, {"axis": (1, 2)}, {"invert": True}, {"mean": 2.0, "variance": 4.0},
                                  {"mean": [1, 2, 3], "variance": [1, 4, 9]}],
                         ids=["adapt", "adapt-two-axes", "invert", "scalar", "given"])
def test_normalization_adapts_and_standardizes_as_keras(args):
    """Keras's Normalization: adapt() learns each kept feature's mean and (biased) variance; the call standardizes
    (or, inverted, puts back); given mean/variance broadcast over the kept axes — Keras's numbers and weights."""
    theirs, ours = keras.layers.Normalization(**args), rk.layers.Normalization(**args)
    if "mean" not in args:
        theirs.adapt(SERIES)
        ours.adapt(SERIES)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours(SERIES).detach().numpy(), kn(theirs(SERIES)), rtol=1e-5, atol=3e-5)


def test_normalization_adapts_on_batches_to_the_whole_data_moments(tmp_path):
    """Batches (a list, or a DataLoader of (x, y)) are merged exactly: the moments of all the data (NumPy's); in a
    model before an LSTM, files go both ways. (Keras's own adapt on a list of batches needs TensorFlow.)"""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    for data in ([SERIES[i:i + 7] for i in range(0, 40, 7)],
                 DataLoader(TensorDataset(torch.tensor(SERIES), torch.zeros(40)), batch_size=9)):
        layer = rk.layers.Normalization()
        layer.adapt(data)
        mean, var, _ = layer.get_weights()
        np.testing.assert_allclose(mean, SERIES.mean((0, 1)), atol=1e-5)
        np.testing.assert_allclose(var, SERIES.var((0, 1)), rtol=1e-5)
    norm = keras.layers.Normalization()
    norm.adapt(SERIES)
    i = keras.Input((6, 3))
    theirs = keras.Model(i, keras.layers.Dense(1)(keras.layers.LSTM(4)(norm(i))))
    ours_norm = rk.layers.Normalization()
    ours_norm.adapt(SERIES)
    j = rk.Input((6, 3))
    ours = rk.Model(j, rk.layers.Dense(1)(rk.layers.LSTM(4)(ours_norm(j))))
    ours.set_weights(theirs.get_weights())
    expected = theirs.predict(SERIES, verbose=0)
    np.testing.assert_allclose(ours.predict(SERIES, verbose=0), expected, atol=1e-5)
    assert_keras_files_move_both_ways(theirs, ours, SERIES, tmp_path, want=expected)
