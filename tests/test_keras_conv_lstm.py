"""``layers.ConvLSTM1D`` against real Keras 3 (PyTorch backend): same weights → Keras's outputs (padding, strides,
dilation, go_backwards, stacked with return_sequences, masked steps, return_state), training to Keras's weights, and
``.keras`` files both ways."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import predicts_and_trains_as_keras  # noqa: E402

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
    ours.save(tmp_path / "ours.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "ours.keras").predict(X, verbose=0),
                               ours.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    theirs.save(tmp_path / "theirs.keras")
    np.testing.assert_allclose(rk.models.load_model(tmp_path / "theirs.keras").predict(X, verbose=0),
                               theirs.predict(X, verbose=0), rtol=1e-5, atol=1e-6)


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
