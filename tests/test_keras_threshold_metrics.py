"""Keras's confusion counts (TruePositives, FalsePositives, TrueNegatives, FalseNegatives), the metrics read at an
operating point (SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision) and the
adjusted R² (R2Score(num_regressors=p)): sums over the epoch, not means — checked against real Keras 3 (PyTorch
backend) as objects, in fit/evaluate logs and in saved files, and by hand on a four-sample case."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(3)
LABELS = (RNG.random((30, 3)) > 0.6).astype("float32")
LABELS[0, 0] = 0.3  # a soft label: positive for Keras (not zero)
SCORES = RNG.random((30, 3)).astype("float32")
SCORES[1, 0], SCORES[2, 0], SCORES[3, 1], SCORES[4, 2], SCORES[5, 2] = 0.0, 1.0, 0.5, 1.3, -0.2  # edges, outside
WEIGHTS = RNG.uniform(0.5, 2, 30).astype("float32")

CASES = [("TruePositives", {}), ("FalsePositives", {"thresholds": 0.3}),
         ("TrueNegatives", {"thresholds": [0.0, 0.5, 1.0]}),  # evenly spaced: Keras clips the scores to [0, 1]
         ("FalseNegatives", {"thresholds": [0.2, 0.7]}),
         ("SensitivityAtSpecificity", {"specificity": 0.6}),
         ("SpecificityAtSensitivity", {"sensitivity": 0.7, "num_thresholds": 7}),
         ("PrecisionAtRecall", {"recall": 0.4, "class_id": 1}),
         ("RecallAtPrecision", {"precision": 0.5, "num_thresholds": 1}),
         ("RecallAtPrecision", {"precision": 0.95})]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cls,kwargs", CASES)
def test_metric_objects_give_keras_values_and_configs(cls, kwargs, weighted):
    ours, theirs = getattr(rk.metrics, cls)(**kwargs), getattr(keras.metrics, cls)(**kwargs)
    for part in (slice(0, 13), slice(13, 30)):  # two batches, accumulated
        w = WEIGHTS[part] if weighted else None
        ours.update_state(LABELS[part], SCORES[part], sample_weight=w)
        theirs.update_state(LABELS[part], SCORES[part], sample_weight=w)
    np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()), rtol=1e-5, atol=1e-5)
    assert np.ndim(ours.result()) == np.ndim(theirs.result())  # a number for one threshold, a vector for several
    assert {**ours.get_config(), "name": None} == {**theirs.get_config(), "name": None}  # Keras numbers its names
    ours.reset_state()
    assert np.asarray(ours.result()).tolist() == np.zeros(np.shape(theirs.result())).tolist()


def test_counts_and_operating_points_by_hand():
    """Scores 0.9, 0.6, 0.4, 0.2 against labels 1, 0, 1, 0: at 0.5 TP 1, FP 1, TN 1, FN 1; at 0.3, TP 2, FP 1.
    Specificity is 1 only above 0.6, where sensitivity is 1/2; sensitivity is 1 only up to 0.4, where specificity is
    1/2 — so SensitivityAtSpecificity(1) = 1/2 and SpecificityAtSensitivity(1) = 1/2."""
    y, p = np.array([[1.0], [0.0], [1.0], [0.0]]), np.array([[0.9], [0.6], [0.4], [0.2]])

    def value(metric):
        metric.update_state(y, p)
        return np.asarray(metric.result()).tolist()
    M = rk.metrics
    assert [value(c()) for c in (M.TruePositives, M.FalsePositives, M.TrueNegatives, M.FalseNegatives)] == [1, 1, 1, 1]
    assert value(M.TruePositives(thresholds=[0.3, 0.5])) == [2, 1] and value(M.FalsePositives(thresholds=0.3)) == 1
    assert value(M.SensitivityAtSpecificity(1.0)) == pytest.approx(0.5)
    assert value(M.SpecificityAtSensitivity(1.0)) == pytest.approx(0.5)
    assert value(M.PrecisionAtRecall(1.0)) == pytest.approx(2 / 3)  # thresholds below 0.4: TP 2, FP 1
    assert value(M.RecallAtPrecision(1.0)) == pytest.approx(0.5)  # above 0.6: only the 0.9


def test_bad_arguments_are_refused_as_keras_refuses_them():
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]. Received: \[1.5\]"):
        rk.metrics.TruePositives(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="specificity"):
        rk.metrics.SensitivityAtSpecificity(1.2)
    with pytest.raises(ValueError, match="num_thresholds"):
        rk.metrics.PrecisionAtRecall(0.5, num_thresholds=0)


X = RNG.standard_normal((50, 6, 3)).astype("float32")
Y = (X[:, :, 0].mean(1) + 0.3 * RNG.standard_normal(50) > 0).astype("float32")
W = RNG.uniform(0.5, 2, 50).astype("float32")


def build(lib):
    keras.utils.set_random_seed(4)  # (one start: an operating point's constraint can sit exactly on a rate)
    M = lib.metrics
    m = lib.Sequential([lib.Input((6, 3)), lib.layers.LSTM(4), lib.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer=lib.optimizers.SGD(0.3), loss="binary_crossentropy",
              metrics=["true_positives", M.FalsePositives(name="fp"), M.TrueNegatives(thresholds=0.4, name="tn"),
                       M.FalseNegatives(name="fn"), M.SensitivityAtSpecificity(0.5, name="sens"),
                       M.RecallAtPrecision(0.6, name="rec")],
              weighted_metrics=[M.TruePositives(name="w_tp")])
    return m


def test_fit_evaluate_and_batch_calls_log_keras_counts():
    """Given the same weights, a fit logs Keras's counts epoch by epoch (weighted ones too), batch by batch, and so do
    evaluate, train_on_batch and test_on_batch — sums, not means: a count grows with the samples seen."""
    km, rm = build(keras), build(rk)
    rm.set_weights(km.get_weights())
    seen: dict = {"keras": [], "rnnkit": []}

    def recorder(lib, key):
        class Record(lib.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                seen[key].append({k: float(v) for k, v in logs.items()})
        return Record()
    kw = dict(sample_weight=W, batch_size=16, epochs=2, shuffle=False, verbose=0)
    want = km.fit(X, Y, callbacks=[recorder(keras, "keras")], **kw).history
    got = rm.fit(X, Y, callbacks=[recorder(rk, "rnnkit")], **kw).history
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-4, err_msg=key)
    assert len(seen["rnnkit"]) == len(seen["keras"]) == 8
    for ours, theirs in zip(seen["rnnkit"], seen["keras"]):
        assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-4)
    for call in ("evaluate", "train_on_batch", "test_on_batch"):
        args = (X, Y) if call == "evaluate" else (X[:20], Y[:20])
        extra = {"verbose": 0} if call == "evaluate" else {}
        theirs = getattr(km, call)(*args, return_dict=True, **extra)
        ours = getattr(rm, call)(*args, return_dict=True, **extra)
        assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-4), call


def test_validation_counts_are_keras_and_training_counts_stay_the_training_ones():
    """With validation data the val_ counts are Keras's; the training counts are those of the same fit without
    validation — Keras 3.15's PyTorch backend logs the *validation* counts under the training names there (its
    result is a view of the metric's variable, which the validation pass resets and refills)."""
    km, rm, plain = build(keras), build(rk), build(keras)
    rm.set_weights(km.get_weights())
    plain.set_weights(km.get_weights())
    kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    want = km.fit(X, Y, validation_data=(X[:20], Y[:20]), **kw).history
    got = rm.fit(X, Y, validation_data=(X[:20], Y[:20]), **kw).history
    training = plain.fit(X, Y, **kw).history
    for key in want:
        if key.startswith("val_"):
            np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-4, err_msg=key)
        else:
            np.testing.assert_allclose(got[key], training[key], rtol=1e-5, atol=1e-4, err_msg=key)


