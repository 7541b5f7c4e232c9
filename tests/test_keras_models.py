"""rnnkit.keras models: the tutorial's snippet, fit/evaluate/predict in Keras's regime, callbacks, and files that move
between real Keras 3 and rnnkit in both directions."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from rnnkit.data import load_digit_sequences  # noqa: E402

DIGITS = load_digit_sequences("rows", seed=0)
XTR, YTR = DIGITS.x_train.numpy()[:512], DIGITS.y_train.numpy()[:512]
XTE, YTE = DIGITS.x_test.numpy(), DIGITS.y_test.numpy()


def kn(t):
    return keras.ops.convert_to_numpy(t)


def test_the_tutorials_keras_snippet_runs_with_only_its_imports_changed():
    from rnnkit.keras.layers import Dense, SimpleRNN
    from rnnkit.keras.models import Sequential

    timesteps, input_dim = 8, 8
    X_train, y_train, X_test = XTR, YTR.astype("float32"), XTE
    # --- the tutorial's code, verbatim -----------------------------------------------------------------------
    model = Sequential()
    model.add(SimpleRNN(10, input_shape=(timesteps, input_dim)))
    model.add(Dense(1))
    model.compile(optimizer='adam', loss='mean_squared_error')
    history = model.fit(X_train, y_train, epochs=10, batch_size=32, verbose=0)
    y_pred = model.predict(X_test)
    # -----------------------------------------------------------------------------------------------------------
    assert y_pred.shape == (len(X_test), 1)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def classifier(lib):
    inp = keras.Input((8, 8)) if lib is keras else rk.Input((8, 8))
    h = lib.layers.GRU(16, return_sequences=True)(inp)
    h = lib.layers.LSTM(16)(h)
    out = lib.layers.Dense(10, activation="softmax")(h)
    return keras.Model(inp, out) if lib is keras else rk.Model(inp, out)


def test_fit_reaches_the_regime_keras_reaches_and_evaluate_agrees():
    k, r = classifier(keras), classifier(rk)
    r.set_weights(k.get_weights())
    k.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    r.compile(optimizer=rk.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # same weights, same data: evaluate gives Keras's numbers
    ek = k.evaluate(XTE, YTE, verbose=0)
    er = r.evaluate(XTE, YTE)
    np.testing.assert_allclose(er, ek, rtol=1e-4)
    hk = k.fit(XTR, YTR, epochs=8, batch_size=32, verbose=0, shuffle=False)
    hr = r.fit(XTR, YTR, epochs=8, batch_size=32, verbose=0, shuffle=False)
    lk, lr = hk.history["loss"][-1], hr.history["loss"][-1]
    assert lr < 0.5 * hr.history["loss"][0] and lk < 0.5 * hk.history["loss"][0]
    assert 0.8 < lr / lk < 1.25, (lk, lr)  # the same regime (here the curves agree to about 3 decimals)
    assert set(hr.history) == {"loss", "accuracy"}


def test_a_model_trained_in_keras_loads_and_predicts_the_same_and_goes_back(tmp_path):
    k = classifier(keras)
    k.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    k.fit(XTR, YTR, epochs=1, batch_size=64, verbose=0)
    k.save(tmp_path / "trained.keras")
    r = rk.models.load_model(tmp_path / "trained.keras")
    np.testing.assert_allclose(r.predict(XTE), kn(k(XTE)), atol=1e-5)
    r.save(tmp_path / "back.keras")
    k2 = keras.models.load_model(tmp_path / "back.keras")
    np.testing.assert_allclose(kn(k2(XTE)), kn(k(XTE)), atol=1e-5)
    r.save(tmp_path / "rnnkit_format")
    np.testing.assert_allclose(rk.models.load_model(tmp_path / "rnnkit_format").predict(XTE), r.predict(XTE), atol=0)


def test_weights_h5_both_ways(tmp_path):
    seq = rk.Sequential([rk.layers.Bidirectional(rk.layers.LSTM(4), input_shape=(8, 8)), rk.layers.Dense(3)])
    seq.save_weights(tmp_path / "w.weights.h5")
    ks = keras.Sequential([keras.Input((8, 8)), keras.layers.Bidirectional(keras.layers.LSTM(4)), keras.layers.Dense(3)])
    ks.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(kn(ks(XTE[:5])), seq.predict(XTE[:5]), atol=1e-5)
    ks.save_weights(tmp_path / "k.weights.h5")
    seq2 = rk.Sequential([rk.layers.Bidirectional(rk.layers.LSTM(4), input_shape=(8, 8)), rk.layers.Dense(3)])
    seq2.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(seq2.predict(XTE[:5]), seq.predict(XTE[:5]), atol=1e-6)


def test_callbacks(tmp_path):
    m = classifier(rk)
    m.compile(optimizer=rk.optimizers.Adam(learning_rate=1e-9), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    csv = tmp_path / "log.csv"
    stop = rk.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    plateau = rk.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=1.0)
    ckpt = rk.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="val_loss", save_best_only=True)
    h = m.fit(XTR, YTR, epochs=20, batch_size=64, validation_split=0.25, verbose=0,
              callbacks=[stop, plateau, rk.callbacks.CSVLogger(csv), ckpt])
    assert len(h.history["loss"]) < 20 and stop.stopped_epoch > 0
    assert m.optimizer.learning_rate < 1e-9 and h.history["learning_rate"][0] == pytest.approx(1e-9)  # the epoch's rate
    assert csv.read_text().splitlines()[0].startswith("epoch,loss,accuracy,val_loss,val_accuracy")
    assert "val_accuracy" in h.history
    best = keras.models.load_model(tmp_path / "best.keras")
    assert kn(best(XTE[:3])).shape == (3, 10)


def test_summary_and_weights():
    m = rk.Sequential([rk.layers.LSTM(4, input_shape=(8, 8)), rk.layers.Dense(2)])
    lines = []
    m.summary(print_fn=lines.append)
    assert any("lstm" in line and "208" in line for line in lines[0].splitlines())  # 4·4·(8 + 4) + 4·4 = 208
    assert " Total params: 218 (872.00 B)" in lines[0].splitlines()
    w = m.get_weights()
    m.set_weights([np.zeros_like(a) for a in w])
    assert np.all(m.predict(XTE[:2]) == 0)


def test_bad_input(tmp_path):
    norm = keras.Sequential([keras.Input((8, 8)), keras.layers.RandomInvert(), keras.layers.LSTM(2)])
    norm.save(tmp_path / "norm.keras")
    with pytest.raises(ValueError, match="'RandomInvert' is not supported by rnnkit.keras"):
        rk.models.load_model(tmp_path / "norm.keras")
    m = rk.Sequential([rk.layers.LSTM(3, input_shape=(8, 8)), rk.layers.Dense(1)])
    with pytest.raises(RuntimeError, match="compile"):
        m.fit(XTR, YTR)
    with pytest.raises(ValueError, match="unknown loss 'hinge2'"):
        m.compile("adam", "hinge2")
    m.compile("adam", "mse")
    with pytest.raises(ValueError, match=r"input of shape \(5, 8, 7\) does not fit Input shape \(None, 8, 8\)"):
        m.predict(np.zeros((5, 8, 7), "float32"))
    with pytest.raises(ValueError, match="same number of samples"):
        m.fit(XTR, YTR[:10], verbose=0)
    (tmp_path / "junk.keras").write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable .keras archive"):
        rk.models.load_model(tmp_path / "junk.keras")


def _variable_length_text_model(L, M):
    inp = L.Input(shape=(None,), dtype="int32")
    x = L.Embedding(50, 8, mask_zero=True)(inp)
    seq, h, c = L.LSTM(6, return_sequences=True, return_state=True)(x)
    return M(inp, [L.TimeDistributed(L.Dense(3))(seq), L.Dense(2)(h)])


def test_an_input_of_any_length_shape_none_works_as_in_keras():
    """keras.Input(shape=(None,)) — sequences of any length, the usual text model — builds (it failed building the
    layers on a None-sized dummy), keeps None on the axes that follow the time axis, and gives Keras's outputs with
    Keras's weights for batches of two different lengths, padding masked."""
    k, r = _variable_length_text_model(keras.layers, keras.Model), _variable_length_text_model(rk.layers, rk.Model)
    r.set_weights(k.get_weights())
    assert [tuple(o.shape) for o in r.outputs] == [tuple(o.shape) for o in k.outputs] == [(None, None, 3), (None, 2)]
    assert r.input is r.inputs[0] and r.inputs[0].shape == (None, None) and r.output == r.outputs  # Keras's
    rng = np.random.default_rng(0)
    for steps in (5, 11):
        x = rng.integers(1, 50, size=(3, steps)).astype("int32")
        x[1, steps - 2:] = 0  # padding
        for ours, theirs in zip(r.predict(x, verbose=0), k.predict(x, verbose=0)):
            np.testing.assert_allclose(ours, theirs, atol=1e-5)
    seq = rk.Sequential([rk.layers.Input(shape=(None,), dtype="int32"), rk.layers.Embedding(50, 8, mask_zero=True),
                         rk.layers.Bidirectional(rk.layers.GRU(4)), rk.layers.Dense(1, activation="sigmoid")])
    seq.compile(optimizer="adam", loss="binary_crossentropy")
    x = rng.integers(1, 50, size=(64, 12)).astype("int32")
    seq.fit(x, (x[:, 0] > 25).astype("float32"), epochs=1, batch_size=16, verbose=0)
    assert seq.predict(x[:2, :7], verbose=0).shape == (2, 1)  # a length never seen in training
    with pytest.raises(ValueError, match="needs its input's size on every axis it has weights for"):
        rk.layers.Dense(4)(rk.layers.Input(shape=(10, None)))  # Keras refuses it too (None in the kernel's shape)


