"""Keras's ``InputSpec`` in a custom layer and ``keras.layers.serialize``/``deserialize``: a layer declaring its
inputs' rank, axes, dtype or shape refuses what Keras refuses — with Keras's message, eagerly and on a model's
symbolic inputs — and accepts what Keras accepts (real Keras 3, PyTorch backend, is the reference)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402


def checked_layer(lib, **spec):
    class Checked(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = lib.layers.InputSpec(**spec)

        def call(self, x):
            return x * 2
    return Checked(name="checked")


SPECS = [{"ndim": 3}, {"min_ndim": 3}, {"max_ndim": 2}, {"ndim": 3, "axes": {-1: 4}}, {"shape": (None, 5, 4)},
         {"dtype": "int32"}, {"shape": (None, 5, 1), "allow_last_axis_squeeze": True}]
INPUTS = [np.zeros((2, 5, 4), "float32"), np.zeros((2, 5), "float32"), np.zeros((2, 5, 3), "float32"),
          np.zeros((2, 5, 4), "int32"), np.zeros((2, 6, 4), "float32"), np.zeros((2, 5), "int32")]


def outcome(lib, spec, x):
    try:
        checked_layer(lib, **spec)(x)
        return "ok"
    except ValueError as e:
        return str(e)


@pytest.mark.parametrize("spec", SPECS)
def test_accepts_and_refuses_what_keras_does_with_its_message(spec):
    for x in INPUTS:
        ours, theirs = outcome(rk, spec, x), outcome(keras, spec, x)
        assert ours == theirs, (spec, x.shape, x.dtype)


def test_a_model_input_is_checked_when_the_graph_is_built():
    """A symbolic input of the wrong rank is refused before any data flows, as Keras refuses it."""
    for lib in (rk, keras):
        with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
            checked_layer(lib, ndim=3)(lib.Input((5,)))
        assert tuple(checked_layer(lib, ndim=3)(lib.Input((5, 4))).shape) == (None, 5, 4)


def test_spec_config_and_repr_are_keras():
    for kwargs in ({"ndim": 3, "axes": {2: 4}}, {"shape": (None, 5), "dtype": "float32"}, {"min_ndim": 2}):
        ours, theirs = rk.layers.InputSpec(**kwargs), keras.layers.InputSpec(**kwargs)
        assert ours.get_config() == theirs.get_config() and repr(ours) == repr(theirs)
    with pytest.raises(ValueError, match="Axis 3 is greater"):
        rk.layers.InputSpec(ndim=3, axes={3: 1})


def test_layers_serialize_and_deserialize():
    config = rk.layers.serialize(rk.layers.GRU(4, return_sequences=True, name="g"))
    assert config == {**keras.layers.serialize(keras.layers.GRU(4, return_sequences=True, name="g")),
                      "config": config["config"]} and config["class_name"] == "GRU"
    layer = rk.layers.deserialize(config)
    assert isinstance(layer, rk.layers.GRU) and layer.units == 4 and layer.return_sequences