@pytest.mark.parametrize("writer", ["keras", "rnnkit"])
def test_count_metrics_are_saved_and_compiled_again(tmp_path, writer):
    lib, reader = (keras, rk) if writer == "keras" else (rk, keras)
    m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy", metrics=[lib.metrics.TruePositives(thresholds=[0.3, 0.6]),
                                                      lib.metrics.PrecisionAtRecall(0.5, num_thresholds=9)])
    m.save(tmp_path / "m.keras")
    loaded = reader.models.load_model(tmp_path / "m.keras")
    x = X[:, 0, :]
    want, got = m.evaluate(x, Y, verbose=0, return_dict=True), loaded.evaluate(x, Y, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-5, err_msg=key)


def test_precision_counts_a_soft_label_as_positive_and_auc_clips_scores_as_keras():
    """Keras reads a label as positive when it is not zero (0.3 too), and its bucketed AUC clips scores to [0, 1]."""
    for cls in ("Precision", "Recall"):
        ours, theirs = getattr(rk.metrics, cls)(), getattr(keras.metrics, cls)()
        ours.update_state(LABELS, SCORES)
        theirs.update_state(LABELS, SCORES)
        assert float(ours.result()) == pytest.approx(float(theirs.result()), abs=1e-6)
    for kwargs in ({}, {"curve": "PR"}, {"thresholds": [0.25, 0.5, 0.75]}, {"thresholds": [0.3, 0.6]},
                   {"multi_label": True}):
        ours, theirs = rk.metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs)
        ours.update_state(LABELS, SCORES * 1.6 - 0.3)
        theirs.update_state(LABELS, SCORES * 1.6 - 0.3)
        assert float(ours.result()) == pytest.approx(float(theirs.result()), abs=1e-6), kwargs


