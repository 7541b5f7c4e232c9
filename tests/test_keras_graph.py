"""rnnkit.keras's functional graph as Keras 3 keeps it: ``layer.input`` / ``layer.output``, layers called more than
once (shared weights), models rebuilt from a trained model's layers (keras.io's character-level seq2seq example), and
``.keras`` files with shared layers in both directions — each against real Keras 3 (PyTorch backend), same weights."""

from __future__ import annotations

import json
import os
import zipfile

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 6, 3)).astype("float32")


def stacked(K):
    model = K.Sequential()
    model.add(K.Input((6, 3)))
    model.add(K.layers.LSTM(5, return_sequences=True))
    model.add(K.layers.GRU(4))
    model.add(K.layers.Dense(1))
    return model


def test_a_layers_output_cuts_the_model_there_as_in_keras():
    """keras.io's feature extraction: ``Model(model.inputs, model.layers[i].output)`` is the model up to layer i —
    the same activations as Keras's for every layer; ``layer.input`` is the tensor the layer read."""
    theirs, ours = stacked(keras), stacked(rk)
    ours.set_weights(theirs.get_weights())
    k = keras.Model(theirs.inputs, [layer.output for layer in theirs.layers]).predict(X, verbose=0)
    r = rk.Model(ours.inputs, [layer.output for layer in ours.layers]).predict(X, verbose=0)
    assert [a.shape for a in r] == [a.shape for a in k] == [(4, 6, 5), (4, 4), (4, 1)]
    for a, b in zip(k, r):
        np.testing.assert_allclose(b, a, atol=1e-6)
    assert ours.layers[1].input is ours.layers[0].output
    assert tuple(ours.layers[1].input.shape) == tuple(theirs.layers[1].input.shape) == (None, 6, 5)


def test_a_layer_never_called_has_no_output_and_an_input_layer_no_input():
    """Keras: an uncalled layer has no ``input``/``output`` (AttributeError); an InputLayer's output is its Input and
    its input an empty list."""
    for layer in (rk.layers.Dense(3), keras.layers.Dense(3)):
        assert not hasattr(layer, "output")
    i = rk.Input((6, 3))
    model = rk.Model(i, rk.layers.LSTM(2)(i))
    assert model.layers[0].output is i and model.layers[0].input == [] == keras.Model(
        ki := keras.Input((6, 3)), keras.layers.LSTM(2)(ki)).layers[0].input


def test_a_layer_called_with_initial_state_lists_every_tensor_it_read():
    """Keras's ``layer.input`` is every KerasTensor of the call, ``initial_state``'s too; ``output`` all returned."""
    x, h, c = rk.Input((5, 3)), rk.Input((4,)), rk.Input((4,))
    lstm = rk.layers.LSTM(4, return_state=True)
    outs = lstm(x, initial_state=[h, c])
    assert lstm.input == [x, h, c] and lstm.output == outs and len(outs) == 3


def siamese(K):
    a, b = K.Input(shape=(None,), dtype="int32"), K.Input(shape=(None,), dtype="int32")
    embed, lstm = K.layers.Embedding(20, 4, mask_zero=True), K.layers.LSTM(5)
    distance = K.layers.Subtract()([lstm(embed(a)), lstm(embed(b))])
    return K.Model([a, b], K.layers.Dense(1, activation="sigmoid")(distance))


XA = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])
XB = np.array([[3, 2, 1, 0], [7, 7, 7, 7]])


def test_shared_layers_run_and_save_both_ways_as_keras(tmp_path):
    """A siamese model (one Embedding and one LSTM called on two inputs): the same layers, outputs and files as Keras
    — each shared layer saved once with two inbound nodes, the second call's tensors numbered 1."""
    theirs, ours = siamese(keras), siamese(rk)
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in theirs.layers]
    assert len(ours.weights) == len(theirs.weights) == 6  # each shared layer's weights once
    ours.set_weights(theirs.get_weights())
    expected = theirs.predict([XA, XB], verbose=0)
    np.testing.assert_allclose(ours.predict([XA, XB], verbose=0), expected, atol=1e-6)
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "ours.keras").read("config.json"))["config"]
    entries = {d["class_name"]: d for d in config["layers"]}
    lstm = ours.layers[3].name
    assert len(config["layers"]) == 6 and len(entries["LSTM"]["inbound_nodes"]) == 2
    assert entries["Subtract"]["inbound_nodes"][0]["args"][0][1]["config"]["keras_history"] == [lstm, 1, 0]
    back = keras.models.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(back.predict([XA, XB], verbose=0), expected, atol=1e-6)
    for path in ("ours.keras", "theirs.keras"):
        np.testing.assert_allclose(rk.models.load_model(tmp_path / path).predict([XA, XB], verbose=0), expected,
                                   atol=1e-6)


