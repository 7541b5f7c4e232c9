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
from rnnkit.keras.io_utils import is_interactive_logging_enabled, print_msg

WIDTH = 20


def _value(v) -> str:
    if np.size(v) != 1:  # a per-class metric (F1Score(average=None)): its values, as Keras prints them
        return np.array2string(np.asarray(v, dtype=np.float64), precision=4, separator=" ")
    v = float(np.asarray(v).reshape(-1)[0])  # (a one-element array: its value)
    return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


class Progbar:
    """One bar of ``target`` steps: ``update(step, logs)``, ``finish(logs)`` — and Keras's ``utils.Progbar`` for a
    custom loop: ``update(current, values=[(name, value), ...], finalize=None)`` / ``add(n, values)``, each value
    averaged over the steps since the start (weighted by how many each update covers) unless named in
    ``stateful_metrics`` (shown as given) — a final update shows the values as given, as Keras's does."""

    def __init__(self, target: int | None, verbose: int = 1, stream=None, width: int = WIDTH, interval: float = 0.05,
                 stateful_metrics=None, stateless_metrics=None, unit_name: str = "step") -> None:
        if not isinstance(verbose, int) or isinstance(stream, (int, float)):  # Keras's order: (target, width, verbose)
            raise TypeError("Progbar(target, verbose=..., ...): pass Keras's other arguments by name")
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Only one of `stateful_metrics` or `stateless_metrics` can be provided.")
        self.target, self.verbose, self.stream = target, verbose, stream  # None: standard output or the log
        self.start, self.last_draw = time.perf_counter(), 0.0
        out = stream or sys.stdout
        self.dynamic = (out.isatty() if hasattr(out, "isatty") else False) and (
            stream is not None or is_interactive_logging_enabled())
        self.stateful = None if stateless_metrics is not None else set(stateful_metrics or ())
        self.stateless = set(stateless_metrics or ())
        self._values: dict[str, list] = {}
        self._seen = 0

    def _line(self, step: int, logs: dict) -> str:
        """The bar's text; fit's logs sorted by name (as Keras shows them), a custom loop's values as given."""
        elapsed = time.perf_counter() - self.start
        per_step = elapsed / max(step, 1)
        timing = f"{elapsed:.0f}s {per_step * 1000:.0f}ms/step" if per_step < 1 else f"{elapsed:.0f}s {per_step:.0f}s/step"
        items = logs.items() if self._values else sorted(logs.items())
        shown = " - ".join(f"{k}: {_value(v)}" for k, v in items if not k.startswith("_"))
        if self.verbose == 2:
            return f"{step}/{self.target or step} - {timing.replace(' ', ' - ')}" + (f" - {shown}" if shown else "")
        done = WIDTH if not self.target else min(WIDTH, WIDTH * step // self.target)
        bar = "━" * done + "─" * (WIDTH - done)
        return f"{step}/{self.target or '?'} {bar} {timing}" + (f" - {shown}" if shown else "")

    def update(self, step: int, values=None, finalize=None) -> None:
        """Redraw at ``step`` with ``values``: the logs to show (a dict), or Keras's (name, value) pairs."""
        if isinstance(values, (list, tuple)) or finalize is not None:
            return self._keras_update(step, values or [], finalize)
        now = time.perf_counter()
        if self.verbose == 1 and self.dynamic and now - self.last_draw > 0.05:
            self._write("\r" + self._line(step, values or {}) + "\x1b[K")
            self.last_draw = now

    def _keras_update(self, current: int, values, finalize) -> None:
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, v in values:
            v = float(v)
            stateless = name not in self.stateful if self.stateful is not None else name in self.stateless
            if stateless and not finalize:
                span = max(current - self._seen, 1)
                total = self._values.setdefault(name, [0.0, 0])
                total[0], total[1] = total[0] + v * span, total[1] + span
            else:
                self._values[name] = [v, 1]
        self._seen = current
        logs = {name: total / n for name, (total, n) in self._values.items()}
        if finalize:
            self.finish(current, logs)
        else:
            self.update(current, logs)

    def add(self, n: int, values=None) -> None:
        """Keras's ``add``: ``n`` more steps done."""
        self._keras_update(self._seen + n, values or [], None)

    def finish(self, step: int, logs: dict | None = None) -> None:
        if self.verbose in (1, 2):
            self._write(("\r" if self.dynamic and self.verbose == 1 else "") + self._line(step, logs or {})
                        + ("\x1b[K" if self.dynamic and self.verbose == 1 else "") + "\n")

    def _write(self, text: str) -> None:
        """To the stream given, else to standard output or the log (``io_utils``)."""
        if self.stream is None:
            print_msg(text.rstrip("\n") if not is_interactive_logging_enabled() else text, line_break=False)
        else:
            self.stream.write(text)
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
            self._epoch_line(epoch)
        self.bar = Progbar(self.params.get("steps"), self.verbose, self.stream)
        self.seen = 0

    def _epoch_line(self, epoch: int) -> None:
        text = f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}"
        if self.stream is None:
            print_msg(text)
        else:
            self.stream.write(text + "\n")

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        self.bar.update(self.seen, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose == 2:
            self._epoch_line(epoch)
        self.bar.finish(self.seen or self.params.get("steps") or 0, logs)


__all__ = ["Progbar", "ProgbarLogger", "verbosity"]
