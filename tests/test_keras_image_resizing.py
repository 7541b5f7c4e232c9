"""``ops.image.resize``, ``Resizing`` and ``CenterCrop``: Keras 3's numbers (PyTorch backend) for every interpolation,
antialiasing, cropping or padding to the aspect ratio, uint8 images, channels first; a model resizing with the
operation loads from Keras's file; a CRNN (Resizing → Conv2D → GRU over the columns) trains to Keras's weights."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways, predicts_and_trains_as_keras  # noqa: E402

RNG = np.random.default_rng(0)
IMAGES = RNG.random((2, 9, 12, 3)).astype("float32")
BYTES = (RNG.random((9, 12, 3)) * 255).astype("uint8")


@pytest.mark.parametrize("kwargs", [{}, {"interpolation": "nearest"}, {"interpolation": "bicubic"}, {"antialias": True},
                                    {"crop_to_aspect_ratio": True}, {"pad_to_aspect_ratio": True, "fill_value": 0.5},
                                    {"data_format": "channels_first"}])
@pytest.mark.parametrize("images", [IMAGES, BYTES])
def test_resize_is_keras(kwargs, images):
    if kwargs.get("data_format") == "channels_first":
        images = np.ascontiguousarray(np.moveaxis(images, -1, -3))
    ours = rk.ops.image.resize(images, (5, 7), **kwargs).numpy()
    theirs = keras.ops.convert_to_numpy(keras.ops.image.resize(images, (5, 7), **kwargs))
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours.astype(float), theirs.astype(float), atol=1e-5)


@pytest.mark.parametrize("name,args", [("Resizing", (5, 7)), ("CenterCrop", (5, 7)), ("CenterCrop", (11, 6))])
def test_layers_are_keras(name, args):
    ours, theirs = getattr(rk.layers, name)(*args), getattr(keras.layers, name)(*args)
    np.testing.assert_allclose(ours(IMAGES).numpy(), keras.ops.convert_to_numpy(theirs(IMAGES)), atol=1e-6)
    assert {**ours.get_config(), "name": None} == {**theirs.get_config(), "name": None}


def test_by_hand():
    """A constant image stays constant at any size; nearest doubling repeats each pixel 2 × 2; the centre crop of a
    4 × 4 ramp is its middle 2 × 2."""
    np.testing.assert_allclose(rk.ops.image.resize(np.full((3, 5, 1), 0.7, "float32"), (8, 2)).numpy(), 0.7,
                               rtol=1e-6)
    two = np.array([[1.0, 2.0], [3.0, 4.0]], "float32").reshape(2, 2, 1)
    np.testing.assert_array_equal(rk.ops.image.resize(two, (4, 4), interpolation="nearest").numpy()[..., 0],
                                  [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    ramp = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(rk.layers.CenterCrop(2, 2)(ramp).numpy()[0, ..., 0], [[5, 6], [9, 10]])
    with pytest.raises(ValueError, match="interpolation"):
        rk.ops.image.resize(two, (4, 4), interpolation="lanczos3")


def test_a_keras_model_resizing_with_the_operation_loads(tmp_path):
    inp = keras.Input((9, 12, 3))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.ops.image.resize(inp, (4, 5))))
    model.save(tmp_path / "resize.keras")
    np.testing.assert_allclose(rk.models.load_model(tmp_path / "resize.keras").predict(IMAGES, verbose=0),
                               model.predict(IMAGES, verbose=0), atol=1e-6)


def crnn(lib):
    lines = lib.Input((9, 12, 1))
    h = lib.layers.Conv2D(4, 3, padding="same", activation="relu")(lib.layers.Resizing(8, 16)(lines))
    h = lib.layers.Reshape((16, 8 * 4))(lib.layers.Permute((2, 1, 3))(h))  # the columns as time steps
    m = lib.Model(lines, lib.layers.Dense(3, activation="softmax")(lib.layers.GRU(6)(h)))
    m.compile(lib.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return m


def test_a_crnn_trains_to_keras_weights_and_loads_both_ways(tmp_path):
    x = RNG.random((6, 9, 12, 1)).astype("float32")
    y = RNG.integers(0, 3, 6)
    theirs, ours = predicts_and_trains_as_keras(crnn, x, y, RNG, batch_size=3, atol=1e-5)
    assert_keras_files_move_both_ways(theirs, ours, x, tmp_path)
