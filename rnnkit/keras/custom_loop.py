"""Keras 3's way to customise ``fit`` (keras.io, "Customizing what happens in fit() with PyTorch"): a model subclass
overrides ``train_step(data)`` — it zeroes the gradients, calls itself, computes the loss (``compute_loss`` or its
own), calls ``backward``, hands the gradients to ``optimizer.apply`` and updates its ``metrics`` — and ``fit``
calls it for every batch, with Keras's callbacks, progress display and history; ``test_step`` likewise for
``evaluate`` and the validation data.

``fit`` uses this loop only when ``train_step`` is overridden; otherwise rnnkit's training engine runs (clipping,
exact resume, devices). ``model.metrics`` is Keras's: a ``Mean`` loss tracker named "loss" and the compiled metrics
(one object whose ``result()`` is a dict), each reset at the start of every epoch and of every evaluation.
"""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.keras import losses as L
from rnnkit.keras import metrics as M
from rnnkit.keras.compile_utils import metric_leaves
from rnnkit.keras.data_adapters import ArrayBatches, Batches, is_stream, unpack
from rnnkit.keras.layers.base import as_list
from rnnkit.keras.limits import capped_epochs, capped_steps


class CompiledMetrics:
    """``compile(metrics=...)`` as one Keras metric: ``update_state(y, y_pred, sample_weight)`` updates each,
    ``result()`` is {name: value}."""

    name = "compile_metrics"

    def __init__(self, spec, loss_kind: str | None = None) -> None:
        self.objects = []
        for m in metric_leaves(spec):
            if isinstance(m, M.Metric):
                self.objects.append(m)
            elif isinstance(m, str) and m in M.CONFUSION:  # "auc", "precision", "recall"
                self.objects.append(M.CONFUSION[m](name=m))
            else:  # a name ("accuracy" as the loss implies) or a function
                name, fn, finish = M.get(m, loss_kind)
                metric = M.Metric(name)
                metric.per_sample, metric.finish = fn, finish
                self.objects.append(metric)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        for m in self.objects:
            m.update_state(y_true, y_pred, sample_weight=sample_weight)

    def result(self) -> dict:
        return {m.name: m.result() for m in self.objects}

    def reset_state(self) -> None:
        for m in self.objects:
            m.reset_state()


def overrides(model, method: str) -> bool:
    return getattr(type(model), method) is not getattr(KerasSteps, method)


def flat_logs(logs) -> dict[str, float]:
    """A step's returned logs as numbers: tensors read out, a metric's dict of results merged in."""
    out: dict[str, float] = {}
    for key, value in dict(logs).items():
        if isinstance(value, dict):
            out.update(flat_logs(value))
        else:
            out[key] = float(value.detach() if isinstance(value, torch.Tensor) else value)
    return out


def _step_data(x, y, w):
    """Keras's ``data`` for a step: (x, y), or (x, y, sample_weight) when weights were given; x and y a tensor, or a
    list for several inputs or outputs."""
    data = (x if len(x) > 1 else x[0], y if len(y) > 1 else (y[0] if y else None))
    return data + ((w,) if w is not None else ())


def _array_batches(model, xs, ys, w, batch_size: int, order):
    """The batches of arrays, in ``order``, where the model's weights are."""
    weighted = not torch.all(w == 1)
    xs, ys, (w,) = model._on_device(xs), model._on_device(ys), model._on_device([w])
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        yield _step_data([t[idx] for t in xs], [t[idx] for t in ys], w[idx] if weighted else None)


def _stream_batches(model, batches: Batches):
    """One epoch of a DataLoader's / generator's / PyDataset's batches — x, (x, y) or (x, y, sample_weight) — as
    tensors where the model's weights are."""
    for batch in batches.epoch():
        weighted = unpack(batch)[2] is not None
        xs, ys, w = model._batch(batch)
        yield _step_data(model._on_device(xs), model._on_device(ys), model._on_device([w])[0] if weighted else None)


def validation_due(freq, epoch: int) -> bool:
    """Keras's ``validation_freq`` at 1-based ``epoch``: every n-th epoch, or the epochs listed."""
    return epoch % freq == 0 if isinstance(freq, int) else epoch in freq


