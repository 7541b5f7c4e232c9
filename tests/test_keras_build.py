"""``build()`` means built, as in Keras 3: weights set after an explicit build survive the first call; the weight lists
and output shapes are Keras's (checked against real Keras, PyTorch backend)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

X = np.random.default_rng(2).standard_normal((2, 5, 3)).astype("float32")


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_weights_set_after_build_survive_the_first_call(name):
    k, r = getattr(keras.layers, name)(4), getattr(rk.layers, name)(4)
    k.build((None, 5, 3))
    r.build((None, 5, 3))
    assert r.built and k.built and len(r.weights) == len(k.weights)
    r.set_weights(k.get_weights())
    np.testing.assert_allclose(r(X).detach().numpy(), keras.ops.convert_to_numpy(k(X)), atol=1e-5, rtol=1e-5)
    assert len(r.weights) == len(k.weights)


def test_a_cells_weight_list_does_not_double():
    k, r = keras.layers.GRUCell(4), rk.layers.GRUCell(4)
    k.build((None, 3))
    r.build((None, 3))
    r.set_weights(k.get_weights())
    states = [np.zeros((2, 4), dtype="float32")]
    ko, _ = k(X[:, 0], states)
    ro, _ = r(X[:, 0], states)
    assert len(r.weights) == len(k.weights) == 3
    np.testing.assert_allclose(ro.detach().numpy(), keras.ops.convert_to_numpy(ko), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True}, {"return_state": True},
                                    {"return_sequences": True, "return_state": True}])
def test_compute_output_shape_and_weight_lists_match_keras(kwargs):
    k, r = keras.layers.LSTM(4, **kwargs), rk.layers.LSTM(4, **kwargs)
    expected = k.compute_output_shape((None, 5, 3))
    got = r.compute_output_shape((None, 5, 3))
    norm = (lambda s: [tuple(x) for x in s]) if kwargs.get("return_state") else tuple
    assert norm(got) == norm(expected)
    assert not r.built and r.trainable_weights == [] == k.trainable_weights  # asking the shape builds nothing
    k.build((None, 5, 3))
    r.build((None, 5, 3))
    assert len(r.trainable_weights) == len(k.trainable_weights) == 3 and r.non_trainable_weights == []
    frozen = rk.layers.Dense(2, trainable=False)
    frozen.build((None, 3))
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 2