def test_a_shared_layers_later_call_may_read_a_layer_listed_after_it(tmp_path):
    """A Dense applied, then an LSTM, then the same Dense again on the LSTM's output: in Keras's file the Dense comes
    first with a second call that reads the LSTM — loading replays calls as their inputs appear, as Keras does."""
    i = keras.Input((5, 3))
    dense = keras.layers.Dense(3)
    theirs = keras.Model(i, dense(keras.layers.LSTM(3, return_sequences=True)(dense(i))))
    theirs.save(tmp_path / "theirs.keras")
    ours = rk.models.load_model(tmp_path / "theirs.keras")
    X5 = RNG.normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(X5, verbose=0), theirs.predict(X5, verbose=0), atol=1e-6)
    ours.save(tmp_path / "ours.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "ours.keras").predict(X5, verbose=0),
                               theirs.predict(X5, verbose=0), atol=1e-6)


def seq2seq(K, encoder_tokens=7, decoder_tokens=9, latent=16):
    """keras.io's "Character-level recurrent sequence-to-sequence model", its training model."""
    encoder_inputs = K.Input(shape=(None, encoder_tokens))
    _, state_h, state_c = K.layers.LSTM(latent, return_state=True)(encoder_inputs)
    decoder_inputs = K.Input(shape=(None, decoder_tokens))
    decoder_outputs, _, _ = K.layers.LSTM(latent, return_sequences=True, return_state=True)(
        decoder_inputs, initial_state=[state_h, state_c])
    outputs = K.layers.Dense(decoder_tokens, activation="softmax")(decoder_outputs)
    return K.Model([encoder_inputs, decoder_inputs], outputs)


def inference_models(K, model, latent=16):
    """The example's inference set-up, verbatim but for ``K``: an encoder and a one-step decoder rebuilt from the
    (loaded) training model's layers — ``model.input``, ``layers[2].output``, the decoder LSTM called again on new
    Inputs."""
    encoder_inputs = model.input[0]
    encoder_outputs, state_h_enc, state_c_enc = model.layers[2].output
    encoder_model = K.Model(encoder_inputs, [state_h_enc, state_c_enc])
    decoder_inputs = model.input[1]
    decoder_states_inputs = [K.Input(shape=(latent,)), K.Input(shape=(latent,))]
    decoder_outputs, state_h_dec, state_c_dec = model.layers[3](decoder_inputs, initial_state=decoder_states_inputs)
    decoder_outputs = model.layers[4](decoder_outputs)
    decoder_model = K.Model([decoder_inputs] + decoder_states_inputs, [decoder_outputs, state_h_dec, state_c_dec])
    return encoder_model, decoder_model


def test_the_seq2seq_examples_inference_models_decode_as_keras(tmp_path):
    """Train, save, load, rebuild the encoder and the one-step decoder from the loaded model's layers, decode three
    steps greedily: the same states and character probabilities as Keras's, from rnnkit's file and Keras's. (Keras
    loads its own file here: an Input it names afresh could take a name from rnnkit's counter in the same process.)"""
    theirs, ours = seq2seq(keras), seq2seq(rk)
    assert [type(layer).__name__ for layer in ours.layers] == ["InputLayer", "InputLayer", "LSTM", "LSTM", "Dense"]
    enc = np.eye(7, dtype="float32")[RNG.integers(0, 7, (32, 5))]
    dec = np.eye(9, dtype="float32")[RNG.integers(0, 9, (32, 6))]
    ours.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    ours.fit([enc, dec], np.roll(dec, -1, axis=1), batch_size=8, epochs=2, verbose=0)
    theirs.set_weights(ours.get_weights())
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    decoded = {}
    for name, K, model in (("keras", keras, keras.models.load_model(tmp_path / "theirs.keras")),
                           ("rnnkit", rk, rk.models.load_model(tmp_path / "ours.keras")),
                           ("rnnkit from keras's file", rk, rk.models.load_model(tmp_path / "theirs.keras"))):
        encoder_model, decoder_model = inference_models(K, model)
        states = encoder_model.predict(enc[:2], verbose=0)
        target, steps = np.zeros((2, 1, 9), "float32"), []
        target[:, 0, 0] = 1
        for _ in range(3):
            probs, h, c = decoder_model.predict([target] + list(states), verbose=0)
            steps.append(probs)
            target = np.eye(9, dtype="float32")[probs.argmax(-1)]
            states = [h, c]
        decoded[name] = np.concatenate(steps, axis=1)
    assert decoded["rnnkit"].shape == (2, 3, 9)
    np.testing.assert_allclose(decoded["rnnkit"], decoded["keras"], atol=1e-5)
    np.testing.assert_allclose(decoded["rnnkit from keras's file"], decoded["keras"], atol=1e-5)


def nested(K):
    """A functional encoder and a Sequential one used as layers of a two-output model."""
    i = K.Input((6, 3))
    encoder = K.Model(i, K.layers.LSTM(4)(i), name="enc")
    j = K.Input((6, 3))
    branch = K.Sequential([K.Input((6, 3)), K.layers.GRU(2)], name="sq")
    return K.Model(j, [K.layers.Dense(1)(encoder(j)), K.layers.Dense(1)(branch(j))])


