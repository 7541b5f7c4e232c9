"""GroupNormalization, RMSNormalization, AlphaDropout, Rescaling, CategoryEncoding, Discretization and the
CosineDecayRestarts schedule against real Keras 3 (PyTorch backend): same weights and inputs → Keras's outputs,
configs and files. Discretization's ``adapt`` needs TensorFlow in Keras; its expected boundaries were recorded from
Keras 3.15.1 with TensorFlow 2.21."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import predicts_and_trains_as_keras  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 5, 8)).astype("float32")


def kn(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


@pytest.mark.parametrize("name, kwargs", [("GroupNormalization", {"groups": 2}), ("GroupNormalization", {"groups": 8}),
                                          ("GroupNormalization", {"groups": 1, "epsilon": 0.1}),
                                          ("GroupNormalization", {"groups": 4, "center": False}),
                                          ("RMSNormalization", {}), ("RMSNormalization", {"epsilon": 0.5})])
def test_normalizations_give_keras_outputs_and_train_to_keras_weights(name, kwargs, tmp_path):
    def build(lib):
        model = lib.Sequential([lib.Input(shape=(5, 8)), getattr(lib.layers, name)(**kwargs), lib.layers.LSTM(3),
                                lib.layers.Dense(1)])
        model.compile(lib.optimizers.SGD(0.1), "mse")
        return model

    theirs, ours = predicts_and_trains_as_keras(build, X, RNG.normal(size=(3, 1)).astype("float32"), RNG, rtol=1e-4)
    layer_config = ours.layers[0].get_config()
    del layer_config["name"]
    assert layer_config == {k: v for k, v in theirs.layers[0].get_config().items() if k != "name"}
    path = tmp_path / "m.keras"
    ours.save(path)
    np.testing.assert_allclose(kn(keras.saving.load_model(path)(X)), ours.predict(X, verbose=0), rtol=1e-5, atol=1e-6)


def test_group_normalization_refuses_groups_that_do_not_divide_the_channels():
    with pytest.raises(ValueError, match="multiple"):
        rk.layers.GroupNormalization(groups=3)(torch.zeros(2, 5, 8))


@pytest.mark.parametrize("rate, noise_shape", [(0.3, None), (0.5, (None, 1, 8))])
def test_seeded_alpha_dropout_draws_keras_s_units(rate, noise_shape):
    theirs = keras.layers.AlphaDropout(rate, noise_shape=noise_shape, seed=7)
    ours = rk.layers.AlphaDropout(rate, noise_shape=noise_shape, seed=7)
    for _ in range(2):  # the second call draws the seed's next mask, as Keras's
        np.testing.assert_allclose(ours(torch.tensor(X), training=True).numpy(), kn(theirs(X, training=True)),
                                   rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(ours(torch.tensor(X)).numpy(), X)  # inference: the identity


@pytest.mark.parametrize("kwargs, x", [({"scale": 1 / 255, "offset": -1.0}, [[0.0, 255.0]]),
                                       ({"scale": [1.0, 2.0], "offset": [0.0, 1.0]}, [[1.0, 1.0], [2.0, -1.0]])])
def test_rescaling_is_keras_s(kwargs, x):
    x = np.array(x, dtype="float32")
    np.testing.assert_allclose(rk.layers.Rescaling(**kwargs)(x).numpy(), kn(keras.layers.Rescaling(**kwargs)(x)))


IDS = [np.array([3, 2, 0, 1]), np.array([[0, 1], [0, 0], [1, 2], [3, 1]]), np.array([[3], [2]]), np.array([1, 3])]


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("ids", IDS, ids=["ids", "pairs", "column", "one-sample"])
def test_category_encoding_is_keras_s(mode, ids):
    got, want = rk.layers.CategoryEncoding(4, mode)(ids), keras.layers.CategoryEncoding(4, mode)(ids)
    np.testing.assert_array_equal(got.numpy(), kn(want))
    assert rk.layers.CategoryEncoding(4, mode).compute_output_shape(ids.shape) == tuple(want.shape)
    weights = RNG.uniform(size=IDS[1].shape).astype("float32")
    np.testing.assert_allclose(rk.layers.CategoryEncoding(4, "count")(IDS[1], count_weights=weights).numpy(),
                               kn(keras.layers.CategoryEncoding(4, "count")(IDS[1], count_weights=weights)))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        rk.layers.CategoryEncoding(4, mode)(np.array([5]))


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_buckets_as_keras(mode):
    x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]], dtype="float32")
    got = rk.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode=mode)(x)
    want = keras.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode=mode)(x)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), kn(want))
    config = rk.layers.Discretization(bin_boundaries=[0.0, 1.0]).get_config()
    assert {k: v for k, v in config.items() if k != "name"} == {
        k: v for k, v in keras.layers.Discretization(bin_boundaries=[0.0, 1.0]).get_config().items() if k != "name"}


@pytest.mark.parametrize("data, num_bins, epsilon, want", [
    (np.random.default_rng(0).normal(size=(50, 3)), 4, 0.01,
     [-0.6576784253120422, 0.10927952080965042, 0.7537022233009338]),
    (np.array([[1.0, 2, 3, 4, 5, 6, 7, 8, 9]]), 3, 0.01, [3.0, 6.0]),
    (np.random.default_rng(0).normal(size=(5000,)), 4, 0.01,
     [-0.6853941679000854, -0.028114203363656998, 0.6780393719673157]),
])
def test_discretization_adapts_to_keras_s_boundaries(data, num_bins, epsilon, want):
    layer = rk.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    layer.adapt(data)
    np.testing.assert_allclose(layer.bin_boundaries, want, rtol=1e-6)
    batches = rk.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    batches.adapt(iter([data]))  # one batch from an iterable: the same summary
    np.testing.assert_allclose(batches.bin_boundaries, want, rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"t_mul": 1.0}, {"t_mul": 1.5, "m_mul": 0.7, "alpha": 0.1}])
def test_cosine_decay_restarts_is_keras_s(kwargs):
    ours = rk.optimizers.schedules.CosineDecayRestarts(0.1, 10, **kwargs)
    theirs = keras.optimizers.schedules.CosineDecayRestarts(0.1, 10, **kwargs)
    for step in range(0, 200, 3):
        assert ours(step) == pytest.approx(float(theirs(step)), rel=1e-5, abs=1e-9), step
    assert ours.get_config() == theirs.get_config()
