"""``layers.ConvLSTM1D`` against real Keras 3 (PyTorch backend): same weights → Keras's outputs (padding, strides,
dilation, go_backwards, stacked with return_sequences, masked steps, return_state), training to Keras's weights, and
``.keras`` files both ways."""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways, predicts_and_trains_as_keras  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 5, 8, 3)).astype("float32")
Y = RNG.normal(size=(4, 1)).astype("float32")


@pytest.mark.parametrize("kwargs", [{"padding": "same", "return_sequences": True}, {"strides": 2},
                                    {"dilation_rate": 2, "go_backwards": True}])
def test_conv_lstm_1d_predicts_trains_and_saves_as_keras(kwargs, tmp_path):
    def build(lib):
        stacked = [lib.layers.ConvLSTM1D(2, 2)] if kwargs.get("return_sequences") else []
        model = lib.Sequential([lib.Input((5, 8, 3)), lib.layers.ConvLSTM1D(4, 3, **kwargs), *stacked,
                                lib.layers.Flatten(), lib.layers.Dense(1)])
        model.compile(lib.optimizers.SGD(0.05), "mse")
        return model

    theirs, ours = predicts_and_trains_as_keras(build, X, Y, RNG)
    assert_keras_files_move_both_ways(theirs, ours, X, tmp_path, atol=1e-6)


@pytest.mark.parametrize("return_sequences", [True, False])
def test_masked_steps_carry_the_states_as_keras(return_sequences):
    x = RNG.normal(size=(3, 5, 8, 2)).astype("float32")
    mask = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1], [0, 1, 1, 0, 0]], bool)
    theirs = keras.layers.ConvLSTM1D(3, 3, padding="same", return_sequences=return_sequences, return_state=True)
    ours = rk.layers.ConvLSTM1D(3, 3, padding="same", return_sequences=return_sequences, return_state=True)
    theirs.build((None, 5, 8, 2))
    ours.build((None, 5, 8, 2))
    ours.set_weights(theirs.get_weights())
    for a, b in zip(ours(torch.tensor(x), mask=torch.tensor(mask)), theirs(x, mask=mask)):
        np.testing.assert_allclose(a.detach().numpy(), keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-6)


# --- ConvLSTM2D and ConvLSTM3D: frames and volumes --------------------------------------------------------------------
FRAMES = RNG.normal(size=(3, 4, 6, 5, 2)).astype("float32")  # (batch, time, rows, columns, channels)


@pytest.mark.parametrize("kwargs", [{"padding": "same", "return_sequences": True}, {"strides": (2, 1)},
                                    {"kernel_size": (3, 2), "dilation_rate": 2, "go_backwards": True}])
def test_conv_lstm_2d_predicts_trains_and_saves_as_keras(kwargs, tmp_path):
    kwargs = {"kernel_size": 3, **kwargs}

    def build(lib):
        stacked = [lib.layers.ConvLSTM2D(2, 2)] if kwargs.get("return_sequences") else []
        model = lib.Sequential([lib.Input(FRAMES.shape[1:]), lib.layers.ConvLSTM2D(3, **kwargs), *stacked,
                                lib.layers.Flatten(), lib.layers.Dense(1)])
        model.compile(lib.optimizers.SGD(0.05), "mse")
        return model

    theirs, ours = predicts_and_trains_as_keras(build, FRAMES, Y[:3], RNG)
    assert_keras_files_move_both_ways(theirs, ours, FRAMES, tmp_path, atol=1e-6)


def test_conv_lstm_3d_with_masks_and_states_gives_keras_outputs():
    x = RNG.normal(size=(2, 3, 4, 5, 3, 2)).astype("float32")  # (batch, time, depth, rows, columns, channels)
    mask = np.array([[1, 0, 1], [1, 1, 0]], bool)
    kwargs = {"padding": "same", "return_sequences": True, "return_state": True}
    theirs, ours = keras.layers.ConvLSTM3D(2, (3, 2, 2), **kwargs), rk.layers.ConvLSTM3D(2, (3, 2, 2), **kwargs)
    theirs.build((None, *x.shape[1:]))
    ours.build((None, *x.shape[1:]))
    ours.set_weights(theirs.get_weights())
    for a, b in zip(ours(torch.tensor(x), mask=torch.tensor(mask)), theirs(x, mask=mask)):
        np.testing.assert_allclose(a.detach().numpy(), keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-6)
    assert ours.compute_output_shape((None, 3, 4, 5, 3, 2)) == [(None, 3, 4, 5, 3, 2), (None, 4, 5, 3, 2),
                                                                 (None, 4, 5, 3, 2)]


