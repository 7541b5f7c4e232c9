"""``EinsumDense``: for Keras's own kinds of equation (plain, several output axes, ``...`` on the left or right, a
bias over some output axes) the weight shapes, outputs and configs of Keras 3 (PyTorch backend); Glorot's scale
counted over the kernel's input and output axes; an LSTM with an EinsumDense head trains to Keras's weights and
loads both ways."""

from __future__ import annotations

import math
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways, predicts_and_trains_as_keras  # noqa: E402

RNG = np.random.default_rng(0)

CASES = [("ab,bc->ac", 64, None, (3, 32)), ("abc,cd->abd", (None, 64), "d", (3, 5, 32)),
         ("abc,cde->abde", (None, 4, 8), "de", (3, 5, 32)), ("abc,cde->abde", (None, 4, 8), "e", (3, 5, 32)),
         ("...b,bc->...c", 16, "c", (3, 5, 7, 32)), ("...ab,bc->...ac", (5, 16), "c", (3, 5, 32)),
         ("abc...,cd->abd...", (5, 6), "d", (3, 5, 7, 2)), ("abcd,cde->abe", (5, 9), "e", (2, 5, 3, 4))]


@pytest.mark.parametrize("equation,output_shape,bias_axes,shape", CASES)
def test_weights_outputs_and_configs_are_keras(equation, output_shape, bias_axes, shape):
    x = RNG.standard_normal(shape).astype("float32")
    ours = rk.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="relu")
    theirs = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="relu")
    theirs(x)
    ours(x)
    assert [tuple(w.shape) for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    weights = [RNG.standard_normal(w.shape).astype("float32") for w in theirs.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    np.testing.assert_allclose(ours(x).detach().numpy(), keras.ops.convert_to_numpy(theirs(x)), atol=1e-5)
    assert {**ours.get_config(), "name": None} == {**theirs.get_config(), "name": None}


def test_by_hand_and_glorot_scale():
    """"ab,bc->ac" is a Dense: x·W + b. For "abc,cde->abde" with 128 inputs and 4 × 64 outputs Glorot's uniform limit
    is sqrt(6 / (128 + 256)), standard deviation limit / sqrt(3)."""
    layer = rk.layers.EinsumDense("ab,bc->ac", 2, bias_axes="c")
    layer(np.zeros((1, 3), "float32"))
    layer.set_weights([np.array([[1, 0], [0, 1], [1, 1]], "float32"), np.array([0.5, -0.5], "float32")])
    np.testing.assert_allclose(layer(np.array([[1.0, 2.0, 3.0]], "float32")).detach().numpy(), [[4.5, 4.5]])
    wide = rk.layers.EinsumDense("abc,cde->abde", (None, 4, 64))
    wide(np.zeros((1, 5, 128), "float32"))
    std = math.sqrt(6 / (128 + 256)) / math.sqrt(3)
    assert float(wide.kernel.detach().std()) == pytest.approx(std, rel=0.03)
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        rk.layers.EinsumDense("ab->b", 3)
    with pytest.raises(ValueError, match="Bias dimension 'x'"):
        rk.layers.EinsumDense("ab,bc->ac", 3, bias_axes="x")(np.zeros((1, 2), "float32"))


def head_model(lib):
    x = lib.Input((6, 3))
    h = lib.layers.LSTM(8, return_sequences=True)(x)
    h = lib.layers.EinsumDense("abc,cde->abde", (6, 2, 4), bias_axes="de", activation="tanh")(h)
    m = lib.Model(x, lib.layers.Reshape((6, 8))(h))
    m.compile(lib.optimizers.SGD(0.1), "mse")
    return m


def test_an_lstm_with_an_einsum_head_trains_to_keras_weights_and_loads_both_ways(tmp_path):
    x = RNG.standard_normal((8, 6, 3)).astype("float32")
    y = RNG.standard_normal((8, 6, 8)).astype("float32")
    theirs, ours = predicts_and_trains_as_keras(head_model, x, y, RNG, batch_size=4, atol=1e-5)
    assert_keras_files_move_both_ways(theirs, ours, x, tmp_path)
