"""The rest of Keras's training API on rnnkit.keras, against real Keras 3 (PyTorch backend), same weights and data in
both: ``fit``/``evaluate``/``predict`` on a torch DataLoader and on a generator (``steps_per_epoch``),
``weighted_metrics``, ``train_on_batch``/``test_on_batch``/``predict_on_batch``, ``build``, configs and JSON,
``clone_model``."""

from __future__ import annotations

import os
import re

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(48, 6, 3)).astype("float32")
Y = RNG.integers(0, 3, 48)
W = np.linspace(0.1, 2.0, 48).astype("float32")


def classifier(K):
    return K.Sequential([K.Input((6, 3)), K.layers.GRU(5), K.layers.Dense(3, activation="softmax")])


def pair(**compile_args):
    theirs, ours = classifier(keras), classifier(rk)
    ours.set_weights(theirs.get_weights())
    for K, model in ((keras, theirs), (rk, ours)):
        model.compile(optimizer=K.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", **compile_args)
    return theirs, ours


def assert_same_weights(ours, theirs, atol=1e-5):
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=atol)


def loader():
    return DataLoader(TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=8, shuffle=False)


def test_fit_evaluate_predict_on_a_dataloader_as_keras():
    """Keras 3 on the PyTorch backend takes a DataLoader of (x, y) batches; so does rnnkit: the same losses epoch by
    epoch, the same weights after, the same evaluation and predictions read from loaders."""
    theirs, ours = pair(metrics=["accuracy"])
    hk = theirs.fit(loader(), epochs=3, validation_data=loader(), verbose=0)
    hr = ours.fit(loader(), epochs=3, validation_data=loader(), verbose=0)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(hr.history[key], hk.history[key], rtol=1e-4, atol=1e-6)
    assert_same_weights(ours, theirs)
    np.testing.assert_allclose(ours.evaluate(loader(), verbose=0), theirs.evaluate(loader(), verbose=0), rtol=1e-5)
    x_only = DataLoader(TensorDataset(torch.tensor(X)), batch_size=16)
    np.testing.assert_allclose(ours.predict(x_only, verbose=0), theirs.predict(x_only, verbose=0), atol=1e-6)


def batches(repeat: bool):
    while True:
        for start in range(0, 48, 12):
            yield X[start:start + 12], Y[start:start + 12], W[start:start + 12]
        if not repeat:
            return


def test_a_generator_with_steps_per_epoch_reads_on_across_epochs_as_keras():
    """An endless generator of (x, y, sample_weight), 2 steps per epoch for 4 epochs: each epoch continues where the
    last stopped (batches 1–2, 3–4, 1–2, 3–4), as Keras reads it; ``evaluate(steps=)`` reads that many batches."""
    theirs, ours = pair()
    hk = theirs.fit(batches(True), steps_per_epoch=2, epochs=4, verbose=0)
    hr = ours.fit(batches(True), steps_per_epoch=2, epochs=4, verbose=0)
    np.testing.assert_allclose(hr.history["loss"], hk.history["loss"], rtol=1e-4)
    assert_same_weights(ours, theirs)
    assert ours.evaluate(batches(True), steps=3, verbose=0) == pytest.approx(
        theirs.evaluate(batches(True), steps=3, verbose=0), rel=1e-5)
    once = ours.fit(batches(False), epochs=2, verbose=0)  # a finite generator without steps: read once, reused
    assert len(once.history["loss"]) == 2


