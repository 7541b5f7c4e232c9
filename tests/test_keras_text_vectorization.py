"""TextVectorization, StringLookup and IntegerLookup give Keras's vocabularies and outputs.

Keras 3's own layers need TensorFlow even on the PyTorch backend, and TensorFlow is not among the test dependencies:
every expected value below was recorded from Keras 3.15.1 with TensorFlow 2.21 (CPU) on the same inputs, and the
tf-idf weights are also checked against their formula ln(1 + D / (1 + d))."""

import math

import numpy as np
import pytest
import torch

from rnnkit.keras import layers

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "Cats and dogs; dogs and cats.", "zebra", "b a", "a b",
         "Émile's CAFÉ-au-lait, 3.5€"]


def adapted(data=TEXTS, **kwargs):
    layer = layers.TextVectorization(**kwargs)
    layer.adapt(data)
    return layer


def test_adapt_orders_by_count_then_larger_token_lowering_ascii_and_stripping_keras_punctuation():
    tv = adapted()
    # most frequent first; ties by the larger UTF-8 string ('Émiles' > 'zebra'); only ASCII letters are lowered
    assert tv.get_vocabulary() == ["", "[UNK]", "the", "dogs", "cats", "b", "and", "a", "Émiles", "zebra", "sat", "on",
                                   "my", "mat", "homework", "dog", "cat", "cafÉaulait", "ate", "35€"]
    out = tv(["the cat and the unknownword", "a"])
    assert out.dtype == torch.int64
    assert out.tolist() == [[2, 16, 6, 2, 1], [7, 0, 0, 0, 0]]  # 0-padded to the longest text; 1 unknown


def test_max_tokens_counts_the_special_tokens_and_the_sequence_length_pads_or_cuts():
    tv = adapted(max_tokens=6, output_sequence_length=4)
    assert tv.get_vocabulary() == ["", "[UNK]", "the", "dogs", "cats", "b"] and tv.vocabulary_size() == 6
    assert tv(["the cat and the mat the", "zebra"]).tolist() == [[2, 1, 1, 2], [1, 0, 0, 0]]
    assert adapted(["a b c d e"], output_sequence_length=3)(["a b c d e", "e"]).tolist() == [[6, 5, 4], [2, 0, 0]]


@pytest.mark.parametrize("mode, want", [
    ("multi_hot", [[1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0, 0]]),
    ("count", [[3, 2, 0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 0, 0, 0]]),
    ("tf_idf", [[4.1263838, 2.4079461, 0, 0, 0, 0, 0, 0], [0, 0, 1.5040770, 0, 0, 0, 0, 0]]),
])
def test_the_counting_modes_give_one_vocabulary_wide_vector_per_text(mode, want):
    tv = adapted(max_tokens=8, output_mode=mode)
    assert tv.get_vocabulary() == ["[UNK]", "the", "dogs", "cats", "b", "and", "a", "Émiles"]  # no mask slot
    out = tv(["the the cat zebra xyz", "dogs"])
    assert out.dtype == (torch.float32 if mode == "tf_idf" else torch.int64)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)


def test_tf_idf_weights_follow_their_formula_and_the_unknown_slot_takes_their_mean():
    tv = adapted(max_tokens=8, output_mode="tf_idf")
    documents_holding = {"the": 2, "dogs": 1, "cats": 1, "b": 2, "and": 1, "a": 2, "Émiles": 1}
    idf = [math.log(1 + len(TEXTS) / (1 + documents_holding[t])) for t in tv.get_vocabulary()[1:]]
    np.testing.assert_allclose(tv.idf_weights.numpy(), [np.mean(idf)] + idf, rtol=1e-6)
    given = layers.TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"], idf_weights=[0.5, 2.0])
    assert given(["a b b z"]).tolist() == [[1.25, 0.5, 4.0]]  # Keras's numbers
    padded = adapted(["a b", "a"], max_tokens=10, output_mode="tf_idf", pad_to_max_tokens=True)(["a b z"])
    np.testing.assert_allclose(padded.numpy(), [[0.6019864, 0.5108256, 0.6931472] + [0] * 7], rtol=1e-6)


