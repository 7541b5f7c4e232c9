"""The arguments Keras code passes, as Keras 3 (PyTorch backend) treats them: initializer objects (seeded ones give
Keras's very numbers), regularizers whose penalties join ``losses`` and the training loss, constraints applied after
each step, ``implementation``/``use_cudnn``/``unroll``, ``seed`` for dropout, ``Input(batch_size=...)`` for stateful
layers, and masks through ``TimeDistributed``."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(3)
X = RNG.standard_normal((4, 6, 3)).astype("float32")
Y = RNG.standard_normal((4, 1)).astype("float32")
ATOL = 1e-5


def kn(t):
    return keras.ops.convert_to_numpy(t)


INITIALIZERS = [("GlorotUniform", {}), ("GlorotNormal", {}), ("HeUniform", {}), ("HeNormal", {}),
                ("LecunUniform", {}), ("LecunNormal", {}), ("Orthogonal", {"gain": 1.5}),
                ("RandomUniform", {"minval": -1, "maxval": 2}), ("RandomNormal", {"stddev": 2.0}),
                ("TruncatedNormal", {"mean": 1.0}), ("VarianceScaling", {"mode": "fan_out", "distribution": "uniform"}),
                ("Constant", {"value": 0.25}), ("Zeros", {}), ("Ones", {}), ("Identity", {"gain": 2.0})]


@pytest.mark.parametrize("name, kwargs", INITIALIZERS)
@pytest.mark.parametrize("shape", [(4, 8), (8, 4)])
def test_initializers_give_keras_numbers(name, kwargs, shape):
    seeded = {"seed": 11} if "seed" in getattr(keras.initializers, name)().get_config() else {}
    k = getattr(keras.initializers, name)(**kwargs, **seeded)
    r = getattr(rk.initializers, name)(**kwargs, **seeded)
    np.testing.assert_array_equal(r(shape).numpy(), kn(k(shape)))
    np.testing.assert_array_equal(r(shape).numpy(), r(shape).numpy())  # a seeded initializer repeats, as Keras's
    assert k.get_config().items() <= r.get_config().items()  # Keras's Identity forgets its gain; rnnkit's keeps it


def test_layers_take_initializer_objects_names_configs_and_real_keras_objects():
    def lstm(lib, kernel):
        layer = lib.layers.LSTM(3, kernel_initializer=kernel,
                                recurrent_initializer=lib.initializers.Orthogonal(seed=2),
                                bias_initializer=lib.initializers.RandomNormal(seed=4))
        layer.build((None, 6, 3))
        return layer.get_weights()

    k = lstm(keras, keras.initializers.GlorotUniform(seed=1))
    for kernel in (rk.initializers.GlorotUniform(seed=1), keras.initializers.GlorotUniform(seed=1),
                   {"class_name": "GlorotUniform", "config": {"seed": 1}}):
        for a, b in zip(lstm(rk, kernel), k):
            np.testing.assert_array_equal(a, b)  # unit_forget_bias included: Keras's two initializer calls
    dense = rk.layers.Dense(2, kernel_initializer=keras.initializers.Constant(0.5), bias_initializer="ones")
    dense.build((None, 3))
    assert np.all(dense.get_weights()[0] == 0.5) and np.all(dense.get_weights()[1] == 1.0)
    with pytest.raises(ValueError, match="unknown initializer 'glorot_unifrom'"):
        rk.layers.Dense(2, kernel_initializer="glorot_unifrom")


def regularized(lib):
    R = lib.regularizers
    inp = lib.Input((6, 3))
    h = lib.layers.LSTM(4, kernel_regularizer=R.L2(0.1), recurrent_regularizer=R.L1(0.02),
                        bias_regularizer=R.L1L2(0.01, 0.03), activity_regularizer="l2")(inp)
    out = lib.layers.Dense(1, kernel_regularizer=R.OrthogonalRegularizer(0.5), activity_regularizer=R.L1(0.2))(h)
    return lib.Model(inp, out)


def test_pretrained_embeddings_through_a_constant_array_as_keras():
    """keras.io's pretrained word embeddings: ``Embedding(..., embeddings_initializer=Constant(matrix),
    trainable=False)`` looks up the matrix's rows, as Keras's; the config round-trips; a matrix of another shape is
    refused."""
    matrix = np.random.default_rng(0).standard_normal((20, 4)).astype("float32")
    ids = np.array([[3, 0, 19]])
    theirs = keras.layers.Embedding(20, 4, embeddings_initializer=keras.initializers.Constant(matrix), trainable=False)
    ours = rk.layers.Embedding(20, 4, embeddings_initializer=rk.initializers.Constant(matrix), trainable=False)
    np.testing.assert_allclose(ours(ids).detach().numpy(), keras.ops.convert_to_numpy(theirs(ids)))
    again = rk.layers.Embedding.from_config(ours.get_config())
    np.testing.assert_allclose(again(ids).detach().numpy(), matrix[ids])
    with pytest.raises(ValueError, match="does not fit"):
        rk.layers.Embedding(5, 4, embeddings_initializer=rk.initializers.Constant(matrix))(ids % 5)


def test_regularizer_penalties_are_keras_losses():
    k, r = regularized(keras), regularized(rk)
    r.set_weights(k.get_weights())
    k(X)
    r(X)
    kl = sorted(float(kn(v.detach())) for v in k.losses)
    rl = sorted(float(v.detach()) for v in r.losses)
    assert len(rl) == len(kl) == 6  # two activity penalties (÷ batch size) + four weight penalties
    np.testing.assert_allclose(rl, kl, rtol=1e-5)


def test_fit_minimises_the_loss_plus_the_penalties_as_keras():
    k, r = regularized(keras), regularized(rk)
    r.set_weights(k.get_weights())
    k.compile(keras.optimizers.SGD(0.05), "mse")
    r.compile(rk.optimizers.SGD(0.05), "mse")
    hk = k.fit(X, Y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    hr = r.fit(X, Y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(hr.history["loss"], hk.history["loss"], rtol=1e-4)
    for a, b in zip(r.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(r.evaluate(X, Y, verbose=0), k.evaluate(X, Y, verbose=0), rtol=1e-4)


CONSTRAINTS = [("MaxNorm", {"max_value": 0.7, "axis": 0}), ("MaxNorm", {"max_value": 1.2, "axis": 1}),
               ("MinMaxNorm", {"min_value": 0.5, "max_value": 0.8, "rate": 0.7}), ("NonNeg", {}),
               ("UnitNorm", {"axis": 1})]


@pytest.mark.parametrize("name, kwargs", CONSTRAINTS)
def test_constraints_project_as_keras(name, kwargs):
    w = RNG.standard_normal((5, 3)).astype("float32")
    k, r = getattr(keras.constraints, name)(**kwargs), getattr(rk.constraints, name)(**kwargs)
    np.testing.assert_allclose(r(torch.from_numpy(w)).numpy(), kn(k(keras.ops.convert_to_tensor(w))), atol=1e-6)
    assert r.get_config() == k.get_config()


def test_fit_applies_constraints_after_every_step_as_keras():
    def model(lib):
        C = lib.constraints
        inp = lib.Input((6, 3))
        h = lib.layers.GRU(4, kernel_constraint=C.MaxNorm(0.5), recurrent_constraint=C.UnitNorm())(inp)
        return lib.Model(inp, lib.layers.Dense(1, kernel_constraint="non_neg", bias_constraint=C.NonNeg())(h))

    k, r = model(keras), model(rk)
    r.set_weights(k.get_weights())
    k.compile(keras.optimizers.SGD(0.5), "mse")
    r.compile(rk.optimizers.SGD(0.5), "mse")
    hk = k.fit(X, Y, batch_size=2, epochs=2, shuffle=False, verbose=0)
    hr = r.fit(X, Y, batch_size=2, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(hr.history["loss"], hk.history["loss"], rtol=1e-4)
    for a, b in zip(r.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    kernel = r.layers[1].cell.kernel.detach()  # layers[0]: the InputLayer, as in Keras
    assert float(kernel.norm(dim=0).max()) <= 0.5 + 1e-5 and float(r.layers[2].kernel.detach().min()) >= 0


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
@pytest.mark.parametrize("kwargs", [{"implementation": 1}, {"use_cudnn": False}, {"use_cudnn": True},
                                    {"unroll": True}, {"implementation": 1, "unroll": True, "use_cudnn": "auto"}])
def test_implementation_use_cudnn_and_unroll_give_the_same_numbers(name, kwargs):
    k = getattr(keras.layers, name)(5, return_sequences=True, **{a: v for a, v in kwargs.items() if a != "use_cudnn"})
    r = getattr(rk.layers, name)(5, return_sequences=True, **kwargs)
    k(X)
    r(X)
    r.set_weights(k.get_weights())
    np.testing.assert_allclose(r(X).detach().numpy(), kn(k(X)), atol=ATOL)


def test_use_cudnn_true_refuses_what_the_fused_kernel_cannot_run_and_bad_values():
    layer = rk.layers.LSTM(3, activation="relu", use_cudnn=True)
    with pytest.raises(ValueError, match="use_cudnn=True"):
        layer(X)
    with pytest.raises(ValueError, match="use_cudnn"):
        rk.layers.GRU(3, use_cudnn="yes")
    with pytest.raises(ValueError, match="use_cudnn"):
        keras.layers.GRU(3, use_cudnn="yes")


def test_dropout_seed_makes_masks_repeatable_whatever_else_draws():
    def run(seed, disturb):
        layer = rk.layers.LSTM(5, dropout=0.4, recurrent_dropout=0.3, seed=seed, return_sequences=True,
                               kernel_initializer=rk.initializers.GlorotUniform(seed=0),
                               recurrent_initializer=rk.initializers.Orthogonal(seed=0))
        drop = rk.layers.Dropout(0.5, seed=seed)
        torch.manual_seed(disturb)
        torch.rand(disturb)
        return layer(X, training=True).detach().numpy(), drop(X, training=True).numpy()

    a, b, c = run(7, 1), run(7, 99), run(8, 1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0]) and not np.array_equal(a[1], c[1])
    kept = np.mean(a[1] != 0)
    assert 0.3 < kept < 0.7  # the rate is honoured
    eval_out = rk.layers.Dropout(0.5, seed=7)(X, training=False)
    np.testing.assert_array_equal(eval_out.numpy(), X)


def test_dropout_noise_shape_shares_the_mask_along_an_axis():
    out = rk.layers.Dropout(0.5, noise_shape=(None, 1, 3), seed=1)(np.ones((2, 6, 3), "float32"), training=True)
    out = out.numpy()
    assert np.all(out == out[:, :1, :])  # one mask per (sample, feature), the same at every step


def test_stateful_layers_after_an_input_with_a_batch_size_as_keras():
    def model(lib, batch_size):
        return lib.Sequential([lib.Input((6, 3), batch_size=batch_size), lib.layers.LSTM(4, stateful=True)])

    k, r = model(keras, 4), model(rk, 4)
    r.set_weights(k.get_weights())
    np.testing.assert_allclose(r.predict(X), k.predict(X, verbose=0), atol=ATOL)
    np.testing.assert_allclose(r.predict(X), k.predict(X, verbose=0), atol=ATOL)  # the state carried in both
    for m in (k, r):
        with pytest.raises(ValueError, match="Expected batch size: 4"):
            m.predict(X[:3], verbose=0) if m is k else m.predict(X[:3])
    with pytest.raises(ValueError, match="batch size must be static"):
        model(rk, None)
    with pytest.raises(ValueError, match="batch size must be static"):
        model(keras, None)


def test_masks_pass_through_time_distributed_as_keras():
    ids = np.array([[3, 5, 1, 0, 0, 0], [2, 0, 0, 0, 0, 0], [4, 4, 4, 4, 4, 4]])

    def model(lib):
        return lib.Sequential([lib.Input((6,), dtype="int32" if lib is keras else "int64"),
                               lib.layers.Embedding(8, 3, mask_zero=True),
                               lib.layers.TimeDistributed(lib.layers.Dense(4, activation="tanh")),
                               lib.layers.GRU(5)])

    k, r = model(keras), model(rk)
    r.set_weights(k.get_weights())
    np.testing.assert_allclose(r.predict(ids), k.predict(ids, verbose=0), atol=ATOL)
    td_k, td_r = k.layers[1], r.layers[1]
    emb = k.layers[0](ids)
    mask = k.layers[0].compute_mask(ids)
    np.testing.assert_array_equal(td_r.compute_mask(None, torch.from_numpy(ids != 0)).numpy(),
                                  kn(td_k.compute_mask(emb, mask)))
