"""Callbacks' evaluation and prediction hooks (``on_test_*`` around ``fit``'s validation and in ``evaluate``,
``on_predict_*`` in ``predict``) are called in Keras's order, and ``SwapEMAWeights`` validates and evaluates on the
moving averages as Keras's does — real Keras 3 (PyTorch backend) is the reference."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.test_keras_custom_train_step import with_compiled_loss  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 5, 3)).astype("float32")
Y = RNG.normal(size=(32, 1)).astype("float32")
HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_test_begin", "on_test_end",
         "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end", "on_predict_batch_begin",
         "on_predict_batch_end"]


def recorder(lib, log):
    return lib.callbacks.LambdaCallback(**{n: (lambda *a, n=n, **k: log.append(n)) for n in HOOKS})


def plain(lib):
    model = lib.Sequential([lib.Input((5, 3)), lib.layers.GRU(4), lib.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize("build", [plain, with_compiled_loss], ids=["engine", "custom-train-step"])
def test_hooks_come_in_keras_s_order(build):
    calls = {}
    for lib in (keras, rk):
        model, log = build(lib), []
        model.fit(X[:24], Y[:24], batch_size=8, epochs=1, validation_data=(X[:16], Y[:16]), verbose=0,
                  callbacks=[recorder(lib, log)])
        model.evaluate(X[:24], Y[:24], batch_size=8, verbose=0, callbacks=[recorder(lib, log)])
        model.predict(X[:24], batch_size=16, verbose=0, callbacks=[recorder(lib, log)])
        calls[lib] = log
    assert calls[rk] == calls[keras]


@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_swap_ema_weights_validates_and_evaluates_on_the_averages_as_keras(swap_on_epoch):
    def build(lib, weights=None):
        model = lib.Sequential([lib.Input((5, 3)), lib.layers.GRU(4), lib.layers.Dense(1)])
        model.compile(lib.optimizers.Adam(0.02, use_ema=True, ema_momentum=0.8), "mse")
        if weights is not None:
            model.set_weights(weights)
        return model

    theirs = build(keras)
    ours = build(rk, theirs.get_weights())
    fit = dict(batch_size=8, epochs=2, shuffle=False, verbose=0, validation_data=(X[:8], Y[:8]))
    want = theirs.fit(X, Y, callbacks=[keras.callbacks.SwapEMAWeights(swap_on_epoch)], **fit).history
    got = ours.fit(X, Y, callbacks=[rk.callbacks.SwapEMAWeights(swap_on_epoch)], **fit).history
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=5e-6)
    assert ours.evaluate(X, Y, verbose=0, callbacks=[rk.callbacks.SwapEMAWeights()]) == pytest.approx(
        theirs.evaluate(X, Y, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()]), rel=1e-5)