@pytest.mark.parametrize("kwargs, data, vocabulary, call, want", [
    ({"ngrams": 2}, ["a b c", "a b d"], ["b", "a b", "a", "d", "c", "b d", "b c"], ["a b c"], [[4, 2, 6, 3, 8]]),
    ({"ngrams": (2,)}, ["a b c"], ["b c", "a b"], None, None),
    ({"split": "character", "standardize": "lower"}, ["Ab", "ba!"], ["b", "a", "!"], ["AB!x"], [[3, 2, 4, 1]]),
    ({"split": "character", "ngrams": 2, "standardize": None}, ["ab c"], ["c", "b  ", "b", "a b", "a", "  c", " "],
     None, None),
    ({"split": None}, ["a b", "a b", "c"], ["a b", "c"], None, None),
    ({"standardize": None}, ["Hello, World", "hello"], ["hello", "World", "Hello,"], None, None),
    ({"standardize": "strip_punctuation"}, ["Hello, World", "hello"], ["hello", "World", "Hello"], None, None),
    ({"standardize": "lower"}, ["Ünïcode ÀB ab"], ["Ünïcode", "Àb", "ab"], None, None),
    ({}, ["a\u00a0b c\u3000d"], ["c\u3000d", "a\u00a0b"], None, None),  # only ASCII whitespace splits
    ({"max_tokens": 5}, ["b b a a c c d"], ["c", "b", "a"], None, None),
])
def test_standardize_split_and_ngrams_as_keras(kwargs, data, vocabulary, call, want):
    tv = adapted(data, **kwargs)
    assert tv.get_vocabulary(include_special_tokens=False) == vocabulary
    if call is not None:
        assert tv(call).tolist() == want


def test_inputs_keras_takes_a_column_a_scalar_empty_texts_and_batches_from_a_generator():
    tv = adapted(np.array([["one two"], ["two three"]]))
    assert tv.get_vocabulary() == ["", "[UNK]", "two", "three", "one"]
    assert tv(np.array([["two"], ["one one"]])).tolist() == [[2, 0], [4, 4]]
    assert tv(["", "two"]).tolist() == [[0], [2]]
    abc = adapted(["a b c"])
    assert abc("a c q").tolist() == [4, 2, 1]
    assert adapted(["a b c"], output_mode="multi_hot")("a c q").tolist() == [1, 1, 0, 1]
    batches = (np.array(b) for b in (["a a b"], ["b c c c"], ["d"]))
    assert adapted(batches).get_vocabulary() == ["", "[UNK]", "c", "b", "a", "d"]
    with pytest.raises(ValueError, match="shape"):
        abc(np.array([["a", "b"], ["c", "d"]]))


def test_a_given_vocabulary_and_the_config_are_keras_s():
    tv = layers.TextVectorization(vocabulary=["x", "y", "z"])
    assert tv.get_vocabulary(include_special_tokens=False) == ["x", "y", "z"]
    assert tv(["x q z"]).tolist() == [[2, 1, 4]]
    config = tv.get_config()
    del config["name"]
    assert config == {
        "trainable": True, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                                     "registered_name": None},
        "max_tokens": None, "standardize": "lower_and_strip_punctuation", "split": "whitespace", "ngrams": None,
        "output_mode": "int", "output_sequence_length": None, "pad_to_max_tokens": False, "sparse": False,
        "ragged": False, "vocabulary": ["x", "y", "z"], "idf_weights": None, "encoding": "utf-8", "vocabulary_size": 5}
    again = layers.TextVectorization.from_config(tv.get_config())
    assert again(["z y"]).tolist() == [[4, 3]]
    assert adapted(["a b", "b c"]).get_config()["vocabulary"] is None  # an adapted vocabulary is not config (Keras)
    tv.set_vocabulary(["p", "q"])
    assert tv.get_vocabulary() == ["", "[UNK]", "p", "q"]
    re_adapted = adapted(["a b"])
    re_adapted.adapt(["c d d"])  # adapt replaces the vocabulary
    assert re_adapted.get_vocabulary() == ["", "[UNK]", "d", "c"]


