"""Callbacks: what happens around the loop, kept out of it.

Hooks (all optional): ``on_train_start(trainer)``, ``on_epoch_start(trainer)``, ``on_batch_end(trainer, info)``,
``on_epoch_end(trainer, record)``, ``on_train_end(trainer)``. ``state_dict()``/``load_state_dict()`` let a callback's
state ride in the checkpoint so that a resumed run behaves as an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from rnnkit.train.checkpoint import atomic_write_text


class Callback:
    def on_train_start(self, trainer) -> None: ...
    def on_epoch_start(self, trainer) -> None: ...
    def on_batch_end(self, trainer, info: dict) -> None: ...
    def on_validation_start(self, trainer) -> None: ...
    def on_validation_batch_start(self, trainer, batch: int) -> None: ...
    def on_validation_batch_end(self, trainer, batch: int, metrics: dict) -> None: ...
    def on_validation_end(self, trainer, metrics: dict) -> None: ...
    def on_epoch_end(self, trainer, record: dict) -> None: ...
    def on_train_end(self, trainer) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, mode: str = "min", min_delta: float = 0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.mode, self.min_delta = monitor, patience, mode, min_delta
        self.best: float | None = None
        self.bad_epochs = 0

    def on_epoch_end(self, trainer, record):
        value = record.get(self.monitor)
        if value is None:
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, which the epoch record lacks "
                           f"(it has {sorted(record)})")
        better = self.best is None or (value < self.best - self.min_delta if self.mode == "min"
                                       else value > self.best + self.min_delta)
        if better:
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
            if self.bad_epochs >= self.patience:
                trainer.stop(f"early stopping: {self.monitor} has not improved for {self.patience} epochs "
                             f"(best {self.best:.6g})")

    def state_dict(self):
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state):
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]


class CSVLogger(Callback):
    """Writes every epoch record to ``path`` (the whole file, atomically, so a resumed run's file is complete)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def on_epoch_end(self, trainer, record):
        if not trainer.dist.is_main:
            return
        rows = trainer.history
        fields: list[str] = []
        for r in rows:
            fields += [k for k in r if k not in fields]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) and math.isfinite(v) else v) for k, v in r.items()})
        atomic_write_text(self.path, buf.getvalue())


class TensorBoardLogger(Callback):
    """Epoch records as TensorBoard scalars, when the ``tensorboard`` package is installed (silently off otherwise)."""

    def __init__(self, log_dir: str | Path):
        self.log_dir, self.writer = Path(log_dir), None

    def on_train_start(self, trainer):
        if not trainer.dist.is_main:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            trainer.log("TensorBoard is not installed: metrics go to metrics.csv only")
            return
        self.writer = SummaryWriter(str(self.log_dir))

    def on_epoch_end(self, trainer, record):
        if self.writer is not None:
            for k, v in record.items():
                if isinstance(v, (int, float)) and k not in ("epoch", "step"):
                    self.writer.add_scalar(k, v, record["step"])

    def on_train_end(self, trainer):
        if self.writer is not None:
            self.writer.close()


class LearningCurve(Callback):
    """Evaluates on the validation data every ``every`` batches (and at the end), recording the step, the training time
    so far (``trainer.train_seconds``: evaluation, callbacks and checkpoints excluded) and the validation metrics, in
    ``self.rows`` and (rank 0) in ``path`` as CSV. Held-out loss against training time is how one compares models under
    a time budget."""

    def __init__(self, every: int, path: str | Path | None = None):
        if every < 1:
            raise ValueError(f"LearningCurve needs every >= 1 batches, got {every}")
        self.every, self.path = every, Path(path) if path is not None else None
        self.rows: list[dict] = []

    def _record(self, trainer) -> None:
        if self.rows and self.rows[-1]["step"] == trainer.step:
            return
        metrics = trainer.evaluate()
        trainer.guard.observe(metrics.get("loss"), f"held-out loss at step {trainer.step}")
        self.rows.append({"step": trainer.step, "train_seconds": round(trainer.train_seconds, 3),
                          **{f"val_{k}": v for k, v in metrics.items()}})
        if self.path is not None and trainer.dist.is_main:
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=list(self.rows[-1]))
            w.writeheader()
            w.writerows(self.rows)
            atomic_write_text(self.path, buf.getvalue())

    def on_batch_end(self, trainer, info):
        if trainer.step % self.every == 0:
            self._record(trainer)

    def on_train_end(self, trainer):
        self._record(trainer)

    def state_dict(self):
        return {"rows": self.rows}

    def load_state_dict(self, state):
        self.rows = list(state["rows"])
