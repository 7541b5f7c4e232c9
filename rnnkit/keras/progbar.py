"""Keras's progress display for ``fit`` / ``evaluate`` / ``predict``, so a Keras user sees what Keras prints:

    Epoch 1/10
    7/7 ━━━━━━━━━━━━━━━━━━━━ 1s 20ms/step - accuracy: 0.5196 - loss: 0.7039 - val_accuracy: 0.5192 - val_loss: 0.7094

``verbose=1`` (and "auto"): a bar redrawn in place on a terminal (elsewhere, as in a log file, only each epoch's final
line); ``verbose=2``: one line per epoch (``7/7 - 1s - 20ms/step - loss: …``); 0: nothing. Logs are shown sorted by
name, as Keras shows them.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from rnnkit.keras.callbacks import Callback

WIDTH = 20


def _value(v) -> str:
    if np.size(v) != 1:  # a per-class metric (F1Score(average=None)): its values, as Keras prints them
        return np.array2string(np.asarray(v, dtype=np.float64), precision=4, separator=" ")
    v = float(v)
    return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


class Progbar:
    """One bar of ``target`` steps: ``update(step, logs)``, ``finish(logs)``."""

    def __init__(self, target: int | None, verbose: int = 1, stream=None) -> None:
        self.target, self.verbose, self.stream = target, verbose, stream or sys.stdout
        self.start, self.last_draw = time.perf_counter(), 0.0
        self.dynamic = self.stream.isatty() if hasattr(self.stream, "isatty") else False

    def _line(self, step: int, logs: dict) -> str:
        elapsed = time.perf_counter() - self.start
        per_step = elapsed / max(step, 1)
        timing = f"{elapsed:.0f}s {per_step * 1000:.0f}ms/step" if per_step < 1 else f"{elapsed:.0f}s {per_step:.0f}s/step"
        shown = " - ".join(f"{k}: {_value(v)}" for k, v in sorted(logs.items()) if not k.startswith("_"))
        if self.verbose == 2:
            return f"{step}/{self.target or step} - {timing.replace(' ', ' - ')}" + (f" - {shown}" if shown else "")
        done = WIDTH if not self.target else min(WIDTH, WIDTH * step // self.target)
        bar = "━" * done + "─" * (WIDTH - done)
        return f"{step}/{self.target or '?'} {bar} {timing}" + (f" - {shown}" if shown else "")

    def update(self, step: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        if self.verbose == 1 and self.dynamic and now - self.last_draw > 0.05:
            self.stream.write("\r" + self._line(step, logs or {}) + "\x1b[K")
            self.stream.flush()
            self.last_draw = now

    def finish(self, step: int, logs: dict | None = None) -> None:
        if self.verbose in (1, 2):
            self.stream.write(("\r" if self.dynamic and self.verbose == 1 else "") + self._line(step, logs or {})
                              + ("\x1b[K" if self.dynamic and self.verbose == 1 else "") + "\n")
            self.stream.flush()


def verbosity(verbose) -> int:
    """Keras's ``verbose``: "auto" is 1."""
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2, False, True):
        raise ValueError(f'verbose must be "auto", 0, 1 or 2, got {verbose!r}')
    return int(verbose)


class ProgbarLogger(Callback):
    """Keras's ``ProgbarLogger``: ``Epoch e/E`` and the epoch's bar (``fit`` adds one for ``verbose`` 1 or 2)."""

    def __init__(self, verbose: int = 1, stream=None) -> None:
        self.verbose, self.stream, self.params, self.bar = verbose, stream, {}, None

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose == 1:
            (self.stream or sys.stdout).write(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}\n")
        self.bar = Progbar(self.params.get("steps"), self.verbose, self.stream)
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        self.bar.update(self.seen, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose == 2:
            (self.stream or sys.stdout).write(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}\n")
        self.bar.finish(self.seen or self.params.get("steps") or 0, logs)


__all__ = ["Progbar", "ProgbarLogger", "verbosity"]
