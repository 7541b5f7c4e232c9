"""``Pipeline``: an adapted Normalization then a Dense as one layer before an LSTM — Keras 3's predictions and training
(PyTorch backend), its config and files both ways; an Embedding's mask passes through the pipeline to the RNN after
it, as in Keras."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways, predicts_and_trains_as_keras  # noqa: E402

RNG = np.random.default_rng(0)
DATA = (RNG.standard_normal((20, 6, 3)) * 3 + 1).astype("float32")
Y = RNG.standard_normal((20, 2)).astype("float32")


def regressor(lib):
    norm = lib.layers.Normalization()
    norm.adapt(DATA)
    m = lib.Sequential([lib.Input((6, 3)), lib.layers.Pipeline([norm, lib.layers.Dense(4, activation="tanh")]),
                        lib.layers.LSTM(5), lib.layers.Dense(2)])
    m.compile(lib.optimizers.SGD(0.1), "mse")
    return m


def test_a_pipeline_trains_as_keras_and_loads_both_ways(tmp_path):
    km, rm = predicts_and_trains_as_keras(regressor, DATA, Y, RNG, batch_size=5)
    assert_keras_files_move_both_ways(km, rm, DATA, tmp_path, atol=1e-6)
    ours, theirs = rm.layers[0].get_config(), km.layers[0].get_config()
    assert [d["class_name"] for d in ours["layers"]] == [d["class_name"] for d in theirs["layers"]]
    assert set(ours) == set(theirs) == {"layers", "name"}


def test_the_embeddings_mask_passes_through():
    """Ids 3, 4, 0, 0 with mask_zero: the RNN after the pipeline holds its last output over the padding."""
    ids = np.array([[3, 4, 0, 0]])
    outputs, weights = [], None
    for lib in (keras, rk):
        inp = lib.Input((4,), dtype="int32")
        x = lib.layers.Pipeline([lib.layers.Embedding(10, 3, mask_zero=True), lib.layers.Dense(3)])(inp)
        m = lib.Model(inp, lib.layers.SimpleRNN(2, return_sequences=True)(x))
        if weights is not None:
            m.set_weights(weights)
        weights = m.get_weights()
        outputs.append(m.predict(ids, verbose=0))
    np.testing.assert_allclose(outputs[1], outputs[0], atol=1e-6)
    np.testing.assert_array_equal(outputs[1][0, 2], outputs[1][0, 1])
