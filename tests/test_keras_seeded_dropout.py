"""A seeded layer draws Keras's own masks and noise: models with ``Dropout(seed=)``, ``SpatialDropout1D``,
``GaussianNoise``/``GaussianDropout``, recurrent ``dropout``/``recurrent_dropout`` (also bidirectional and
``implementation=1``) and attention dropout, started from Keras's weights, end two epochs of SGD at Keras's weights
(real Keras 3, PyTorch backend, is the reference) — so a seeded run is reproducible and comparable across the two."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

X = np.random.default_rng(0).standard_normal((8, 5, 3)).astype("float32")
Y = np.random.default_rng(1).standard_normal((8, 2)).astype("float32")


def build(lib, kind, shift=0):
    """``shift`` moves every seed (another draw of masks)."""
    L = lib.layers
    inp = lib.Input((5, 3))
    if kind == "Dropout":
        x = L.Dropout(0.3, seed=11 + shift)(L.LSTM(4)(inp))
    elif kind == "SpatialDropout1D":
        x = L.LSTM(4)(L.SpatialDropout1D(0.3, seed=11 + shift)(inp))
    elif kind in ("GaussianNoise", "GaussianDropout"):
        x = L.LSTM(4)(getattr(L, kind)(0.3, seed=3 + shift)(inp))
    elif kind == "Bidirectional":
        x = L.Bidirectional(L.LSTM(4, dropout=0.3, recurrent_dropout=0.2, seed=5 + shift))(inp)
    elif kind == "implementation=1":
        x = L.LSTM(4, dropout=0.3, recurrent_dropout=0.2, seed=5 + shift, implementation=1)(inp)
    elif kind in ("Attention", "MultiHeadAttention"):
        h = L.LSTM(4, return_sequences=True)(inp)
        att = L.Attention(dropout=0.3, seed=2 + shift)([h, h]) if kind == "Attention" else \
            L.MultiHeadAttention(2, 4, dropout=0.3, seed=2 + shift)(h, h)
        x = L.GlobalAveragePooling1D()(att)
    else:  # a recurrent layer with both dropouts
        x = getattr(L, kind)(4, dropout=0.3, recurrent_dropout=0.2, seed=5 + shift)(inp)
    return lib.Model(inp, L.Dense(2)(x))


@pytest.mark.parametrize("kind", ["Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "SimpleRNN",
                                  "LSTM", "GRU", "Bidirectional", "implementation=1", "Attention",
                                  "MultiHeadAttention"])
def test_seeded_training_ends_at_keras_weights(kind):
    km, rm, other = build(keras, kind), build(rk, kind), build(rk, kind, shift=1)
    rm.set_weights(km.get_weights())
    other.set_weights(km.get_weights())
    for model, lib in ((km, keras), (rm, rk), (other, rk)):
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
        model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for got, want in zip(rm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-6)
    # the masks matter: another seed ends elsewhere
    assert max(np.abs(a - b).max() for a, b in zip(other.get_weights(), km.get_weights())) > 1e-4
