"""``model.summary()`` prints Keras's text: the same architecture summarised by real Keras 3.15 (PyTorch backend) and
by rnnkit.keras gives the same characters — chains and graphs ("Connected to"), Sequential models (no InputLayer
row), nested models expanded, returned states, a layer range, the Trainable column, and the optimizer's parameters
once it has trained."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402


def two_inputs(lib):
    a, b = lib.Input((5, 3), name="seq"), lib.Input((2,), name="aux")
    joined = lib.layers.Concatenate(name="cat")([lib.layers.LSTM(4, name="lstm")(a), b])
    return lib.Model([a, b], lib.layers.Dense(1, name="dense")(joined), name="two")


def stacked(lib):
    return lib.Sequential([lib.Input((5, 3)), lib.layers.GRU(4, return_sequences=True, name="gru"),
                           lib.layers.LSTM(2, name="lstm2"), lib.layers.Dense(1, name="d")], name="seqm")


def chain(lib):
    x = lib.Input((5, 3), name="x")
    return lib.Model(x, lib.layers.Dense(3, name="d2")(lib.layers.Dense(3, name="d1")(x)), name="chain")


def nested(lib):
    return lib.Sequential([lib.Input((5, 3)), chain(lib), lib.layers.Flatten(name="fl")], name="outer")


def states(lib):
    i = lib.Input((4, 2), name="i")
    o, h, _ = lib.layers.LSTM(3, return_state=True, name="st")(i)
    return lib.Model(i, [o, h], name="states")


def shared(lib):
    a, b = lib.Input((3,), name="a"), lib.Input((3,), name="b")
    dense = lib.layers.Dense(2, name="shared")
    return lib.Model([a, b], lib.layers.Add(name="add")([dense(a), dense(b)]), name="siamese")


CASES = {"two_inputs": (two_inputs, {"line_length": 100}), "trainable": (two_inputs, {"show_trainable": True}),
         "stacked": (stacked, {}), "chain_range": (chain, {"layer_range": ["d1", "d2"]}),
         "nested": (nested, {"expand_nested": True}), "states": (states, {}), "shared": (shared, {"line_length": 90})}


def text(model, **kwargs) -> str:
    out = []
    model.summary(print_fn=out.append, **{"line_length": 88, **kwargs})
    assert len(out) == 1  # Keras hands print_fn the whole table at once
    return out[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_summary_is_keras_text(case):
    build, kwargs = CASES[case]
    assert text(build(rk), **kwargs) == text(build(keras), **kwargs)


def test_after_training_the_optimizer_parameters_are_counted_as_keras_counts_them():
    # Adam: the iteration count, the learning rate, and a momentum and a velocity per weight
    x, y = np.zeros((4, 5, 3), "float32"), np.zeros((4, 1), "float32")
    theirs, ours = stacked(keras), stacked(rk)
    for m in (theirs, ours):
        m.compile("adam", "mse")
        m.fit(x, y, verbose=0)
    assert " Optimizer params: 336 (1.31 KB)" in text(ours)
    assert text(ours) == text(theirs)


def test_bad_layer_ranges_are_refused_in_keras_words():
    with pytest.raises(ValueError, match="do not match the layer names"):
        chain(rk).summary(layer_range=["nope", "d2"])
    with pytest.raises(ValueError, match="length 2"):
        chain(rk).summary(layer_range=["d1"])
