"""Keras callbacks — EarlyStopping, ModelCheckpoint, BackupAndRestore, ReduceLROnPlateau, CSVLogger, TensorBoard
(``tensorboard.py``), LearningRateScheduler, TerminateOnNaN, LambdaCallback, SwapEMAWeights, ProgbarLogger
(``progbar.py``) and yours (``on_train_begin/end``, ``on_epoch_begin/end``, ``on_train_batch_begin/end``;
``on_test_begin/end`` around ``fit``'s validation and ``evaluate``, with ``on_test_batch_begin/end`` in ``evaluate``;
``on_predict_*``) — run by rnnkit's trainer through one adapter. ``logs`` holds Keras's names: loss, accuracy,
val_loss, val_accuracy, learning_rate (a batch's logs: the epoch's running means so far)."""

from __future__ import annotations

import copy
import csv
import math
from pathlib import Path

from rnnkit.keras.io_utils import print_msg
from rnnkit.train.callbacks import Callback as EngineCallback


class Callback:
    model = None
    params: dict = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        """Keras's ``params``: {"verbose", "epochs", "steps"} of the ``fit`` running it."""
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...

    def on_train_batch_begin(self, batch, logs=None):  # Keras: the train-batch hooks default to the batch ones
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    # evaluation (``evaluate``, and the validation in ``fit``) and prediction, as Keras calls them
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...


def _better(mode, monitor):
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    return (lambda a, b: a < b) if mode == "min" else (lambda a, b: a > b)


class History(Callback):
    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class EarlyStopping(Callback):
    """Keras 3's ``EarlyStopping``: stops when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs
    (never after the first); ``baseline`` must be beaten too for the wait to restart; ``restore_best_weights`` puts
    the best epoch's weights back when training ends — stopped early or not, as Keras 3 does."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        self.monitor, self.min_delta, self.patience, self.verbose = monitor, abs(min_delta), patience, verbose
        self.better = _better(mode, monitor)
        self.sign = 1 if self.better(0, 1) else -1  # min mode: value + δ < best; max: value - δ > best
        self.baseline, self.restore_best_weights, self.start_from_epoch = baseline, restore_best_weights, \
            start_from_epoch
        self.best, self.wait, self.best_weights, self.stopped_epoch, self.best_epoch = None, 0, None, 0, 0

    def _improves(self, value, reference) -> bool:
        return reference is None or self.better(value + self.sign * self.min_delta, reference)

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.best_weights, self.stopped_epoch, self.best_epoch = None, 0, None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = copy.deepcopy(self.model.state_dict()), epoch
        self.wait += 1
        if self._improves(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = copy.deepcopy(self.model.state_dict())
            if self.baseline is None or self._improves(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.load_state_dict(self.best_weights)


class ReduceLROnPlateau(Callback):
    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4, cooldown=0,
                 min_lr=0.0):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1, got {factor}")
        self.monitor, self.factor, self.patience, self.min_lr, self.verbose = monitor, factor, patience, min_lr, verbose
        self.better, self.min_delta, self.cooldown = _better(mode, monitor), min_delta, cooldown
        self.sign = 1 if self.better(0, 1) else -1  # min mode: value + δ < best; max: value - δ > best
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:  # Keras logs the rate the epoch ran with
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.best is None or self.better(value + self.sign * self.min_delta, self.best):
            self.best, self.wait = value, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(self.model.optimizer.learning_rate)
                if old > self.min_lr:
                    self.model.optimizer.learning_rate = max(old * self.factor, self.min_lr)
                    if self.verbose > 0:
                        print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                              f"{float(self.model.optimizer.learning_rate)}.")
                self.cooldown_counter, self.wait = self.cooldown, 0


class CSVLogger(Callback):
    def __init__(self, filename, separator=",", append=False):
        self.filename, self.sep, self.append = Path(filename), separator, append
        self.rows: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **(logs or {})})
        fields = list(dict.fromkeys(k for r in self.rows for k in r))
        with open(self.filename, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=fields, delimiter=self.sep)
            w.writeheader()
            for r in self.rows:
                w.writerow({k: (v if not isinstance(v, float) or math.isfinite(v) else str(v)) for k, v in r.items()})


class LearningRateScheduler(Callback):
    """Sets the learning rate at each epoch's start to ``schedule(epoch, lr)`` (or ``schedule(epoch)``)."""

    def __init__(self, schedule, verbose: int = 0):
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        try:
            lr = self.schedule(epoch, float(self.model.optimizer.learning_rate))
        except TypeError:  # a schedule of the epoch alone, as Keras 1's
            lr = self.schedule(epoch)
        lr = float(lr)
        if not math.isfinite(lr):
            raise ValueError(f'The output of the "schedule" function should be a float. Got: {lr}')
        self.model.optimizer.learning_rate = lr
        if self.verbose:
            print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback of plain functions: ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_train_batch_begin/end(batch, logs)`` (or ``on_batch_begin/end``), ``on_train_begin(logs)``, ``on_train_end(logs)``."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, on_batch_begin=None, on_batch_end=None, **kwargs):
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
                 "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin or on_batch_begin,
                 "on_train_batch_end": on_train_batch_end or on_batch_end, **kwargs}
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)