def test_weighted_metrics_weigh_by_the_sample_weights_as_keras():
    """``weighted_metrics`` are Σ w·m / Σ w over the data (named ``weighted_<name>`` beside the same unweighted metric),
    in ``fit``'s logs and in ``evaluate`` — Keras's numbers."""
    theirs, ours = pair(metrics=["accuracy"], weighted_metrics=["accuracy"])
    hk = theirs.fit(X, Y, sample_weight=W, batch_size=16, epochs=2, shuffle=False, verbose=0)
    hr = ours.fit(X, Y, sample_weight=W, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert set(hr.history) == set(hk.history) == {"loss", "accuracy", "weighted_accuracy"}
    for key in hk.history:
        np.testing.assert_allclose(hr.history[key], hk.history[key], rtol=1e-4)
    ek = theirs.evaluate(X, Y, sample_weight=W, batch_size=20, verbose=0, return_dict=True)
    er = ours.evaluate(X, Y, sample_weight=W, batch_size=20, verbose=0, return_dict=True)
    assert er.keys() == ek.keys()
    for key in ek:
        assert er[key] == pytest.approx(ek[key], rel=1e-5)
    assert er["weighted_accuracy"] != pytest.approx(er["accuracy"])


def test_train_on_batch_steps_like_keras_and_carries_into_fit():
    """Three ``train_on_batch`` calls return Keras's losses (computed before each step) and end at Keras's weights;
    ``test_on_batch`` and ``predict_on_batch`` agree too; a ``fit`` after them continues the same optimizer."""
    theirs, ours = pair(metrics=["accuracy"])
    for start in (0, 16, 32):
        xb, yb = X[start:start + 16], Y[start:start + 16]
        np.testing.assert_allclose(ours.train_on_batch(xb, yb), theirs.train_on_batch(xb, yb), rtol=1e-5)
    assert_same_weights(ours, theirs)
    np.testing.assert_allclose(ours.test_on_batch(X[:8], Y[:8]), theirs.test_on_batch(X[:8], Y[:8]), rtol=1e-5)
    np.testing.assert_allclose(ours.predict_on_batch(X[:5]), keras.ops.convert_to_numpy(theirs.predict_on_batch(X[:5])),
                               atol=1e-6)
    assert ours.optimizer.iterations == 3
    ours.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    assert ours.optimizer.iterations == 6


def test_build_configs_json_and_clone_as_keras():
    """``build`` makes the weights from an input shape; ``to_json`` is read by Keras's ``model_from_json`` and Keras's
    by rnnkit's; ``from_config`` round-trips; ``clone_model`` has the architecture with new weights."""
    built = rk.Sequential([rk.layers.Embedding(50, 4), rk.layers.LSTM(6), rk.layers.Dense(2)])
    built.build((None, 7))
    theirs = keras.Sequential([keras.layers.Embedding(50, 4), keras.layers.LSTM(6), keras.layers.Dense(2)])
    theirs.build((None, 7))
    assert built.count_params() == theirs.count_params() == 50 * 4 + 4 * 6 * (4 + 6 + 1) + 6 * 2 + 2
    ids = RNG.integers(0, 50, (3, 7))
    from_keras = rk.models.model_from_json(theirs.to_json())
    from_keras.set_weights(theirs.get_weights())
    np.testing.assert_allclose(from_keras.predict(ids, verbose=0), theirs.predict(ids, verbose=0), atol=1e-6)
    to_keras = keras.models.model_from_json(built.to_json())
    to_keras.set_weights(built.get_weights())
    np.testing.assert_allclose(to_keras.predict(ids, verbose=0), built.predict(ids, verbose=0), atol=1e-6)
    again = rk.Sequential.from_config(built.get_config())
    assert [type(layer).__name__ for layer in again.layers] == ["Embedding", "LSTM", "Dense"]
    clone = rk.models.clone_model(built)
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in built.get_weights()]
    assert not np.allclose(clone.get_weights()[0], built.get_weights()[0])
    i = rk.Input((6, 3))
    functional = rk.Model(i, rk.layers.Dense(2)(rk.layers.LSTM(4)(i)))
    copy = rk.Model.from_config(functional.get_config())
    copy.set_weights(functional.get_weights())
    np.testing.assert_allclose(copy.predict(X[:4], verbose=0), functional.predict(X[:4], verbose=0), atol=1e-6)


def test_compile_refuses_what_it_cannot_honour():
    model = classifier(rk)
    with pytest.raises(ValueError, match="unknown loss 'hinge2'"):
        model.compile("adam", "hinge2")
    with pytest.raises(TypeError):
        model.compile("adam", "mse", jit_compilation=True)  # a misspelt argument is not swallowed
    model.compile("adam", "sparse_categorical_crossentropy", run_eagerly=True, jit_compile=False)
    with pytest.raises(ValueError, match="not outputs of the model"):
        model.fit(X, Y, sample_weight={"no_such_output": W}, verbose=0)
    with pytest.raises(ValueError, match="rnnkit.keras.metrics.SparseCategoricalAccuracy"):
        model.compile("adam", "sparse_categorical_crossentropy", metrics=[keras.metrics.SparseCategoricalAccuracy()])
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["f1"])


