"""Keras's cell protocol: ``RNN(cell)`` and ``StackedRNNCells`` take a user's own cell — a layer with ``state_size``,
``call(inputs, states[, training])``, optional ``output_size``/``get_initial_state`` — and stacked cells return Keras's
nested states. The same cell code runs in real Keras 3 (PyTorch backend) and in rnnkit.keras; outputs agree."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(5)
X = RNG.standard_normal((3, 6, 4)).astype("float32")
MASK = np.ones((3, 6), dtype=bool)
MASK[1, 4:] = False
MASK[2, 1:3] = False
ATOL = 1e-5


def numpy(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else keras.ops.convert_to_numpy(t)


def minimal_cell(lib):
    """Keras's documented example cell (``keras.layers.RNN``'s docstring), written against ``lib``."""
    ops = keras.ops if lib is keras else torch

    class MinimalRNNCell(lib.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            prev_output = states[0]
            h = ops.matmul(inputs, self.kernel)
            output = h + ops.matmul(prev_output, self.recurrent_kernel)
            return output, [output]

    return MinimalRNNCell


def peephole_cell(lib):
    """Two states, an ``output_size`` unlike the state size, a ``training`` argument and ``get_initial_state``."""
    ops = keras.ops if lib is keras else torch

    class TwoStateCell(lib.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = [units, 2 * units]
            self.output_size = 2 * units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2 * self.units), initializer="glorot_uniform", name="w")
            self.u = self.add_weight(shape=(2 * self.units, 2 * self.units), initializer="orthogonal", name="u")

        def get_initial_state(self, batch_size=None):
            return [ops.ones((batch_size, self.units)) * 0.5, ops.zeros((batch_size, 2 * self.units))]

        def call(self, inputs, states, training=False):
            h, c = states
            c = ops.tanh(ops.matmul(inputs, self.w) + ops.matmul(c, self.u)) * (1.0 if training else 0.9)
            h = h * 0.5 + c[:, : self.units]
            return c, [h, c]

    return TwoStateCell


def twins(make, units, **rnn_kwargs):
    """The same cell class built by each library, in an RNN, with Keras's weights copied to rnnkit."""
    k = keras.layers.RNN(make(keras)(units), **rnn_kwargs)
    r = rk.layers.RNN(make(rk)(units), **rnn_kwargs)
    k(X)
    r(X)
    r.set_weights(k.get_weights())
    return k, r


def assert_same(a, b):
    a, b = (a if isinstance(a, (list, tuple)) else [a]), (b if isinstance(b, (list, tuple)) else [b])
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, (list, tuple)):
            assert_same(x, y)
        else:
            np.testing.assert_allclose(numpy(y), numpy(x), atol=ATOL, rtol=1e-5)


@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True}, {"return_state": True}, {"go_backwards": True},
                                    {"return_sequences": True, "zero_output_for_mask": True}])
def test_a_users_cell_runs_as_in_keras(kwargs):
    k, r = twins(minimal_cell, 5, **kwargs)
    assert_same(k(X), r(X))
    assert_same(k(X, mask=MASK), r(X, mask=MASK))  # masked steps keep the state and repeat the output


def test_a_cell_with_two_states_output_size_training_and_its_own_initial_state():
    k, r = twins(peephole_cell, 3, return_sequences=True, return_state=True)
    assert_same(k(X), r(X))
    assert_same(k(X, training=True), r(X, training=True))
    assert tuple(r(X)[0].shape) == (3, 6, 6)  # output_size, not state_size[0]
    assert r.compute_output_shape((None, 6, 4)) == [(None, 6, 6), (None, 3), (None, 6)]


def test_stacked_cells_return_keras_nested_states():
    def stack(lib, make):
        return lib.layers.RNN([lib.layers.LSTMCell(4), make(lib)(3), lib.layers.GRUCell(2)], return_state=True)

    k, r = stack(keras, minimal_cell), stack(rk, minimal_cell)
    k(X)
    r(X)
    r.set_weights(k.get_weights())
    ko, ro = k(X), r(X)
    # [out, [h1, c1], h2, [h3]]: a cell with one int state and no get_initial_state carries a bare tensor
    assert [type(s).__name__ for s in ro[1:]] == ["list", "Tensor", "list"]
    assert [type(s).__name__ for s in ko[1:]] == ["list", "Tensor", "list"]
    assert_same(ko, ro)
    assert_same(k(X, mask=MASK), r(X, mask=MASK))
    state = [[np.full((3, 4), 0.1, "float32")] * 2, [np.full((3, 3), -0.2, "float32")], [np.zeros((3, 2), "float32")]]
    assert_same(k(X, initial_state=state), r(X, initial_state=state))


def test_stacked_rnnkit_cells_keep_keras_structure_on_the_fast_path():
    k = keras.layers.RNN([keras.layers.LSTMCell(4), keras.layers.SimpleRNNCell(3)], return_state=True)
    r = rk.layers.RNN([rk.layers.LSTMCell(4), rk.layers.SimpleRNNCell(3)], return_state=True)
    k(X)
    r(X)
    r.set_weights(k.get_weights())
    ko, ro = k(X), r(X)
    assert isinstance(ro[1], list) and isinstance(ro[2], list) and len(ro[1]) == 2 and len(ro[2]) == 1
    assert_same(ko, ro)
    assert r.cell.state_size == k.cell.state_size == [[4, 4], 3]


def test_a_users_cell_in_a_model_trains_and_saves(tmp_path):
    Cell = rk.saving.register_keras_serializable(package="tests")(minimal_cell(rk))
    Cell.get_config = lambda self: {**rk.layers.Layer.get_config(self), "units": self.units}
    inp = rk.Input((6, 4))
    model = rk.Model(inp, rk.layers.Dense(1)(rk.layers.RNN(Cell(5))(inp)))
    model.compile("adam", "mse")
    y = X.sum(axis=(1, 2))[:, None]
    hist = model.fit(X, y, epochs=30, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    model.save(tmp_path / "m.keras")
    again = rk.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(X), model.predict(X), atol=1e-6)


def test_cells_without_the_protocol_are_refused_as_keras_refuses_them():
    class NoState(rk.layers.Layer):
        def call(self, inputs, states):
            return inputs, states

    with pytest.raises(ValueError, match="state_size"):
        rk.layers.RNN(NoState())
    with pytest.raises(ValueError, match="state_size"):
        rk.layers.StackedRNNCells([rk.layers.LSTMCell(2), NoState()])
    with pytest.raises(ValueError, match="state_size"):
        keras.layers.RNN(NoState())  # (a rnnkit layer: Keras checks the same attribute)
