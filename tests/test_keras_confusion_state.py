"""Keras's confusion metrics as its own tests use them: several thresholds for Precision/Recall, a weight per entry,
``top_k`` picking exactly k entries (ties by position), the class_id refusal on 1-D predictions, the state
``variables`` (names and summed counts), ``from_config`` and AUC's ``thresholds`` — real Keras 3 (PyTorch backend) is
the reference."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

Y_PRED = np.array([[0.9, 0.2, 0.8, 0.1], [0.2, 0.9, 0.7, 0.6], [0.1, 0.2, 0.4, 0.3], [0.0, 1.0, 0.7, 0.3]])
Y_TRUE = np.array([[0, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]])
ENTRY_WEIGHTS = np.array([[1.0, 2.0, 3.0, 5.0], [7.0, 11.0, 13.0, 17.0], [19.0, 23.0, 29.0, 31.0], [5.0, 15.0, 10.0, 0]])


def value(metric, *args, **kwargs):
    return keras.ops.convert_to_numpy(metric(*args, **kwargs)) if isinstance(metric, keras.metrics.Metric) else \
        np.asarray(metric(*args, **kwargs))


@pytest.mark.parametrize("name,kwargs", [("Precision", {"thresholds": [0.3, 0.5, 0.85]}),
                                         ("Recall", {"thresholds": [0.15, 0.7]}),
                                         ("FalsePositives", {"thresholds": [0.15, 0.5, 0.85]}),
                                         ("AUC", {"num_thresholds": 5}), ("AUC", {"num_thresholds": 5,
                                                                                 "multi_label": True}),
                                         ("SensitivityAtSpecificity", {"specificity": 0.5, "num_thresholds": 7})])
def test_entry_weights_and_several_thresholds_are_keras(name, kwargs):
    ours, theirs = getattr(rk.metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    np.testing.assert_allclose(value(ours, Y_TRUE, Y_PRED, sample_weight=ENTRY_WEIGHTS),
                               value(theirs, Y_TRUE, Y_PRED, sample_weight=ENTRY_WEIGHTS), rtol=1e-5)
    for a, b in zip(ours.variables, theirs.variables):
        assert a.name == b.name
        np.testing.assert_allclose(np.asarray(a), keras.ops.convert_to_numpy(b), rtol=1e-5)
    again = type(ours).from_config(ours.get_config())
    assert again.get_config() == ours.get_config()


def test_top_k_takes_exactly_k_and_class_id_needs_a_class_axis():
    """Keras's own case: top 3 of 0.2, 0.6, 0.4, 0.2, 0.2 are 0.6, 0.4 and the first 0.2 — not every 0.2."""
    ours, theirs = rk.metrics.Precision(top_k=3), keras.metrics.Precision(top_k=3)
    for metric in (ours, theirs):
        metric(np.array([[0, 1, 1, 0, 1]]), np.array([[0.2, 0.1, 0.4, 0, 0.2]]),
               sample_weight=np.array([[1, 4, 2, 3, 5]]))
    got = value(ours, np.array([1, 0, 1, 1, 1]), np.array([0.2, 0.6, 0.4, 0.2, 0.2]), sample_weight=np.array(3))
    want = value(theirs, np.array([1, 0, 1, 1, 1]), np.array([0.2, 0.6, 0.4, 0.2, 0.2]), sample_weight=np.array(3))
    assert float(got) == pytest.approx(float(want)) == pytest.approx(13 / 17)
    with pytest.raises(ValueError, match="When class_id is provided, y_pred must be a 2D array"):
        rk.metrics.Recall(class_id=2)(np.array([0, 1, 1]), np.array([0.2, 0.1, 0.6]))
    assert rk.metrics.AUC(thresholds=[0.5]).thresholds == pytest.approx(keras.metrics.AUC(thresholds=[0.5]).thresholds)
    assert rk.metrics.RecallAtPrecision(0.4).precision == 0.4