@pytest.mark.parametrize("make, error, match", [
    (lambda: layers.TextVectorization(max_tokens=1), ValueError, "must be greater than 1"),
    (lambda: layers.TextVectorization(output_mode="bogus"), ValueError, "Received: output_mode=bogus"),
    (lambda: layers.TextVectorization(output_mode="multi_hot", output_sequence_length=3), ValueError,
     "`output_sequence_length` must not be set"),
    (lambda: layers.TextVectorization()(["a"]), ValueError, "no vocabulary yet: call adapt"),
    (lambda: layers.TextVectorization(vocabulary=["a", "a"]), ValueError, "repeated terms are: \\['a'\\]"),
    (lambda: layers.TextVectorization(vocabulary=["", "a"][::-1]), ValueError, "unexpected location"),
    (lambda: layers.TextVectorization(output_mode="tf_idf", vocabulary=["a"]), ValueError,
     "`idf_weights` argument must also be provided"),
    (lambda: layers.StringLookup(num_oov_indices=-1), ValueError, "greater than or equal to 0"),
    (lambda: layers.IntegerLookup(num_oov_indices=0, vocabulary=[5, 6])([7]), ValueError, "not in the vocabulary"),
    (lambda: layers.StringLookup(vocabulary=["a"])([1]), TypeError, "takes strings"),
    (lambda: layers.TextVectorization(vocabulary=["a"])(layers.Input(shape=(3,))), TypeError, "takes strings"),
])
def test_bad_settings_and_inputs_are_refused_in_keras_s_words(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_string_lookup_as_keras():
    s = layers.StringLookup()
    s.adapt(["a", "b", "b", "c", "c", "c"])
    assert s.get_vocabulary() == ["[UNK]", "c", "b", "a"] and s(["c", "z", "a"]).tolist() == [1, 0, 3]
    masked = layers.StringLookup(vocabulary=["a", "b"], mask_token="")
    assert masked.get_vocabulary() == ["", "[UNK]", "a", "b"] and masked(["a", "", "q", "r"]).tolist() == [2, 0, 1, 1]
    inverse = layers.StringLookup(vocabulary=["a", "b"], invert=True)
    assert inverse([1, 2, 0]).tolist() == ["a", "b", "[UNK]"]
    abc = layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="multi_hot")
    assert abc(np.array([["a", "b"], ["c", "z"]])).tolist() == [[0, 1, 1, 0], [1, 0, 0, 1]]
    assert abc(np.array(["a", "b", "z"])).tolist() == [1, 1, 1, 0]  # a rank-1 input is one sample
    counts = layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="count", pad_to_max_tokens=True, max_tokens=6)
    assert counts(np.array([["a", "a"], ["c", "z"]])).tolist() == [[0, 2, 0, 0, 0, 0], [1, 0, 0, 1, 0, 0]]
    one_hot = layers.StringLookup(vocabulary=["a", "b"], output_mode="one_hot")
    assert one_hot(np.array([["a", "b"], ["b", "z"]])).tolist() == [[[0, 1, 0], [0, 0, 1]], [[0, 0, 1], [1, 0, 0]]]
    mask_multi = layers.StringLookup(vocabulary=["a", "b"], mask_token="", output_mode="multi_hot")
    assert mask_multi.get_vocabulary() == ["[UNK]", "a", "b"]
    assert mask_multi(np.array([["a", ""], ["b", "z"]])).tolist() == [[0, 1, 0], [1, 0, 1]]  # the mask is skipped
    assert abc.compute_output_shape((None, 2)) == (None, 4)


def test_integer_lookup_as_keras():
    i = layers.IntegerLookup()
    i.adapt([5, 5, 7, 9, 9, 9])
    assert i.get_vocabulary() == [-1, 9, 5, 7] and i([9, 5, 3]).tolist() == [1, 2, 0]
    masked = layers.IntegerLookup(mask_token=0)
    masked.adapt(np.array([3, 3, 4, 0, 0, 0]))
    assert masked.get_vocabulary() == [0, -1, 3, 4] and masked(np.array([0, 3, 4, 9])).tolist() == [0, 2, 3, 1]
    assert layers.IntegerLookup(vocabulary=[12, 36], invert=True)(np.array([0, 1, 2])).tolist() == [-1, 12, 36]
    assert layers.IntegerLookup(num_oov_indices=0, vocabulary=[5, 6])(torch.tensor([5, 6])).tolist() == [0, 1]


