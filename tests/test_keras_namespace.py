"""The names Keras code imports besides layers — ``keras.config``, ``keras.Layer``, ``keras.preprocessing.sequence``,
``keras.utils.normalize`` / ``pack_x_y_sample_weight``, ``keras.saving.custom_object_scope`` /
``get_custom_objects`` — exist in rnnkit.keras and behave as real Keras 3's (PyTorch backend)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402


def test_config_reports_keras_settings():
    for name in ("floatx", "epsilon", "image_data_format"):
        assert getattr(rk.config, name)() == getattr(keras.config, name)()
    assert rk.backend.epsilon() == keras.backend.epsilon() and rk.backend.floatx() == keras.backend.floatx()
    assert rk.config.backend() == keras.config.backend() == "torch"
    rk.config.set_floatx("float32")
    with pytest.raises(ValueError, match="float32 only"):
        rk.config.set_floatx("float16")


def test_the_legacy_preprocessing_paths_give_keras_arrays():
    from rnnkit.keras.preprocessing.sequence import pad_sequences

    seqs = [[1, 2, 3], [4], [5, 6, 7, 8, 9]]
    for kwargs in ({}, {"maxlen": 4, "padding": "post", "truncating": "post"}, {"maxlen": 2, "value": -1}):
        np.testing.assert_array_equal(pad_sequences(seqs, **kwargs),
                                      keras.preprocessing.sequence.pad_sequences(seqs, **kwargs))
    assert rk.preprocessing.timeseries_dataset_from_array is rk.utils.timeseries_dataset_from_array


@pytest.mark.parametrize("axis, order", [(-1, 2), (1, 2), (-1, 1)])
def test_normalize_divides_by_keras_norms(axis, order):
    x = np.random.default_rng(0).normal(size=(4, 3))
    x[1] = 0  # a zero row stays zero
    want = keras.ops.convert_to_numpy(keras.utils.normalize(x, axis=axis, order=order))
    np.testing.assert_allclose(rk.utils.normalize(x, axis=axis, order=order), want, rtol=1e-6)
    np.testing.assert_allclose(rk.utils.normalize(torch.tensor(x), axis=axis, order=order).numpy(), want, rtol=1e-6)


@pytest.mark.parametrize("args", [("x",), ("x", "y"), ("x", "y", "w"), (["a", "b"],), (("a", "b"), "y")])
def test_pack_and_unpack_batches_as_keras(args):
    assert rk.utils.pack_x_y_sample_weight(*args) == keras.utils.pack_x_y_sample_weight(*args)
    packed = keras.utils.pack_x_y_sample_weight(*args)
    assert rk.utils.unpack_x_y_sample_weight(packed) == keras.utils.unpack_x_y_sample_weight(packed)


class Scale(rk.Layer):  # keras.Layer, Keras 3's top-level name
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_custom_objects_resolve_a_saved_custom_layer_in_scope_or_globally(tmp_path, monkeypatch):
    monkeypatch.setattr(Scale, "__module__", "not_imported_here")  # as if saved by another program
    model = rk.Sequential([rk.Input(shape=(3,)), Scale(3.0), rk.layers.Dense(2)])
    x = np.ones((2, 3), dtype="float32")
    path = tmp_path / "scaled.keras"
    model.save(path)
    with pytest.raises(ValueError, match="custom_objects"):
        rk.models.load_model(path)
    with rk.saving.custom_object_scope({"Scale": Scale}):
        np.testing.assert_allclose(rk.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))
    assert "Scale" not in rk.saving.get_custom_objects()  # the scope ends with its block
    rk.utils.get_custom_objects()["Scale"] = Scale
    try:
        np.testing.assert_allclose(rk.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))
        assert rk.saving.get_registered_object("Scale") is Scale
    finally:
        del rk.saving.get_custom_objects()["Scale"]
    assert rk.saving.get_registered_object("Scale") is None


def test_utils_progbar_averages_and_shows_values_as_keras(capsys):
    """A custom loop's Progbar: values averaged over the steps they cover (stateful ones shown as given), a final
    update showing the values as given — the same numbers as Keras's bar (timings aside)."""
    import re

    def run(lib):
        bar = lib.utils.Progbar(4, stateful_metrics=["acc"], verbose=2)
        for i in range(1, 5):
            bar.update(i, values=[("loss", 1.0 / i), ("acc", 0.1 * i)])
        bar = lib.utils.Progbar(6, verbose=2)
        bar.add(2, values=[("loss", 3.0)])
        bar.add(2, values=[("loss", 1.0)])
        bar.update(6, values=[("mae", 0.5)])
        return [re.sub(r" - \d+s - \d+\w*/step", "", line) for line in capsys.readouterr().out.splitlines()]

    assert run(rk) == run(keras) == ["4/4 - loss: 0.2500 - acc: 0.4000", "6/6 - loss: 2.0000 - mae: 0.5000"]


