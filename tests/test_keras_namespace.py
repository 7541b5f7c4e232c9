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
