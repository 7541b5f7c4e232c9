"""rnnkit.keras's optimizers against real Keras 3 (PyTorch backend): learning-rate schedules value by value, and the
weights after training with each of Keras's gradient clippings, decoupled weight decay, momentum and a schedule — the
same model, weights and batches in both."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
X = (RNG.normal(size=(48, 6, 3)) * 2).astype("float32")
Y = (RNG.normal(size=(48, 2)) * 5).astype("float32")  # large targets: large gradients, so the clippings act

SCHEDULES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.3, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[5, 20], values=[1.0, 0.5, 0.1])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=30, end_learning_rate=0.01, power=2.0)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=30, power=0.5, cycle=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=40, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=40, warmup_target=0.2, warmup_steps=10)),
]


@pytest.mark.parametrize("name,args", SCHEDULES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)])
def test_schedules_give_keras_values_at_every_step(name, args):
    ours, theirs = getattr(rk.optimizers.schedules, name)(**args), getattr(keras.optimizers.schedules, name)(**args)
    for step in (0, 1, 4, 5, 6, 9, 10, 11, 20, 21, 29, 30, 45, 49, 50, 61, 100):
        assert ours(step) == pytest.approx(float(keras.ops.convert_to_numpy(theirs(step))), rel=1e-5, abs=1e-7)
    assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()
    assert ours.get_config() == {k: v for k, v in theirs.get_config().items() if k in ours.get_config()}


def regressor(K):
    return K.Sequential([K.Input((6, 3)), K.layers.GRU(5), K.layers.Dense(2)])


def train_both(make_optimizer, epochs=3):
    theirs, ours = regressor(keras), regressor(rk)
    ours.set_weights(theirs.get_weights())
    for K, model in ((keras, theirs), (rk, ours)):
        model.compile(optimizer=make_optimizer(K), loss="mse")
        model.fit(X, Y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    return theirs, ours


OPTIMIZERS = {
    "clipnorm": lambda K: K.optimizers.SGD(0.05, clipnorm=0.5),
    "global_clipnorm": lambda K: K.optimizers.SGD(0.05, global_clipnorm=0.5),
    "clipvalue": lambda K: K.optimizers.SGD(0.05, clipvalue=0.02),
    "weight_decay": lambda K: K.optimizers.SGD(0.05, weight_decay=0.5),
    "nesterov": lambda K: K.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
    "schedule": lambda K: K.optimizers.SGD(K.optimizers.schedules.ExponentialDecay(0.05, 4, 0.5)),
    "adamw": lambda K: K.optimizers.AdamW(0.01, weight_decay=0.1),
    "adam_amsgrad_clipnorm": lambda K: K.optimizers.Adam(0.01, amsgrad=True, clipnorm=1.0),
    "rmsprop": lambda K: K.optimizers.RMSprop(0.01),
    "rmsprop_centered_momentum": lambda K: K.optimizers.RMSprop(0.005, momentum=0.5, centered=True),
    "adagrad": lambda K: K.optimizers.Adagrad(0.05),
    "adagrad_start_decay_clip": lambda K: K.optimizers.Adagrad(0.05, initial_accumulator_value=0.5,
                                                               weight_decay=0.01, clipnorm=0.5),
    "adamax": lambda K: K.optimizers.Adamax(0.01),
    "nadam": lambda K: K.optimizers.Nadam(0.01),
    "nadam_by_name": lambda K: "nadam",
    "adadelta": lambda K: K.optimizers.Adadelta(1.0, rho=0.9),
    "lion": lambda K: K.optimizers.Lion(0.001),
    "lion_schedule": lambda K: K.optimizers.Lion(K.optimizers.schedules.CosineDecay(0.002, 18)),
    "lamb": lambda K: K.optimizers.Lamb(0.01),
    "lamb_by_name_decay": lambda K: K.optimizers.Lamb(0.02, beta_2=0.99, weight_decay=0.05),
    "ftrl": lambda K: K.optimizers.Ftrl(0.1),
    "ftrl_l1_l2_shrinkage_beta": lambda K: K.optimizers.Ftrl(0.1, learning_rate_power=-0.7, l1_regularization_strength=0.01,
                                                             l2_regularization_strength=0.02,
                                                             l2_shrinkage_regularization_strength=0.01, beta=0.5),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_training_with_keras_optimizer_options_ends_at_keras_weights(name):
    """18 updates of a GRU regressor: every weight as Keras's — Adam's ε placed as Keras places it (torch's ε rescaled
    per step), RMSprop's, Adagrad's, Adamax's, Nadam's, Adadelta's and Lion's by Keras's own equations."""
    theirs, ours = train_both(OPTIMIZERS[name])
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4)
    assert ours.optimizer.iterations == int(keras.ops.convert_to_numpy(theirs.optimizer.iterations)) == 18
    assert float(ours.optimizer.learning_rate) == pytest.approx(float(keras.ops.convert_to_numpy(
        theirs.optimizer.learning_rate)), rel=1e-6)


def test_the_clippings_change_training_and_plain_sgd_differs():
    """A guard on the comparison above: without clipping the same run ends elsewhere (the clippings did act)."""
    _, plain = train_both(lambda K: K.optimizers.SGD(0.05))
    _, clipped = train_both(OPTIMIZERS["clipnorm"])
    assert not np.allclose(plain.get_weights()[0], clipped.get_weights()[0], atol=1e-3)


def test_the_learning_rate_reads_sets_and_counts_as_keras():
    model = regressor(rk)
    model.compile(rk.optimizers.Adam(0.01), "mse")
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0)
    opt = model.optimizer
    assert opt.iterations == 6 and float(opt.learning_rate) == pytest.approx(0.01)
    assert opt.learning_rate.numpy() == pytest.approx(0.01)
    opt.learning_rate = 1e-3
    opt.learning_rate.assign(5e-4)
    assert float(opt.learning_rate) == pytest.approx(5e-4)
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0)
    assert opt._torch.param_groups[0]["lr"] == pytest.approx(5e-4) and opt.iterations == 9
    scheduled = rk.optimizers.SGD(rk.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        scheduled.learning_rate = 0.1
    assert rk.optimizers.get(rk.optimizers.serialize(scheduled)).get_config() == scheduled.get_config()
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm`"):
        rk.optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        rk.optimizers.Adam(gradient_accumulation_steps=4)
