"""The focal cross-entropies, the correlation metrics and the loss functions Keras also lists as metrics — against
real Keras 3.15 (PyTorch backend): same inputs → Keras's values, in a compiled model too; and the losses module's
``get``/``serialize``/``deserialize`` read Keras's serialized losses and write ones Keras reads."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(6, 4)).astype("float32")
PROBS = (np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)).astype("float32")
ONE_HOT = np.eye(4, dtype="float32")[[0, 3, 1, 1, 2, 0]]
BINARY = (RNG.random((6, 4)) > 0.5).astype("float32")
SIGMOIDS = (1 / (1 + np.exp(-LOGITS))).astype("float32")
WEIGHTS = np.array([1.0, 0.5, 2.0, 0.0, 1.0, 3.0], dtype="float32")


def kn(t):
    return keras.ops.convert_to_numpy(t)


FOCAL = [("BinaryFocalCrossentropy", {}, BINARY, SIGMOIDS),
         ("BinaryFocalCrossentropy", {"from_logits": True, "gamma": 3.0}, BINARY, LOGITS),
         ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "label_smoothing": 0.1}, BINARY,
          SIGMOIDS),
         ("CategoricalFocalCrossentropy", {}, ONE_HOT, PROBS),
         ("CategoricalFocalCrossentropy", {"from_logits": True, "alpha": 0.5, "label_smoothing": 0.2}, ONE_HOT,
          LOGITS)]


@pytest.mark.parametrize("name, kwargs, y, p", FOCAL)
@pytest.mark.parametrize("weights", [None, WEIGHTS])
def test_focal_losses_give_keras_values(name, kwargs, y, p, weights):
    ours, theirs = getattr(rk.losses, name)(**kwargs), getattr(keras.losses, name)(**kwargs)
    assert float(ours(y, p, sample_weight=weights)) == pytest.approx(float(kn(theirs(y, p, sample_weight=weights))),
                                                                     rel=1e-5)
    fn = "binary_focal_crossentropy" if name.startswith("Binary") else "categorical_focal_crossentropy"
    import torch

    np.testing.assert_allclose(getattr(rk.losses, fn)(torch.tensor(y), torch.tensor(p), **kwargs).numpy(),
                               kn(getattr(keras.losses, fn)(y, p, **kwargs)), rtol=1e-5)
    assert ours.get_config() == {k: v for k, v in theirs.get_config().items() if k != "dtype"}


def test_a_model_trained_with_a_focal_loss_by_name_or_object_reaches_keras_weights():
    x = RNG.normal(size=(16, 5, 3)).astype("float32")
    y = (RNG.random((16, 1)) > 0.6).astype("float32")
    kernel = [w.astype("float32") for w in (RNG.normal(size=(3, 16)) * 0.3, RNG.normal(size=(4, 16)) * 0.3,
                                            np.zeros(16), RNG.normal(size=(4, 1)) * 0.3, np.zeros(1))]
    for loss in ("binary_focal_crossentropy", "object"):
        models = []
        for lib in (keras, rk):
            m = lib.Sequential([lib.Input((5, 3)), lib.layers.LSTM(4), lib.layers.Dense(1, activation="sigmoid")])
            m.compile(lib.optimizers.SGD(0.5), loss if loss != "object" else
                      lib.losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=1.5))
            m.set_weights(kernel)
            m.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
            models.append(m)
        for a, b in zip(models[1].get_weights(), models[0].get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("loss", [keras.losses.BinaryFocalCrossentropy(gamma=3.0), keras.losses.Huber(delta=0.5),
                                  keras.losses.CategoricalCrossentropy(label_smoothing=0.1)])
def test_serialized_losses_travel_both_ways(loss):
    theirs = keras.losses.serialize(loss)
    ours = rk.losses.deserialize(theirs)
    assert type(ours).__name__ == type(loss).__name__
    again = keras.losses.deserialize(rk.losses.serialize(ours))
    assert {k: v for k, v in again.get_config().items() if k != "dtype"} == {
        k: v for k, v in loss.get_config().items() if k != "dtype"}
    assert rk.losses.get("mse") is rk.losses.mean_squared_error and rk.losses.get(theirs).get_config() == \
        ours.get_config()


Y = RNG.normal(size=(6, 5)).astype("float32")
P = (Y + RNG.normal(size=(6, 5)) * 0.5).astype("float32")


@pytest.mark.parametrize("name", ["PearsonCorrelation", "ConcordanceCorrelation"])
def test_correlation_metrics_give_keras_values_alone_and_in_evaluate(name):
    ours, theirs = getattr(rk.metrics, name)(), getattr(keras.metrics, name)()
    ours.update_state(Y, P, sample_weight=WEIGHTS)
    theirs.update_state(Y, P, sample_weight=WEIGHTS)
    assert float(ours.result()) == pytest.approx(float(kn(theirs.result())), rel=1e-5)
    results = []
    for lib in (keras, rk):
        m = lib.Sequential([lib.Input((5,)), lib.layers.Dense(5)])
        m.compile("sgd", "mse", metrics=[getattr(lib.metrics, name)()])
        m.set_weights([np.eye(5, dtype="float32"), np.zeros(5, "float32")])
        results.append(m.evaluate(P, Y, batch_size=4, verbose=0))
    assert results[1] == pytest.approx(results[0], rel=1e-5)


@pytest.mark.parametrize("fn", ["binary_crossentropy", "categorical_crossentropy", "hinge", "squared_hinge",
                                "categorical_hinge", "huber", "kl_divergence", "log_cosh", "poisson",
                                "mean_squared_logarithmic_error", "binary_focal_crossentropy",
                                "categorical_focal_crossentropy", "pearson_correlation", "concordance_correlation"])
def test_the_metric_functions_are_keras_per_sample_values(fn):
    import torch

    y, p = (ONE_HOT, PROBS) if "categorical" in fn or fn in ("kl_divergence", "poisson") else (BINARY, SIGMOIDS)
    np.testing.assert_allclose(getattr(rk.metrics, fn)(torch.tensor(y), torch.tensor(p)).numpy(),
                               kn(getattr(keras.metrics, fn)(y, p)), rtol=1e-5, atol=1e-7)


def test_mean_metric_wrapper_averages_any_function_as_keras():
    def within(y_true, y_pred, tolerance):
        return keras.ops.mean(keras.ops.cast(keras.ops.abs(y_true - y_pred) < tolerance, "float32"), axis=-1)

    ours = rk.metrics.MeanMetricWrapper(within, name="within", tolerance=0.5)
    theirs = keras.metrics.MeanMetricWrapper(within, name="within", tolerance=0.5)
    ours.update_state(Y, P, sample_weight=WEIGHTS)
    theirs.update_state(Y, P, sample_weight=WEIGHTS)
    assert float(ours.result()) == pytest.approx(float(kn(theirs.result())), rel=1e-6)
    assert ours.name == "within" and ours.get_config()["tolerance"] == 0.5
