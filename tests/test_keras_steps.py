"""How many batches an epoch takes, as Keras 3 reads its data: ``steps_per_epoch`` with arrays and with a DataLoader
(an epoch goes on where the last one stopped, and ends early at the end of a pass), ``config.set_max_epochs`` /
``set_max_steps_per_epoch`` (Keras's debugging caps on fit, evaluate and predict), and a stream's batches weighed by
their size in the epoch's means — the batches each epoch sees, the logs and the trained weights compared with real
Keras (PyTorch backend)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

X = np.linspace(-1, 1, 80, dtype="float32").reshape(80, 1)
Y = (0.5 * X + 0.2).astype("float32")


class Counter:
    """The number of training batches of each epoch, from the callbacks."""

    def __init__(self, lib) -> None:
        counts = self.counts = []

        class Count(lib.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                counts.append(0)

            def on_train_batch_end(self, batch, logs=None):
                counts[-1] += 1
        self.callback = Count()


def model(lib, custom: bool = False):
    if custom:
        class Own(lib.Model):  # a customised train_step (Keras's "customizing fit"): it gets (x, y), no weights
            def train_step(self, data):
                x, y = data
                return super().train_step((x, y))
        inp = lib.Input((1,))
        m = Own(inp, lib.layers.Dense(1, kernel_initializer="zeros")(inp))
    else:
        m = lib.Sequential([lib.Input((1,)), lib.layers.Dense(1, kernel_initializer="zeros")])
    m.compile(lib.optimizers.SGD(0.05), "mse")
    return m


def fit_both(custom=False, **kwargs):
    """(batches per epoch, history, weights) from Keras and from rnnkit, the same model fitted the same way."""
    out = []
    for lib in (keras, rk):
        m, counter = model(lib, custom), Counter(lib)
        history = m.fit(X, Y, callbacks=[counter.callback], verbose=0, **kwargs)
        out.append((counter.counts, history.history, m.get_weights()))
    return out


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
@pytest.mark.parametrize("custom", [False, True])
@pytest.mark.parametrize("epochs,steps", [(4, 3), (2, 13), (3, 5)])
def test_steps_per_epoch_on_arrays_reads_them_as_keras(epochs, steps, custom):
    """10 batches of 8: 3 a step → epochs of 3, 3, 3, 1 (the pass ends), 13 → two whole passes, 5 → 5, 5, 5."""
    (k_counts, k_hist, k_w), (r_counts, r_hist, r_w) = fit_both(custom, batch_size=8, epochs=epochs,
                                                                 steps_per_epoch=steps, shuffle=False)
    assert r_counts == k_counts
    expected = {(4, 3): [3, 3, 3, 1], (2, 13): [10, 10], (3, 5): [5, 5, 5]}[(epochs, steps)]
    assert r_counts == expected
    np.testing.assert_allclose(r_hist["loss"], k_hist["loss"], rtol=1e-5, atol=1e-7)
    for a, b in zip(r_w, k_w):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_pass_that_ends_before_steps_per_epoch_warns_as_keras():
    m = model(rk)
    with pytest.warns(UserWarning, match="ran out of data"):
        m.fit(X, Y, batch_size=8, epochs=1, steps_per_epoch=13, verbose=0)


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_steps_per_epoch_on_a_dataloader_goes_on_across_epochs_as_keras():
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)),
                                         batch_size=8)
    out = []
    for lib in (keras, rk):
        m, counter = model(lib), Counter(lib)
        history = m.fit(loader, epochs=4, steps_per_epoch=3, verbose=0, callbacks=[counter.callback])
        out.append((counter.counts, history.history["loss"], m.get_weights()))
    assert out[1][0] == out[0][0] == [3, 3, 3, 1]
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-5, atol=1e-7)
    for a, b in zip(out[1][2], out[0][2]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.filterwarnings("ignore:Limiting")
def test_max_epochs_and_max_steps_per_epoch_cap_fit_evaluate_and_predict():
    """Keras's trainer test: 4 epochs of 10 batches become 2 epochs of 3 under the caps; evaluate and predict read 3
    batches too — and the caps come off again."""
    results = []
    for lib in (keras, rk):
        m, counter = model(lib), Counter(lib)
        lib.config.set_max_epochs(2)
        lib.config.set_max_steps_per_epoch(3)
        try:
            assert lib.config.max_epochs() == 2 and lib.config.max_steps_per_epoch() == 3
            m.fit(X, Y, batch_size=8, epochs=4, shuffle=False, verbose=0, callbacks=[counter.callback])
            loss = m.evaluate(X, Y, batch_size=8, verbose=0)
            predicted = m.predict(X, batch_size=8, verbose=0)
        finally:
            lib.config.set_max_epochs(None)
            lib.config.set_max_steps_per_epoch(None)
        assert lib.config.max_epochs() is None and lib.config.max_steps_per_epoch() is None
        results.append((counter.counts, loss, predicted.shape, m.get_weights()))
    assert results[1][0] == results[0][0] == [3, 3]
    assert results[1][1] == pytest.approx(results[0][1], rel=1e-5)
    assert results[1][2] == results[0][2] == (24, 1)
    for a, b in zip(results[1][3], results[0][3]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_caps_warn_as_keras():
    m = model(rk)
    rk.config.set_max_epochs(1)
    try:
        with pytest.warns(UserWarning, match="Limiting epochs to 1"):
            m.fit(X, Y, epochs=3, verbose=0)
    finally:
        rk.config.set_max_epochs(None)


def test_a_stream_batch_weighs_by_its_size_in_the_epoch_means():
    """A PyDataset of batches of 16, 16, 16 and 2 samples: the epoch's loss and accuracy are means over the 50
    samples, as Keras's (not over the four batches), and its true positives the count over them.

    Keras's own training ``true_positives`` in ``history`` is not the reference: on the PyTorch backend the epoch's
    count is read after the validation pass has reset and refilled the same variable, so it repeats
    ``val_true_positives`` (Keras 3.15.1; the test failed whenever the two counts differed, by its random initial
    weights). The reference for the training metrics is Keras's running logs at the epoch's last training batch —
    the epoch's values before validation."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")

    def data(lib):
        class Batches(lib.utils.PyDataset):
            def __len__(self):
                return 4

            def __getitem__(self, i):
                return x[i * 16:i * 16 + 16], y[i * 16:i * 16 + 16]
        return Batches()
    class LastBatch(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.epochs = []

        def on_train_batch_end(self, batch, logs=None):
            if batch == 3:
                self.epochs.append({k: float(v) for k, v in logs.items()})

    out, weights, last = [], None, LastBatch()
    for lib in (keras, rk):
        m = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1, activation="sigmoid")])
        m.compile("sgd", "binary_crossentropy", metrics=["accuracy", "true_positives"])
        if weights is not None:
            m.set_weights(weights)
        weights = m.get_weights()
        out.append(m.fit(data(lib), epochs=2, shuffle=False, verbose=0, validation_data=data(lib),
                         callbacks=[last] if lib is keras else []).history)
    assert sorted(out[1]) == sorted(out[0])
    for key in out[0]:
        expected = out[0][key] if key.startswith("val_") else [epoch[key] for epoch in last.epochs]
        np.testing.assert_allclose(out[1][key], expected, rtol=1e-5, atol=1e-6, err_msg=key)


def test_a_loader_without_a_length_runs_by_steps_per_epoch():
    """A DataLoader over an IterableDataset has no length: steps_per_epoch batches an epoch, read on across epochs."""
    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            for i in range(5):
                yield torch.from_numpy(X[i * 8:i * 8 + 8]), torch.from_numpy(Y[i * 8:i * 8 + 8])
    m, counter = model(rk), Counter(rk)
    m.fit(torch.utils.data.DataLoader(Stream(), batch_size=None), epochs=3, steps_per_epoch=2, verbose=0,
          callbacks=[counter.callback])
    assert counter.counts == [2, 2, 2]
