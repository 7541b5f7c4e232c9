"""Keras's IoU metrics (IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU): Keras 3's values (PyTorch backend) for
ids, scores and one-hot labels over many elements per sample, out-of-range and ignored classes, per-element weights
(Keras's integer matrix truncates them; a float dtype does not), and in a tagger's fit and evaluate; Keras's
docstring case by hand."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
IDS = RNG.integers(0, 4, (6, 5))
PRED = RNG.integers(0, 4, (6, 5))
IDS[0, 0], PRED[1, 1] = 9, -1  # outside [0, 4): left out
SCORES = RNG.random((6, 5, 4)).astype("float32")
ONE_HOT = np.eye(4, dtype="float32")[IDS.clip(0, 3)]
BINARY = (IDS > 1).astype("float32")

CASES = [("IoU", {"num_classes": 4, "target_class_ids": [0, 2]}, IDS, PRED),
         ("IoU", {"num_classes": 4, "target_class_ids": [1, 3], "ignore_class": 2}, IDS, PRED),
         ("MeanIoU", {"num_classes": 4}, IDS, PRED), ("MeanIoU", {"num_classes": 4, "sparse_y_pred": False}, IDS, SCORES),
         ("MeanIoU", {"num_classes": 4, "dtype": "float32"}, IDS, PRED),
         ("BinaryIoU", {"target_class_ids": [0, 1], "threshold": 0.3}, BINARY, SCORES[..., 0]),
         ("BinaryIoU", {"target_class_ids": [1]}, BINARY, SCORES[..., 0]),
         ("OneHotIoU", {"num_classes": 4, "target_class_ids": [0, 3]}, ONE_HOT, SCORES),
         ("OneHotMeanIoU", {"num_classes": 4}, ONE_HOT, SCORES)]


@pytest.mark.filterwarnings("ignore:You are passing weight as `float`")
@pytest.mark.parametrize("weights", ["none", "fractional", "mask"])
@pytest.mark.parametrize("name,kwargs,y_true,y_pred", CASES)
def test_values_and_configs_are_keras(name, kwargs, y_true, y_pred, weights):
    w = {"none": None, "fractional": RNG.uniform(0, 3, (6, 5)).astype("float32"),
         "mask": (RNG.random((6, 5)) > 0.3).astype("float32")}[weights]
    ours, theirs = getattr(rk.metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    for part in (slice(0, 3), slice(3, 6)):
        ours.update_state(y_true[part], y_pred[part], None if w is None else w[part])
        theirs.update_state(y_true[part], y_pred[part], None if w is None else w[part])
    assert float(ours.result()) == pytest.approx(float(theirs.result()), abs=1e-6)
    assert {**ours.get_config(), "name": None} == {**theirs.get_config(), "name": None}


def test_keras_docstring_case_by_hand():
    """Labels 0, 0, 1, 1 and predictions 0, 1, 0, 1: each class has one hit, one miss and one false alarm — IoU 1/3
    for both, mean 1/3."""
    m = rk.metrics.MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    assert float(m.result()) == pytest.approx(1 / 3, abs=1e-6)
    with pytest.raises(ValueError, match="out of range"):
        rk.metrics.IoU(num_classes=2, target_class_ids=[2])


def tagger(lib):
    m = lib.Sequential([lib.Input((5, 3)), lib.layers.GRU(6, return_sequences=True),
                        lib.layers.Dense(4, activation="softmax")])
    m.compile(lib.optimizers.SGD(0.5), "sparse_categorical_crossentropy",
              metrics=[lib.metrics.MeanIoU(num_classes=4, sparse_y_pred=False, name="miou"),
                       lib.metrics.IoU(num_classes=4, target_class_ids=[1, 2], sparse_y_pred=False, name="iou12")])
    return m


def test_a_taggers_fit_and_evaluate_log_keras_iou():
    x = RNG.standard_normal((12, 5, 3)).astype("float32")
    y = RNG.integers(0, 4, (12, 5))
    km, rm = tagger(keras), tagger(rk)
    rm.set_weights(km.get_weights())
    kw = dict(batch_size=4, epochs=2, shuffle=False, verbose=0)
    want, got = km.fit(x, y, **kw).history, rm.fit(x, y, **kw).history
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6, err_msg=key)
    theirs, ours = km.evaluate(x, y, verbose=0, return_dict=True), rm.evaluate(x, y, verbose=0, return_dict=True)
    assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-6)
