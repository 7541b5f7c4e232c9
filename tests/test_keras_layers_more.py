"""The pooling, merging, normalization and reshaping layers that sit between recurrent layers, against real Keras 3
(PyTorch backend): same weights and inputs — masks from ``Embedding(mask_zero=True)`` included — same outputs."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways  # noqa: E402

RNG = np.random.default_rng(0)
IDS = RNG.integers(1, 30, size=(4, 7)).astype("int32")
IDS[1, 4:] = 0  # padding
IDS[3, 2:] = 0


def both(build):
    """The same model built from Keras's layers and from rnnkit's, rnnkit's given Keras's weights."""
    k, r = build(keras.layers, keras.Model), build(rk.layers, rk.Model)
    r.set_weights(k.get_weights())
    return k, r


def assert_same(k, r, x):
    theirs, ours = k.predict(x, verbose=0), r.predict(x, verbose=0)
    for a, b in zip(ours if isinstance(ours, list) else [ours], theirs if isinstance(theirs, list) else [theirs]):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("pool", ["GlobalAveragePooling1D", "GlobalMaxPooling1D"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_pooling_over_time_after_a_masked_lstm(pool, keepdims):
    # GlobalAveragePooling1D averages only the valid steps (the LSTM repeats its last output on masked ones)
    def build(L, M):
        inp = L.Input((None,), dtype="int32")
        seq = L.LSTM(5, return_sequences=True)(L.Embedding(30, 4, mask_zero=True)(inp))
        return M(inp, L.Dense(2)(getattr(L, pool)(keepdims=keepdims)(seq)))

    assert_same(*both(build), IDS)


@pytest.mark.parametrize("merge", ["Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"])
def test_merging_two_recurrent_branches_keeps_keras_masks(merge):
    # two GRUs over the same masked ids, merged step by step, then an LSTM that reads the merged mask
    def build(L, M):
        inp = L.Input((None,), dtype="int32")
        emb = L.Embedding(30, 4, mask_zero=True)(inp)
        a = L.GRU(3, return_sequences=True)(emb)
        b = L.GRU(3, return_sequences=True, go_backwards=False)(emb)
        return M(inp, L.LSTM(2)(getattr(L, merge)()([a, b])))

    assert_same(*both(build), IDS)


def test_concatenate_on_features_of_two_inputs_and_its_errors():
    def build(L, M):
        a, b = L.Input((6, 3)), L.Input((6, 2))
        return M([a, b], L.SimpleRNN(4)(L.Concatenate()([a, b])))

    k, r = both(build)
    assert_same(k, r, [RNG.normal(size=(2, 6, 3)).astype("float32"), RNG.normal(size=(2, 6, 2)).astype("float32")])
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        rk.layers.Concatenate(axis=1)([np.zeros((2, 6, 3), "float32"), np.zeros((2, 6, 2), "float32")])
    with pytest.raises(ValueError, match="at least 2 inputs"):
        rk.layers.Add()([np.zeros((2, 3), "float32")])


def test_layer_normalization_between_stacked_lstms():
    def build(L, M):
        inp = L.Input((8, 3))
        x = L.LayerNormalization(epsilon=1e-5)(L.LSTM(6, return_sequences=True)(inp))
        return M(inp, L.LSTM(3)(x))

    k, r = both(build)
    norm = [layer for layer in k.layers if isinstance(layer, keras.layers.LayerNormalization)][0]
    norm.set_weights([RNG.normal(size=6).astype("float32"), RNG.normal(size=6).astype("float32")])
    r.set_weights(k.get_weights())
    ours = [layer for layer in r.layers if isinstance(layer, rk.layers.LayerNormalization)][0]
    np.testing.assert_array_equal(ours.gamma.detach().numpy(), keras.ops.convert_to_numpy(norm.gamma))  # γ, then β
    assert_same(k, r, RNG.normal(size=(3, 8, 3)).astype("float32"))


def test_flatten_reshape_and_permute_around_recurrent_layers():
    def build(L, M):
        inp = L.Input((4, 6))
        x = L.Permute((2, 1))(inp)                      # (6, 4): steps and features swapped
        seq = L.GRU(2, return_sequences=True)(x)        # (6, 2)
        x = L.Reshape((3, 4))(seq)                      # (3, 4)
        return M(inp, L.Dense(1)(L.Flatten()(L.SimpleRNN(3, return_sequences=True)(x))))

    assert_same(*both(build), RNG.normal(size=(2, 4, 6)).astype("float32"))


def test_spatial_dropout_drops_whole_channels_in_training_only():
    layer = rk.layers.SpatialDropout1D(0.5, seed=3)
    x = np.ones((8, 10, 6), "float32")
    y = layer(x, training=True).numpy()
    assert ((y == 0).all(axis=1) | (y == 2).all(axis=1)).all()  # each (sample, channel): all steps kept ×2 or dropped
    assert 0.2 < (y[:, 0] == 0).mean() < 0.8
    np.testing.assert_array_equal(layer(x).numpy(), x)
    assert keras.layers.SpatialDropout1D(0.5)(x).shape == y.shape  # Keras's shape at inference too


def test_a_model_of_the_new_layers_moves_between_keras_and_rnnkit_files(tmp_path):
    def build(L, M):
        inp = L.Input((None,), dtype="int32")
        emb = L.Embedding(30, 4, mask_zero=True)(inp)
        # (a Concatenate named "concatenate" joining masked sequences does not reload in Keras 3.15 from a file
        # without Keras's own mask ops: Keras names its mask operation "concatenate" too)
        x = L.Concatenate(name="join")([L.GRU(3, return_sequences=True)(emb), L.LSTM(3, return_sequences=True)(emb)])
        x = L.SpatialDropout1D(0.2)(L.LayerNormalization()(x))
        return M(inp, L.Dense(2)(L.GlobalAveragePooling1D()(x)))

    k, r = both(build)
    assert_keras_files_move_both_ways(k, r, IDS, tmp_path)


@pytest.mark.parametrize("attention, kwargs", [("Attention", {}), ("Attention", {"use_scale": True}),
                                               ("Attention", {"score_mode": "concat", "use_scale": True}),
                                               ("AdditiveAttention", {}), ("AdditiveAttention", {"use_scale": False})])
def test_attention_between_a_masked_encoder_and_decoder_as_in_keras(attention, kwargs):
    # Keras's seq2seq-with-attention pattern: the decoder's outputs attend over the encoder's (padding masked on
    # both sides), joined with the decoder's outputs, then a softmax per step
    def build(L, M):
        src, tgt = L.Input((None,), dtype="int32"), L.Input((None,), dtype="int32")
        enc = L.LSTM(6, return_sequences=True)(L.Embedding(30, 5, mask_zero=True)(src))
        dec = L.LSTM(6, return_sequences=True)(L.Embedding(30, 5, mask_zero=True)(tgt))
        context, weights = getattr(L, attention)(**kwargs)([dec, enc], return_attention_scores=True)
        out = L.TimeDistributed(L.Dense(30, activation="softmax"))(L.Concatenate(name="join")([dec, context]))
        return M([src, tgt], [out, weights])

    k, r = both(build)
    for layer in k.layers:  # make the learnt scales differ from their initial ones
        if "ttention" in type(layer).__name__ and layer.weights:
            layer.set_weights([RNG.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    r.set_weights(k.get_weights())
    tgt = RNG.integers(1, 30, size=(4, 5)).astype("int32")
    tgt[0, 3:] = 0
    assert_same(k, r, [IDS, tgt])


def test_causal_self_attention_and_the_attention_errors():
    def build(L, M):
        inp = L.Input((None, 4))
        seq = L.GRU(4, return_sequences=True)(inp)
        return M(inp, L.Attention()([seq, seq], use_causal_mask=True))

    assert_same(*both(build), RNG.normal(size=(2, 6, 4)).astype("float32"))
    with pytest.raises(ValueError, match=r"namely \[query, value\]"):
        rk.layers.Attention()(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="score_mode"):
        rk.layers.Attention(score_mode="general")


def test_a_two_branch_models_layers_and_weights_are_in_keras_order():
    # Keras lists a functional model's layers by decreasing depth (ties: as a walk from the outputs meets them), its
    # InputLayers among them, and get_weights follows that order — so Keras's weights fit rnnkit's array for array
    def build(L, M):
        src, tgt = L.Input((None,), dtype="int32", name="src"), L.Input((None,), dtype="int32", name="tgt")
        enc = L.LSTM(6, return_sequences=True, name="enc")(L.Embedding(30, 5, mask_zero=True, name="e1")(src))
        dec = L.GRU(6, return_sequences=True, name="dec")(L.Embedding(30, 7, mask_zero=True, name="e2")(tgt))
        joined = L.Concatenate(name="join")([dec, L.Attention(name="att")([dec, enc])])
        return M([src, tgt], L.Dense(3, name="out")(joined))

    k, r = build(keras.layers, keras.Model), build(rk.layers, rk.Model)
    assert [(layer.name, type(layer).__name__) for layer in r.layers] == \
        [(layer.name, type(layer).__name__) for layer in k.layers]  # tgt, src, e2, e1, dec, enc, att, join, out
    assert r.get_layer(index=0).output is r.inputs[1] and r.layers[0].get_weights() == []
    assert [w.shape for w in r.get_weights()] == [w.shape for w in k.get_weights()]


def test_a_keras_file_of_a_two_branch_model_with_two_lstms_loads_each_lstms_weights(tmp_path):
    # Keras's .keras file names the weights by class in its layer order (lstm, lstm_1): rnnkit reads them into the
    # same layers only when its order is Keras's
    def build(L, M):
        src, tgt = L.Input((None,), dtype="int32"), L.Input((None,), dtype="int32")
        enc = L.LSTM(6, return_sequences=True)(L.Embedding(30, 5, mask_zero=True)(src))
        dec = L.LSTM(6, return_sequences=True)(L.Embedding(30, 7, mask_zero=True)(tgt))  # kernels (5|7, 24)
        return M([src, tgt], L.Dense(3)(L.Concatenate(name="join")([dec, L.Attention(name="att")([dec, enc])])))

    k = build(keras.layers, keras.Model)
    k.save(tmp_path / "two.keras")
    r = rk.models.load_model(tmp_path / "two.keras")
    tgt = RNG.integers(1, 30, size=(4, 3)).astype("int32")
    np.testing.assert_allclose(r.predict([IDS, tgt], verbose=0), k.predict([IDS, tgt], verbose=0), atol=1e-5)


def test_a_lambda_layer_runs_in_memory_and_is_refused_in_files(tmp_path):
    # Keras's pattern of taking the last step of a sequence; saved, it would be Python bytecode (Keras itself refuses
    # to load it in safe mode)
    def build(L, M):
        inp = L.Input((None, 3))
        seq = L.LSTM(4, return_sequences=True)(inp)
        return M(inp, L.Dense(1)(L.Lambda(lambda s: s[:, -1] * 2.0)(seq)))

    k, r = both(build)
    assert_same(k, r, RNG.normal(size=(2, 5, 3)).astype("float32"))
    with pytest.raises(ValueError, match="holds Python code"):
        r.save(tmp_path / "lambda.keras")
    k.save(tmp_path / "theirs.keras")
    with pytest.raises(ValueError, match="Python bytecode, which rnnkit does not load"):
        rk.models.load_model(tmp_path / "theirs.keras")


def test_an_auxiliary_input_joining_late_is_listed_where_keras_lists_it():
    def build(L, M):
        seq, aux = L.Input((5, 3), name="seq"), L.Input((2,), name="aux")
        h = L.LSTM(4, name="rnn")(L.LayerNormalization(name="norm")(seq))
        return M([seq, aux], L.Dense(1, name="out")(L.Concatenate(name="join")([h, aux])))

    k, r = build(keras.layers, keras.Model), build(rk.layers, rk.Model)
    assert [layer.name for layer in r.layers] == [layer.name for layer in k.layers]
    theirs, ours = [], []
    k.summary(print_fn=theirs.append, line_length=100)
    r.summary(print_fn=ours.append, line_length=100)
    # Keras's table (after the model's name): "aux (InputLayer) │ (None, 2) │ 0 │ -", the connections, the sizes
    assert ours[0].split("\n", 1)[1] == theirs[0].split("\n", 1)[1]


@pytest.mark.parametrize("merge", ["Concatenate", "Add"])
def test_two_inputs_padded_differently_merge_their_masks_as_keras(merge):
    # both keep a step valid where either input's is (Keras's OR of the masks)
    def build(L, M):
        a, b = L.Input((None,), dtype="int32"), L.Input((None,), dtype="int32")
        ea = L.Embedding(30, 4, mask_zero=True)(a)
        eb = L.Embedding(30, 4, mask_zero=True)(b)
        return M([a, b], L.LSTM(3, return_sequences=True)(getattr(L, merge)()([ea, eb])))

    other = IDS.copy()
    other[0, 5:] = 0
    other[2, 1:] = 0
    assert_same(*both(build), [IDS, other])


@pytest.mark.parametrize("padding, strides, dilation", [("valid", 1, 1), ("same", 1, 1), ("same", 2, 1),
                                                        ("causal", 1, 2), ("valid", 2, 1), ("same", 3, 1)])
@pytest.mark.parametrize("pool, pool_padding", [("MaxPooling1D", "valid"), ("MaxPooling1D", "same"),
                                                ("AveragePooling1D", "valid"), ("AveragePooling1D", "same")])
def test_a_cnn_lstm_gives_keras_outputs_and_files(padding, strides, dilation, pool, pool_padding, tmp_path):
    def build(L, M):
        inp = L.Input((19, 3))
        x = L.Conv1D(6, 3, strides=strides, padding=padding, dilation_rate=dilation, activation="relu")(inp)
        x = getattr(L, pool)(2, padding=pool_padding)(x)
        return M(inp, L.Dense(1)(L.LSTM(5)(x)))

    k, r = both(build)
    x = RNG.normal(size=(3, 19, 3)).astype("float32")
    assert_same(k, r, x)
    r.save(tmp_path / "cnn.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "cnn.keras").predict(x, verbose=0),
                               r.predict(x, verbose=0), atol=1e-5)
    k.save(tmp_path / "theirs.keras")
    np.testing.assert_allclose(rk.models.load_model(tmp_path / "theirs.keras").predict(x, verbose=0),
                               k.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("size, strides", [(3, 1), (3, 2), (2, 1), (4, 3)])
def test_pooling_windows_with_same_padding_as_keras(size, strides):
    # even and uneven padding splits (Keras's torch backend: torch's padding, or the edge steps repeated)
    x = RNG.normal(size=(2, 10, 4)).astype("float32")
    for pool in ("MaxPooling1D", "AveragePooling1D"):
        ours = getattr(rk.layers, pool)(size, strides=strides, padding="same")(x).numpy()
        theirs = keras.ops.convert_to_numpy(getattr(keras.layers, pool)(size, strides=strides, padding="same")(x))
        np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_conv1d_shapes_and_errors_as_keras():
    for kwargs in ({"padding": "same", "strides": 2}, {"padding": "causal", "dilation_rate": 3}, {"groups": 3}):
        x = np.zeros((2, 11, 6), "float32")
        assert tuple(rk.layers.Conv1D(9, 4, **kwargs)(x).shape) == tuple(keras.layers.Conv1D(9, 4, **kwargs)(x).shape)
    with pytest.raises(ValueError, match="divisible by the number of groups"):
        rk.layers.Conv1D(5, 3, groups=2)
    with pytest.raises(ValueError, match="padding"):
        rk.layers.Conv1D(5, 3, padding="full")
