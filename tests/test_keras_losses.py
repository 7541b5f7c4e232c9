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


POSITIVE = RNG.uniform(0.05, 2, (6, 4)).astype("float32")
TARGETS = RNG.uniform(0, 2, (6, 4)).astype("float32")
PROBS_TRUE, PROBS = (RNG.dirichlet(np.ones(4), 6).astype("float32") for _ in range(2))
SIGNS = (RNG.random((6, 4)) > 0.5).astype("float32")
MORE = [("MeanAbsolutePercentageError", {}, TARGETS, POSITIVE), ("MeanSquaredLogarithmicError", {}, TARGETS, POSITIVE),
        ("LogCosh", {}, TARGETS, 5 * POSITIVE), ("Poisson", {}, TARGETS, POSITIVE),
        ("KLDivergence", {}, PROBS_TRUE, PROBS), ("Hinge", {}, SIGNS, LOGITS), ("SquaredHinge", {}, SIGNS, LOGITS),
        ("CategoricalHinge", {}, PROBS_TRUE, LOGITS), ("Huber", {}, TARGETS, 3 * POSITIVE),
        ("Huber", {"delta": 0.3}, TARGETS, 3 * POSITIVE), ("CosineSimilarity", {}, TARGETS - 1, POSITIVE - 1),
        ("BinaryCrossentropy", {"label_smoothing": 0.2}, SIGNS, PROBS),
        ("BinaryCrossentropy", {"label_smoothing": 0.1, "from_logits": True}, SIGNS, LOGITS),
        ("CategoricalCrossentropy", {"label_smoothing": 0.3}, PROBS_TRUE, PROBS),
        ("CategoricalCrossentropy", {"label_smoothing": 0.1, "from_logits": True}, ONE_HOT, LOGITS)]


@pytest.mark.parametrize("name, kwargs, y, p", MORE, ids=[f"{c[0]}{c[1] or ''}" for c in MORE])
@pytest.mark.parametrize("weights", [None, WEIGHTS])
def test_the_regression_hinge_and_smoothed_losses_give_keras_values(name, kwargs, y, p, weights):
    theirs = kn(getattr(keras.losses, name)(**kwargs)(y, p, sample_weight=weights))
    ours = getattr(rk.losses, name)(**kwargs)(torch.tensor(y), torch.tensor(p), sample_weight=weights)
    assert float(ours) == pytest.approx(theirs, rel=1e-5, abs=1e-6)
    keras_config = getattr(keras.losses, name)(**kwargs).get_config()
    assert {k: v for k, v in getattr(rk.losses, name)(**kwargs).get_config().items() if k in keras_config} == \
        keras_config


@pytest.mark.parametrize("fn", ["mean_absolute_percentage_error", "mean_squared_logarithmic_error", "huber",
                                "log_cosh", "poisson", "kl_divergence", "cosine_similarity", "hinge", "squared_hinge",
                                "categorical_hinge"])
def test_the_function_forms_return_keras_per_sample_losses(fn):
    theirs = keras.ops.convert_to_numpy(getattr(keras.losses, fn)(TARGETS, POSITIVE))
    np.testing.assert_allclose(getattr(rk.losses, fn)(torch.tensor(TARGETS), torch.tensor(POSITIVE)).numpy(), theirs,
                               rtol=1e-5, atol=1e-6)


def test_a_model_compiled_with_huber_by_name_or_object_trains_to_keras_weights(tmp_path):
    x = RNG.normal(size=(32, 5, 3)).astype("float32")
    y = RNG.normal(size=(32, 1)).astype("float32") * 3

    def build(lib):
        return lib.Sequential([lib.Input(shape=(5, 3)), lib.layers.GRU(4), lib.layers.Dense(1)])

    for loss in ("huber", keras.losses.Huber(delta=0.5)):
        theirs, ours = build(keras), build(rk)
        ours.set_weights(theirs.get_weights())
        theirs.compile(keras.optimizers.SGD(0.1), loss)
        ours.compile(rk.optimizers.SGD(0.1), loss if isinstance(loss, str) else rk.losses.Huber(delta=0.5))
        theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        path = tmp_path / "huber.keras"
        ours.save(path)
        assert kn(keras.saving.load_model(path).evaluate(x, y, verbose=0)) == pytest.approx(
            float(ours.evaluate(x, y, verbose=0)), rel=1e-5)


def test_a_users_loss_subclass_with_call_reduces_as_keras():
    """keras.io's pattern: subclass Loss, write call(y_true, y_pred) returning per-sample losses."""
    def subclass(lib):
        class Scaled(lib.losses.Loss):
            def __init__(self, factor=2.0, name="scaled_mse"):
                super().__init__(name=name)
                self.factor = factor

            def call(self, y_true, y_pred):
                return self.factor * lib.ops.mean(lib.ops.square(y_pred - y_true), axis=-1)
        return Scaled()

    y, p = ONE_HOT, LOGITS
    theirs = kn(subclass(keras)(y, p, sample_weight=WEIGHTS))
    ours = subclass(rk)(torch.tensor(y), torch.tensor(p), sample_weight=WEIGHTS)
    assert float(ours) == pytest.approx(theirs, rel=1e-6)
    model = rk.Sequential([rk.Input((4,)), rk.layers.Dense(4)])
    model.compile("sgd", subclass(rk))
    assert np.isfinite(model.fit(LOGITS, ONE_HOT, verbose=0).history["loss"][0])
