"""``SpectralNormalization``: a GRU regressor with a spectrally normalised Dense trains to Keras 3's weights (PyTorch
backend; one and three power iterations), its weights in Keras's order and its files load both ways; after a
training call with enough power iterations the kernel's largest singular value is 1 (NumPy's SVD); embeddings too."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways, predicts_and_trains_as_keras  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.standard_normal((8, 6, 3)).astype("float32")
Y = RNG.standard_normal((8, 2)).astype("float32")


def regressor(lib, power_iterations):
    m = lib.Sequential([lib.Input((6, 3)), lib.layers.GRU(5),
                        lib.layers.SpectralNormalization(lib.layers.Dense(4, activation="tanh"),
                                                         power_iterations=power_iterations),
                        lib.layers.Dense(2)])
    m.compile(lib.optimizers.SGD(0.1), "mse")
    return m


@pytest.mark.parametrize("power_iterations", [1, 3])
def test_training_and_files_are_keras(tmp_path, power_iterations):
    km, rm = predicts_and_trains_as_keras(lambda lib: regressor(lib, power_iterations), X, Y, RNG, batch_size=4)
    assert_keras_files_move_both_ways(km, rm, X, tmp_path, atol=1e-6)
    ours, theirs = rm.layers[1].get_config(), km.layers[1].get_config()
    theirs["layer"].pop("build_config")
    for config in (ours, theirs):  # (names: each library's running count of layers made so far)
        config.pop("name")
        config["layer"]["config"].pop("name")
    assert ours == theirs


def test_the_largest_singular_value_becomes_one():
    layer = rk.layers.SpectralNormalization(rk.layers.Dense(6), power_iterations=50)
    x = RNG.standard_normal((4, 5)).astype("float32")
    layer(x)
    before = np.linalg.svd(layer.kernel.detach().numpy(), compute_uv=False)[0]
    assert before > 1.2
    layer(x, training=True)
    assert np.linalg.svd(layer.kernel.detach().numpy(), compute_uv=False)[0] == pytest.approx(1.0, abs=1e-4)
    frozen = layer.kernel.detach().numpy().copy()
    layer(x)  # inference: the kernel as it stands
    np.testing.assert_array_equal(layer.kernel.detach().numpy(), frozen)
    table = rk.layers.SpectralNormalization(rk.layers.Embedding(10, 4), power_iterations=50)
    table(np.array([[1, 2]]), training=True)
    assert np.linalg.svd(table.kernel.detach().numpy(), compute_uv=False)[0] == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="no attribute 'kernel' nor 'embeddings'"):
        rk.layers.SpectralNormalization(rk.layers.Dropout(0.1))(x)
