"""keras.io's "Customizing what happens in fit() with PyTorch", run on rnnkit.keras with the imports changed: a model
overriding ``train_step`` (with ``compute_loss`` and ``self.metrics``, or its own loss function and ``Mean`` tracker,
and its own ``test_step``) fits, validates and evaluates to Keras's history and weights (real Keras 3, PyTorch
backend, is the reference); callbacks see its logs; without a loss and without a custom step, fit says so."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

X = np.random.default_rng(0).random((32, 5, 3)).astype("float32")
Y = np.random.default_rng(1).random((32, 1)).astype("float32")


def with_compiled_loss(lib, optimizer=None):
    class CustomModel(lib.Model):
        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    inputs = lib.Input(shape=(5, 3))
    model = CustomModel(inputs, lib.layers.Dense(1)(lib.layers.LSTM(4)(inputs)))
    model.compile(optimizer=optimizer or lib.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    return model


def with_own_loss_and_trackers(lib):
    class CustomModel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = lib.metrics.Mean(name="loss")
            self.mae_metric = lib.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = lib.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            with torch.no_grad():
                self.optimizer.apply([v.value.grad for v in trainable_weights], trainable_weights)
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            self.loss_tracker.update_state(self.loss_fn(y, y_pred))
            self.mae_metric.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    inputs = lib.Input(shape=(5, 3))
    model = CustomModel(inputs, lib.layers.Dense(1)(lib.layers.LSTM(4)(inputs)))
    model.compile(optimizer=lib.optimizers.Adam(0.01))  # no loss: the step computes its own
    return model


@pytest.mark.parametrize("build", [with_compiled_loss, with_own_loss_and_trackers])
def test_custom_train_step_fits_as_keras(build):
    km, rm = build(keras), build(rk)
    rm.set_weights(km.get_weights())
    fit = dict(epochs=3, batch_size=8, shuffle=False, verbose=0, validation_data=(X[:8], Y[:8]))
    want, got = km.fit(X, Y, **fit).history, rm.fit(X, Y, **fit).history
    assert sorted(got) == sorted(want) == ["loss", "mae", "val_loss", "val_mae"]
    for key in want:
        np.testing.assert_allclose(got[key], want[key], atol=2e-5, err_msg=key)
    for a, b in zip(rm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-5)
    k_eval, r_eval = km.evaluate(X, Y, verbose=0, return_dict=True), rm.evaluate(X, Y, verbose=0, return_dict=True)
    for key in k_eval:
        assert abs(r_eval[key] - k_eval[key]) < 2e-5, key
    assert int(rm.optimizer.iterations) == int(keras.ops.convert_to_numpy(km.optimizer.iterations)) == 12


def test_callbacks_and_the_display_see_the_custom_logs(capsys):
    model = with_compiled_loss(rk)
    seen = []
    stop = rk.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)  # stops after the second epoch
    log = rk.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(sorted(logs)))
    history = model.fit(X, Y, epochs=5, batch_size=8, verbose=1, callbacks=[stop, log])
    assert len(history.history["loss"]) == 2 and seen[0] == ["loss", "mae"]
    assert "Epoch 2/5" in capsys.readouterr().out


def test_no_loss_and_no_custom_step_is_refused():
    model = rk.Sequential([rk.Input((5, 3)), rk.layers.LSTM(4), rk.layers.Dense(1)])
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="no loss"):
        model.fit(X, Y, verbose=0)


def test_backup_and_restore_resumes_a_custom_step_exactly(tmp_path):
    """Interrupted after two of four epochs and run again, a custom-step model shuffling its batches ends at the
    weights of the run that never stopped — Adam's state restored into the optimizer its step makes, each epoch's
    order a function of the epoch, not of the epochs before."""
    class Interrupted(Exception):
        pass

    def stop(epoch, logs):
        if epoch == 1:
            raise Interrupted

    def build():
        return with_compiled_loss(rk, rk.optimizers.Adam(0.01))

    start = build().get_weights()
    whole = build()
    whole.set_weights(start)
    whole.fit(X, Y, epochs=4, batch_size=8, verbose=0)
    first = build()
    first.set_weights(start)
    backup = rk.callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(Interrupted):
        first.fit(X, Y, epochs=4, batch_size=8, verbose=0, callbacks=[backup, rk.callbacks.LambdaCallback(
            on_epoch_end=stop)])
    again = build()
    history = again.fit(X, Y, epochs=4, batch_size=8, verbose=0,
                        callbacks=[rk.callbacks.BackupAndRestore(tmp_path / "backup")])
    assert len(history.history["loss"]) == 2
    for a, b in zip(again.get_weights(), whole.get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-6)


def test_compiled_accuracy_follows_the_loss_in_a_custom_step():
    """metrics=["accuracy"] with a sparse categorical loss is sparse categorical accuracy in ``self.metrics`` too."""
    labels = np.random.default_rng(1).integers(0, 3, 32)

    def classifier(lib):
        base = with_compiled_loss(lib)
        model = type(base)(base.inputs, lib.layers.Dense(3, activation="softmax")(base.layers[1].output))
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model
    km, rm = classifier(keras), classifier(rk)
    rm.set_weights(km.get_weights())
    want, got = (m.fit(X, labels, epochs=2, batch_size=8, shuffle=False, verbose=0).history for m in (km, rm))
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(got[key], want[key], atol=2e-5, err_msg=key)


def test_validation_split_holds_out_the_last_samples_as_keras():
    km, rm = with_compiled_loss(keras), with_compiled_loss(rk)
    rm.set_weights(km.get_weights())
    fit = dict(epochs=2, batch_size=8, shuffle=False, verbose=0, validation_split=0.25)
    want, got = km.fit(X, Y, **fit).history, rm.fit(X, Y, **fit).history
    for key in ("loss", "val_loss", "val_mae"):
        np.testing.assert_allclose(got[key], want[key], atol=2e-5, err_msg=key)
    with pytest.raises(ValueError, match="validation_split"):
        rm.fit(X, Y, validation_split=1.5, verbose=0)


class Windows(keras.utils.PyDataset):
    """Keras's PyDataset (a subclass of Keras's own class — rnnkit reads it too): batch i of 8."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x) // 8

    def __getitem__(self, i):
        return self.x[i * 8:(i + 1) * 8], self.y[i * 8:(i + 1) * 8]


