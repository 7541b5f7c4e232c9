"""NumPy in, as Keras users pass it: layers, cells and models called directly on NumPy arrays (float64, float32,
integer ids, integer features) give what real Keras 3 (PyTorch backend) gives with the same weights — as tensors."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(1)
X64 = RNG.standard_normal((3, 6, 4))  # float64, as NumPy makes it
XINT = RNG.integers(0, 3, (3, 6, 4))


def same(ours, theirs):
    assert isinstance(ours, torch.Tensor)  # a direct call returns tensors, as Keras on torch does
    np.testing.assert_allclose(ours.detach().numpy(), keras.ops.convert_to_numpy(theirs), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("x", [X64, X64.astype("float32"), XINT], ids=["float64", "float32", "int"])
def test_recurrent_layers_take_numpy(name, x):
    k = getattr(keras.layers, name)(5, return_sequences=True)
    k(x.astype("float32"))
    r = getattr(rk.layers, name)(5, return_sequences=True)
    out = r(x)
    r.set_weights(k.get_weights())
    same(r(x), k(x))
    assert out.dtype == torch.float32


def test_embedding_takes_integer_ids_and_dense_takes_floats():
    ids = RNG.integers(0, 10, (2, 5))
    k, r = keras.layers.Embedding(10, 3), rk.layers.Embedding(10, 3)
    k(ids), r(ids)
    r.set_weights(k.get_weights())
    same(r(ids), k(ids))
    kd, rd = keras.layers.Dense(2), rk.layers.Dense(2)
    kd(X64), rd(X64)
    rd.set_weights(kd.get_weights())
    same(rd(X64), kd(X64))


@pytest.mark.parametrize("name", ["SimpleRNNCell", "LSTMCell", "GRUCell"])
def test_cells_take_numpy_inputs_and_states(name):
    k, r = getattr(keras.layers, name)(4), getattr(rk.layers, name)(4)
    x = X64[:, 0]
    states = [np.zeros((3, 4))] * (2 if name == "LSTMCell" else 1)
    k(x, states), r(x, states)
    r.set_weights(k.get_weights())
    (ko, kst), (ro, rst) = k(x, states), r(x, states)
    same(ro, ko)
    for a, b in zip(rst, kst):
        same(a, b)


def test_models_take_numpy_including_several_inputs():
    k = keras.Sequential([keras.Input((6, 4)), keras.layers.GRU(5), keras.layers.Dense(1)])
    r = rk.models.Sequential([rk.layers.Input((6, 4)), rk.layers.GRU(5), rk.layers.Dense(1)])
    r.set_weights(k.get_weights())
    same(r(X64), k(X64))
    ka, kb = keras.Input((6, 4)), keras.Input((3,))  # two inputs: the sequence and the GRU's initial state
    km = keras.Model([ka, kb], keras.layers.Dense(1)(keras.layers.GRU(3)(ka, initial_state=kb)))
    ra, rb = rk.layers.Input((6, 4)), rk.layers.Input((3,))
    rm = rk.models.Model([ra, rb], rk.layers.Dense(1)(rk.layers.GRU(3)(ra, initial_state=rb)))
    rm.set_weights(km.get_weights())
    h0 = RNG.standard_normal((3, 3))
    same(rm([X64, h0]), km([X64, h0]))
