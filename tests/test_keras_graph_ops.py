"""Operations in the functional graph: ``x[:, -1]``, ``x + 1.0``, ``ops.mean(x, axis=1)`` on a ``KerasTensor`` record
Keras's operation nodes — the model predicts and trains as Keras's with the same weights, lists them as Keras does
(``summary`` and ``operations`` yes, ``layers`` no), writes them in Keras's config and loads Keras's files with them
(real Keras 3, PyTorch backend, is the reference)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import json  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

X = np.random.default_rng(2).standard_normal((6, 5, 3)).astype("float32")
Y = np.random.default_rng(3).standard_normal((6, 2)).astype("float32")


def model_with_ops(lib, time_steps=5):
    """An LSTM's last step and its mean over time, joined by operators and ops, into a Dense head."""
    ops = lib.ops
    inp = lib.Input((time_steps, 3))
    x = lib.layers.LSTM(4, return_sequences=True)(inp)
    last = x[:, -1, :] + 1.0
    pooled = ops.mean(x, axis=1)
    peak = 2.0 - ops.max(x, axis=1)
    pair = ops.sigmoid(ops.sum(x[..., 0:2], axis=1))
    h = ops.concatenate([last, pooled, peak, pair], axis=-1)
    out = lib.layers.Dense(2)(h * 2 / (1 + ops.abs(h)))
    return lib.Model(inp, out)


def pair_of_models(time_steps=5):
    keras.backend.clear_session()
    rk.backend.clear_session()
    km, rm = model_with_ops(keras, time_steps), model_with_ops(rk, time_steps)
    rm.set_weights(km.get_weights())
    return km, rm


def test_predicts_as_keras():
    km, rm = pair_of_models()
    assert np.allclose(rm.predict(X, verbose=0), km.predict(X, verbose=0), atol=1e-5)


def test_free_time_axis_keeps_none_and_runs_any_length():
    """Input((None, 3)): the ops' outputs keep the free axis as None where it stays, and lose it where reduced."""
    km, rm = pair_of_models(time_steps=None)
    assert [tuple(t.shape) for t in (rm.output,)] == [tuple(km.output.shape)] == [(None, 2)]
    for steps in (2, 7):
        x = X[:, :1].repeat(steps, axis=1)
        assert np.allclose(rm.predict(x, verbose=0), km.predict(x, verbose=0), atol=1e-5)


def test_listed_as_keras_lists_them():
    """``layers`` holds only layers; ``operations`` and ``summary`` hold the operations too, named as Keras names
    them (``get_item``, ``add_1``, ``true_divide``) and shown with Keras's class names."""
    km, rm = pair_of_models()
    assert [layer.name for layer in rm.layers] == [layer.name for layer in km.layers]
    assert [op.name for op in rm.operations] == [op.name for op in km.operations]
    ours, theirs = [], []
    rm.summary(print_fn=ours.append, line_length=150)
    km.summary(print_fn=theirs.append, line_length=150)
    assert "get_item (GetItem)" in ours[0] and "true_divide (TrueDivide)" in ours[0] and "mean (Mean)" in ours[0]
    assert ours[0].split("\n", 1)[1] == theirs[0].split("\n", 1)[1]  # Keras's whole table, after the model's name


def test_config_is_keras_config():
    """Each operation's entry — module, class name, config (static arguments) and inbound node (tensors, numbers,
    slices) — is the one Keras writes."""
    km, rm = pair_of_models()
    k_layers = json.loads(json.dumps(km.get_config()["layers"]))
    r_layers = json.loads(json.dumps(rm.get_config()["layers"]))
    k_ops = [d for d in k_layers if d["module"].startswith("keras.src.ops")]
    r_ops = [d for d in r_layers if d["module"].startswith("keras.src.ops")]
    assert len(r_ops) == len(k_ops) == 13
    assert r_ops == k_ops


@pytest.mark.parametrize("writer", ["keras", "rnnkit"])
def test_saved_file_loads_in_the_other_library(tmp_path, writer):
    km, rm = pair_of_models()
    want = km.predict(X, verbose=0)
    path = str(tmp_path / "m.keras")
    if writer == "keras":
        km.save(path)
        loaded = rk.models.load_model(path)
    else:
        rm.save(path)
        loaded = keras.models.load_model(path)
    assert np.allclose(loaded.predict(X, verbose=0), want, atol=1e-5)


