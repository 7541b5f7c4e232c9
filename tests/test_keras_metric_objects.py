"""Metric objects used as Keras's are outside ``fit`` — ``update_state`` batch after batch (sample weights too),
``result``, ``reset_state``, calling the object — give Keras's results (real Keras 3, PyTorch backend): the accuracy
family, errors, RMSE, Precision / Recall / AUC, and ``Mean`` / ``Sum``, a custom loop's trackers."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(7)
IDS = RNG.integers(0, 4, (2, 6))
PROBS = RNG.dirichlet(np.ones(4), (2, 6)).astype("float32")
BIN_Y = (RNG.random((2, 6, 1)) > 0.5).astype("float32")
BIN_P = RNG.random((2, 6, 1)).astype("float32")
REG_Y = RNG.standard_normal((2, 6, 3)).astype("float32")
REG_P = RNG.standard_normal((2, 6, 3)).astype("float32")
W = RNG.uniform(0.2, 2.0, (2, 6)).astype("float32")

CASES = [("SparseCategoricalAccuracy", {}, IDS, PROBS), ("CategoricalAccuracy", {}, np.eye(4)[IDS], PROBS),
         ("SparseTopKCategoricalAccuracy", {"k": 2}, IDS, PROBS), ("BinaryAccuracy", {"threshold": 0.4}, BIN_Y, BIN_P),
         ("MeanSquaredError", {}, REG_Y, REG_P), ("MeanAbsoluteError", {}, REG_Y, REG_P),
         ("RootMeanSquaredError", {}, REG_Y, REG_P), ("Precision", {}, BIN_Y, BIN_P), ("Recall", {}, BIN_Y, BIN_P),
         ("AUC", {}, BIN_Y, BIN_P), ("AUC", {"curve": "PR"}, BIN_Y, BIN_P)]


@pytest.mark.parametrize("name,kwargs,y,p", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("weighted", [False, True])
def test_update_result_reset_as_keras(name, kwargs, y, p, weighted):
    ours, theirs = getattr(rk.metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    for batch in range(2):  # two batches accumulate
        w = W[batch] if weighted else None
        ours.update_state(y[batch], p[batch], sample_weight=w)
        theirs.update_state(y[batch], p[batch], sample_weight=w)
        assert float(ours.result()) == pytest.approx(float(theirs.result()), abs=1e-5)
    ours.reset_state()
    theirs.reset_state()
    assert float(ours(y[0], p[0])) == pytest.approx(float(theirs(y[0], p[0])), abs=1e-5)


def test_mean_and_sum_trackers_as_keras():
    values = RNG.standard_normal(5).astype("float32")
    for cls in ("Mean", "Sum"):
        ours, theirs = getattr(rk.metrics, cls)(name="loss"), getattr(keras.metrics, cls)(name="loss")
        for v, w in zip(values, [1.0, 2.0, 0.5, 1.0, 3.0]):
            ours.update_state(v, sample_weight=w)
            theirs.update_state(v, sample_weight=w)
        ours.update_state(values[:2])
        theirs.update_state(values[:2])
        assert ours.name == "loss" and float(ours.result()) == pytest.approx(float(theirs.result()), abs=1e-5)
        ours.reset_state()
        assert float(ours.result()) == 0.0
