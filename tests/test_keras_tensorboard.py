"""keras.callbacks.TensorBoard: the event files Keras 3.15 writes (recorded with TensorFlow 2.21, which Keras's
callback needs: tests/fixtures/keras_tensorboard/), read back with TensorBoard's own reader."""

import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras as real_keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

import rnnkit.keras as keras  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "keras_tensorboard"
LAYOUT = json.loads((FIXTURES / "layout.json").read_text())
ALL = {"tensors": 0, "scalars": 0, "histograms": 0, "images": 0}


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 5, 3)).astype("float32"), rng.integers(0, 2, 40)


def model():
    # (named as a fresh Keras session names them, whatever ran before: the weight paths are tags)
    m = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4, name="lstm"),
                          keras.layers.Dense(2, activation="softmax", name="dense")], name="sequential")
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def read(run_dir) -> EventAccumulator:
    ea = EventAccumulator(str(run_dir), size_guidance=ALL)
    ea.Reload()
    return ea


def layout(log_dir) -> dict:
    """The same summary as the fixture's script makes of Keras's files: run → tag → plugin, steps (image sizes)."""
    out = {}
    for run in sorted(p.name for p in Path(log_dir).iterdir() if p.is_dir()):
        ea, tags = read(Path(log_dir) / run), {}
        for tag in ea.Tags()["scalars"]:
            tags[tag] = {"plugin": "scalars", "steps": [e.step for e in ea.Scalars(tag)]}
        for tag in ea.Tags()["histograms"]:
            tags[tag] = {"plugin": "histograms", "steps": [e.step for e in ea.Histograms(tag)]}
        for tag in ea.Tags()["images"]:
            events = ea.Images(tag)
            tags[tag] = {"plugin": "images", "steps": [e.step for e in events],
                         "size": [events[0].width, events[0].height]}
        for tag in ea.Tags()["tensors"]:
            tags[tag] = {"plugin": ea.SummaryMetadata(tag).plugin_data.plugin_name,
                         "steps": [e.step for e in ea.Tensors(tag)]}
        out[run] = tags
    return out


def test_a_detailed_fit_writes_the_runs_tags_steps_and_images_keras_writes(tmp_path):
    # given Keras's arguments — weight histograms and images every epoch, batch scalars every 2 batches, steps/s
    x, y = data()
    m = model()
    tb = keras.callbacks.TensorBoard(tmp_path, histogram_freq=1, update_freq=2, write_images=True,
                                     write_steps_per_second=True)
    history = m.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, callbacks=[tb], verbose=0)
    # then the same runs, tags (weight paths "sequential/lstm/lstm_cell/kernel/…"), steps and image sizes as Keras's
    assert layout(tmp_path) == LAYOUT["detailed"]
    # and the numbers are the fit's: epoch scalars at step = epoch, validation's without the val_ prefix
    train, val = read(tmp_path / "train"), read(tmp_path / "validation")
    for name in ("loss", "accuracy"):
        assert [e.value for e in train.Scalars(f"epoch_{name}")] == pytest.approx(history.history[name], rel=1e-6)
        assert [e.value for e in val.Scalars(f"epoch_{name}")] == pytest.approx(history.history[f"val_{name}"],
                                                                               rel=1e-6)
        # the validation after each epoch at step = the optimizer's iterations (4 batches an epoch)
        assert [(e.step, e.value) for e in val.Scalars(f"evaluation_{name}_vs_iterations")] == [
            (4, pytest.approx(history.history[f"val_{name}"][0], rel=1e-6)),
            (8, pytest.approx(history.history[f"val_{name}"][1], rel=1e-6))]
    # a batch scalar is the epoch's running mean so far: the last batch of an epoch shows the epoch's value
    assert [e.value for e in train.Scalars("batch_loss")][1::2] == pytest.approx(history.history["loss"], rel=1e-6)
    assert [e.value for e in train.Scalars("epoch_learning_rate")] == pytest.approx([1e-3, 1e-3])
    # the last histogram counts every final kernel weight between its smallest and largest
    kernel = m.layers[0].cell.kernel.detach().numpy()
    hist = train.Histograms("sequential/lstm/lstm_cell/kernel/histogram")[-1].histogram_value
    assert hist.num == kernel.size
    assert (hist.min, hist.max) == (pytest.approx(kernel.min(), abs=1e-6), pytest.approx(kernel.max(), abs=1e-6))