@pytest.mark.parametrize("kwargs", [{"num_regressors": 2}, {"num_regressors": 5, "class_aggregation": None},
                                    {"num_regressors": 3, "class_aggregation": "variance_weighted_average"}])
def test_adjusted_r2_is_keras(kwargs):
    """R² adjusted for p regressors over the n values seen: Keras's object and Keras's evaluate."""
    y = RNG.standard_normal((40, 3)).astype("float32")
    p = (y + 0.5 * RNG.standard_normal((40, 3))).astype("float32")
    ours, theirs = rk.metrics.R2Score(**kwargs), keras.metrics.R2Score(**kwargs)
    for part in (slice(0, 15), slice(15, 40)):
        ours.update_state(y[part], p[part], WEIGHTS[:25][:len(y[part])] if part.start else None)
        theirs.update_state(y[part], p[part], WEIGHTS[:25][:len(y[part])] if part.start else None)
    np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()), rtol=1e-5)
    x = RNG.standard_normal((40, 4)).astype("float32")
    results, weights = [], None
    for lib in (keras, rk):
        m = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3)])
        m.compile("sgd", "mse", metrics=[lib.metrics.R2Score(**kwargs)])
        if weights is not None:
            m.set_weights(weights)
        weights = m.get_weights()
        results.append(m.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)["r2_score"])
    np.testing.assert_allclose(np.asarray(results[1]), np.asarray(results[0]), rtol=1e-5)


def test_adjusted_r2_falls_back_to_r2_with_more_regressors_than_values():
    y = np.array([[1.0], [2.0], [4.0]])
    p = np.array([[1.5], [2.0], [3.0]])
    plain, adjusted = rk.metrics.R2Score(), rk.metrics.R2Score(num_regressors=5)
    plain.update_state(y, p)
    adjusted.update_state(y, p)
    with pytest.warns(UserWarning, match="More independent predictors"):
        assert float(adjusted.result()) == pytest.approx(float(plain.result()))
    with pytest.raises(ValueError, match="num_regressors"):
        rk.metrics.R2Score(num_regressors=-1)


def test_array_valued_metrics_show_in_the_progress_bar(capsys):
    """Counts at two thresholds and a one-class F1Score(average=None) are arrays: the bar prints them (it raised on a
    one-element array)."""
    x = RNG.random((20, 3)).astype("float32")
    y = (x[:, 0] > 0.5).astype("float32")
    m = rk.Sequential([rk.Input((3,)), rk.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy", metrics=[rk.metrics.TruePositives(thresholds=[0.3, 0.6]),
                                                      rk.metrics.F1Score(average=None)])
    history = m.fit(x, y, epochs=1, verbose=1)
    shown = capsys.readouterr().out
    assert "true_positives: [" in shown and "f1_score: " in shown
    assert np.shape(history.history["true_positives"][0]) == (2,)