@pytest.mark.parametrize("module,name,args", [
    ("regularizers", "l2", (0.01,)), ("regularizers", "l1", (0.003,)), ("regularizers", "l1_l2", (0.01, 0.02)),
    ("regularizers", "orthogonal_regularizer", (0.1,)), ("constraints", "max_norm", (2.0,)),
    ("constraints", "min_max_norm", (0.5, 1.5)), ("constraints", "non_neg", ()), ("constraints", "unit_norm", ()),
    ("initializers", "he_normal", (3,)), ("initializers", "glorot_uniform", ()), ("initializers", "constant", (0.5,)),
    ("initializers", "orthogonal", (1.0, 4)), ("initializers", "OrthogonalInitializer", ()),
    ("initializers", "IdentityInitializer", ())])
def test_keras_lowercase_names_serialize_and_deserialize_as_keras(module, name, args):
    # given Keras's lowercase name (regularizers.l2(1e-4), constraints.max_norm(3), initializers.he_normal(seed))
    ours, theirs = getattr(getattr(rk, module), name)(*args), getattr(getattr(keras, module), name)(*args)
    # then the same serialized form as Keras's serialize, and each deserializes the other's
    ours_dict, theirs_dict = getattr(rk, module).serialize(ours), getattr(keras, module).serialize(theirs)
    assert ours_dict["class_name"] == theirs_dict["class_name"]
    # (Keras's Identity has no get_config, so its serialized gain is lost — {}; rnnkit keeps it)
    assert ours_dict["config"] == pytest.approx(theirs_dict["config"] or ours_dict["config"])
    back = getattr(rk, module).deserialize(theirs_dict)
    assert type(back) is type(ours) and getattr(rk, module).serialize(back)["config"] == pytest.approx(
        ours_dict["config"])
    assert type(getattr(keras, module).deserialize(ours_dict)) is type(theirs)


def test_a_lowercase_regularizer_penalises_a_layer_as_keras():
    kernel = np.random.default_rng(0).normal(size=(3, 2)).astype("float32")
    ours, theirs = rk.layers.Dense(2, kernel_regularizer=rk.regularizers.l2(0.01)), \
        keras.layers.Dense(2, kernel_regularizer=keras.regularizers.l2(0.01))
    for layer in (ours, theirs):
        layer.build((None, 3))
        layer.set_weights([kernel, np.zeros(2, "float32")])
    assert float(ours.losses[0]) == pytest.approx(float(keras.ops.convert_to_numpy(theirs.losses[0])), rel=1e-6)


@pytest.mark.parametrize("name", ["hard_shrink", "hard_tanh", "soft_shrink", "sparse_plus", "sparse_sigmoid",
                                  "squareplus", "threshold"])
def test_the_newer_activations_by_name_give_keras_values_in_a_layer(name):
    x = np.linspace(-3, 3, 12).astype("float32").reshape(2, 6)
    ours, theirs = rk.layers.Activation(name), keras.layers.Activation(name)
    if name == "threshold":  # Keras's threshold has no defaults: called with them
        ours, theirs = (lambda t: rk.activations.threshold(t, 0.5, -1.0)), (
            lambda t: keras.activations.threshold(t, 0.5, -1.0))
    np.testing.assert_allclose(np.asarray(ours(torch.tensor(x))), keras.ops.convert_to_numpy(theirs(x)), rtol=1e-6)
    assert rk.activations.serialize(rk.activations.get(name)) == keras.activations.serialize(
        keras.activations.get(name))