def test_the_defaults_write_epochs_the_model_graph_and_evaluate_at_the_iterations(tmp_path):
    # given TensorBoard's defaults and an evaluate() with the same callback after fit
    x, y = data()
    m = model()
    tb = keras.callbacks.TensorBoard(tmp_path)
    m.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, callbacks=[tb], verbose=0)
    loss, accuracy = m.evaluate(x, y, batch_size=8, callbacks=[tb], verbose=0)
    # then Keras's layout: no batch scalars, the model's graph ("keras", written again by evaluate's set_model) and
    # the evaluation at step 8 (the optimizer's iterations after two epochs of 4 batches)
    assert layout(tmp_path) == LAYOUT["defaults"]
    val = read(tmp_path / "validation")
    assert val.Scalars("evaluation_loss_vs_iterations")[-1].value == pytest.approx(loss, rel=1e-6)
    assert val.Scalars("evaluation_accuracy_vs_iterations")[-1].value == pytest.approx(accuracy, rel=1e-6)


def test_the_graph_summary_is_the_models_json_which_keras_loads(tmp_path):
    # given a fit with write_graph (the default): TensorBoard's graph plugin reads the model's Keras JSON
    x, y = data()
    m = model()
    m.fit(x, y, epochs=1, batch_size=8, callbacks=[keras.callbacks.TensorBoard(tmp_path)], verbose=0)
    event = read(tmp_path / "train").Tensors("keras")[0]
    text = event.tensor_proto.string_val[0].decode()
    assert json.loads(text) == json.loads(m.to_json())
    # then real Keras rebuilds the same architecture from it
    rebuilt = real_keras.models.model_from_json(text)
    assert [type(layer).__name__ for layer in rebuilt.layers] == ["LSTM", "Dense"]
    assert rebuilt.count_params() == m.count_params()


def test_embeddings_are_configured_for_the_projector_and_saved_as_loadable_weights(tmp_path):
    # given an Embedding model and embeddings_freq=1 with a metadata file named for the layer
    m = keras.Sequential([keras.Input((4,)), keras.layers.Embedding(10, 3, name="words"), keras.layers.GRU(2),
                          keras.layers.Dense(1)])
    m.compile("adam", "mse")
    x, y = np.arange(40).reshape(10, 4) % 10, np.zeros((10, 1), "float32")
    tb = keras.callbacks.TensorBoard(tmp_path, embeddings_freq=1, embeddings_metadata={"words": "meta.tsv"})
    m.fit(x, y, epochs=2, batch_size=5, callbacks=[tb], verbose=0)
    # then the projector's config names Keras's tensor and the metadata, and each epoch's weights load back
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'tensor_name: "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"' in config
    assert 'metadata_path: "meta.tsv"' in config
    saved = tmp_path / "train" / "keras_embedding.ckpt-1.weights.h5"
    fresh = keras.Sequential([keras.Input((4,)), keras.layers.Embedding(10, 3), keras.layers.GRU(2),
                              keras.layers.Dense(1)])
    fresh.load_weights(saved)
    np.testing.assert_allclose(fresh.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-6)


def test_bad_arguments_are_refused_as_keras_refuses_them(tmp_path):
    # profiling is a TensorFlow/JAX feature: Keras refuses profile_batch on the PyTorch backend
    with pytest.raises(ValueError, match="profile_batch"):
        keras.callbacks.TensorBoard(tmp_path, profile_batch=2)
    with pytest.raises(ValueError, match="update_freq"):
        keras.callbacks.TensorBoard(tmp_path, update_freq="often")
    m = keras.Sequential([keras.Input((4,)), keras.layers.Embedding(10, 3), keras.layers.Dense(1)])
    m.compile("adam", "mse")
    tb = keras.callbacks.TensorBoard(tmp_path, embeddings_freq=1, embeddings_metadata={"nope": "meta.tsv"})
    with pytest.raises(ValueError, match="Unrecognized `Embedding` layer names"):
        m.fit(np.zeros((4, 4)), np.zeros((4, 4, 1)), epochs=1, callbacks=[tb], verbose=0)


def test_a_subclassed_model_is_logged_without_a_graph(tmp_path):
    # Keras writes the model's JSON only for Sequential and functional models
    class Small(keras.Model):
        def __init__(self):
            super().__init__()
            self.rnn, self.out = keras.layers.GRU(3), keras.layers.Dense(2, activation="softmax")

        def call(self, x):
            return self.out(self.rnn(x))

    x, y = data()
    m = Small()
    m.compile("adam", "sparse_categorical_crossentropy")
    history = m.fit(x, y, epochs=2, batch_size=8, callbacks=[keras.callbacks.TensorBoard(tmp_path)], verbose=0)
    train = read(tmp_path / "train")
    assert "keras" not in train.Tags()["tensors"]
    assert [e.value for e in train.Scalars("epoch_loss")] == pytest.approx(history.history["loss"], rel=1e-6)