def _subclassed(L, M):
    class Stack(M):  # Keras's subclassing guide's pattern: layers as attributes (one list), call without `training`
        def __init__(self):
            super().__init__()
            self.rnn = L.LSTM(5)
            self.blocks = [L.Dense(4, activation="tanh"), L.Dense(4)]
            self.head = L.Dense(1)

        def call(self, x):
            x = self.rnn(x)
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    return Stack()


def test_a_subclassed_model_tracks_its_layers_and_fits_as_in_keras():
    """A subclassed Model whose ``call`` takes no ``training`` and keeps layers in a list: Keras lists the four
    layers, trains every weight (those in the list too) and predicts; rnnkit did not (``call`` was given
    ``training``, ``layers`` and ``fit`` failed)."""
    x = np.random.default_rng(0).normal(size=(32, 7, 3)).astype("float32")
    y = x[:, -1, :1] * 0.5
    k, r = _subclassed(keras.layers, keras.Model), _subclassed(rk.layers, rk.Model)
    k(x[:2]), r(x[:2])
    assert [type(layer).__name__ for layer in r.layers] == [type(layer).__name__ for layer in k.layers]
    assert len(r.trainable_weights) == len(k.trainable_weights) == 9
    r.set_weights(k.get_weights())
    np.testing.assert_allclose(r.predict(x, verbose=0), k.predict(x, verbose=0), atol=1e-5)
    lines = []
    r.summary(print_fn=lines.append)
    assert f" Total params: {k.count_params():,} " in lines[0]
    before = r.get_weights()
    r.compile(optimizer="adam", loss="mse")
    r.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert all(np.abs(a - b).max() > 0 for a, b in zip(before, r.get_weights()))


