"""``layers.TorchModuleWrapper`` against real Keras 3 (PyTorch backend): a torch module (a GRU with batch norm) in a
Keras model gives Keras's outputs, trains to Keras's weights and moves both ways in weight files (its state_dict by
key, buffers too); rnnkit's own torch layers go into Keras models this way; a model holding one is not saved as a
config (Keras pickles the module), and Keras's pickled module is not loaded."""

from __future__ import annotations

import copy
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit  # noqa: E402
import rnnkit.keras as rk  # noqa: E402

X = np.random.default_rng(0).normal(size=(16, 5, 3)).astype("float32")
Y = np.random.default_rng(1).normal(size=(16, 1)).astype("float32")


class LastStep(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.norm = torch.nn.GRU(3, 4, batch_first=True), torch.nn.BatchNorm1d(4)

    def forward(self, x):
        return self.norm(self.rnn(x)[0][:, -1])


def build(lib, module):
    model = lib.Sequential([lib.Input((5, 3)), lib.layers.TorchModuleWrapper(module), lib.layers.Dense(1)])
    model.compile(lib.optimizers.SGD(0.1), "mse")
    model.predict(X[:2], verbose=0)  # (Keras builds the Dense after a wrapped module only on data)
    return model


def test_a_wrapped_module_predicts_trains_and_saves_weights_as_keras(tmp_path):
    torch.manual_seed(0)
    module = LastStep()
    theirs, ours = build(keras, copy.deepcopy(module)), build(rk, copy.deepcopy(module))
    for a, b in zip(ours.layers, theirs.layers):
        a.set_weights(b.get_weights())
    np.testing.assert_allclose(ours.predict(X, verbose=0), theirs.predict(X, verbose=0), rtol=1e-6, atol=1e-7)
    theirs.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    ours.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ours.layers, theirs.layers):
        for u, v in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
    ours.save_weights(tmp_path / "ours.weights.h5")
    into_keras = build(keras, LastStep())
    into_keras.load_weights(tmp_path / "ours.weights.h5")  # batch norm's running statistics too
    np.testing.assert_allclose(into_keras.predict(X, verbose=0), ours.predict(X, verbose=0), rtol=1e-6, atol=1e-7)
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    into_ours = build(rk, LastStep())
    into_ours.load_weights(tmp_path / "theirs.weights.h5")
    np.testing.assert_allclose(into_ours.predict(X, verbose=0), theirs.predict(X, verbose=0), rtol=1e-6, atol=1e-7)


def test_rnnkit_layers_train_inside_a_keras_model_and_freeze():
    torch.manual_seed(0)
    inp = rk.Input((5, 3))
    wrapper = rk.layers.TorchModuleWrapper(rnnkit.layers.LayerNormLSTM(3, 6, batch_first=True))
    model = rk.Model(inp, rk.layers.Dense(1)(wrapper(inp)[0][:, -1]))
    model.compile(rk.optimizers.Adam(0.01), "mse")
    before = [w.copy() for w in wrapper.get_weights()]
    history = model.fit(X, Y, epochs=5, verbose=0).history["loss"]
    assert history[-1] < history[0] and not np.allclose(wrapper.get_weights()[0], before[0])
    wrapper.trainable = False
    model.compile(rk.optimizers.Adam(0.01), "mse")
    frozen = [w.copy() for w in wrapper.get_weights()]
    model.fit(X, Y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(wrapper.get_weights(), frozen))
    assert model.count_params() == sum(p.numel() for p in wrapper.module.parameters()) + 7


def test_configs_with_a_torch_module_are_neither_written_nor_read(tmp_path):
    model = build(rk, LastStep())
    with pytest.raises(ValueError, match="save the weights"):
        model.save(tmp_path / "m.keras")
    keras_model = build(keras, LastStep())
    keras_model.save(tmp_path / "theirs.keras")
    with pytest.raises(ValueError, match="does not unpickle"):
        rk.models.load_model(tmp_path / "theirs.keras")


def test_a_keras_front_end_model_exports_to_onnx_with_torchs_exporter(tmp_path):
    """torch's ONNX exporter reads the weights with ``Parameter.numpy(force=True)``: rnnkit.keras's variables take it
    (they raised); the exported feed-forward model gives the same outputs in onnxruntime."""
    import onnxruntime as ort

    model = rk.Sequential([rk.Input((5, 3)), rk.layers.Conv1D(4, 2), rk.layers.Flatten(), rk.layers.Dense(2)])
    model.eval()
    path = str(tmp_path / "m.onnx")
    torch.onnx.export(model, (torch.tensor(X[:2]),), path, dynamo=True,
                      dynamic_shapes=({0: torch.export.Dim("batch")},))
    session = ort.InferenceSession(path)
    got = session.run(None, {session.get_inputs()[0].name: X})[0]
    np.testing.assert_allclose(got, model.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
