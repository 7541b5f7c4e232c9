"""Keras's small layers on rnnkit.keras — activations (ReLU, LeakyReLU, ELU, PReLU, Softmax with masks), Dot and the
functional merge forms, UnitNormalization, Identity, the time-axis layers (ZeroPadding1D, Cropping1D, UpSampling1D),
the noise layers and ActivityRegularization — each against real Keras 3 (PyTorch backend) on the same input and
weights, and in files both ways."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
X = (RNG.normal(size=(4, 6, 5)) * 2).astype("float32")


def kn(t):
    return keras.ops.convert_to_numpy(t)


def rn(t):
    return t.detach().numpy()


LAYERS = [
    ("ReLU", {}), ("ReLU", {"max_value": 1.5}), ("ReLU", {"negative_slope": 0.1, "threshold": 0.5}),
    ("ReLU", {"negative_slope": 0.2, "max_value": 2.0}), ("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.05}),
    ("ELU", {"alpha": 0.7}), ("Softmax", {}), ("Softmax", {"axis": 1}), ("Softmax", {"axis": [1, 2]}),
    ("UnitNormalization", {}), ("UnitNormalization", {"axis": [1, 2]}), ("Identity", {}),
    ("ZeroPadding1D", {"padding": (1, 3)}), ("Cropping1D", {"cropping": (2, 1)}), ("UpSampling1D", {"size": 3}),
    ("GaussianNoise", {"stddev": 0.3}), ("GaussianDropout", {"rate": 0.4}),
]


@pytest.mark.parametrize("name,args", LAYERS, ids=[f"{n}{a}" for n, a in LAYERS])
def test_a_small_layer_gives_keras_outputs_and_config(name, args):
    """Outside training (the noise layers pass the input through) each layer gives Keras's numbers, and its config
    rebuilds Keras's layer."""
    ours, theirs = getattr(rk.layers, name)(**args), getattr(keras.layers, name)(**args)
    np.testing.assert_allclose(rn(ours(X)), kn(theirs(X)), atol=1e-6)
    again = getattr(keras.layers, name).from_config(ours.get_config())
    np.testing.assert_allclose(kn(again(X)), kn(theirs(X)), atol=1e-6)


def test_a_vector_of_zeros_stays_zero_in_unit_normalization():
    x = np.zeros((2, 3), "float32")
    np.testing.assert_array_equal(rn(rk.layers.UnitNormalization()(x)), kn(keras.layers.UnitNormalization()(x)))


def test_prelu_learns_its_slopes_with_shared_axes_as_keras():
    """PReLU's α: one per feature with ``shared_axes=[1]`` (shared over time), Keras's shape and outputs."""
    theirs, ours = keras.layers.PReLU(shared_axes=[1]), rk.layers.PReLU(shared_axes=[1])
    theirs.build(X.shape)
    ours.build(X.shape)
    alpha = RNG.uniform(0.1, 0.5, size=(1, 5)).astype("float32")
    theirs.set_weights([alpha])
    ours.set_weights([alpha])
    np.testing.assert_allclose(rn(ours(X)), kn(theirs(X)), atol=1e-6)


def test_softmax_leaves_masked_positions_out():
    mask = np.ones((4, 6, 5), bool)
    mask[:, :, 3:] = False
    np.testing.assert_allclose(rn(rk.layers.Softmax()(X, mask=mask)), kn(keras.layers.Softmax()(X, mask=mask)),
                               atol=1e-6)
    assert np.all(rn(rk.layers.Softmax()(X, mask=mask))[:, :, 3:] == 0)


@pytest.mark.parametrize("shapes,axes", [(((4, 6, 5), (4, 7, 5)), (2, 2)), (((4, 6, 5), (4, 6, 3)), 1),
                                         (((4, 5), (4, 5)), 1), (((4, 6, 5), (4, 5)), (2, 1)),
                                         (((4, 6, 5), (4, 7, 5)), -1)])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_as_keras(shapes, axes, normalize):
    a, b = (RNG.normal(size=s).astype("float32") for s in shapes)
    ours = rn(rk.layers.Dot(axes, normalize=normalize)([a, b]))
    theirs = kn(keras.layers.Dot(axes, normalize=normalize)([a, b]))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def luong(K):
    """Luong-style attention written with Keras's functional forms (``dot``, ``concatenate``) and Softmax."""
    enc_in, dec_in = K.Input((None, 5)), K.Input((None, 5))
    enc = K.layers.LSTM(8, return_sequences=True)(enc_in)
    dec = K.layers.LSTM(8, return_sequences=True)(dec_in)
    scores = K.layers.dot([dec, enc], axes=[2, 2])
    weights = K.layers.Softmax()(scores)
    context = K.layers.dot([weights, enc], axes=[2, 1])
    joined = K.layers.concatenate([context, dec])
    return K.Model([enc_in, dec_in], K.layers.TimeDistributed(K.layers.Dense(3))(joined))


def test_luong_attention_from_the_functional_forms_as_keras(tmp_path):
    theirs, ours = luong(keras), luong(rk)
    ours.set_weights(theirs.get_weights())
    enc, dec = X, RNG.normal(size=(4, 3, 5)).astype("float32")
    expected = theirs.predict([enc, dec], verbose=0)
    np.testing.assert_allclose(ours.predict([enc, dec], verbose=0), expected, atol=1e-5)
    ours.save(tmp_path / "luong.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "luong.keras").predict([enc, dec], verbose=0),
                               expected, atol=1e-5)


def test_the_noise_layers_act_only_in_training_with_their_moments():
    """Training: GaussianNoise adds N(0, σ²), GaussianDropout multiplies by N(1, rate / (1 − rate)); a seed repeats
    the noise."""
    x = np.ones((200, 50, 4), "float32")
    noise = rn(rk.layers.GaussianNoise(0.3, seed=1)(x, training=True)) - 1
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.3) < 0.01
    drop = rn(rk.layers.GaussianDropout(0.4, seed=1)(x, training=True))
    assert abs(drop.mean() - 1) < 0.01 and abs(drop.std() - np.sqrt(0.4 / 0.6)) < 0.01
    np.testing.assert_array_equal(rn(rk.layers.GaussianNoise(0.3, seed=5)(x[:2], training=True)),
                                  rn(rk.layers.GaussianNoise(0.3, seed=5)(x[:2], training=True)))


def test_activity_regularization_adds_keras_penalty():
    """Keras 3: the L1/L2 penalty of the layer's output, divided by the batch size, joins the layer's losses."""
    ours, theirs = rk.layers.ActivityRegularization(l1=0.01, l2=0.02), keras.layers.ActivityRegularization(0.01, 0.02)
    ours(X)
    theirs(X)
    assert float(ours.losses[0]) == pytest.approx(float(kn(theirs.losses[0])), rel=1e-5)
    assert float(ours.losses[0]) == pytest.approx((0.01 * np.abs(X).sum() + 0.02 * (X ** 2).sum()) / 4, rel=1e-5)
    again = keras.layers.ActivityRegularization.from_config(ours.get_config())
    assert (again.l1, again.l2) == (0.01, 0.02)


def test_keras_other_names_are_the_same_layers():
    assert rk.layers.GlobalAvgPool1D is rk.layers.GlobalAveragePooling1D and rk.layers.MaxPool1D is \
        rk.layers.MaxPooling1D and rk.layers.AvgPool1D is rk.layers.AveragePooling1D and \
        rk.layers.Convolution1D is rk.layers.Conv1D and rk.layers.GlobalMaxPool1D is rk.layers.GlobalMaxPooling1D