def test_a_compiled_model_loads_compiled_both_ways(tmp_path):
    """Keras writes a ``compile_config`` (optimizer, loss, metrics) and ``load_model`` compiles the model again; rnnkit
    reads Keras's and writes its own for Keras: a loaded model can ``fit`` at once, with the saved optimizer
    settings. A loss that is the user's own function is not written (the model loads uncompiled)."""
    theirs = classifier(keras)
    theirs.compile(keras.optimizers.Adam(0.01, clipnorm=1.0), "sparse_categorical_crossentropy", metrics=["accuracy"])
    theirs.save(tmp_path / "theirs.keras")
    loaded = rk.models.load_model(tmp_path / "theirs.keras")
    assert isinstance(loaded.optimizer, rk.optimizers.Adam) and loaded.optimizer.clipnorm == 1.0
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.01)
    assert set(loaded.fit(X, Y, epochs=1, verbose=0).history) == {"loss", "accuracy"}
    assert not rk.models.load_model(tmp_path / "theirs.keras", compile=False).compiled
    ours = classifier(rk)
    ours.compile(rk.optimizers.RMSprop(0.002), rk.losses.SparseCategoricalCrossentropy(from_logits=True),
                 metrics=["accuracy"])
    ours.save(tmp_path / "ours.keras")
    back = keras.models.load_model(tmp_path / "ours.keras")
    assert isinstance(back.optimizer, keras.optimizers.RMSprop)
    assert float(keras.ops.convert_to_numpy(back.optimizer.learning_rate)) == pytest.approx(0.002)
    again = rk.models.load_model(tmp_path / "ours.keras")
    assert again.compiled and again.compile_args["loss"].from_logits and again.compile_args["metrics"] == ["accuracy"]
    ours.compile("adam", lambda y_true, y_pred: (y_true - y_pred).mean())
    ours.save(tmp_path / "own_loss")
    assert not rk.models.load_model(tmp_path / "own_loss").compiled


def two_heads(K):
    i = K.Input((6, 3), name="seq")
    h = K.layers.LSTM(4)(i)
    return K.Model(i, [K.layers.Dense(1, name="level")(h), K.layers.Dense(3, activation="softmax", name="kind")(h)])


MULTI = [
    dict(loss=["mse", "sparse_categorical_crossentropy"]),
    dict(loss={"level": "mse", "kind": "sparse_categorical_crossentropy"}, loss_weights=[0.5, 2.0],
         metrics={"kind": "accuracy"}),
    dict(loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 3.0], metrics=[["mae"], ["accuracy"]]),
]


