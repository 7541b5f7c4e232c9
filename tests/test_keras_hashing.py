"""keras.layers.Hashing and the lookups' several OOV slots: the bins Keras 3.15 gives (recorded with TensorFlow 2.21,
whose hash functions Keras's layers call: tests/fixtures/keras_hashing/), and the hash functions themselves against
FarmHash's and SipHash's published test vectors."""

import json
from pathlib import Path

import numpy as np
import pytest

import rnnkit.keras as keras
from rnnkit.keras.layers.hashing import hash_bucket

VALUES = json.loads((Path(__file__).parent / "fixtures" / "keras_hashing" / "values.json").read_text())


def _array(inputs):
    return np.array(inputs, dtype=object if isinstance(np.ravel(inputs)[0], str) else None)


@pytest.mark.parametrize("case", sorted(VALUES["hashing"]))
def test_hashing_puts_every_input_in_keras_bin(case):
    # given Keras's arguments (FarmHash, SipHash with a salt, a mask value, the encodings) and Keras's inputs
    spec = VALUES["hashing"][case]
    layer = keras.layers.Hashing(**spec["kwargs"])
    out = layer(_array(spec["inputs"]))
    # then the bins (or their encoding) Keras computed, and Keras's config
    np.testing.assert_array_equal(out.numpy(), np.array(spec["outputs"]))
    assert {k: v for k, v in layer.get_config().items() if k not in ("dtype", "name")} == spec["config"]
    assert type(layer).from_config(layer.get_config())(_array(spec["inputs"])).tolist() == out.tolist()


@pytest.mark.parametrize("case", sorted(VALUES["lookups"]))
def test_several_oov_slots_spread_unknown_tokens_as_keras_does(case):
    # given a lookup with num_oov_indices > 1 (strings hashed; ids by floormod or hashed; with and without a salt)
    spec = VALUES["lookups"][case]
    layer = getattr(keras.layers, spec["layer"])(vocabulary=spec["vocabulary"], **spec["kwargs"])
    # then Keras's vocabulary layout and each input's index
    assert layer.get_vocabulary() == spec["vocabulary_out"]
    np.testing.assert_array_equal(layer(np.array(spec["inputs"])).numpy(), np.array(spec["outputs"]))
    # and the config round-trips with the method and the salt
    again = type(layer).from_config(layer.get_config())
    np.testing.assert_array_equal(again(np.array(spec["inputs"])).numpy(), np.array(spec["outputs"]))


def test_the_hash_functions_match_their_reference_vectors():
    # FarmHash Fingerprint64 of "" is 0x9ae16a3b2f90404f (farmhash's fingerprint test); SipHash-2-4 of "" under the key
    # 00 01 … 0f is 0x726fdb47dd0e0e31 (the SipHash paper's first vector) — as TensorFlow computes them
    assert hash_bucket("", 1 << 64) == 0x9AE16A3B2F90404F
    key = int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)), "little")
    assert hash_bucket("", 1 << 64, list(key)) == 0x726FDB47DD0E0E31


def test_hashing_in_a_model_on_raw_strings():
    # given a string Input → Hashing → Embedding model: it fits and predicts on raw strings, as Keras's does
    inputs = keras.Input(shape=(1,), dtype="string")
    h = keras.layers.Hashing(num_bins=16)(inputs)
    out = keras.layers.Dense(1)(keras.layers.Flatten()(keras.layers.Embedding(16, 2)(h)))
    model = keras.Model(inputs, out)
    model.compile("adam", "mse")
    x = np.array([["rnn"], ["lstm"], ["gru"], ["rnn"]], dtype=object)
    model.fit(x, np.array([[1.0], [0.0], [0.5], [1.0]]), epochs=2, verbose=0)
    pred = model.predict(x, verbose=0)
    assert pred.shape == (4, 1) and pred[0, 0] == pytest.approx(pred[3, 0])


def test_bad_arguments_are_refused_as_keras_refuses_them():
    with pytest.raises(ValueError, match="num_bins"):
        keras.layers.Hashing(num_bins=0)
    with pytest.raises(ValueError, match="output_mode"):
        keras.layers.Hashing(num_bins=3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="salt"):
        keras.layers.Hashing(num_bins=3, salt=[1, 2, 3])
    with pytest.raises(ValueError, match="oov_method='farmhash'"):
        keras.layers.IntegerLookup(vocabulary=[1], num_oov_indices=2, salt=3)
    with pytest.raises(ValueError, match="oov_method"):
        keras.layers.IntegerLookup(vocabulary=[1], oov_method="md5")
    with pytest.raises(ValueError, match="num_oov_indices"):
        keras.layers.StringLookup(vocabulary=["a"], num_oov_indices=-1)
