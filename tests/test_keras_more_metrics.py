"""Keras's R2Score, F1Score/FBetaScore and the metrics named after losses (MSLE, log-cosh, Poisson, KL divergence,
cosine similarity, hinges, cross-entropies) against real Keras 3 (PyTorch backend): the same batches give Keras's
results, stateful and in ``fit``/``evaluate`` logs (per-class F1 as an array, as Keras logs it)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
Y = RNG.normal(size=(10, 3)).astype("float32")
P = Y + RNG.normal(size=(10, 3)).astype("float32") * 0.5
W = RNG.uniform(size=10).astype("float32")
ONE_HOT = np.eye(4, dtype="float32")[RNG.integers(0, 4, 12)]
PROBS4 = RNG.dirichlet(np.ones(4), 12).astype("float32")
PROBS_TRUE, PROBS = (RNG.dirichlet(np.ones(3), 10).astype("float32") for _ in range(2))
SIGNS = (RNG.random((10, 3)) > 0.5).astype("float32")
SPARSE = RNG.integers(0, 3, 10)


def result(lib, metric, y, p, split, weights):
    """Two update_state calls (the second weighted), then the result, as NumPy."""
    metric.update_state(y[:split], p[:split])
    metric.update_state(y[split:], p[split:], sample_weight=weights[:len(y) - split])
    return np.asarray(keras.ops.convert_to_numpy(metric.result()) if lib is keras else metric.result())


@pytest.mark.parametrize("make", [
    lambda lib: lib.metrics.R2Score(), lambda lib: lib.metrics.R2Score(class_aggregation="variance_weighted_average"),
    lambda lib: lib.metrics.R2Score(class_aggregation=None),
])
def test_r2_score_is_keras_s(make):
    np.testing.assert_allclose(result(rk, make(rk), Y, P, 6, W), result(keras, make(keras), Y, P, 6, W), rtol=1e-5)
    assert make(rk).get_config() == make(keras).get_config()


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [None, 0.3])
def test_f1_and_fbeta_scores_are_keras_s(average, threshold):
    for make in (lambda lib: lib.metrics.F1Score(average=average, threshold=threshold),
                 lambda lib: lib.metrics.FBetaScore(average=average, beta=2.0, threshold=threshold)):
        np.testing.assert_allclose(result(rk, make(rk), ONE_HOT, PROBS4, 7, W),
                                   result(keras, make(keras), ONE_HOT, PROBS4, 7, W), rtol=1e-5, atol=1e-7)
        assert make(rk).get_config() == make(keras).get_config()


LOSS_NAMED = [("MeanSquaredLogarithmicError", {}, np.abs(Y), np.abs(P) + 0.1), ("LogCoshError", {}, Y, P),
              ("Poisson", {}, np.abs(Y), np.abs(P) + 0.1), ("KLDivergence", {}, PROBS_TRUE, PROBS),
              ("CosineSimilarity", {}, Y, P), ("Hinge", {}, SIGNS, P), ("SquaredHinge", {}, SIGNS, P),
              ("CategoricalHinge", {}, PROBS_TRUE, P), ("BinaryCrossentropy", {}, SIGNS, PROBS),
              ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, SIGNS, P),
              ("CategoricalCrossentropy", {"label_smoothing": 0.2}, PROBS_TRUE, PROBS),
              ("SparseCategoricalCrossentropy", {"from_logits": True}, SPARSE, P)]


@pytest.mark.parametrize("name, kwargs, y, p", LOSS_NAMED, ids=[f"{c[0]}{c[1] or ''}" for c in LOSS_NAMED])
def test_the_metrics_named_after_losses_are_keras_s(name, kwargs, y, p):
    ours = result(rk, getattr(rk.metrics, name)(**kwargs), y, p, 4, W)
    theirs = result(keras, getattr(keras.metrics, name)(**kwargs), y, p, 4, W)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    keras_config = getattr(keras.metrics, name)(**kwargs).get_config()
    assert {k: v for k, v in getattr(rk.metrics, name)(**kwargs).get_config().items() if k in keras_config} == \
        keras_config


@pytest.mark.parametrize("case", ["regression", "classes"])
def test_fit_and_evaluate_log_them_as_keras(case, capsys):
    x = RNG.normal(size=(40, 6, 3)).astype("float32")
    if case == "regression":
        y, out, act, loss = RNG.normal(size=(40, 2)).astype("float32"), 2, None, "mse"

        def metrics(lib):
            return [lib.metrics.R2Score(), "msle", lib.metrics.CosineSimilarity()]
    else:
        y, out, act, loss = np.eye(3, dtype="float32")[RNG.integers(0, 3, 40)], 3, "softmax", "categorical_crossentropy"

        def metrics(lib):
            return [lib.metrics.F1Score(average="macro"), lib.metrics.F1Score(), "categorical_crossentropy"]

    def build(lib):
        model = lib.Sequential([lib.Input(shape=(6, 3)), lib.layers.LSTM(5), lib.layers.Dense(out, activation=act)])
        model.compile(lib.optimizers.SGD(0.05), loss, metrics=metrics(lib))
        return model

    theirs, ours = build(keras), build(rk)
    ours.set_weights(theirs.get_weights())
    want = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_split=0.25).history
    got = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_split=0.25).history
    assert set(got) == set(want)
    for key in want:
        np.testing.assert_allclose(np.asarray(got[key], dtype=np.float64), np.asarray(want[key], dtype=np.float64),
                                   rtol=2e-5, atol=1e-6)
    ours.fit(x, y, batch_size=8, epochs=1, verbose=2)  # the progress line shows a per-class F1 array
    assert ("f1_score_1: [" if case == "classes" else "r2_score") in capsys.readouterr().out
    ours.set_weights(theirs.get_weights())
    want_eval = theirs.evaluate(x, y, verbose=0, return_dict=True)
    got_eval = ours.evaluate(x, y, verbose=0, return_dict=True)
    for key in want_eval:
        np.testing.assert_allclose(np.asarray(got_eval[key], dtype=np.float64), np.asarray(want_eval[key]),
                                   rtol=2e-5, atol=1e-6)