class SwapEMAWeights(Callback):
    """Keras's ``SwapEMAWeights``, with an optimizer's ``use_ema``: evaluation and prediction (``fit``'s validation,
    ``evaluate``, ``predict`` given the callback) run on the moving averages of the weights, training goes on with the
    weights themselves; ``swap_on_epoch`` keeps the averages in the model after each epoch (for a ModelCheckpoint that
    follows it) until the next begins. (Keras's own leaves the averages in after ``predict``; this one swaps back.)"""

    def __init__(self, swap_on_epoch: bool = False):
        self.swap_on_epoch, self._swapped = swap_on_epoch, False

    def _swap(self, into_model: bool) -> None:
        if self._swapped != into_model:
            self.model.optimizer.swap_averages()
            self._swapped = into_model

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap(False)

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._swapped:
            self._swap(True)
            if epoch == self.params.get("epochs", 0) - 1:  # fit's end writes the averages into the weights: keep them
                self.model.optimizer.averages_from_weights()

    def on_test_begin(self, logs=None):
        self._swap(True)

    def on_test_end(self, logs=None):
        self._swap(False)

    on_predict_begin, on_predict_end = on_test_begin, on_test_end


class CallbackList(Callback):
    """Keras's ``CallbackList(callbacks=None, add_history=False, add_progbar=False, model=None, **params)``: callbacks
    called together — what a custom training loop drives (``on_epoch_begin``, ``on_train_batch_end``, …); a History
    and a ProgbarLogger are added when asked for and missing (the History becomes ``model.history``)."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        self.callbacks = list(callbacks or [])
        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        self.set_model(model)
        self.set_params(params)

    def append(self, callback) -> None:
        self.callbacks.append(callback)

    def set_model(self, model):
        if not model:
            return
        self.model = model
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)


def _each(hook: str):
    def call(self, *args, **kwargs):
        for cb in self.callbacks:
            getattr(cb, hook)(*args, **kwargs)
    call.__name__ = hook
    return call


for _hook in [name for name in vars(Callback) if name.startswith("on_")]:
    setattr(CallbackList, _hook, _each(_hook))
del _hook


KEY_MAP = {"train_loss": "loss", "lr": "learning_rate"}


class KerasCallbacks(EngineCallback):
    """Adapter: rnnkit's trainer calls this; it translates the epoch record to Keras's logs and calls the callbacks."""

    def __init__(self, model, callbacks, verbose: int = 0):
        self.model, self.callbacks, self.verbose = model, callbacks, verbose

    def on_train_start(self, trainer):
        self.model.stop_training = False
        params = {"verbose": self.verbose, "epochs": trainer.config.train.epochs,
                  "steps": trainer.sampler.batches_per_epoch}
        for cb in self.callbacks:
            cb.set_model(self.model)
            if hasattr(cb, "set_params"):
                cb.set_params(params)
            cb.on_train_begin({})
        start = self.model.__dict__.pop("_initial_epoch", None)  # BackupAndRestore found a backup
        if start is not None:
            trainer.epoch, trainer.batch = start, 0

    def on_epoch_start(self, trainer):
        for cb in self.callbacks:
            cb.on_epoch_begin(trainer.epoch, {})
        self._batch = trainer.batch
        self._batch_begin(trainer)

    def _batch_begin(self, trainer):  # the engine has no hook before a batch: called after the one before it
        if self._batch < trainer.sampler.batches_per_epoch:
            for cb in self.callbacks:
                cb.on_train_batch_begin(self._batch, {})

    def on_batch_end(self, trainer, info):
        acc, last = trainer._acc, trainer.last_loss
        # the epoch's running means, as Keras logs them — a non-finite batch loss as it is (the engine skips that step)
        seen = max(acc["samples"], 1)
        logs = {"loss": acc["loss"] / seen if math.isfinite(last) else last,
                **{k[len("metric."):]: v / seen for k, v in acc.items() if k.startswith("metric.")}}
        logs = self.model._weighted_logs(logs, samples=seen)
        for cb in self.callbacks:
            cb.on_train_batch_end(self._batch, logs)
        self._batch += 1
        if self.model.stop_training:
            trainer.stop(f"stopped by a callback at batch {self._batch}")
        else:
            self._batch_begin(trainer)

    def on_validation_start(self, trainer):
        for cb in self.callbacks:
            cb.on_test_begin({})

    def on_validation_batch_start(self, trainer, batch):
        for cb in self.callbacks:
            cb.on_test_batch_begin(batch, {})

    def on_validation_batch_end(self, trainer, batch, metrics):
        logs = self.model._weighted_logs(dict(metrics), samples=trainer.eval_samples)
        for cb in self.callbacks:
            cb.on_test_batch_end(batch, logs)

    def on_validation_end(self, trainer, metrics):
        logs = self.model._weighted_logs(dict(metrics), samples=trainer.eval_samples)
        for cb in self.callbacks:
            cb.on_test_end(logs)

    def on_epoch_end(self, trainer, record):
        logs = {}
        for k, v in record.items():
            if k == "train_loss":
                logs["loss"] = v
            elif k.startswith("train_"):
                logs[k[len("train_"):]] = v
            elif k.startswith("val_"):
                logs[k] = v
        logs = self.model._weighted_logs(self.model._weighted_logs(logs, samples=trainer._acc["samples"]), "val_",
                                         samples=trainer.eval_samples)
        epoch = record["epoch"] - 1
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)
        if self.model.stop_training:
            trainer.stop(f"stopped by a callback after epoch {epoch + 1}")

    def on_train_end(self, trainer):
        for cb in self.callbacks:
            cb.on_train_end({})


from rnnkit.keras.checkpoint_callbacks import BackupAndRestore, ModelCheckpoint  # noqa: E402, F401 (Keras's names)
from rnnkit.keras.progbar import ProgbarLogger  # noqa: E402, F401  (here under Keras's name; it subclasses Callback)
from rnnkit.keras.remote_monitor import RemoteMonitor  # noqa: E402, F401  (posts each epoch's logs to a server)
from rnnkit.keras.tensorboard import TensorBoard  # noqa: E402, F401  (writes with torch's SummaryWriter)


def __getattr__(name: str):  # a Keras name rnnkit.keras does not provide: say why (not_provided.py)
    from rnnkit.keras.not_provided import missing

    raise missing("callbacks", name)