def start_callbacks(model, callbacks, kind: str) -> list:
    """``evaluate``'s / ``predict``'s callbacks (``kind``: "test" or "predict"), given the model and begun."""
    cbs = list(callbacks or [])
    for cb in cbs:
        cb.set_model(model)
        getattr(cb, f"on_{kind}_begin")({})
    return cbs


def test_hooks(cbs):
    """``run_steps``' ``on_batch`` calling the test-batch hooks of ``cbs``."""
    def on_batch(when, i, logs):
        for cb in cbs:
            (cb.on_test_batch_begin if when == "begin" else cb.on_test_batch_end)(i, logs)
    return on_batch


def run_steps(model, step, batches, on_batch=None) -> dict[str, float]:
    """Call ``step`` on every batch (metrics reset first); the last batch's logs."""
    for m in model.metrics:
        m.reset_state()
    logs: dict[str, float] = {}
    for i, data in enumerate(batches):
        if on_batch is not None:
            on_batch("begin", i, logs)
        logs = flat_logs(step(data))
        if on_batch is not None:
            on_batch("end", i, logs)
            if getattr(model, "stop_training", False) and step == model.train_step:
                break
    return logs


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
        sample_weight, initial_epoch, seed: int, steps_per_epoch=None, validation_steps=None, validation_freq=1):
    """``fit`` with the model's own ``train_step``: on arrays, or on a DataLoader / generator / PyDataset of batches
    (``steps_per_epoch`` of them per epoch, or all)."""
    from rnnkit.keras.callbacks import History, ProgbarLogger
    from rnnkit.keras.progbar import verbosity

    bs = batch_size or 32
    epochs, steps_per_epoch = capped_epochs(epochs), capped_steps(steps_per_epoch)
    stream = model._fit_stream(x, y, sample_weight, validation_split, steps_per_epoch, shuffle, seed)
    if stream is not None:
        steps = len(stream)
    else:
        xs, ys, w = model._dataset(x, y, sample_weight)
        model._ensure_built(xs)
        steps = None
    val = val_stream = None
    if is_stream(validation_data):
        val_stream = Batches(validation_data, validation_steps, "validation_data")
    elif validation_data is not None:
        val = model._dataset(*validation_data[:3])
    elif validation_split:
        (xs, ys, w), val = model._split_off(xs, ys, w, validation_split)
    passes = None
    if stream is None and steps_per_epoch is not None:  # Keras's iterator over the arrays (data_adapters)
        passes = Batches(ArrayBatches(xs, ys, w, bs, bool(shuffle), seed), steps_per_epoch)
        steps = steps_per_epoch
    if steps is None:
        n = xs[0].shape[0]
        steps = -(-n // bs)
    history, shown = History(), verbosity(verbose)
    own = [ProgbarLogger(shown)] if shown and not any(isinstance(c, ProgbarLogger) for c in callbacks or []) else []
    cbs = [*(callbacks or []), *own, history]
    model.stop_training = False
    for cb in cbs:
        cb.set_model(model)
        if hasattr(cb, "set_params"):
            cb.set_params({"verbose": shown, "epochs": epochs, "steps": steps})
        cb.on_train_begin({})
    initial_epoch = model.__dict__.pop("_initial_epoch", initial_epoch)  # BackupAndRestore found a backup

    def on_batch(when, i, logs):
        for cb in cbs:
            (cb.on_train_batch_begin if when == "begin" else cb.on_train_batch_end)(i, logs)
    for epoch in range(initial_epoch, epochs):
        for cb in cbs:
            cb.on_epoch_begin(epoch, {})
        model.train()
        if stream is not None:
            batches = _stream_batches(model, stream)
        elif passes is not None:
            batches = (_step_data(model._on_device(bx), model._on_device(by),
                                  model._on_device([bw])[0] if sample_weight is not None else None)
                       for bx, by, bw in passes.epoch())
        else:  # each epoch's order a function of (seed, epoch): a run resumed at epoch e shuffles as one never stopped
            order = torch.from_numpy(np.random.default_rng([seed, epoch]).permutation(n)) if shuffle else torch.arange(n)
            batches = _array_batches(model, xs, ys, w, bs, order)
        logs = run_steps(model, model.train_step, batches, on_batch)
        if (val is not None or val_stream is not None) and not model.stop_training and validation_due(
                validation_freq, epoch + 1):
            model.eval()
            for cb in cbs:
                cb.on_test_begin({})
            with torch.no_grad():
                val_batches = _stream_batches(model, val_stream) if val_stream is not None else \
                    _array_batches(model, *val, bs, torch.arange(val[0][0].shape[0]))
                val_logs = run_steps(model, model.test_step, val_batches, test_hooks(cbs))
            for cb in cbs:
                cb.on_test_end(dict(val_logs))
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        for cb in cbs:
            cb.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    for cb in cbs:
        cb.on_train_end({})
    model.optimizer.fit_ended()
    model.history = history
    return history


@torch.no_grad()
def evaluate(model, x, y, batch_size, sample_weight, return_dict: bool, steps=None, cbs=()):
    """``evaluate`` with the model's own ``test_step`` (arrays, or a stream of batches); ``cbs`` begun already."""
    if is_stream(x):
        stream = Batches(x, steps, "x")
        model._ensure_built(model._batch(stream.first())[0])
        batches = _stream_batches(model, stream)
    else:
        xs, ys, w = model._dataset(x, y, sample_weight)
        model._ensure_built(xs)
        n = xs[0].shape[0] if steps is None else min(xs[0].shape[0], steps * (batch_size or 32))
        batches = _array_batches(model, xs, ys, w, batch_size or 32, torch.arange(n))
    model.eval()
    logs = run_steps(model, model.test_step, batches, test_hooks(cbs))
    for cb in cbs:
        cb.on_test_end(dict(logs))
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def default_metrics(model) -> list:
    """Keras's ``model.metrics`` of a compiled model: the loss tracker, then the compiled metrics."""
    if not getattr(model, "compiled", False):
        return []
    if "_metric_trackers" not in model.__dict__:
        loss = model.compile_args.get("loss")
        kind = L.loss_kind(loss) if not isinstance(loss, (list, tuple, dict)) else None
        model.__dict__["_metric_trackers"] = [M.Mean(name="loss")] + (
            [CompiledMetrics(model.compile_args["metrics"], kind)] if model.compile_args.get("metrics") else [])
    return model.__dict__["_metric_trackers"]


def compute_loss(model, x=None, y=None, y_pred=None, sample_weight=None, training=True) -> torch.Tensor:
    """Keras's ``compute_loss``: the compiled losses (with their weights) of ``y_pred`` against ``y``, plus the
    model's regularization losses."""
    preds = as_list(y_pred)
    ys = as_list(y) if y is not None else []
    names = model.output_names if len(preds) == len(model.output_names) else [f"output_{i}" for i in
                                                                              range(len(preds))]
    model.spec.resolve(names)
    n = preds[0].shape[0]
    w = torch.ones(n, device=preds[0].device) if sample_weight is None else torch.as_tensor(sample_weight).float()
    return model.spec.compute(ys, preds, w, model.losses, metrics=False)["loss"]


class KerasSteps:
    """Keras's hooks for a customised ``fit`` — ``metrics``, ``compute_loss``, ``reset_metrics``, and the default
    ``train_step``/``test_step`` a subclass overrides — mixed into every rnnkit.keras model."""

    @property
    def metrics(self) -> list:
        """Keras's ``model.metrics``: the loss tracker ("loss") and the compiled metrics; a subclass may list its own."""
        return default_metrics(self)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True) -> torch.Tensor:
        return compute_loss(self, x, y, y_pred, sample_weight, training)

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def train_step(self, data):
        """Keras's default step (a subclass overrides it to customise ``fit``): forward, the compiled loss, backward,
        the optimizer's update, the metrics."""
        x, y, w = (tuple(data) + (None, None))[:3]
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(x, y, y_pred, w)
        loss.backward()
        weights = list(self.trainable_weights)
        with torch.no_grad():
            self.optimizer.apply([v.grad for v in weights], weights)
        return self._update_metrics(loss, y, y_pred, w)

    def test_step(self, data):
        x, y, w = (tuple(data) + (None, None))[:3]
        y_pred = self(x, training=False)
        return self._update_metrics(self.compute_loss(x, y, y_pred, w), y, y_pred, w)

    def _update_metrics(self, loss, y, y_pred, w) -> dict:
        for m in self.metrics:
            if m.name == "loss":
                m.update_state(loss)
            else:
                m.update_state(y, y_pred, sample_weight=w)
        return {m.name: m.result() for m in self.metrics}