def loader(x, y):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=8)


def generator(x, y):
    while True:
        for i in range(0, len(x), 8):
            yield x[i:i + 8], y[i:i + 8]


@pytest.mark.parametrize("source", ["DataLoader", "generator", "PyDataset"])
@pytest.mark.parametrize("build", [with_compiled_loss, with_own_loss_and_trackers])
def test_a_custom_step_fits_on_batches_from_a_loader_a_generator_or_a_pydataset_as_keras(build, source):
    make = {"DataLoader": loader, "generator": generator, "PyDataset": Windows}[source]
    steps = {"steps_per_epoch": 4} if source == "generator" else {}
    val_steps = {"validation_steps": 1} if source == "generator" else {}
    km, rm = build(keras), build(rk)
    rm.set_weights(km.get_weights())
    fit = dict(epochs=4, verbose=0, validation_freq=2, shuffle=False, **steps, **val_steps)
    want = km.fit(make(X, Y), validation_data=make(X[:8], Y[:8]), **fit).history
    got = rm.fit(make(X, Y), validation_data=make(X[:8], Y[:8]), **fit).history
    assert sorted(got) == sorted(want) == ["loss", "mae", "val_loss", "val_mae"]
    assert len(got["val_loss"]) == 2  # validated after epochs 2 and 4 only
    for key in want:
        np.testing.assert_allclose(got[key], want[key], atol=2e-5, err_msg=key)
    for a, b in zip(rm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-5)
    eval_steps = {"steps": 2} if source == "generator" else {}
    k_eval = km.evaluate(make(X, Y), verbose=0, return_dict=True, **eval_steps)
    r_eval = rm.evaluate(make(X, Y), verbose=0, return_dict=True, **eval_steps)
    for key in k_eval:
        assert abs(r_eval[key] - k_eval[key]) < 2e-5, key