@pytest.mark.parametrize("name", ["mish", "leaky_relu", "relu6", "log_softmax", "celu", "hard_silu", "squareplus"])
def test_a_layer_takes_any_keras_activation_name_and_saves_it(name, tmp_path):
    # (Dense(activation="mish") was refused: layers knew 14 names, keras.activations 30)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    ours = rk.Sequential([rk.Input((4,)), rk.layers.Dense(5, activation=name)])
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation=name)])
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert ours.layers[0].get_config()["activation"] == name
    ours.save(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "m.keras").predict(x, verbose=0),
                               theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_dtype_policies_report_float32_and_refuse_others_by_name():
    # given Keras code that reads the policy (float32 by default in Keras too) and code that asks for mixed precision
    layer, theirs = rk.layers.Dense(2), keras.layers.Dense(2)
    for attr in ("dtype", "compute_dtype", "variable_dtype"):
        assert getattr(layer, attr) == getattr(theirs, attr) == "float32"
    assert layer.dtype_policy.name == theirs.dtype_policy.name == "float32"
    assert rk.config.dtype_policy().name == keras.config.dtype_policy().name
    assert rk.mixed_precision.global_policy().name == keras.mixed_precision.global_policy().name
    rk.mixed_precision.set_global_policy("float32")
    # then another policy is refused with its name, not silently run in float32
    with pytest.raises(ValueError, match="'mixed_float16' is not supported"):
        rk.mixed_precision.set_global_policy("mixed_float16")
    with pytest.raises(ValueError, match="mixed_bfloat16"):
        rk.config.set_dtype_policy("mixed_bfloat16")
    with pytest.raises(ValueError, match="float32"):
        rk.layers.Dense(2, dtype="mixed_float16")
    # an InputLayer reports its Input's dtype, as Keras's
    from rnnkit.keras.layers.input_layer import InputLayer

    for dtype in ("int64", "string", "float32"):
        theirs_input, ours_input = keras.Input((1,), dtype=dtype), rk.Input((1,), dtype=dtype)
        assert InputLayer(ours_input).dtype == theirs_input._keras_history.operation.dtype == dtype


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
def test_recurrent_layers_answer_keras_property_names(cls):
    kwargs = {"dropout": 0.1, "recurrent_dropout": 0.2, "use_bias": False, "kernel_regularizer": "l2",
              **({"recurrent_activation": "hard_sigmoid"} if cls != "SimpleRNN" else {})}
    ours, theirs = getattr(rk.layers, cls)(3, activation="relu", **kwargs), getattr(keras.layers, cls)(3,
                                                                                                      activation="relu",
                                                                                                      **kwargs)
    for name in ("units", "dropout", "recurrent_dropout", "use_bias"):
        assert getattr(ours, name) == getattr(theirs, name)
    assert ours.activation.__name__ == theirs.activation.__name__ == "relu"
    assert type(ours.kernel_regularizer).__name__ == type(theirs.kernel_regularizer).__name__ == "L2"
    assert type(ours.kernel_initializer).__name__ == type(theirs.kernel_initializer).__name__
    if cls != "SimpleRNN":
        assert ours.recurrent_activation.__name__ == theirs.recurrent_activation.__name__ == "hard_sigmoid"
    if cls == "LSTM":
        assert ours.unit_forget_bias is theirs.unit_forget_bias is True
    if cls == "GRU":
        assert ours.reset_after is theirs.reset_after is True