def test_vectorized_texts_train_an_embedding_lstm_model():
    from rnnkit import keras

    torch.manual_seed(0)
    good, bad = ["good great film", "loved it great"], ["bad awful film", "hated it bad"]
    texts = np.array([good[i % 2] if i % 2 else bad[i % 2] for i in range(64)])
    y = np.arange(64) % 2
    tv = adapted(texts, max_tokens=20, output_sequence_length=5)
    model = keras.Sequential([layers.Embedding(20, 8, mask_zero=True), layers.LSTM(8),
                              layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(tv(texts), y, epochs=30, verbose=0)
    assert history.history["accuracy"][-1] == 1.0


def end_to_end(mode: str = "int"):
    """keras.io's pattern: a model trained on vectorized texts, then wrapped with its TextVectorization behind a string
    Input so it takes raw strings."""
    from rnnkit import keras

    torch.manual_seed(0)
    texts = np.array(["good great film", "loved it great", "bad awful film", "hated it, bad!", "Great FILM"])
    tv = adapted(texts, max_tokens=12, output_mode=mode, **({"output_sequence_length": 6} if mode == "int" else {}))
    head = [layers.Embedding(12, 3, mask_zero=True), layers.LSTM(4)] if mode == "int" else []
    model = keras.Sequential([*head, layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    y = np.array([1, 1, 0, 0, 1])
    model.fit(tv(texts), y, epochs=2, verbose=0)
    inputs = keras.Input(shape=(1,), dtype="string")
    e2e = keras.Model(inputs, model(tv(inputs)))
    return e2e, model, tv, texts, y


@pytest.mark.parametrize("mode", ["int", "tf_idf"])
def test_a_string_input_model_predicts_and_evaluates_on_raw_texts(mode):
    e2e, model, tv, texts, y = end_to_end(mode)
    want = model.predict(tv(texts), verbose=0)
    np.testing.assert_allclose(e2e.predict(texts, verbose=0), want, rtol=1e-6)  # (batch,) texts
    np.testing.assert_allclose(e2e.predict(list(texts), verbose=0), want, rtol=1e-6)  # a list is one input
    np.testing.assert_allclose(e2e.predict(texts[:, None], verbose=0), want, rtol=1e-6)  # (batch, 1)
    e2e.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    assert e2e.evaluate(texts, y, verbose=0) == pytest.approx(model.evaluate(tv(texts), y, verbose=0), rel=1e-6)
    with pytest.raises(ValueError, match="cannot take a string input"):
        layers.Dense(2)(layers.Input(shape=(1,), dtype="string"))


@pytest.mark.parametrize("mode", ["int", "tf_idf"])
@pytest.mark.parametrize("suffix", [".keras", ""])
def test_a_saved_string_input_model_keeps_its_vocabulary(mode, suffix, tmp_path):
    from rnnkit import keras

    e2e, _, tv, texts, _ = end_to_end(mode)
    path = tmp_path / f"e2e{suffix}"
    e2e.save(path)
    if suffix == ".keras":  # Keras's layout: the vocabulary as an asset, the tf-idf weights as the layer's variable
        import zipfile

        names = zipfile.ZipFile(path).namelist()
        assert "assets/layers/text_vectorization/vocabulary.txt" in names
        text = zipfile.ZipFile(path).read("assets/layers/text_vectorization/vocabulary.txt").decode()
        assert text.split("\n") == tv.get_vocabulary()
    back = keras.models.load_model(path)
    assert back.layers[1].get_vocabulary() == tv.get_vocabulary()
    np.testing.assert_allclose(back.predict(texts, verbose=0), e2e.predict(texts, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("mode", ["int", "tf_idf"])
def test_a_keras_written_string_input_model_loads_and_predicts_keras_s_numbers(mode):
    """Files written by Keras 3.15 + TensorFlow 2.21 (tests/fixtures/keras_text/make_with_keras.py): rnnkit rebuilds
    the TextVectorization from the vocabulary asset (and the tf-idf weights) and predicts Keras's numbers; the other
    way (Keras loading rnnkit's file) was checked with the same Keras when these were made."""
    import json
    from pathlib import Path

    from rnnkit import keras

    folder = Path(__file__).parent / "fixtures" / "keras_text"
    want = json.loads((folder / "predictions.json").read_text())[mode]
    model = keras.models.load_model(folder / f"keras_{mode}.keras")
    texts = ["good great film", "loved it great", "bad awful film", "hated it, bad!", "Great FILM"]
    np.testing.assert_allclose(model.predict(texts, verbose=0), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["int", "tf_idf"])
def test_fitting_on_raw_texts_trains_as_fitting_on_their_ids(mode):
    """The vectorizer has no weights: fitting the end-to-end model on texts (vectorized once, before batching) must
    move the weights exactly as fitting the model behind it on the vectorized ids from the same start."""
    from rnnkit import keras

    e2e, model, tv, texts, y = end_to_end(mode)
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    twin.compile("adam", "binary_crossentropy")
    e2e.compile("adam", "binary_crossentropy")
    fit = dict(epochs=3, batch_size=2, shuffle=False, verbose=0)
    history = e2e.fit(texts, y, validation_data=(texts[:2], y[:2]), **fit).history
    want = twin.fit(tv(texts), y, validation_data=(tv(texts[:2]), y[:2]), **fit).history
    np.testing.assert_allclose(history["loss"], want["loss"], rtol=1e-6)
    np.testing.assert_allclose(history["val_loss"], want["val_loss"], rtol=1e-6)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_sequential_model_takes_texts_with_or_without_a_string_input(tmp_path):
    from rnnkit import keras

    torch.manual_seed(0)
    texts = np.array(["good great film", "loved it great", "bad awful film", "hated it, bad!", "Great FILM"])
    tv = adapted(texts, max_tokens=12, output_sequence_length=6)
    model = keras.Sequential([keras.Input(shape=(1,), dtype="string"), tv, layers.Embedding(12, 3, mask_zero=True),
                              layers.LSTM(4), layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    model.fit(texts, np.array([1, 1, 0, 0, 1]), epochs=2, verbose=0)
    want = model.predict(["great film"], verbose=0)
    model.save(tmp_path / "seq.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "seq.keras").predict(["great film"], verbose=0),
                               want, rtol=1e-6)
    built_on_data = keras.Sequential([tv, layers.Embedding(12, 3)])  # no Input: built on the texts, as Keras
    assert built_on_data.predict(texts, verbose=0).shape == (5, 6, 3)
