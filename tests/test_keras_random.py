"""``rnnkit.keras.random`` and ``rnnkit.keras.activations`` are Keras 3's: with an int seed or a ``SeedGenerator``
the same numbers as ``keras.random`` on its PyTorch backend (a generator's successive draws too), and the activations
by name give ``keras.activations``' values (real Keras 3 is the reference)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

X = np.random.default_rng(4).standard_normal((3, 5)).astype("float32")

DRAWS = [("normal", ((3, 4),), {"mean": 1.0, "stddev": 2.0}),
         ("uniform", ((5,),), {"minval": -1.0, "maxval": 3.0}),
         ("uniform", ((),), {}), ("truncated_normal", ((200,),), {"stddev": 0.5}),
         ("randint", ((6,), 0, 10), {}), ("categorical", (X, 4), {}), ("dropout", (torch.from_numpy(X), 0.4), {}),
         ("dropout", (torch.from_numpy(X), 0.5), {"noise_shape": (None, 1)}), ("shuffle", (X,), {}),
         ("shuffle", (X,), {"axis": 1}), ("gamma", ((3, 4), 2.5), {}), ("gamma", ((2, 3), np.array([0.5, 1.0, 4.0])), {}),
         ("binomial", ((3, 4), 10, 0.3), {}), ("beta", ((3, 4), 2.0, 3.0), {})]


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("name,args,kwargs", DRAWS, ids=[f"{d[0]}-{i}" for i, d in enumerate(DRAWS)])
def test_seeded_draws_are_keras_numbers(name, args, kwargs):
    """An int seed: the same numbers as Keras's, call after call; a SeedGenerator: Keras's sequence of draws."""
    for _ in range(2):
        np.testing.assert_allclose(_np(getattr(rk.random, name)(*args, **kwargs, seed=7)),
                                   _np(getattr(keras.random, name)(*args, **kwargs, seed=7)), rtol=1e-6)
    kg, rg = keras.random.SeedGenerator(3), rk.random.SeedGenerator(3)
    draws = [(_np(getattr(rk.random, name)(*args, **kwargs, seed=rg)),
              _np(getattr(keras.random, name)(*args, **kwargs, seed=kg))) for _ in range(3)]
    for got, want in draws:
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert name in ("shuffle",) or not np.array_equal(draws[0][0], draws[1][0])  # a generator moves on


def test_truncated_normal_stays_within_two_deviations():
    z = rk.random.truncated_normal((10_000,), mean=1.0, stddev=0.5, seed=1).numpy()
    assert z.min() > 0.0 and z.max() < 2.0 and abs(z.mean() - 1.0) < 0.02


def test_dropout_keeps_expected_fraction_and_scales():
    y = rk.random.dropout(np.ones((200, 200), "float32"), 0.25, seed=2).numpy()
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)} and abs((y > 0).mean() - 0.75) < 0.01


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "gelu", "elu", "selu", "softplus", "softsign",
                                  "silu", "swish", "hard_sigmoid", "leaky_relu", "exponential", "linear", "mish",
                                  "relu6", "log_softmax", "hard_silu"])
def test_activations_by_name_are_keras(name):
    np.testing.assert_allclose(_np(rk.activations.get(name)(X)), _np(keras.activations.get(name)(X)), atol=1e-6)
    assert rk.activations.serialize(rk.activations.get(name)) in (name, {"swish": "silu", "hard_swish": "hard_silu"}
                                                                 .get(name))


def test_relu_arguments_are_keras():
    for kw in ({"negative_slope": 0.1}, {"max_value": 0.5}, {"threshold": 0.3}, {"negative_slope": 0.2,
                                                                                  "threshold": -0.5}):
        np.testing.assert_allclose(_np(rk.activations.relu(X, **kw)), _np(keras.activations.relu(X, **kw)), atol=1e-6)


def test_a_layer_given_an_activation_function_saves_its_name():
    layer = rk.layers.Dense(3, activation=rk.activations.gelu)
    assert layer.get_config()["activation"] == "gelu"
    with pytest.raises(ValueError, match="activation function identifier"):
        rk.activations.get("no_such_activation")


def test_gamma_binomial_and_beta_leave_the_global_generator_alone_and_have_their_moments():
    """A seeded draw does not move torch's global generator; 20,000 draws have the distributions' means: α for
    Gamma(α, 1), n·p for a binomial, α/(α + β) for a Beta."""
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    rk.random.beta((3,), 1.0, 2.0, seed=5)
    assert torch.rand(1) == expected
    assert float(rk.random.gamma((20000,), 2.5, seed=1).mean()) == pytest.approx(2.5, rel=0.03)
    assert float(rk.random.binomial((20000,), 10, 0.3, seed=1).mean()) == pytest.approx(3.0, rel=0.03)
    assert float(rk.random.beta((20000,), 2.0, 3.0, seed=1).mean()) == pytest.approx(0.4, rel=0.03)
