"""Adafactor (Keras's equations): an LSTM regressor trains to Keras 3's weights (PyTorch backend) for its settings
and under a learning-rate schedule, its factored state is saved in Keras's layout and training goes on where it
stopped after loading by either library; one step by hand. A schedule's optimizer state (Keras keeps no learning-rate
variable then) loads both ways for Adam too."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from rnnkit.keras.optimizers.rules import KerasAdafactor  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.standard_normal((16, 6, 3)).astype("float32")
Y = RNG.standard_normal((16, 2)).astype("float32")


def optimizer(lib, name, kwargs):
    kwargs = dict(kwargs)
    if kwargs.pop("schedule", False):
        kwargs["learning_rate"] = lib.optimizers.schedules.ExponentialDecay(0.1, 3, 0.5)
    return getattr(lib.optimizers, name)(**kwargs)


def regressor(lib, name, kwargs):
    m = lib.Sequential([lib.Input((6, 3)), lib.layers.LSTM(5), lib.layers.Dense(2)])
    m.compile(optimizer(lib, name, kwargs), "mse")
    return m


@pytest.mark.parametrize("name,kwargs", [("Adafactor", {}), ("Adafactor", {"learning_rate": 0.05,
                                                                           "relative_step": False}),
                                         ("Adafactor", {"learning_rate": 0.5, "clip_threshold": 0.5,
                                                        "beta_2_decay": -0.5}),
                                         ("Adafactor", {"schedule": True}), ("Adam", {"schedule": True})])
def test_training_and_resuming_from_files_are_keras(tmp_path, name, kwargs):
    km, rm = regressor(keras, name, kwargs), regressor(rk, name, kwargs)
    rm.set_weights(km.get_weights())
    kw = dict(batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(rm.fit(X, Y, **kw).history["loss"], km.fit(X, Y, **kw).history["loss"], rtol=1e-5)
    for a, b in zip(rm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-4)
    km.save(tmp_path / "keras.keras")
    rm.save(tmp_path / "rnnkit.keras")
    ours, theirs = rk.models.load_model(tmp_path / "keras.keras"), keras.models.load_model(tmp_path / "rnnkit.keras")
    want = km.fit(X, Y, **kw).history["loss"]
    np.testing.assert_allclose(ours.fit(X, Y, **kw).history["loss"], want, rtol=1e-5)
    np.testing.assert_allclose(theirs.fit(X, Y, **kw).history["loss"], want, rtol=1e-5)
    assert {**rm.optimizer.get_config(), "name": None, "learning_rate": None} == \
        {**km.optimizer.get_config(), "name": None, "learning_rate": None}


def test_one_step_by_hand():
    """A vector w = (1, 1) with gradient (1, 1) at step 1: β₁ = 1 − 1^−0.8 = 0, so v = g² + ε₁ = 1, u = 1, RMS(u) = 1;
    ρ = min(0.001, 1) and α = max(10⁻³, RMS(w) = 1) · ρ = 0.001: w becomes 0.999. A matrix's r and c hold the row and
    column means of g²."""
    w = torch.nn.Parameter(torch.ones(2))
    w.grad = torch.ones(2)
    KerasAdafactor([w], lr=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0,
                   relative_step=True).step()
    np.testing.assert_allclose(w.detach().numpy(), [0.999, 0.999], rtol=1e-6)
    m = torch.nn.Parameter(torch.ones(2, 3))
    m.grad = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    opt = KerasAdafactor([m], lr=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0,
                         relative_step=True)
    opt.step()
    state = opt.state[m]
    np.testing.assert_allclose(state["r"].numpy(), [14 / 3, 77 / 3], rtol=1e-6)
    np.testing.assert_allclose(state["c"].numpy(), [17 / 2, 29 / 2, 45 / 2], rtol=1e-6)
