"""Precision, Recall and AUC (ROC and PR, Keras's three summation methods, by name or as objects, weighted too) are
ratios over the epoch, not means of batch values: a fit logs Keras's numbers epoch by epoch, training and validation
(real Keras 3, PyTorch backend, is the reference), and AUC with many thresholds is scikit-learn's exact ROC AUC."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.standard_normal((50, 6, 3)).astype("float32")
Y = (X[:, :, 0].mean(1) + 0.3 * RNG.standard_normal(50) > 0).astype("float32")
W = RNG.uniform(0.5, 2, 50).astype("float32")


def metrics(lib):
    M = lib.metrics
    return ["auc", "precision", "recall", M.AUC(curve="PR", name="pr"),
            M.AUC(num_thresholds=13, summation_method="minoring", name="minoring"),
            M.AUC(curve="PR", summation_method="majoring", name="pr_majoring"),
            M.Precision(thresholds=0.3, name="p3"), M.Recall(name="r")]


def build(lib):
    m = lib.Sequential([lib.Input((6, 3)), lib.layers.LSTM(4), lib.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer=lib.optimizers.SGD(0.1), loss="binary_crossentropy", metrics=metrics(lib),
              weighted_metrics=[lib.metrics.AUC(name="w_auc"), lib.metrics.Precision(name="w_precision")])
    return m


def test_fit_logs_keras_values_every_epoch():
    km, rm = build(keras), build(rk)
    rm.set_weights(km.get_weights())
    kw = dict(sample_weight=W, batch_size=16, epochs=2, shuffle=False, verbose=0, validation_data=(X[:20], Y[:20]))
    want, got = km.fit(X, Y, **kw).history, rm.fit(X, Y, **kw).history
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], atol=1e-5, err_msg=key)
    k_eval = km.evaluate(X, Y, verbose=0, return_dict=True)
    r_eval = rm.evaluate(X, Y, verbose=0, return_dict=True)
    for key in k_eval:
        assert abs(r_eval[key] - k_eval[key]) < 1e-5, key


def test_auc_with_many_thresholds_is_the_exact_roc_auc():
    """A model's scores on 400 samples: AUC(num_thresholds=2000) within 1e-3 of scikit-learn's roc_auc_score."""
    scores = torch.sigmoid(torch.randn(400) * 2)
    labels = (torch.rand(400) < scores).float()
    m = rk.metrics.AUC(num_thresholds=2000)
    value = m.from_parts(m.parts(labels.reshape(-1, 1), scores.reshape(-1, 1)).mean(0).tolist())
    assert abs(value - roc_auc_score(labels.numpy(), scores.numpy())) < 1e-3


def test_precision_and_recall_by_hand():
    """Scores 0.9, 0.6, 0.4, 0.2 against labels 1, 0, 1, 0: at 0.5 one true positive, one false positive, one false
    negative — precision 1/2, recall 1/2; at 0.3, TP 2, FP 1: precision 2/3, recall 1."""
    y, p = torch.tensor([[1.0], [0.0], [1.0], [0.0]]), torch.tensor([[0.9], [0.6], [0.4], [0.2]])

    def value(metric):
        return metric.from_parts(metric.parts(y, p).mean(0).tolist())
    assert value(rk.metrics.Precision()) == pytest.approx(0.5) and value(rk.metrics.Recall()) == pytest.approx(0.5)
    assert value(rk.metrics.Precision(thresholds=0.3)) == pytest.approx(2 / 3)
    assert value(rk.metrics.Recall(thresholds=0.3)) == pytest.approx(1.0)


def test_class_id_and_top_k_as_keras():
    """Multi-class scores: precision of one class (class_id) and of the top-2 predictions, as Keras's update."""
    y = np.eye(4, dtype="float32")[RNG.integers(0, 4, 30)]
    p = np.asarray(torch.softmax(torch.randn(30, 4) * 2, -1))
    for kw in ({"class_id": 2}, {"top_k": 2}, {"top_k": 1, "class_id": 0}):
        for cls in ("Precision", "Recall"):
            k_metric = getattr(keras.metrics, cls)(**kw)
            k_metric.update_state(y, p)
            r_metric = getattr(rk.metrics, cls)(**kw)
            got = r_metric.from_parts(r_metric.parts(torch.from_numpy(y), torch.from_numpy(p)).mean(0).tolist())
            assert abs(got - float(k_metric.result())) < 1e-6, (cls, kw)


def test_unsupported_arguments_are_refused():
    with pytest.raises(ValueError, match="curve"):
        rk.metrics.AUC(curve="PRGAIN")


LABELS = (RNG.random((40, 3)) > 0.5).astype("float32")
SCORES = np.clip(LABELS * 0.4 + RNG.random((40, 3)) * 0.6, 0, 1).astype("float32")


@pytest.mark.parametrize("kwargs", [{"multi_label": True}, {"multi_label": True, "label_weights": [1.0, 0.0, 3.0]},
                                    {"multi_label": True, "curve": "PR"}, {"label_weights": [0.5, 2.0, 1.0]},
                                    {"multi_label": True, "num_thresholds": 17, "summation_method": "majoring"}])
def test_multi_label_auc_and_label_weights_give_keras_values(kwargs):
    # given several labels per sample: each label's own curve, areas averaged (weighted) — or weighted counts in one
    ours, theirs = rk.metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs)
    for part in (slice(0, 25), slice(25, 40)):  # two batches
        ours.update_state(LABELS[part], SCORES[part])
        theirs.update_state(LABELS[part], SCORES[part])
    assert float(ours.result()) == pytest.approx(float(theirs.result()), abs=1e-6)
    def config(metric):  # (Keras's config holds label_weights as a tensor: compared as a list)
        c = {k: v for k, v in metric.get_config().items() if k not in ("dtype", "name", "num_thresholds", "thresholds")}
        return {**c, "label_weights": None if c["label_weights"] is None else np.asarray(c["label_weights"]).tolist()}
    assert config(ours) == config(theirs)
    # and in evaluate, by the engine's per-sample parts
    results = []
    for lib in (keras, rk):
        m = lib.Sequential([lib.Input((3,)), lib.layers.Activation("linear")])
        m.compile("sgd", "mse", metrics=[lib.metrics.AUC(**kwargs)])
        results.append(m.evaluate(SCORES, LABELS, batch_size=16, verbose=0)[1])
    assert results[1] == pytest.approx(results[0], abs=1e-6)


@pytest.mark.parametrize("writer", ["keras", "rnnkit"])
def test_metric_objects_are_saved_in_the_compile_config_and_compiled_again(tmp_path, writer):
    """A model compiled with metric objects (AUC, Precision(thresholds=0.3), a weighted BinaryAccuracy) is saved
    with them as Keras writes them, and loaded — by the other library — compiled with them: the same evaluation."""
    x = RNG.standard_normal((20, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    lib, reader = (keras, rk) if writer == "keras" else (rk, keras)
    m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy", metrics=["accuracy", lib.metrics.AUC(),
                                                      lib.metrics.Precision(thresholds=0.3)],
              weighted_metrics=[lib.metrics.BinaryAccuracy(threshold=0.4)])
    m.save(tmp_path / "m.keras")
    loaded = reader.models.load_model(tmp_path / "m.keras")
    want = m.evaluate(x, y, verbose=0, return_dict=True)
    got = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want)
    for key in want:
        assert abs(got[key] - want[key]) < 1e-5, key
