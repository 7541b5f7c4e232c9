"""Keras's callbacks that write files during ``fit``: ``ModelCheckpoint`` (the model or its weights, every epoch or
every ``save_freq`` batches, or only the best) and ``BackupAndRestore`` (a backup a rerun fit resumes from). Both
write each file whole, then rename it over the old one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rnnkit.keras.callbacks import Callback, _better
from rnnkit.keras.io_utils import print_msg


class ModelCheckpoint(Callback):
    """Keras's ``ModelCheckpoint``: the model (or its weights) saved after each epoch — or every ``save_freq`` batches
    (an int) — or only when ``monitor`` improves (``save_best_only``; from ``initial_value_threshold`` if given);
    ``filepath`` may name the epoch, the batch and the logs (``"w{epoch:02d}-{val_loss:.2f}.weights.h5"``);
    ``verbose`` prints Keras's messages."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        if save_freq != "epoch" and not (isinstance(save_freq, int) and not isinstance(save_freq, bool)
                                         and save_freq > 0):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are 'epoch' or integer "
                             "values")
        self.filepath, self.monitor, self.save_best_only = str(filepath), monitor, save_best_only
        self.better, self.best, self.save_weights_only = _better(mode, monitor), initial_value_threshold, \
            save_weights_only
        self.verbose, self.save_freq = verbose, save_freq
        self._epoch, self._batches = 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches >= self.save_freq:
            self._batches = 0
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _save(self, epoch, batch, logs):
        names = {"epoch": epoch + 1} if batch is None else {"epoch": epoch + 1, "batch": batch + 1}
        path = self.filepath.format(**names, **logs)
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                return
            best = "None" if self.best is None else f"{self.best:.5f}"
            if self.best is not None and not self.better(value, self.best):
                if self.verbose > 0:
                    print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
                return
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {value:.5f}, saving model to {path}")
            self.best = value
        elif self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose > 0:
            print_msg(f"Epoch {epoch + 1}: finished saving model to {path}")


class BackupAndRestore(Callback):
    """Keras's ``BackupAndRestore``: the weights and the optimizer's state go to ``backup_dir/latest.weights.h5`` and
    the epoch to ``training_metadata.json`` (each written whole, then renamed) after each epoch, or every
    ``save_freq`` batches (an integer; ``False``: never — only restore); a ``fit`` that finds them — the same script
    run again after an interruption — starts from that epoch with that state. After an epoch's backup it ends where an
    uninterrupted run would; after a mid-epoch one it reruns that epoch from its first batch with the weights reached
    within it (Keras's behaviour; ``rnnkit train`` resumes mid-epoch exactly). The folder is removed when training
    ends (``delete_checkpoint``); ``double_checkpoint`` keeps the backup before the last as ``.bkp`` files, used when
    the last cannot be read."""

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if not (save_freq == "epoch" or save_freq is False or (isinstance(save_freq, int) and
                                                               not isinstance(save_freq, bool) and save_freq >= 1)):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. Expected "
                             "either 'epoch' or an integer value.")
        self.backup_dir, self.save_freq = Path(backup_dir), save_freq
        self.double_checkpoint, self.delete_checkpoint = double_checkpoint, delete_checkpoint
        self.weights_path = self.backup_dir / "latest.weights.h5"
        self.metadata_path = self.backup_dir / "training_metadata.json"
        self._epoch, self._since_saving = 0, 0

    def on_train_begin(self, logs=None):
        try:
            self._load()
        except (OSError, ValueError, json.JSONDecodeError):
            previous = Path(f"{self.weights_path}.bkp")
            if not previous.exists():
                raise
            shutil.copyfile(previous, self.weights_path)
            if Path(f"{self.metadata_path}.bkp").exists():
                shutil.copyfile(f"{self.metadata_path}.bkp", self.metadata_path)
            self._load()

    def _load(self):
        if self.weights_path.exists():
            self.model.load_weights(self.weights_path)
        if self.metadata_path.exists():
            self.model._initial_epoch = int(json.loads(self.metadata_path.read_text())["epoch"])

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if isinstance(self.save_freq, int) and self.save_freq is not False:
            self._since_saving += 1
            if self._since_saving >= self.save_freq:
                self._since_saving = 0
                self._save(self._epoch, batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch + 1, 0)

    def _save(self, epoch: int, batch: int) -> None:
        from rnnkit.train.checkpoint import atomic_write_text

        self.backup_dir.mkdir(parents=True, exist_ok=True)
        if self.double_checkpoint:
            for path in (self.weights_path, self.metadata_path):
                if path.exists():
                    shutil.copyfile(path, f"{path}.bkp")
        self.model.save_weights(self.weights_path)
        atomic_write_text(self.metadata_path, json.dumps({"epoch": epoch, "batch": batch}))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and self.backup_dir.exists():
            shutil.rmtree(self.backup_dir)
