"""Keras's Dice, Tversky, CategoricalGeneralizedCrossEntropy and Circle losses: the values of real Keras 3 (PyTorch
backend) — over the whole batch or per sample, weighted, as objects and functions — a hand-computed case each, a
sequence-labelling LSTM trained to Keras's weights with Dice, and the loss saved in a model's file both ways."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
Y = (RNG.random((6, 5, 3)) > 0.5).astype("float32")
P = RNG.random((6, 5, 3)).astype("float32")
W = RNG.uniform(0.5, 2, 6).astype("float32")


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cls,kwargs", [("Dice", {}), ("Dice", {"axis": (1, 2)}),
                                        ("Tversky", {"alpha": 0.3, "beta": 0.7}), ("Tversky", {"axis": [1, 2]})])
def test_overlap_losses_are_keras(cls, kwargs, weighted):
    w = W if weighted else None
    ours, theirs = getattr(rk.losses, cls)(**kwargs), getattr(keras.losses, cls)(**kwargs)
    assert float(ours(Y, P, sample_weight=w)) == pytest.approx(float(theirs(Y, P, sample_weight=w)), rel=1e-6)
    assert ours.get_config() == theirs.get_config()
    fn = cls.lower()
    np.testing.assert_allclose(np.asarray(getattr(rk.losses, fn)(Y, P, **kwargs)),
                               np.asarray(getattr(keras.losses, fn)(Y, P, **kwargs)), rtol=1e-6)


def test_by_hand():
    """Keras's docstring case: labels 1, 1, 0, 0 and predictions 0, 1, 0, 1 overlap in one of two: Dice 1 − 2/4 =
    1/2; Tversky with α = β = 1/2 is the same number; a true class predicted at 0.25 with q = 1/2 costs
    (1 − 0.25^½)/½ = 1."""
    y, p = np.array([[1.0, 1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0, 1.0]])
    assert float(rk.losses.dice(y, p)) == pytest.approx(0.5, abs=1e-6)
    assert float(rk.losses.tversky(y, p)) == pytest.approx(0.5, abs=1e-6)
    loss = rk.losses.CategoricalGeneralizedCrossEntropy(q=0.5)
    assert float(loss(np.array([2]), np.array([[0.5, 0.25, 0.25]]))) == pytest.approx(1.0)


@pytest.mark.parametrize("q", [0.3, 0.7])
def test_generalized_cross_entropy_is_keras(q):
    labels = RNG.integers(0, 4, 8)
    probs = RNG.dirichlet(np.ones(4), 8).astype("float32")
    w = RNG.uniform(0.5, 2, 8).astype("float32")
    for sw in (None, w):
        ours = rk.losses.CategoricalGeneralizedCrossEntropy(q)(labels, probs, sample_weight=sw)
        theirs = keras.losses.CategoricalGeneralizedCrossEntropy(q)(labels, probs, sample_weight=sw)
        assert float(ours) == pytest.approx(float(theirs), rel=1e-6)
    with pytest.raises(ValueError, match="q"):
        rk.losses.CategoricalGeneralizedCrossEntropy(q=1.5)


@pytest.mark.parametrize("kwargs", [{}, {"gamma": 10.0, "margin": 0.25}, {"remove_diagonal": False}])
def test_circle_loss_is_keras(kwargs):
    """Per sample (one sample alone in its class has no positives: loss 0) and the mean over the non-zero ones."""
    e = RNG.standard_normal((10, 4)).astype("float32")
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    labels = np.array([0, 1, 2, 0, 1, 1, 0, 2, 2, 3])
    w = RNG.uniform(0.5, 2, 10).astype("float32")
    for sw in (None, w):
        ours, theirs = rk.losses.Circle(**kwargs)(labels, e, sample_weight=sw), \
            keras.losses.Circle(**kwargs)(labels, e, sample_weight=sw)
        assert float(ours) == pytest.approx(float(theirs), rel=1e-5)
    per_sample = np.asarray(rk.losses.circle(labels, e, **kwargs))
    np.testing.assert_allclose(per_sample, np.asarray(keras.losses.circle(labels, e, **kwargs)), rtol=1e-5)
    if kwargs.get("remove_diagonal", True):
        assert per_sample[-1] == 0.0  # class 3 has one sample: nothing to pull together
    assert rk.losses.Circle(**kwargs).get_config() == keras.losses.Circle(**kwargs).get_config()


def tagger(lib):
    m = lib.Sequential([lib.Input((7, 3)), lib.layers.LSTM(5, return_sequences=True),
                        lib.layers.Dense(1, activation="sigmoid")])
    m.compile(lib.optimizers.SGD(0.5), lib.losses.Dice(axis=(1, 2)))
    return m


def test_a_tagger_trains_with_dice_to_keras_weights():
    x = RNG.standard_normal((16, 7, 3)).astype("float32")
    y = (x[..., :1] > 0.8).astype("float32")  # rare positives: what Dice is for
    km, rm = tagger(keras), tagger(rk)
    rm.set_weights(km.get_weights())
    kw = dict(batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(rm.fit(x, y, **kw).history["loss"], km.fit(x, y, **kw).history["loss"], rtol=1e-5)
    for a, b in zip(rm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("writer", ["keras", "rnnkit"])
def test_a_model_compiled_with_tversky_loads_compiled(tmp_path, writer):
    lib, reader = (keras, rk) if writer == "keras" else (rk, keras)
    m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2, activation="sigmoid")])
    m.compile("adam", lib.losses.Tversky(alpha=0.2, beta=0.8, axis=1))
    m.save(tmp_path / "m.keras")
    loaded = reader.models.load_model(tmp_path / "m.keras")
    x, y = RNG.standard_normal((8, 3)).astype("float32"), (RNG.random((8, 2)) > 0.5).astype("float32")
    assert float(loaded.evaluate(x, y, verbose=0)) == pytest.approx(float(m.evaluate(x, y, verbose=0)), rel=1e-5)


def test_the_function_forms_are_keras():
    labels, probs = np.array([0, 2]), np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]], "float32")
    np.testing.assert_allclose(rk.losses.categorical_generalized_cross_entropy(labels, probs, q=0.4).numpy(),
                               keras.ops.convert_to_numpy(keras.losses.categorical_generalized_cross_entropy(
                                   keras.ops.convert_to_tensor(labels), keras.ops.convert_to_tensor(probs), q=0.4)),
                               rtol=1e-6)