def test_keras_upstream_correctness_numbers():
    # conv_lstm2d_test.test_correctness: constant weights on arange input, Keras's expected output
    sequence = np.arange(480).reshape((2, 3, 4, 4, 5)).astype("float32") / 100
    layer = rk.layers.ConvLSTM2D(2, 3, kernel_initializer=keras.initializers.Constant(0.01),
                                 recurrent_initializer=keras.initializers.Constant(0.02),
                                 bias_initializer=keras.initializers.Constant(0.03))
    expected = [[[[0.48694518, 0.48694518], [0.50237733, 0.50237733]],
                 [[0.5461202, 0.5461202], [0.5598283, 0.5598283]]],
                [[[0.8661607, 0.8661607], [0.86909103, 0.86909103]],
                 [[0.8774414, 0.8774414], [0.8800861, 0.8800861]]]]
    np.testing.assert_allclose(layer(sequence).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    # conv_lstm_test: one cell step with given states (rank 2), and the layer from initial states — Keras's checksums
    from rnnkit.keras.layers.conv_lstm import ConvLSTM, ConvLSTMCell

    x = torch.arange(150.0).reshape(2, 5, 5, 3) / 10
    s = torch.arange(200.0).reshape(2, 5, 5, 4) / 10
    cell = ConvLSTMCell(rank=2, filters=4, kernel_size=3, padding="same",
                        kernel_initializer=keras.initializers.Constant(0.01),
                        recurrent_initializer=keras.initializers.Constant(0.02))
    cell.build(x.shape)
    h, (h2, c2) = cell(x, [s, s])
    assert (float(h.sum()), float(h2.sum()), float(c2.sum())) == (pytest.approx(188.89502, rel=1e-5),
                                                                  pytest.approx(188.89502, rel=1e-5),
                                                                  pytest.approx(2170.444, rel=1e-5))
    seq = torch.arange(450.0).reshape(2, 3, 5, 5, 3) / 100
    s = torch.arange(200.0).reshape(2, 5, 5, 4) / 100
    layer = ConvLSTM(rank=2, filters=4, kernel_size=3, padding="same",
                     kernel_initializer=keras.initializers.Constant(0.01),
                     recurrent_initializer=keras.initializers.Constant(0.02))
    assert float(layer(seq, initial_state=[s, s]).sum()) == pytest.approx(119.812454, rel=1e-5)


@pytest.mark.parametrize("rank", [1, 2])
def test_seeded_dropout_draws_keras_masks_once_per_sequence(rank):
    # given dropout and recurrent dropout with a seed: in training, Keras's four masks per gate, the same every step
    x = RNG.normal(size=(3, 4, 6, 2) if rank == 1 else (3, 4, 6, 5, 2)).astype("float32")
    cls = "ConvLSTM1D" if rank == 1 else "ConvLSTM2D"
    kwargs = {"padding": "same", "dropout": 0.3, "recurrent_dropout": 0.4, "seed": 7, "return_sequences": True}
    theirs, ours = getattr(keras.layers, cls)(2, 3, **kwargs), getattr(rk.layers, cls)(2, 3, **kwargs)
    theirs.build((None, *x.shape[1:]))
    ours.build((None, *x.shape[1:]))
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(torch.tensor(x), training=True).detach().numpy(),
                               keras.ops.convert_to_numpy(theirs(x, training=True)), rtol=1e-5, atol=1e-6)
    # out of training, no masks: the plain recurrence
    np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(), keras.ops.convert_to_numpy(theirs(x)),
                               rtol=1e-5, atol=1e-6)


def test_regularizers_and_configs_round_trip_as_keras():
    kwargs = {"kernel_regularizer": "l2", "recurrent_regularizer": "l1", "bias_regularizer": "l2"}
    theirs, ours = keras.layers.ConvLSTM2D(2, 3, **kwargs), rk.layers.ConvLSTM2D(2, 3, **kwargs)
    theirs.build((None, 3, 5, 5, 2))
    ours.build((None, 3, 5, 5, 2))
    ours.set_weights(theirs.get_weights())
    ours(torch.tensor(FRAMES[:, :3, :5, :5]))
    theirs(FRAMES[:, :3, :5, :5])
    np.testing.assert_allclose([float(v) for v in ours.losses],
                               [float(keras.ops.convert_to_numpy(v)) for v in theirs.losses], rtol=1e-5)
    config = ours.get_config()
    as_json = json.loads(json.dumps({k: v for k, v in config.items() if k != "name"}))  # tuples as lists, as saved
    keras_json = json.loads(json.dumps({k: v for k, v in theirs.get_config().items() if k != "name"}))
    keras_json["recurrent_regularizer"]["config"]["l1"] = pytest.approx(0.01)  # Keras keeps the factor as float32
    assert as_json == keras_json
    assert rk.layers.ConvLSTM2D.from_config(config).get_config() == config


def test_bad_arguments_are_refused_in_keras_words():
    with pytest.raises(ValueError, match=r"Specifying `strides > 1` is not compatible with `dilation_rate > 1`"):
        rk.layers.ConvLSTM2D(filters=1, kernel_size=1, strides=2, padding="same", dilation_rate=3)
    with pytest.raises(ValueError, match="kernel_size"):
        rk.layers.ConvLSTM2D(2, (3, 3, 3))
    with pytest.raises(ValueError, match=r"expected input \(batch, time, rows, columns, channels\)"):
        rk.layers.ConvLSTM2D(2, 3)(np.zeros((2, 3, 4, 2), "float32"))