def test_trains_as_keras():
    """Gradients pass through the operations: three epochs of SGD end at Keras's weights."""
    km, rm = pair_of_models()
    for m, lib in ((km, keras), (rm, rk)):
        m.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
        m.fit(X, Y, batch_size=3, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(rm.get_weights(), km.get_weights()):
        assert np.allclose(a, b, atol=2e-5)


def test_an_operation_rnnkit_lacks_is_named_when_loading(tmp_path):
    inp = keras.Input((4, 4, 3))
    out = keras.layers.Flatten()(keras.ops.image.rgb_to_grayscale(inp))
    path = str(tmp_path / "grayscale.keras")
    keras.Model(inp, out).save(path)
    with pytest.raises(ValueError, match="rgb_to_grayscale.*RGBToGrayscale"):
        rk.models.load_model(path)


def test_a_keras_model_with_cdist_loads_and_predicts_as_keras(tmp_path):
    # (cdist, then depth_to_space, were the examples of an operation rnnkit lacked, until session 31)
    inp = keras.Input((3, 3))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.ops.cdist(inp, inp)))
    model.save(tmp_path / "cdist.keras")
    x = np.random.default_rng(0).random((2, 3, 3)).astype("float32")
    np.testing.assert_allclose(rk.models.load_model(tmp_path / "cdist.keras").predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_custom_cell_written_with_keras_ops_runs_on_rnnkit_ops():
    """keras.layers.RNN's documented MinimalRNNCell, written once against ``lib.ops``: same weights, same outputs."""
    def cell_class(lib):
        class MinimalRNNCell(lib.layers.Layer):
            def __init__(self, units, **kwargs):
                super().__init__(**kwargs)
                self.units, self.state_size = units, units

            def build(self, input_shape):
                self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform",
                                              name="kernel")
                self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                        name="recurrent_kernel")

            def call(self, inputs, states):
                h = lib.ops.matmul(inputs, self.kernel)
                output = lib.ops.tanh(h + lib.ops.matmul(states[0], self.recurrent_kernel))
                return output, [output]
        return MinimalRNNCell

    k_layer = keras.layers.RNN(cell_class(keras)(4), return_sequences=True)
    r_layer = rk.layers.RNN(cell_class(rk)(4), return_sequences=True)
    want = keras.ops.convert_to_numpy(k_layer(X))
    r_layer(X)
    r_layer.set_weights(k_layer.get_weights())
    assert np.allclose(r_layer(X).detach().numpy(), want, atol=1e-5)


def timeseries_transformer(lib, steps=20):
    """keras.io's "Timeseries classification with a Transformer model", small: residuals as ``x + inputs``."""
    layers = lib.layers

    def encoder(inputs):
        x = layers.MultiHeadAttention(key_dim=8, num_heads=2, dropout=0.1)(inputs, inputs)
        x = layers.LayerNormalization(epsilon=1e-6)(layers.Dropout(0.1)(x))
        res = x + inputs
        x = layers.Conv1D(filters=4, kernel_size=1, activation="relu")(res)
        x = layers.Conv1D(filters=inputs.shape[-1], kernel_size=1)(layers.Dropout(0.1)(x))
        return layers.LayerNormalization(epsilon=1e-6)(x) + res

    inputs = lib.Input(shape=(steps, 1))
    x = encoder(encoder(inputs))
    x = layers.GlobalAveragePooling1D(data_format="channels_last")(x)
    x = layers.Dropout(0.2)(layers.Dense(16, activation="relu")(x))
    return lib.Model(inputs, layers.Dense(2, activation="softmax")(x))


def test_keras_io_timeseries_transformer_with_residual_operators(tmp_path):
    km, rm = timeseries_transformer(keras), timeseries_transformer(rk)
    rm.set_weights(km.get_weights())
    x = np.random.default_rng(0).standard_normal((8, 20, 1)).astype("float32")
    np.testing.assert_allclose(rm.predict(x, verbose=0), km.predict(x, verbose=0), atol=1e-5)
    rm.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras").predict(x, verbose=0),
                               km.predict(x, verbose=0), atol=1e-5)


def test_a_model_with_operations_pickles_copies_and_clones():
    """pickle (torch.save of a whole model), deepcopy, clone_model and model_from_json keep the operations (and a
    Dense's default linear activation, once a lambda that could not be pickled)."""
    import copy
    import pickle

    _, rm = pair_of_models()
    want = rm.predict(X, verbose=0)
    for other in (pickle.loads(pickle.dumps(rm)), copy.deepcopy(rm)):
        np.testing.assert_allclose(other.predict(X, verbose=0), want, atol=1e-6)
    clone = rk.models.clone_model(rm)
    clone.set_weights(rm.get_weights())
    np.testing.assert_allclose(clone.predict(X, verbose=0), want, atol=1e-6)
    assert [op.name for op in rk.models.model_from_json(rm.to_json()).operations] == [op.name for op in rm.operations]


@pytest.mark.parametrize("op", ["layer_norm", "rms", "nanmedian", "cdist", "extract", "max_pool", "constant"])
@pytest.mark.parametrize("writer", ["keras", "rnnkit"])
def test_newer_operations_and_constant_operands_travel_in_files_both_ways(op, writer, tmp_path):
    # (a constant tensor operand is written as Keras writes it: {"class_name": "__tensor__", ...})
    build = {"layer_norm": lambda lib, x: lib.ops.layer_normalization(x),
             "rms": lambda lib, x: lib.ops.rms_normalization(x),
             "nanmedian": lambda lib, x: lib.ops.nanmedian(x, axis=-1, keepdims=True),
             "cdist": lambda lib, x: lib.ops.cdist(x, x),
             "extract": lambda lib, x: lib.ops.extract_sequences(x, 2, 1),
             "max_pool": lambda lib, x: lib.ops.max_pool(x, 2, padding="same"),
             "constant": lambda lib, x: x * lib.ops.logspace(0.0, 1.0, 4)}[op]
    lib, other = (keras, rk) if writer == "keras" else (rk, keras)
    inp = lib.Input((3, 4))
    model = lib.Model(inp, lib.layers.Flatten()(build(lib, inp)))
    model.save(tmp_path / "m.keras")
    x = np.random.default_rng(1).random((2, 3, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(other.models.load_model(tmp_path / "m.keras").predict(x, verbose=0)),
                               np.asarray(model.predict(x, verbose=0)), rtol=1e-5, atol=1e-6)
