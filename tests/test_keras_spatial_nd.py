"""Keras's 2-D and 3-D reshaping layers (ZeroPadding, Cropping, UpSampling, SpatialDropout) give Keras 3's outputs
(PyTorch backend; channels last and first, every padding/cropping form, nearest/bilinear/bicubic upsampling, Keras's
seeded dropout masks) and configs; a ConvLSTM2D frame model built with them trains to Keras's weights and loads both
ways; a hand-checked case each."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways, predicts_and_trains_as_keras  # noqa: E402

RNG = np.random.default_rng(0)
X4 = RNG.standard_normal((2, 5, 6, 3)).astype("float32")
X5 = RNG.standard_normal((2, 4, 5, 6, 3)).astype("float32")

CASES = [("ZeroPadding2D", {}, X4), ("ZeroPadding2D", {"padding": (1, 2)}, X4),
         ("ZeroPadding2D", {"padding": ((1, 2), (3, 0)), "data_format": "channels_first"}, X4),
         ("ZeroPadding3D", {"padding": ((1, 0), (0, 2), (1, 1))}, X5), ("Cropping2D", {"cropping": ((1, 2), (0, 3))}, X4),
         ("Cropping2D", {"cropping": 1, "data_format": "channels_first"}, X4), ("Cropping3D", {"cropping": (1, 2, 1)}, X5),
         ("UpSampling2D", {"size": (2, 3)}, X4), ("UpSampling2D", {"size": 2, "interpolation": "bilinear"}, X4),
         ("UpSampling2D", {"size": (2, 3), "interpolation": "bicubic"}, X4),
         ("UpSampling2D", {"size": 2, "data_format": "channels_first", "interpolation": "bilinear"}, X4),
         ("UpSampling3D", {"size": (1, 2, 3)}, X5), ("UpSampling3D", {"data_format": "channels_first"}, X5)]


def config(layer):
    return {k: v for k, v in layer.get_config().items() if k not in ("name", "dtype")}


@pytest.mark.parametrize("name,kwargs,x", CASES)
def test_outputs_and_configs_are_keras(name, kwargs, x):
    ours, theirs = getattr(rk.layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    np.testing.assert_allclose(ours(x).detach().numpy(), np.asarray(theirs(x)), atol=1e-6)
    assert config(ours) == config(theirs)


@pytest.mark.parametrize("name,x", [("SpatialDropout2D", X4), ("SpatialDropout3D", X5)])
@pytest.mark.parametrize("data_format", [None, "channels_first"])
def test_spatial_dropout_drops_keras_channels(name, x, data_format):
    """Seeded: Keras's very masks; each (sample, channel) is kept or dropped whole, kept values scaled by 1/(1 − rate);
    at inference, the input unchanged."""
    ours, theirs = (getattr(lib.layers, name)(0.5, seed=3, data_format=data_format) for lib in (rk, keras))
    out = ours(x, training=True).detach().numpy()
    np.testing.assert_allclose(out, np.asarray(theirs(x, training=True)), atol=1e-6)
    channel_axis = 1 if data_format == "channels_first" else -1
    kept = np.moveaxis(out != 0, channel_axis, 1).reshape(x.shape[0], x.shape[channel_axis], -1)
    assert np.all(kept.all(-1) | ~kept.any(-1))  # whole channels
    np.testing.assert_allclose(out[out != 0], 2 * x[out != 0], rtol=1e-6)
    np.testing.assert_array_equal(ours(x).detach().numpy(), x)
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name}


def test_by_hand():
    """A 2×2 image [[1, 2], [3, 4]]: padded by one zero all round; cropped back; each pixel repeated 2×2."""
    image = np.array([[1.0, 2.0], [3.0, 4.0]], dtype="float32").reshape(1, 2, 2, 1)
    padded = rk.layers.ZeroPadding2D(1)(image).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(padded, [[0, 0, 0, 0], [0, 1, 2, 0], [0, 3, 4, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(rk.layers.Cropping2D(1)(padded.reshape(1, 4, 4, 1)).numpy()[0, :, :, 0],
                                  [[1, 2], [3, 4]])
    np.testing.assert_array_equal(rk.layers.UpSampling2D(2)(image).numpy()[0, :, :, 0],
                                  [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    with pytest.raises(ValueError, match="cropping"):
        rk.layers.Cropping2D(((1, 1), (0, 0)))(image)
    with pytest.raises(ValueError, match="padding"):
        rk.layers.ZeroPadding2D((1, 2, 3))


def frame_model(lib):
    frames = lib.Input((3, 6, 6, 1))
    h = lib.layers.ConvLSTM2D(4, 3, padding="same", return_sequences=False)(frames)
    h = lib.layers.SpatialDropout2D(0.25, seed=7)(h)
    h = lib.layers.UpSampling2D(2)(lib.layers.Cropping2D(1)(lib.layers.ZeroPadding2D(1)(h)))
    m = lib.Model(frames, lib.layers.Conv2D(1, 3, padding="same")(h))
    m.compile(lib.optimizers.SGD(0.05), "mse")
    return m


def test_a_frame_model_trains_to_keras_weights_and_loads_both_ways(tmp_path):
    x = RNG.standard_normal((4, 3, 6, 6, 1)).astype("float32")
    y = RNG.standard_normal((4, 12, 12, 1)).astype("float32")
    theirs, ours = predicts_and_trains_as_keras(frame_model, x, y, RNG, rtol=1e-4, batch_size=2, atol=1e-5)
    assert_keras_files_move_both_ways(theirs, ours, x, tmp_path)
