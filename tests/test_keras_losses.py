"""rnnkit.keras losses, sample and class weights against real Keras 3: the loss objects (``from_logits`` too) and
function forms give Keras's values, and ``evaluate``/``fit`` weight samples as Keras does."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(6, 4)).astype("float32")
SPARSE = np.array([0, 3, 1, 1, 2, 0])
ONE_HOT = np.eye(4, dtype="float32")[SPARSE]
BINARY = (RNG.random((6, 1)) > 0.5).astype("float32")
WEIGHTS = np.array([1.0, 0.5, 2.0, 0.0, 1.0, 3.0], dtype="float32")


def kn(t):
    return float(keras.ops.convert_to_numpy(t))


CASES = [("SparseCategoricalCrossentropy", SPARSE, LOGITS), ("CategoricalCrossentropy", ONE_HOT, LOGITS),
         ("BinaryCrossentropy", BINARY, LOGITS[:, :1]), ("MeanSquaredError", ONE_HOT, LOGITS),
         ("MeanAbsoluteError", ONE_HOT, LOGITS)]


@pytest.mark.parametrize("name, y, p, from_logits", [(*c, f) for c in CASES for f in (False, True)
                                                     if not (f and c[0].startswith("Mean"))])  # regression: no logits
@pytest.mark.parametrize("weights", [None, WEIGHTS])
def test_loss_objects_give_keras_values(name, y, p, from_logits, weights):
    probs = p if from_logits else (1 / (1 + np.exp(-p)) if name.startswith("Binary") else
                                   np.exp(p) / np.exp(p).sum(-1, keepdims=True))
    theirs = getattr(keras.losses, name)(**({"from_logits": True} if from_logits else {}))
    ours = getattr(rk.losses, name)(**({"from_logits": True} if from_logits else {}))
    want = kn(theirs(y, probs, sample_weight=weights))
    got = float(ours(torch.as_tensor(y), torch.as_tensor(probs), sample_weight=weights))
    assert got == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_function_forms_return_per_sample_losses_as_keras_does():
    probs = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
    for name, y in (("sparse_categorical_crossentropy", SPARSE), ("categorical_crossentropy", ONE_HOT),
                    ("mean_squared_error", ONE_HOT)):
        ours = getattr(rk.losses, name)(torch.as_tensor(y), torch.as_tensor(probs)).numpy()
        theirs = keras.ops.convert_to_numpy(getattr(keras.losses, name)(y, probs))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def _classifier(mod):
    return mod.Sequential([mod.layers.Input((5, 3)), mod.layers.GRU(4), mod.layers.Dense(3)])  # logits out


def test_evaluate_and_fit_weight_samples_and_classes_as_keras_does():
    x = RNG.normal(size=(40, 5, 3)).astype("float32")
    y = np.r_[np.zeros(30), np.ones(7), np.full(3, 2)].astype("int64")  # imbalanced: 30 / 7 / 3
    sw = RNG.random(40).astype("float32")
    k, r = _classifier(keras), _classifier(rk)
    r.set_weights(k.get_weights())
    for m, mod in ((k, keras), (r, rk)):
        m.compile(optimizer=mod.optimizers.SGD(0.1), metrics=["accuracy"],
                  loss=mod.losses.SparseCategoricalCrossentropy(from_logits=True))
    # evaluate in one batch: Σ w·ℓ / N for the loss; the accuracy unweighted (Keras weighs only weighted_metrics)
    np.testing.assert_allclose(r.evaluate(x, y, batch_size=40, sample_weight=sw, verbose=0),
                               k.evaluate(x, y, batch_size=40, sample_weight=sw, verbose=0), rtol=1e-5)
    # class weights: one full-batch step each epoch, no shuffling — the same losses, epoch after epoch
    cw = {0: 0.2, 1: 1.0, 2: 3.0}
    hk = k.fit(x, y, batch_size=40, epochs=3, shuffle=False, class_weight=cw, verbose=0)
    hr = r.fit(x, y, batch_size=40, epochs=3, shuffle=False, class_weight=cw, verbose=0)
    np.testing.assert_allclose(hr.history["loss"], hk.history["loss"], rtol=1e-4)
    with pytest.raises(ValueError, match=r"no weight for class\(es\) \[2\]"):
        r.fit(x, y, class_weight={0: 1.0, 1: 1.0}, verbose=0)
    with pytest.raises(ValueError, match="39 weights for 40 samples"):
        r.evaluate(x, y, sample_weight=sw[:39])
