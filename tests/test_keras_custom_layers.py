"""A user's own layers written for Keras 3 — ``keras.ops`` inside ``call``, sublayers (a ``Sequential`` too) kept as
attributes — run on rnnkit.keras with the imports changed: keras.io's "Text classification with Transformer" (its
``TokenAndPositionEmbedding`` and ``TransformerBlock``) and "Text generation with a miniature GPT" (a causal mask built
with ``ops``, two outputs, ``loss=[fn, None]``) have Keras's weights in Keras's order and, with Keras's weights,
Keras's predictions and losses (real Keras 3, PyTorch backend, is the reference)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

MAXLEN, VOCAB, EMBED = 12, 50, 8


def token_and_position_embedding(lib):
    layers, ops = lib.layers, lib.ops

    class TokenAndPositionEmbedding(layers.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim):
            super().__init__()
            self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            maxlen = ops.shape(x)[-1]
            positions = self.pos_emb(ops.arange(start=0, stop=maxlen, step=1))
            return self.token_emb(x) + positions

    return TokenAndPositionEmbedding


def transformer_classifier(lib):
    layers = lib.layers

    class TransformerBlock(layers.Layer):
        def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
            super().__init__()
            self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.ffn = lib.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.dropout1 = layers.Dropout(rate)
            self.dropout2 = layers.Dropout(rate)

        def call(self, inputs):
            attn_output = self.dropout1(self.att(inputs, inputs))
            out1 = self.layernorm1(inputs + attn_output)
            return self.layernorm2(out1 + self.dropout2(self.ffn(out1)))

    inputs = layers.Input(shape=(MAXLEN,))
    x = token_and_position_embedding(lib)(MAXLEN, VOCAB, EMBED)(inputs)
    x = TransformerBlock(EMBED, 2, 16)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dense(20, activation="relu")(layers.Dropout(0.1)(x))
    outputs = layers.Dense(2, activation="softmax")(layers.Dropout(0.1)(x))
    return lib.Model(inputs=inputs, outputs=outputs)


def test_keras_io_transformer_classifier_has_keras_weights_and_predictions():
    km, rm = transformer_classifier(keras), transformer_classifier(rk)
    # the Sequential inside TransformerBlock is one of its layers: its Dense weights sit between the attention's and
    # the layer norms', as in Keras (they were missing from the block's weights)
    assert [w.shape for w in rm.get_weights()] == [w.shape for w in km.get_weights()]
    assert rm.count_params() == km.count_params()
    rm.set_weights(km.get_weights())
    ids = np.random.default_rng(0).integers(0, VOCAB, (5, MAXLEN))
    np.testing.assert_allclose(rm.predict(ids, verbose=0), km.predict(ids, verbose=0), atol=1e-5)


def miniature_gpt(lib, maxlen=MAXLEN):
    layers, ops = lib.layers, lib.ops

    def causal_attention_mask(batch_size, n_dest, n_src, dtype):
        i = ops.arange(n_dest)[:, None]
        j = ops.arange(n_src)
        mask = ops.reshape(ops.cast(i >= j - n_src + n_dest, dtype), [1, n_dest, n_src])
        mult = ops.concatenate([ops.expand_dims(batch_size, -1), ops.convert_to_tensor([1, 1])], 0)
        return ops.tile(mask, mult)

    class CausalBlock(layers.Layer):
        def __init__(self, embed_dim, num_heads, ff_dim):
            super().__init__()
            self.att = layers.MultiHeadAttention(num_heads, embed_dim)
            self.ffn = lib.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)

        def call(self, inputs):
            batch_size, seq_len = ops.shape(inputs)[0], ops.shape(inputs)[1]
            mask = causal_attention_mask(batch_size, seq_len, seq_len, "bool")
            out1 = self.layernorm1(inputs + self.att(inputs, inputs, attention_mask=mask))
            return self.layernorm2(out1 + self.ffn(out1))

    inputs = layers.Input(shape=(maxlen,), dtype="int32")
    x = CausalBlock(EMBED, 2, 16)(token_and_position_embedding(lib)(maxlen, VOCAB, EMBED)(inputs))
    model = lib.Model(inputs=inputs, outputs=[layers.Dense(VOCAB)(x), x])
    model.compile("adam", loss=[lib.losses.SparseCategoricalCrossentropy(from_logits=True), None])
    return model


def test_keras_io_miniature_gpt_predicts_and_scores_as_keras():
    """The causal mask made with ops (a tile by a tensor of counts) and a second output without a loss, given one
    target array: Keras's predictions, Keras's loss and Keras's logs (``loss`` only)."""
    km, rm = miniature_gpt(keras), miniature_gpt(rk)
    rm.set_weights(km.get_weights())
    ids = np.random.default_rng(1).integers(0, VOCAB, (6, MAXLEN))
    for got, want in zip(rm.predict(ids, verbose=0), km.predict(ids, verbose=0)):
        np.testing.assert_allclose(got, want, atol=1e-5)
    # a causal model: a later token does not change an earlier position's output
    changed = ids.copy()
    changed[:, -1] = (changed[:, -1] + 1) % VOCAB
    np.testing.assert_allclose(rm.predict(changed, verbose=0)[0][:, :-1], rm.predict(ids, verbose=0)[0][:, :-1],
                               atol=1e-5)
    target = np.roll(ids, -1, axis=1)
    k_logs = km.evaluate(ids, target, verbose=0, return_dict=True)
    r_logs = rm.evaluate(ids, target, verbose=0, return_dict=True)
    assert sorted(r_logs) == sorted(k_logs) == ["loss"]
    assert abs(r_logs["loss"] - k_logs["loss"]) < 1e-5
    history = rm.fit(ids, target, batch_size=3, epochs=2, verbose=0)
    assert sorted(history.history) == ["loss"] and history.history["loss"][1] < history.history["loss"][0] + 0.5
