"""rnnkit.keras's MultiHeadAttention against real Keras 3 (PyTorch backend): same weights, same outputs and attention
scores — self- and cross-attention, separate keys, masks from upstream (Embedding(mask_zero=True)), an explicit
attention mask, causal masking — in functional models after an LSTM, trained, and in files both ways."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
IDS = RNG.integers(1, 20, (3, 6))
IDS[0, 4:] = 0
IDS[1, 2:] = 0


def kn(t):
    return keras.ops.convert_to_numpy(t)


def rn(t):
    return t.detach().numpy()


@pytest.mark.parametrize("args", [dict(num_heads=2, key_dim=4), dict(num_heads=3, key_dim=2, value_dim=5),
                                  dict(num_heads=1, key_dim=3, use_bias=False, output_shape=7)])
def test_cross_attention_with_a_key_and_masks_gives_keras_outputs_and_scores(args):
    """A query of 4 steps attends over a value (and a separate key) of 6: Keras's weights in, Keras's outputs and
    (B, H, T, S) scores out — plain, with an attention mask, with query/value masks (Keras 3.15 ignores an explicit
    query_mask, taking the query's own upstream mask; rnnkit alike) and causally."""
    query = RNG.normal(size=(2, 4, 5)).astype("float32")
    value, key = RNG.normal(size=(2, 6, 3)).astype("float32"), RNG.normal(size=(2, 6, 2)).astype("float32")
    theirs, ours = keras.layers.MultiHeadAttention(**args), rk.layers.MultiHeadAttention(**args)
    theirs(query, value, key)
    ours(query, value, key)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    attention = RNG.random((2, 4, 6)) > 0.3
    query_mask, value_mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool), RNG.random((2, 6)) > 0.2
    for kwargs in ({}, {"attention_mask": attention}, {"query_mask": query_mask, "value_mask": value_mask},
                   {"use_causal_mask": True}, {"attention_mask": attention, "use_causal_mask": True}):
        out_k, scores_k = theirs(query, value, key, return_attention_scores=True, **kwargs)
        out_r, scores_r = ours(query, value, key, return_attention_scores=True, **kwargs)
        np.testing.assert_allclose(rn(out_r), kn(out_k), atol=1e-5)
        np.testing.assert_allclose(rn(scores_r), kn(scores_k), atol=1e-6)


def recurrent_attention(K, causal=False):
    """An LSTM's sequence attending over itself (masked ids), added back, pooled and classified."""
    i = K.Input((None,), dtype="int32")
    h = K.layers.LSTM(8, return_sequences=True)(K.layers.Embedding(20, 8, mask_zero=True)(i))
    a, scores = K.layers.MultiHeadAttention(2, 4, value_dim=3)(h, h, return_attention_scores=True,
                                                                use_causal_mask=causal)
    out = K.layers.Dense(1, activation="sigmoid")(K.layers.GlobalAveragePooling1D()(K.layers.Add()([h, a])))
    return K.Model(i, [out, scores])


@pytest.mark.parametrize("causal", [False, True], ids=["self", "causal"])
def test_self_attention_over_an_lstm_in_a_model_as_keras(causal, tmp_path):
    """In a functional model the upstream mask reaches the attention as Keras's does (padded keys get weight 0); the
    same outputs and scores, files both ways, and the same weights after training (SGD)."""
    theirs, ours = recurrent_attention(keras, causal), recurrent_attention(rk, causal)
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in theirs.layers]
    ours.set_weights(theirs.get_weights())
    expected = theirs.predict(IDS, verbose=0)
    got = ours.predict(IDS, verbose=0)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert np.all(got[1][1, :, :, 2:] == 0)  # the second sequence's padded steps are never attended to
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    for loaded in (keras.models.load_model(tmp_path / "ours.keras"), rk.models.load_model(tmp_path / "theirs.keras")):
        for a, b in zip(loaded.predict(IDS, verbose=0), expected):
            np.testing.assert_allclose(a, b, atol=1e-6)
    y = np.array([1.0, 0.0, 1.0], "float32")
    for K, model in ((keras, theirs), (rk, ours)):
        model.compile(K.optimizers.SGD(0.1), loss=["binary_crossentropy", None])
        model.fit(IDS, [y, np.zeros_like(expected[1])], epochs=3, batch_size=3, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_unsupported_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match="attention_axes"):
        rk.layers.MultiHeadAttention(2, 4, attention_axes=(1, 2))
    with pytest.raises(ValueError, match="use_gate"):
        rk.layers.MultiHeadAttention(2, 4, use_gate=True)
