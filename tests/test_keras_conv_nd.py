"""Conv2D, Conv3D and their pooling layers against real Keras 3.15 (PyTorch backend): same weights → Keras's
outputs (paddings, strides, dilation, groups, channels first), a CRNN (Conv2D over a spectrogram, then a GRU) and the
keras.io ConvLSTM2D + Conv3D next-frame model train to Keras's weights, configs match, and ``.keras`` files load both
ways."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways, predicts_and_trains_as_keras  # noqa: E402

RNG = np.random.default_rng(0)


def same_weights(ours, theirs, shape):
    theirs.build(shape)
    ours.build(shape)
    ours.set_weights([w + RNG.normal(size=w.shape).astype("float32") * 0.1 for w in theirs.get_weights()])
    theirs.set_weights(ours.get_weights())


@pytest.mark.parametrize("kwargs", [{}, {"padding": "same", "strides": 2}, {"dilation_rate": 2, "activation": "relu"},
                                    {"groups": 2, "padding": "same", "use_bias": False},
                                    {"data_format": "channels_first", "strides": (1, 2)}])
def test_conv2d_gives_keras_outputs_and_config(kwargs):
    x = RNG.normal(size=(2, 7, 6, 4) if kwargs.get("data_format") != "channels_first" else (2, 4, 7, 6)).astype(
        "float32")
    ours, theirs = rk.layers.Conv2D(6, 3, **kwargs), keras.layers.Conv2D(6, 3, **kwargs)
    same_weights(ours, theirs, x.shape)
    np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(), keras.ops.convert_to_numpy(theirs(x)),
                               rtol=1e-5, atol=1e-5)
    config = {k: v for k, v in ours.get_config().items() if k != "name"}
    assert config == {k: (list(v) if isinstance(v, tuple) else v) for k, v in theirs.get_config().items()
                      if k != "name"}


@pytest.mark.parametrize("cls", ["MaxPooling2D", "AveragePooling2D", "MaxPooling3D", "AveragePooling3D",
                                 "GlobalAveragePooling2D", "GlobalMaxPooling3D"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pooling_layers_give_keras_outputs(cls, padding):
    rank = 3 if cls.endswith("3D") else 2
    x = RNG.normal(size=(2, *(5, 7, 6)[:rank], 3)).astype("float32")
    kwargs = {} if cls.startswith("Global") else {"pool_size": 3, "strides": 2, "padding": padding}
    ours, theirs = getattr(rk.layers, cls)(**kwargs), getattr(keras.layers, cls)(**kwargs)
    np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(), keras.ops.convert_to_numpy(theirs(x)),
                               rtol=1e-5, atol=1e-6)
    assert {k: v for k, v in ours.get_config().items() if k != "name"} == {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in theirs.get_config().items() if k != "name"}


def test_a_crnn_over_spectrograms_trains_and_saves_as_keras(tmp_path):
    # (batch, time, mel bins, 1) → Conv2D → MaxPooling2D over frequency → Reshape → GRU → Dense: a CRNN
    x = RNG.normal(size=(6, 10, 8, 1)).astype("float32")
    y = RNG.normal(size=(6, 2)).astype("float32")

    def build(lib):
        model = lib.Sequential([lib.Input((10, 8, 1)), lib.layers.Conv2D(4, 3, padding="same", activation="relu"),
                                lib.layers.MaxPooling2D((1, 2)), lib.layers.Reshape((10, 16)), lib.layers.GRU(5),
                                lib.layers.Dense(2)])
        model.compile(lib.optimizers.SGD(0.05), "mse")
        return model

    theirs, ours = predicts_and_trains_as_keras(build, x, y, RNG, rtol=1e-4)
    assert_keras_files_move_both_ways(theirs, ours, x, tmp_path, atol=1e-5)


def test_the_keras_io_next_frame_model_runs_as_keras(tmp_path):
    # keras.io's "next-frame video prediction with convolutional LSTMs", small: ConvLSTM2D layers and a Conv3D head
    frames = RNG.random((2, 4, 8, 8, 1)).astype("float32")

    def build(lib):
        inp = lib.Input((None, 8, 8, 1))
        h = lib.layers.ConvLSTM2D(4, (3, 3), padding="same", return_sequences=True, activation="relu")(inp)
        h = lib.layers.BatchNormalization()(h)
        h = lib.layers.ConvLSTM2D(4, (1, 1), padding="same", return_sequences=True, activation="relu")(h)
        out = lib.layers.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same")(h)
        model = lib.Model(inp, out)
        model.compile(lib.optimizers.SGD(0.1), "binary_crossentropy")
        return model

    theirs, ours = predicts_and_trains_as_keras(build, frames, frames, RNG, rtol=1e-4)
    assert_keras_files_move_both_ways(theirs, ours, frames, tmp_path, atol=1e-5)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="kernel_size"):
        rk.layers.Conv2D(4, (3, 3, 3))
    with pytest.raises(ValueError, match="divisible"):
        rk.layers.Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match="4-D input"):
        rk.layers.Conv2D(4, 3)(np.zeros((2, 5, 3), "float32"))
