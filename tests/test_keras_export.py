"""``model.export(path, format="onnx" | "torch")`` for rnnkit.keras models: the graph keeps the batch axis and the
Inputs' free (None) axes dynamic — recurrent layers traced as torch's scan — so onnxruntime (and a loaded
``torch.export`` program) gives the model's own outputs at other batch sizes and lengths, masks included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit.keras as rk

RNG = np.random.default_rng(0)


def text_model():
    inp = rk.Input((None,), dtype="int32", name="tokens")
    h = rk.layers.Embedding(20, 6, mask_zero=True)(inp)
    h = rk.layers.Bidirectional(rk.layers.LSTM(5, return_sequences=True))(h)
    h = rk.layers.GRU(4)(h)
    return rk.Model(inp, rk.layers.Dense(2)(rk.layers.SimpleRNN(3)(rk.layers.RepeatVector(2)(h))))


def ids(shape):
    x = RNG.integers(1, 20, size=shape)
    x[0, shape[1] // 2:] = 0  # a padded row: the mask reaches the exported graph
    return x


def test_onnx_export_runs_any_batch_and_length_in_onnxruntime(tmp_path):
    import onnxruntime as ort

    model = text_model()
    model.export(tmp_path / "m.onnx", format="onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    assert [i.name for i in session.get_inputs()] == ["tokens"]
    for shape in ((2, 5), (3, 9), (1, 1)):
        x = ids(shape)
        got = session.run(None, {"tokens": x.astype(np.int64)})[0]
        np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_torch_export_program_loads_and_runs_other_lengths(tmp_path):
    model = text_model()
    model.export(tmp_path / "m.pt2", format="torch")
    program = torch.export.load(str(tmp_path / "m.pt2")).module()
    x = ids((4, 7))
    np.testing.assert_allclose(program(torch.tensor(x)).detach().numpy(), model.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_formats_that_need_tensorflow_are_refused_by_name():
    with pytest.raises(ValueError, match="format='onnx'"):
        text_model().export("m", format="tf_saved_model")
    with pytest.raises(ValueError, match="Unrecognized format"):
        text_model().export("m", format="zip")
