"""BackupAndRestore: a fit interrupted after its third epoch and run again (a fresh model, as when the script is
restarted) resumes from the backup — weights, optimizer state and epoch — and ends at the weights of the run that
was never interrupted, shuffling included; a backup Keras wrote resumes in rnnkit to Keras's own uninterrupted
result (real Keras 3, PyTorch backend). Keras's ``save_weights``/``load_weights`` carry the optimizer's state too, and
``ModelCheckpoint(save_freq=n)`` saves every n batches, as Keras's."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

X = np.random.default_rng(0).standard_normal((32, 5, 3)).astype("float32")
Y = np.random.default_rng(1).standard_normal((32, 2)).astype("float32")


class Interrupted(Exception):
    pass


def build(lib, weights=None):
    model = lib.Sequential([lib.Input((5, 3)), lib.layers.GRU(4), lib.layers.Dense(2)])
    if weights is not None:
        model.set_weights(weights)
    model.compile(lib.optimizers.Adam(0.01), "mse")
    return model


def interrupt_after(lib, epochs: int):
    def stop(epoch, logs):
        if epoch + 1 == epochs:
            raise Interrupted
    return lib.callbacks.LambdaCallback(on_epoch_end=stop)


@pytest.mark.parametrize("writer", ["rnnkit", "keras"])
def test_an_interrupted_fit_resumes_to_the_uninterrupted_weights(tmp_path, writer):
    lib = rk if writer == "rnnkit" else keras
    shuffle = lib is rk  # Keras shuffles with its global generator; rnnkit's order is a function of (seed, epoch)
    start = build(rk).get_weights()
    fit = dict(epochs=6, batch_size=8, shuffle=shuffle, verbose=0)
    uninterrupted = build(lib, start)
    uninterrupted.fit(X, Y, **fit)
    backup = tmp_path / "backup"
    with pytest.raises(Interrupted):
        build(lib, start).fit(X, Y, callbacks=[lib.callbacks.BackupAndRestore(backup), interrupt_after(lib, 3)], **fit)
    assert (backup / "latest.weights.h5").exists() and (backup / "training_metadata.json").exists()
    restarted = build(rk)  # other initial weights: the backup's replace them
    history = restarted.fit(X, Y, callbacks=[rk.callbacks.BackupAndRestore(backup)], **fit)
    assert len(history.history["loss"]) == 3  # epochs 4 to 6
    for got, want in zip(restarted.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(got, want, atol=2e-6)
    assert not backup.exists()  # removed when training ends (delete_checkpoint)


def test_save_weights_carries_the_optimizer_state_as_keras(tmp_path):
    """Keras's save_weights writes optimizer/vars; loaded into a compiled model, the next epoch is Keras's."""
    keras_model = build(keras)
    keras_model.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    keras_model.save_weights(tmp_path / "k.weights.h5")
    ours = build(rk)
    ours.load_weights(tmp_path / "k.weights.h5")
    assert int(ours.optimizer.iterations) == 8
    ours.save_weights(tmp_path / "r.weights.h5")
    theirs = build(keras)
    theirs.optimizer.build(theirs.trainable_variables)  # Keras loads optimizer variables into a built optimizer only
    theirs.load_weights(tmp_path / "r.weights.h5")
    for m in (keras_model, ours, theirs):
        m.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b, c in zip(ours.get_weights(), keras_model.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=2e-6)
        np.testing.assert_allclose(c, b, atol=2e-6)


def test_a_bad_save_freq_is_refused_in_keras_s_words():
    for bad in ("batch", 0, 2.5):
        with pytest.raises(ValueError, match="Invalid value for argument `save_freq`"):
            rk.callbacks.BackupAndRestore("somewhere", save_freq=bad)


def test_mid_epoch_backups_resume_as_keras(tmp_path):
    """BackupAndRestore(save_freq=3) over 4 batches per epoch, interrupted at the 7th batch of the run (the backup:
    after its 6th, in epoch 2): both libraries write the same metadata and resume — rerunning epoch 2 from its first
    batch with the weights of the backup — to the same weights."""
    start = build(rk).get_weights()
    fit = dict(epochs=3, batch_size=8, shuffle=False, verbose=0)
    final, metadata = {}, {}
    for lib in (keras, rk):
        backup = tmp_path / lib.__name__
        seen = []

        def stop(batch, logs, seen=seen):
            seen.append(batch)
            if len(seen) == 7:
                raise Interrupted
        with pytest.raises(Interrupted):
            build(lib, start).fit(X, Y, callbacks=[lib.callbacks.BackupAndRestore(backup, save_freq=3),
                                                   lib.callbacks.LambdaCallback(on_train_batch_end=stop)], **fit)
        metadata[lib] = (backup / "training_metadata.json").read_text()
        restarted = build(lib)
        history = restarted.fit(X, Y, callbacks=[lib.callbacks.BackupAndRestore(backup, save_freq=3)], **fit)
        assert len(history.history["loss"]) == 2  # epochs 2 and 3
        final[lib] = restarted.get_weights()
    assert json_of(metadata[rk]) == json_of(metadata[keras]) == {"epoch": 1, "batch": 1}
    for got, want in zip(final[rk], final[keras]):
        np.testing.assert_allclose(got, want, atol=2e-6)


def json_of(text: str) -> dict:
    import json

    return json.loads(text)


def test_model_checkpoint_every_n_batches_writes_keras_files(tmp_path):
    """ModelCheckpoint(save_freq=3): the same files (named by epoch and batch) as Keras's, holding Keras's weights."""
    start = build(keras).get_weights()
    saved = {}
    for lib in (keras, rk):
        folder = tmp_path / lib.__name__
        folder.mkdir()
        model = build(lib, start)
        cb = lib.callbacks.ModelCheckpoint(str(folder / "m-{epoch}-{batch}.weights.h5"), save_weights_only=True,
                                           save_freq=3)
        model.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0, callbacks=[cb])
        saved[lib] = sorted(p.name for p in folder.iterdir())
    assert saved[rk] == saved[keras] == ["m-1-3.weights.h5", "m-2-2.weights.h5"]
    for name in saved[rk]:
        ours, theirs = build(rk), build(rk)
        ours.load_weights(tmp_path / "rnnkit.keras" / name)
        theirs.load_weights(tmp_path / "keras" / name)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)  # Adam on tiny weights: 4.5e-6 seen once under load