@pytest.mark.parametrize("args", MULTI, ids=["list", "dict-weights", "lists-of-metrics"])
def test_several_outputs_train_with_their_own_losses_weights_and_metrics_as_keras(args, tmp_path):
    """Keras's multi-output compile: losses as a list or a dict by output layer name, loss weights, metrics per
    output; x and y as dicts by name. The same logs (``loss``, ``<output>_loss``, ``<output>_<metric>``) and the
    same numbers epoch by epoch, the same ``evaluate`` list in Keras's order, the same weights after. (Keras 3.15 pairs
    a dict of loss weights with a list of losses in the dict's sorted key order, not by output name — rnnkit pairs
    them by name — so that mix is left out.)"""
    theirs, ours = two_heads(keras), two_heads(rk)
    ours.set_weights(theirs.get_weights())
    level = RNG.normal(size=(48, 1)).astype("float32")
    for K, model in ((keras, theirs), (rk, ours)):
        model.compile(optimizer=K.optimizers.SGD(0.05), **args)
    hk = theirs.fit({"seq": X}, {"level": level, "kind": Y}, batch_size=16, epochs=2, shuffle=False, verbose=0)
    hr = ours.fit({"seq": X}, {"level": level, "kind": Y}, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert set(hr.history) == set(hk.history)
    for key in hk.history:
        np.testing.assert_allclose(hr.history[key], hk.history[key], rtol=1e-4, atol=1e-6)
    assert_same_weights(ours, theirs)
    np.testing.assert_allclose(ours.evaluate(X, [level, Y], verbose=0), theirs.evaluate(X, [level, Y], verbose=0),
                               rtol=1e-5)
    ours.save(tmp_path / "two.keras")
    back = keras.models.load_model(tmp_path / "two.keras")
    np.testing.assert_allclose(back.evaluate(X, [level, Y], verbose=0), ours.evaluate(X, [level, Y], verbose=0),
                               rtol=1e-5)
    assert rk.models.load_model(tmp_path / "two.keras").compiled


def test_several_outputs_refuse_a_flat_metric_list_and_unknown_names():
    model = two_heads(rk)
    model.compile("sgd", loss=["mse", "sparse_categorical_crossentropy"], metrics=["accuracy"])
    with pytest.raises(ValueError, match="list of lists"):
        model.evaluate(X, [Y.astype("float32"), Y], verbose=0)
    model.compile("sgd", loss={"level": "mse", "kinds": "mse"})
    with pytest.raises(ValueError, match=r"\['kinds'\]"):
        model.evaluate(X, [Y.astype("float32"), Y], verbose=0)


def indexed(base):
    """A PyDataset of four batches of 12 that records the indices asked for."""
    class Batches(base):
        def __init__(self):
            super().__init__()
            self.asked, self.ends = [], 0

        def __len__(self):
            return 4

        def __getitem__(self, i):
            self.asked.append(i)
            return X[i * 12:(i + 1) * 12], Y[i * 12:(i + 1) * 12]

        def on_epoch_end(self):
            self.ends += 1
    return Batches()


@pytest.mark.parametrize("base", [keras.utils.PyDataset, rk.utils.PyDataset], ids=["keras's", "rnnkit's"])
def test_a_py_dataset_trains_batch_by_index_as_keras(base):
    """Keras 3's ``PyDataset`` (its own class or rnnkit's): unshuffled, the same losses and weights as Keras's fit on
    the same batches; ``on_epoch_end`` after every epoch; ``shuffle=True`` visits the batches in a new order each
    epoch, every batch once."""
    theirs, ours = pair()
    hk = theirs.fit(indexed(keras.utils.PyDataset), epochs=3, shuffle=False, verbose=0)
    data = indexed(base)
    hr = ours.fit(data, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(hr.history["loss"], hk.history["loss"], rtol=1e-5)
    assert_same_weights(ours, theirs)
    assert data.ends == 3
    assert ours.evaluate(indexed(base), verbose=0) == pytest.approx(
        theirs.evaluate(indexed(keras.utils.PyDataset), verbose=0), rel=1e-5)
    shuffled = indexed(base)
    ours.fit(shuffled, epochs=3, verbose=0)
    epochs = [shuffled.asked[-12:][k:k + 4] for k in (0, 4, 8)]
    assert all(sorted(e) == [0, 1, 2, 3] for e in epochs) and len({tuple(e) for e in epochs}) > 1


def shown_lines(text: str) -> list[str]:
    """What a terminal shows of a progress output: each line's text after its last carriage return, without ANSI
    colours or backspaces."""
    text = re.sub(r"\x1b\[[0-9;]*[mK]", "", text).replace("\b", "")
    lines = [line.split("\r")[-1].strip() for line in text.splitlines() if line.split("\r")[-1].strip()]
    # a bar's last state (steps k/k); Keras writes its intermediate states on lines of their own off a terminal (its
    # last one twice: before and after the validation logs)
    kept = [line for line in lines if line.startswith("Epoch") or len(set(line.split()[0].split("/"))) == 1]
    return [line for i, line in enumerate(kept) if i + 1 == len(kept) or line.startswith("Epoch")
            or kept[i + 1].split()[0] != line.split()[0]]


def parsed(line: str):
    """(steps, the logs shown) of a progress line; the bar and the timings left out."""
    head, *logs = line.split(" - ")
    return head.split()[0], {k: float(v) for k, v in (item.split(": ") for item in logs if ": " in item)}


@pytest.mark.parametrize("verbose", [1, 2, 0])
def test_fit_evaluate_predict_print_what_keras_prints(verbose, capsys):
    """Keras's display: ``Epoch e/E`` then ``steps/steps`` with the epoch's logs sorted by name (verbose 1: a bar;
    2: one line per epoch), the same lines for evaluate and predict; verbose 0 prints nothing. Same weights, same
    data: the same lines and numbers as Keras's (timings aside)."""
    outputs = {}
    theirs, ours = pair(metrics=["accuracy"])
    for name, model in (("keras", theirs), ("rnnkit", ours)):
        capsys.readouterr()
        model.fit(X, Y, batch_size=16, epochs=2, shuffle=False, validation_split=0.25, verbose=verbose)
        model.evaluate(X, Y, verbose=verbose)
        model.predict(X[:5], verbose=verbose)
        outputs[name] = shown_lines(capsys.readouterr().out)
    if verbose == 0:
        assert outputs["rnnkit"] == []
        return
    assert len(outputs["rnnkit"]) == len(outputs["keras"])
    for ours_line, theirs_line in zip(outputs["rnnkit"], outputs["keras"]):
        if theirs_line.startswith("Epoch"):
            assert ours_line == theirs_line
            continue
        (our_steps, our_logs), (their_steps, their_logs) = parsed(ours_line), parsed(theirs_line)
        assert our_steps == their_steps and list(our_logs) == list(their_logs)
        for key in their_logs:
            assert our_logs[key] == pytest.approx(their_logs[key], abs=2e-4)


@pytest.mark.parametrize("args", [dict(patience=10), dict(patience=1), dict(patience=2, baseline=0.0)],
                         ids=["no-stop", "stops", "baseline"])
def test_early_stopping_and_checkpoints_behave_and_speak_as_keras(args, tmp_path, capsys):
    """Keras 3's EarlyStopping restores the best epoch's weights when training ends, stopped early or not; a baseline
    nobody beats keeps the wait running; ModelCheckpoint saves on improvement. Same weights, data and (oscillating,
    lr 2.0) training: the same epochs run, the same final weights, the same messages printed."""
    messages, weights, epochs_run = {}, {}, {}
    theirs, ours = pair()
    for name, K, model in (("keras", keras, theirs), ("rnnkit", rk, ours)):
        (tmp_path / name).mkdir()
        model.compile(K.optimizers.SGD(2.0), "sparse_categorical_crossentropy")
        capsys.readouterr()
        history = model.fit(X, Y, batch_size=16, epochs=6, shuffle=False, validation_data=(X[:16], Y[:16]), verbose=0,
                            callbacks=[K.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True,
                                                                 verbose=1, **args),
                                       K.callbacks.ModelCheckpoint(str(tmp_path / name / "best.weights.h5"), verbose=1,
                                                                   save_best_only=True, save_weights_only=True)])
        messages[name] = [line.replace(str(tmp_path / name), "DIR") for line in capsys.readouterr().out.splitlines()
                          if line.strip()]
        weights[name], epochs_run[name] = model.get_weights(), len(history.history["loss"])
    assert epochs_run["rnnkit"] == epochs_run["keras"]
    number = re.compile(r"\d+\.\d{5}")  # the monitored values, printed to 5 decimals: equal within float rounding
    assert [number.sub("X", m) for m in messages["rnnkit"]] == [number.sub("X", m) for m in messages["keras"]]
    ours_values = [float(v) for m in messages["rnnkit"] for v in number.findall(m)]
    np.testing.assert_allclose(ours_values, [float(v) for m in messages["keras"] for v in number.findall(m)],
                               atol=2e-5)
    assert any("improved from" in m for m in messages["rnnkit"])
    for a, b in zip(weights["rnnkit"], weights["keras"]):
        np.testing.assert_allclose(a, b, atol=1e-5)


METRIC_CASES = {
    "sparse": (lambda K: K.layers.Dense(3, activation="softmax"), "sparse_categorical_crossentropy",
               lambda K: ["sparse_categorical_accuracy", K.metrics.SparseTopKCategoricalAccuracy(k=2), "acc",
                          K.metrics.SparseCategoricalAccuracy()], Y),
    "regression": (lambda K: K.layers.Dense(1), "mse",
                   lambda K: ["mean_absolute_error", "mae", K.metrics.RootMeanSquaredError(), "mape",
                              K.metrics.MeanSquaredError(name="m2")], RNG.random((48, 1)).astype("float32") + 0.5),
    "binary": (lambda K: K.layers.Dense(1, activation="sigmoid"), "binary_crossentropy",
               lambda K: ["binary_accuracy", K.metrics.BinaryAccuracy(threshold=0.6), "accuracy"],
               (RNG.random((48, 1)) > 0.5).astype("float32")),
}


@pytest.mark.parametrize("case", list(METRIC_CASES))
def test_keras_metrics_by_name_and_object_log_keras_names_and_values(case):
    """Metrics by string keep the string as their name ("acc", "mean_absolute_error"), objects their own name, a
    repeated name gets _1; RootMeanSquaredError is the root of the epoch's mean square; values as Keras's."""
    head, loss, metrics, y = METRIC_CASES[case]
    hists = {}
    for name, K in (("keras", keras), ("rnnkit", rk)):
        model = K.Sequential([K.Input((6, 3)), K.layers.GRU(5), head(K)])
        if name == "keras":
            weights = model.get_weights()
        else:
            model.set_weights(weights)
        model.compile(K.optimizers.SGD(0.1), loss, metrics=metrics(K))
        hists[name] = model.fit(X, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    assert set(hists["rnnkit"]) == set(hists["keras"])
    for key in hists["keras"]:
        np.testing.assert_allclose(hists["rnnkit"][key], hists["keras"][key], rtol=1e-4, err_msg=key)


@pytest.mark.parametrize("freq", [2, [1, 4]])
def test_validation_freq_validates_at_keras_epochs(freq):
    """validation_freq=2 validates after epochs 2 and 4; [1, 4] after epochs 1 and 4 — the same val_loss values as
    Keras's (same weights, no shuffling)."""
    x = np.random.default_rng(0).standard_normal((20, 4, 3)).astype("float32")
    y = x[:, -1, :1]
    models = {lib: lib.Sequential([lib.Input((4, 3)), lib.layers.GRU(3), lib.layers.Dense(1)]) for lib in (keras, rk)}
    models[rk].set_weights(models[keras].get_weights())
    hist = {}
    for lib, m in models.items():
        m.compile(lib.optimizers.SGD(0.05), "mse")
        hist[lib] = m.fit(x, y, epochs=5, verbose=0, validation_split=0.25, validation_freq=freq, shuffle=False).history
    assert len(hist[rk]["val_loss"]) == len(hist[keras]["val_loss"]) == 2
    np.testing.assert_allclose(hist[rk]["val_loss"], hist[keras]["val_loss"], atol=1e-5)
    np.testing.assert_allclose(hist[rk]["loss"], hist[keras]["loss"], atol=1e-5)


def test_sample_weights_per_output_as_keras():
    """One weight array per output (a list, as Keras 3.15 takes them): each output's loss and weighted metrics use
    its own weights — Keras's logs and weights after two epochs; the dict form by output name (which Keras 3.15
    cannot read: KeyError) gives the same."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3)).astype("float32")
    ya, yb = rng.standard_normal((16, 2)).astype("float32"), (rng.random((16, 1)) > 0.5).astype("float32")
    wa, wb = rng.uniform(0, 2, 16).astype("float32"), rng.uniform(0, 2, 16).astype("float32")

    def build(lib):
        inp = lib.Input((3,))
        return lib.Model(inp, [lib.layers.Dense(2, name="a")(inp),
                               lib.layers.Dense(1, activation="sigmoid", name="b")(inp)])
    km, rm, rd = build(keras), build(rk), build(rk)
    rm.set_weights(km.get_weights())
    rd.set_weights(km.get_weights())
    hist = {}
    for m, lib, sw in ((km, keras, [wa, wb]), (rm, rk, [wa, wb]), (rd, rk, {"a": wa, "b": wb})):
        m.compile(lib.optimizers.SGD(0.1), loss=["mse", "binary_crossentropy"],
                  weighted_metrics=[["mae"], ["accuracy"]])
        hist[id(m)] = m.fit(x, [ya, yb], sample_weight=sw, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    for other in (rm, rd):
        assert sorted(hist[id(other)]) == sorted(hist[id(km)])
        for key, values in hist[id(km)].items():
            np.testing.assert_allclose(hist[id(other)][key], values, atol=1e-5, err_msg=key)
        for a, b in zip(other.get_weights(), km.get_weights()):
            np.testing.assert_allclose(a, b, atol=1e-5)
    k_eval = km.evaluate(x, [ya, yb], sample_weight=[wa, wb], verbose=0, return_dict=True)
    r_eval = rm.evaluate(x, [ya, yb], sample_weight=[wa, wb], verbose=0, return_dict=True)
    for key in k_eval:
        assert abs(r_eval[key] - k_eval[key]) < 1e-5, key
    with pytest.raises(ValueError, match="not outputs"):
        rm.fit(x, [ya, yb], sample_weight={"c": wa}, verbose=0)