def test_models_used_as_layers_run_and_save_both_ways_as_keras(tmp_path):
    """Keras's nesting: a model called on a KerasTensor is one layer of the outer model — the same layers, weights
    (nested models' variables under their own "layers" group in the h5 file), outputs and files as Keras."""
    theirs, ours = nested(keras), nested(rk)
    assert [layer.name for layer in ours.layers][1:3] == ["enc", "sq"]
    assert [type(layer).__name__ for layer in ours.layers][2:] == ["Sequential", "Dense", "Dense"]
    ours.set_weights(theirs.get_weights())
    expected = theirs.predict(X, verbose=0)
    for a, b in zip(ours.predict(X, verbose=0), expected):
        np.testing.assert_allclose(a, b, atol=1e-6)
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    ours.save(tmp_path / "folder")
    for loaded in (keras.models.load_model(tmp_path / "ours.keras"), rk.models.load_model(tmp_path / "theirs.keras"),
                   rk.models.load_model(tmp_path / "folder")):
        for a, b in zip(loaded.predict(X, verbose=0), expected):
            np.testing.assert_allclose(a, b, atol=1e-6)
    lines = []
    ours.summary(print_fn=lines.append)
    assert any("enc (Functional)" in line and "(None, 4)" in line for line in lines)


def test_a_sequential_model_in_a_sequential_model():
    """``Sequential([inner, Dense(2)])`` takes its Input from the built inner model, as Keras."""
    def build(K):
        return K.Sequential([K.Sequential([K.Input((6, 3)), K.layers.SimpleRNN(3)]), K.layers.Dense(2)])
    theirs, ours = build(keras), build(rk)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), atol=1e-6)


@pytest.mark.parametrize("K", [keras, rk], ids=["keras", "rnnkit"])
def test_frozen_layers_keep_their_weights_through_fit_and_train_after_unfreezing(K):
    """Keras's fine-tuning recipe: ``trainable = False`` (set on the layer, its wrapped layer or a whole nested
    model) keeps those weights through ``fit``; set back to True and compiled again, they train. Both libraries
    give the same counts and the same frozen/changed pattern."""
    x, y = RNG.normal(size=(16, 6, 3)).astype("float32"), np.ones((16, 1), "float32")
    i = K.Input((6, 3))
    encoder = K.Model(i, K.layers.Bidirectional(K.layers.LSTM(4, trainable=False))(i))
    j = K.Input((6, 3))
    model = K.Model(j, K.layers.Dense(1)(K.layers.Dense(3)(encoder(j))))
    assert (len(model.trainable_weights), len(model.non_trainable_weights)) == (4, 6)
    model.layers[2].trainable = False  # the first Dense
    before = [w.copy() for w in model.get_weights()]
    model.compile("adam", "mse")
    model.fit(x, y, epochs=2, verbose=0)
    changed = [not np.allclose(a, b) for a, b in zip(before, model.get_weights())]
    assert changed == [False] * 8 + [True, True]
    encoder.trainable = False
    assert len(model.trainable_weights) == 2
    encoder.trainable = True
    model.layers[2].trainable = True
    model.compile("adam", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    assert len(model.trainable_weights) == 10


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "sgd"])
def test_a_wholly_frozen_model_fits_without_changing(optimizer):
    """Keras fits a model with nothing to train (every layer frozen) without complaint; so does rnnkit, whatever
    the optimizer, and the weights stay as they were."""
    model = rk.Sequential([rk.Input((6, 3)), rk.layers.LSTM(4), rk.layers.Dense(1)])
    model.trainable = False
    before = [w.copy() for w in model.get_weights()]
    model.compile(optimizer, "mse")
    model.fit(X, np.ones((4, 1), "float32"), epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def flat(a):
    return [y for b in a for y in flat(b)] if isinstance(a, (list, tuple)) else [a]


def shape_tree(a):
    return [shape_tree(b) for b in a] if isinstance(a, (list, tuple)) else tuple(a.shape)


def test_a_model_whose_outputs_nest_predicts_keras_structure(tmp_path):
    """Stacked cells' states come back nested ([out, h1, [h2, c2]]); a model with those outputs predicts the same
    structure and numbers as Keras's (a nested one-element list — a GRU cell's state — as its element, as Keras
    returns it); saved, it reloads with the outputs flat in both libraries."""
    def build(K):
        i = K.Input((6, 3))
        return K.Model(i, K.layers.RNN([K.layers.GRUCell(3), K.layers.LSTMCell(2)], return_sequences=True,
                                       return_state=True)(i))
    theirs, ours = build(keras), build(rk)
    ours.set_weights(theirs.get_weights())
    expected = theirs.predict(X, verbose=0)
    got = ours.predict(X, verbose=0)
    assert shape_tree(got) == shape_tree(expected) == [(4, 6, 2), (4, 3), [(4, 2), (4, 2)]]
    for a, b in zip(flat(got), flat(expected)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    ours.save(tmp_path / "nested.keras")
    for loaded in (rk.models.load_model(tmp_path / "nested.keras"), keras.models.load_model(tmp_path / "nested.keras")):
        for a, b in zip(flat(loaded.predict(X, verbose=0)), flat(expected)):
            np.testing.assert_allclose(a, b, atol=1e-6)