def test_input_and_output_shapes_and_get_layer_as_in_keras():
    def models(mod):
        L = mod.layers
        seq = mod.Sequential([L.Input((10, 3)), L.LSTM(8, return_sequences=True, name="first"), L.LSTM(4), L.Dense(1)])
        inp = L.Input((None, 3))
        seqs, h = L.GRU(5, return_sequences=True, return_state=True)(inp)
        return seq, mod.Model(inp, [seqs, L.Dense(2)(h)])

    (kseq, kfun), (rseq, rfun) = models(keras), models(rk)
    for k, r in ((kseq, rseq), (kfun, rfun)):
        assert r.input_shape == k.input_shape and r.output_shape == k.output_shape
        assert r.get_layer(index=-1).count_params() == k.get_layer(index=-1).count_params()
    assert rseq.get_layer("first") is rseq.layers[0] and kseq.get_layer("first") is kseq.layers[0]
    for kwargs, message in (({"name": "nope"}, "No such layer: nope"), ({"index": 9}, "layer at index 9")):
        for m in (kseq, rseq):
            with pytest.raises(ValueError, match=message):
                m.get_layer(**kwargs)


def test_schedules_batch_hooks_and_terminate_on_nan_as_in_keras():
    """LearningRateScheduler sets each epoch's rate and logs it; a LambdaCallback sees every epoch and batch begin
    and end, with Keras's indices; TerminateOnNaN stops inside the first epoch whose loss is not finite — in Keras
    and in rnnkit alike (before, on_epoch_begin and the batch hooks were never called)."""
    x = np.random.default_rng(0).normal(size=(40, 6, 3)).astype("float32")
    y = x[:, -1, :1]
    for mod in (keras, rk):
        m = mod.Sequential([mod.layers.Input((6, 3)), mod.layers.LSTM(4), mod.layers.Dense(1)])
        m.compile(optimizer=mod.optimizers.SGD(0.1), loss="mse")
        events = []
        log = mod.callbacks.LambdaCallback(
            on_epoch_begin=lambda e, logs: events.append(("epoch", e)),
            on_train_batch_begin=lambda b, logs: events.append(("begin", b)),
            on_train_batch_end=lambda b, logs: events.append(("end", b, np.isfinite(logs["loss"]))))
        sched = mod.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
        h = m.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[sched, log])
        assert h.history["learning_rate"] == pytest.approx([0.1, 0.05]), mod.__name__
        batches = [("begin", 0), ("end", 0, True), ("begin", 1), ("end", 1, True), ("begin", 2), ("end", 2, True)]
        assert events == [("epoch", 0), *batches, ("epoch", 1), *batches], mod.__name__
        bad = y.copy()
        bad[20] = np.nan  # the second batch's loss is NaN
        h = m.fit(x, bad, batch_size=16, epochs=3, shuffle=False, verbose=0, callbacks=[mod.callbacks.TerminateOnNaN()])
        assert len(h.history.get("loss", [])) <= 1, mod.__name__  # Keras logs the stopped epoch; rnnkit does not
