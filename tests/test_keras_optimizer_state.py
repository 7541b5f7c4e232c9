"""A saved model keeps its optimizer's state, in Keras's layout: trained, saved, loaded (by the other library, or by
rnnkit from its own folder format) and trained one more epoch, it ends at the same weights as the model that never
stopped — for Adam (amsgrad too), AdamW, SGD with momentum (Nesterov too) and without, RMSprop (momentum,
centered), Adagrad, Adamax, Nadam, Adadelta, Lion, Lamb and Ftrl. Real Keras 3 (PyTorch backend) writes and reads
the other side."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

X = np.random.default_rng(0).standard_normal((16, 4, 3)).astype("float32")
Y = np.random.default_rng(1).standard_normal((16, 2)).astype("float32")
OPTIMIZERS = [("Adam", {"learning_rate": 0.01}), ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
              ("AdamW", {"learning_rate": 0.01}), ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
              ("SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}), ("SGD", {"learning_rate": 0.1}),
              ("RMSprop", {"learning_rate": 0.01}),
              ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
              ("Adagrad", {"learning_rate": 0.05}), ("Adamax", {"learning_rate": 0.01}),
              ("Nadam", {"learning_rate": 0.01}), ("Adadelta", {"learning_rate": 1.0}), ("Lion", {"learning_rate": 0.001}),
              ("Lamb", {"learning_rate": 0.01}), ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01})]


def trained(lib, name, kwargs):
    model = lib.Sequential([lib.Input((4, 3)), lib.layers.LSTM(3), lib.layers.Dense(2)])
    model.compile(getattr(lib.optimizers, name)(**kwargs), "mse")
    model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    return model


def one_more_epoch(model):
    model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    return model.get_weights()


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
@pytest.mark.parametrize("writer", ["keras", "rnnkit", "rnnkit-folder"])
def test_training_goes_on_where_the_saved_model_stopped(tmp_path, name, kwargs, writer):
    lib, reader = (keras, rk) if writer == "keras" else (rk, keras if writer == "rnnkit" else rk)
    model = trained(lib, name, kwargs)
    path = tmp_path / ("m" if writer == "rnnkit-folder" else "m.keras")
    model.save(path)
    loaded = reader.models.load_model(path)
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 8
    for got, want in zip(one_more_epoch(loaded), one_more_epoch(model)):
        np.testing.assert_allclose(got, want, atol=2e-6)


def test_a_fresh_optimizer_would_have_ended_elsewhere(tmp_path):
    """The restored state matters: the same file loaded uncompiled and compiled anew trains to other weights."""
    model = trained(rk, "Adam", {"learning_rate": 0.01})
    model.save(tmp_path / "m.keras")
    fresh = rk.models.load_model(tmp_path / "m.keras", compile=False)
    fresh.compile(rk.optimizers.Adam(0.01), "mse")
    gap = max(np.abs(a - b).max() for a, b in zip(one_more_epoch(fresh), one_more_epoch(model)))
    assert gap > 1e-3


def test_an_untrained_model_saves_no_optimizer_state(tmp_path):
    model = rk.Sequential([rk.Input((4, 3)), rk.layers.LSTM(3), rk.layers.Dense(2)])
    model.compile("adam", "mse")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert int(loaded.optimizer.iterations) == 0


def test_loading_weights_into_a_trained_model_replaces_its_optimizer_state(tmp_path):
    """Trained two epochs and saved, trained a third, then loaded back and trained a third again: both third epochs
    end at the same weights — the loaded optimizer state replaced the one the model had carried, for the engine's fit
    and for a model's own train_on_batch alike."""
    model = trained(rk, "Adam", {"learning_rate": 0.01})
    model.save_weights(tmp_path / "two.weights.h5")
    third = one_more_epoch(model)
    model.load_weights(tmp_path / "two.weights.h5")
    for a, b in zip(one_more_epoch(model), third):
        np.testing.assert_allclose(a, b, atol=1e-6)
    model.load_weights(tmp_path / "two.weights.h5")
    for i in range(0, 16, 4):
        model.train_on_batch(X[i:i + 4], Y[i:i + 4])
    for a, b in zip(model.get_weights(), third):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda lib: lib.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9),
    lambda lib: lib.optimizers.SGD(0.1, momentum=0.5, use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=3),
], ids=["adam-ema", "sgd-ema-overwrite"])
def test_ema_weights_end_a_fit_as_keras_and_their_averages_move_both_ways_in_files(make, tmp_path):
    """use_ema: the moving averages (every ema_overwrite_frequency updates written into the weights, and at the end
    of fit) give Keras's weights; a saved model carries them in Keras's layout (averages first) and resumes in Keras
    exactly."""


    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 5, 3)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")

    def build(lib):
        model = lib.Sequential([lib.Input((5, 3)), lib.layers.GRU(4), lib.layers.Dense(1)])
        model.compile(make(lib), "mse")
        return model

    theirs, ours = build(keras), build(rk)
    ours.set_weights(theirs.get_weights())
    want = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    got = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-6)
    ours.save(tmp_path / "ema.keras")
    loaded = keras.saving.load_model(tmp_path / "ema.keras")
    assert loaded.optimizer.get_config()["use_ema"]
    theirs.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-6)