def test_a_custom_layer_serializes_the_objects_it_holds_as_keras_documents():
    # keras.io's pattern: get_config serializes a sublayer and an initializer; from_config deserializes them
    @rk.saving.register_keras_serializable(package="tests")
    class Block(rk.layers.Layer):
        def __init__(self, inner, init="zeros", **kwargs):
            super().__init__(**kwargs)
            self.inner = inner
            self.init = rk.initializers.get(init)

        def call(self, x):
            return self.inner(x)

        def get_config(self):
            return {**super().get_config(), "inner": rk.saving.serialize_keras_object(self.inner),
                    "init": rk.saving.serialize_keras_object(self.init)}

        @classmethod
        def from_config(cls, config):
            inner = rk.saving.deserialize_keras_object(config.pop("inner"))
            return cls(inner, rk.saving.deserialize_keras_object(config.pop("init")), **config)

    block = Block(rk.layers.Dense(3, kernel_regularizer=rk.regularizers.l2(0.1)), rk.initializers.he_normal(seed=2))
    config = block.get_config()
    theirs = keras.saving.serialize_keras_object(keras.layers.Dense(3, kernel_regularizer=keras.regularizers.l2(0.1)))
    assert config["inner"]["class_name"] == theirs["class_name"] == "Dense"
    assert config["inner"]["config"]["kernel_regularizer"] == theirs["config"]["kernel_regularizer"]
    assert config["init"] == keras.saving.serialize_keras_object(keras.initializers.HeNormal(seed=2))
    again = Block.from_config(config)
    assert isinstance(again.inner, rk.layers.Dense) and type(again.init).__name__ == "HeNormal"
    assert rk.saving.deserialize_keras_object(keras.saving.serialize_keras_object(keras.optimizers.Adam(0.02))
                                              ).learning_rate == pytest.approx(0.02)
    assert rk.saving.serialize_keras_object([1, "a", None]) == [1, "a", None]


def test_symbolic_tensor_helpers_and_dtype_names_are_keras():
    a, b = rk.Input((3,), name="a"), rk.Input((3,), name="b")
    out = rk.layers.Dense(2)(rk.layers.Add()([a, b]))
    assert rk.utils.is_keras_tensor(out) and not rk.utils.is_keras_tensor(np.zeros(3))
    assert [t.name for t in rk.utils.get_source_inputs(out)] == ["a", "b"]
    for dtype in ("float32", float, int, bool, "int8", np.float64, np.dtype("int16"), "bfloat16", torch.float16):
        assert rk.backend.standardize_dtype(dtype) == keras.backend.standardize_dtype(dtype)
    assert rk.backend.is_float_dtype("bfloat16") and rk.backend.is_int_dtype("uint8")
    first = rk.backend.get_uid("tests_prefix")
    assert rk.backend.get_uid("tests_prefix") == first + 1
    rk.config.set_epsilon(1e-7)
    with pytest.raises(ValueError, match="set_epsilon"):
        rk.backend.set_epsilon(1e-3)
    rk.config.enable_unsafe_deserialization()


def test_callback_list_calls_every_callback_in_a_custom_loop_as_keras():
    calls = {"keras": [], "rnnkit": []}

    def recorder(lib, who):
        class Record(lib.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                calls[who].append(("epoch", epoch))

            def on_train_batch_end(self, batch, logs=None):
                calls[who].append(("batch", batch, round(float(logs["loss"]), 6)))
        return Record()

    for lib, who in ((keras, "keras"), (rk, "rnnkit")):
        model = lib.Sequential([lib.Input((2,)), lib.layers.Dense(1)])
        callbacks = lib.callbacks.CallbackList([recorder(lib, who)], add_history=True, model=model, epochs=2)
        assert callbacks.params == {"epochs": 2} and model.history is callbacks.callbacks[-1]
        callbacks.on_train_begin()
        for epoch in range(2):
            callbacks.on_epoch_begin(epoch)
            for batch in range(2):
                callbacks.on_train_batch_end(batch, {"loss": 0.5 * batch + epoch})
            callbacks.on_epoch_end(epoch, {"loss": float(epoch)})
        callbacks.on_train_end()
        assert model.history.history["loss"] == [0.0, 1.0]
    assert calls["rnnkit"] == calls["keras"]


def test_models_save_model_writes_a_file_keras_loads(tmp_path):
    model = rk.Sequential([rk.Input((4,)), rk.layers.Dense(2)])
    rk.models.save_model(model, tmp_path / "m.keras")
    x = np.ones((1, 4), "float32")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras").predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)


def test_functions_serialize_as_keras_writes_them():
    ours = rk.saving.serialize_keras_object(rk.activations.relu)
    assert ours == keras.saving.serialize_keras_object(keras.activations.relu)
    assert rk.saving.deserialize_keras_object(ours) is rk.activations.relu
