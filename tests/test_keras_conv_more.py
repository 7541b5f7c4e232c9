"""Keras's depthwise, separable and transposed convolutions and its adaptive pooling: weight shapes, outputs and
configs of Keras 3 (PyTorch backend) — strides, 'same' padding, dilation, depth multipliers, output padding,
channels first — a hand-computed case each, and a keyword-spotter front (SeparableConv1D → GRU) trained to Keras's
weights and loaded both ways."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways, predicts_and_trains_as_keras  # noqa: E402

RNG = np.random.default_rng(0)
X3 = RNG.standard_normal((2, 9, 3)).astype("float32")
X4 = RNG.standard_normal((2, 7, 8, 3)).astype("float32")
X5 = RNG.standard_normal((2, 4, 5, 6, 3)).astype("float32")

CASES = [("DepthwiseConv1D", (3,), {}, X3),
         ("DepthwiseConv1D", (3,), {"depth_multiplier": 2, "strides": 2, "padding": "same"}, X3),
         ("DepthwiseConv2D", (3,), {"depth_multiplier": 2, "activation": "relu"}, X4),
         ("DepthwiseConv2D", ((2, 3),), {"dilation_rate": 2, "padding": "same", "data_format": "channels_first"}, X4),
         ("SeparableConv1D", (4, 3), {"depth_multiplier": 2}, X3),
         ("SeparableConv2D", (4, 3), {"strides": (2, 1), "padding": "same"}, X4),
         ("SeparableConv2D", (5, (2, 2)), {"data_format": "channels_first", "use_bias": False}, X4),
         ("Conv2DTranspose", (4, 3), {}, X4), ("Conv2DTranspose", (4, 3), {"strides": 2, "padding": "same"}, X4),
         ("Conv2DTranspose", (4, (3, 2)), {"strides": (2, 3), "output_padding": (1, 2)}, X4),
         ("Conv2DTranspose", (4, 3), {"data_format": "channels_first", "dilation_rate": 2}, X4),
         ("Conv3DTranspose", (2, 3), {"strides": 2, "padding": "same"}, X5),
         ("AdaptiveAveragePooling1D", (4,), {}, X3), ("AdaptiveMaxPooling1D", (4,), {}, X3),
         ("AdaptiveAveragePooling2D", ((3, 5),), {}, X4),
         ("AdaptiveMaxPooling2D", (3,), {"data_format": "channels_first"}, X4),
         ("AdaptiveAveragePooling3D", ((2, 3, 4),), {}, X5), ("AdaptiveMaxPooling3D", (2,), {}, X5)]


def config(layer):
    return {k: v for k, v in layer.get_config().items() if k not in ("name", "dtype")}


@pytest.mark.parametrize("name,args,kwargs,x", CASES)
def test_weights_outputs_and_configs_are_keras(name, args, kwargs, x):
    ours, theirs = getattr(rk.layers, name)(*args, **kwargs), getattr(keras.layers, name)(*args, **kwargs)
    ours(x)
    theirs(x)
    assert [tuple(w.shape) for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    weights = [RNG.standard_normal(w.shape).astype("float32") for w in theirs.get_weights()]
    if weights:
        ours.set_weights(weights)
        theirs.set_weights(weights)
    np.testing.assert_allclose(ours(x).detach().numpy(), keras.ops.convert_to_numpy(theirs(x)), atol=1e-5)
    assert config(ours) == config(theirs)


def test_by_hand():
    """A depthwise kernel of ones sums each channel over the window on its own; adaptive average pooling of
    1, 2, 3, 4 to two cells averages the halves; a transposed convolution of one value with a kernel of ones spreads
    it over the kernel."""
    x = np.array([[[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]], dtype="float32")  # (1, 3 steps, 2 channels)
    depthwise = rk.layers.DepthwiseConv1D(2, use_bias=False)
    depthwise(x)
    depthwise.set_weights([np.ones((2, 2, 1), "float32")])
    np.testing.assert_allclose(depthwise(x).detach().numpy(), [[[3.0, 30.0], [5.0, 50.0]]])
    pooled = rk.layers.AdaptiveAveragePooling1D(2)(np.array([[[1.0], [2.0], [3.0], [4.0]]], dtype="float32"))
    np.testing.assert_allclose(pooled.numpy(), [[[1.5], [3.5]]])
    transposed = rk.layers.Conv2DTranspose(1, 2, use_bias=False)
    one = np.full((1, 1, 1, 1), 2.0, dtype="float32")
    transposed(one)
    transposed.set_weights([np.ones((2, 2, 1, 1), "float32")])
    np.testing.assert_allclose(transposed(one).detach().numpy()[0, :, :, 0], [[2.0, 2.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match="output_padding"):
        rk.layers.Conv2DTranspose(1, 3, strides=2, output_padding=2)


def spotter(lib):
    audio = lib.Input((20, 6))
    h = lib.layers.SeparableConv1D(8, 3, padding="same", activation="relu")(audio)
    h = lib.layers.DepthwiseConv1D(3, strides=2)(h)
    h = lib.layers.GRU(6)(h)
    m = lib.Model(audio, lib.layers.Dense(3, activation="softmax")(h))
    m.compile(lib.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_a_keyword_spotter_trains_to_keras_weights_and_loads_both_ways(tmp_path):
    x = RNG.standard_normal((12, 20, 6)).astype("float32")
    y = RNG.integers(0, 3, 12)
    theirs, ours = predicts_and_trains_as_keras(spotter, x, y, RNG, batch_size=4, atol=1e-5)
    assert_keras_files_move_both_ways(theirs, ours, x, tmp_path)
