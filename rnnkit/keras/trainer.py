"""Keras's ``compile`` / ``fit`` / ``evaluate`` / ``predict`` for rnnkit.keras models (a mixin of ``Model``, as
Keras's ``Model`` inherits its ``Trainer``).

``fit`` runs on rnnkit's training engine (``rnnkit.train.Trainer``): the compiled model becomes a module whose
``training_step`` computes Keras's loss and metrics; epochs, batches, shuffling, validation and Keras callbacks map onto
the trainer. ``validation_split`` takes the *last* fraction of the data, before shuffling, as Keras does. Besides
arrays, ``fit``/``evaluate``/``predict`` read DataLoaders, PyDatasets and generators (``data_adapters``);
``train_on_batch`` steps the same optimizer one batch at a time.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import TensorDataset

from rnnkit.keras import custom_loop, optimizers
from rnnkit.keras.callbacks import History, KerasCallbacks
from rnnkit.keras.compile_utils import CompileSpec
from rnnkit.keras.data_adapters import ArrayBatches, BatchDataset, Batches
from rnnkit.keras.layers.base import as_list
from rnnkit.keras.limits import capped_epochs, capped_steps
from rnnkit.keras.progbar import Progbar, ProgbarLogger, verbosity
from rnnkit.keras.trainer_data import KerasData


class EveryNthEpoch:
    """Validation data seen only at Keras's ``validation_freq`` epochs (every n-th, or the 1-based epochs listed):
    empty to the engine at the others, which then log no ``val_`` values."""

    def __init__(self, data, freq) -> None:
        self.data, self.freq, self.engine = data, freq, None
        self.eval_batch_size = data.eval_batch_size

    def _due(self) -> bool:
        return custom_loop.validation_due(self.freq, self.engine.epoch + 1 if self.engine is not None else 1)

    def __len__(self) -> int:
        return len(self.data) if self._due() else 0

    def __getitem__(self, i):
        return self.data[i]


class Trainer(KerasData, custom_loop.KerasSteps):
    """The training half of a Keras model; the model supplies ``_run(x, training)``, ``_build_on(xs)``, ``layers``,
    ``losses`` and ``apply_constraints``."""

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True) -> None:
        """Keras's ``compile`` (losses, weights and metrics per output: ``compile_utils``). ``metrics`` are averaged
        over samples unweighted, ``weighted_metrics`` weighted by the ``sample_weight``/``class_weight`` given to
        ``fit``/``evaluate``. ``run_eagerly``, ``jit_compile``, ``steps_per_execution`` and ``auto_scale_loss`` are
        accepted for compatibility (rnnkit always runs eagerly, one step at a time)."""
        self.spec = CompileSpec(loss, loss_weights, metrics, weighted_metrics)
        self.optimizer = optimizers.get(optimizer)
        self.compiled = True
        self.__dict__.pop("_metric_trackers", None)
        self.compile_args = {"optimizer": self.optimizer, "loss": loss, "metrics": metrics,
                             "weighted_metrics": weighted_metrics, "loss_weights": loss_weights}  # for files
        self._trainer_state = None  # a new optimizer, as Keras's compile makes (e.g. after unfreezing layers)

    @property
    def output_names(self) -> list[str]:
        """Keras's output names: the layers that make the outputs (``output_<i>`` for a model without a graph)."""
        outs = self.__dict__.get("graph_outputs")
        if not outs:
            return ["output_0"]
        return [t.name if t.node is None else t.node.layer.name for t in outs]

    def _split_batch(self, batch):
        """(x, targets, sample weights): the dataset's last tensor holds the weights (``_dataset``)."""
        n_in = len(self.graph_inputs) if hasattr(self, "graph_inputs") else 1
        xs, ys = list(batch[:n_in]), list(batch[n_in:-1])
        return (xs if n_in > 1 else xs[0]), ys, batch[-1]

    @staticmethod
    def batch_samples(batch) -> int:
        """The engine's weight for a batch: its number of samples (the weights tensor's length), as Keras weighs a
        stream's batches by their size (a stream's item is a whole batch)."""
        return len(batch[-1])

    def _loss_and_metrics(self, batch, training):
        x, ys, w = self._split_batch(batch)
        preds = as_list(self._run(x, training))
        names = self.output_names if len(preds) == len(self.output_names) else [f"output_{i}" for i in
                                                                                 range(len(preds))]
        self.spec.resolve(names)
        return self.spec.compute(ys, preds, w, self.losses)

    def training_step(self, batch):
        return self._loss_and_metrics(batch, training=True)

    @torch.no_grad()
    def validation_step(self, batch):
        out = self._loss_and_metrics(batch, training=False)
        out["loss"] = float(out["loss"])
        return out

    def _weighted_logs(self, logs: dict, prefix: str = "", samples: int | None = None) -> dict:
        return self.spec.finish(logs, prefix, samples)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1,
            seed: int = 0):
        """Keras's ``fit`` on arrays, or on a DataLoader / generator of batches (``data_adapters``)."""
        if not self.compiled:
            raise RuntimeError("call compile() before fit()")
        if not (isinstance(validation_freq, int) and validation_freq >= 1) and not (
                isinstance(validation_freq, (list, tuple, set, range)) and all(isinstance(e, int) for e in
                                                                              validation_freq)):
            raise ValueError(f"validation_freq must be a positive integer or a collection of epochs, got "
                             f"{validation_freq!r}")
        if custom_loop.overrides(self, "train_step"):  # the model's own step (Keras's customised fit)
            if class_weight is not None:
                raise ValueError("with a custom train_step, fit takes no class_weight (weigh the samples instead)")
            return custom_loop.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
                                   validation_data, shuffle, sample_weight, initial_epoch, seed, steps_per_epoch,
                                   validation_steps, validation_freq)
        from rnnkit.train import Config
        from rnnkit.train import Trainer as Engine

        cfg = Config()
        epochs, steps_per_epoch = capped_epochs(epochs), capped_steps(steps_per_epoch)
        batches = self._fit_stream(x, y, sample_weight, validation_split, steps_per_epoch, shuffle, seed)
        if batches is not None:
            train = BatchDataset(batches, lambda b: self._flat(*self._batch(b, class_weight)))
            cfg.data.batch_size, cfg.data.shuffle = 1, False
            val = None if validation_data is None else self._validation(validation_data, validation_steps)
        else:
            xs, ys, w = self._dataset(x, y, sample_weight, class_weight)
            if any(isinstance(t, np.ndarray) for t in xs):
                raise ValueError("fit: this model's string Input must be read by a TextVectorization or StringLookup "
                                 "first (its texts are vectorized once, then training runs on tensors)")
            self._ensure_built(xs)
            if validation_data is not None:  # (x, y) or (x, y, sample_weight), as Keras takes it
                val = self._validation(validation_data, validation_steps)
            elif validation_split:
                (xs, ys, w), held_out = self._split_off(xs, ys, w, validation_split)
                val = TensorDataset(*self._flat(*held_out))
            else:
                val = None
            if steps_per_epoch is None:
                train = TensorDataset(*self._flat(xs, ys, w))
                cfg.data.batch_size, cfg.data.shuffle = batch_size or 32, bool(shuffle)
            else:  # Keras's iterator over the arrays: an epoch of steps_per_epoch batches, the next going on from it
                passes = Batches(ArrayBatches(xs, ys, w, batch_size or 32, bool(shuffle), seed), steps_per_epoch)
                train = BatchDataset(passes, lambda b: self._flat(*b))
                cfg.data.batch_size, cfg.data.shuffle = 1, False
        if val is not None:
            val.eval_batch_size = validation_batch_size or batch_size or 32
            if validation_freq != 1:
                val = EveryNthEpoch(val, validation_freq)
        cfg.train.epochs, cfg.train.seed = epochs, seed
        cfg.train.progress = False  # Keras's own display instead (ProgbarLogger)
        cfg.train.checkpoint_every = 0  # device: auto — the GPU when torch sees one, as Keras's torch backend
        history, shown = History(), verbosity(verbose)
        own = [ProgbarLogger(shown)] if shown and not any(isinstance(c, ProgbarLogger) for c in callbacks or []) \
            else []
        # History last, as Keras: it sees the others' logs
        adapter = KerasCallbacks(self, [*(callbacks or []), *own, history], shown)
        trainer = Engine(self, train, val, config=cfg, callbacks=[adapter], make_optimizer=self.optimizer.build)
        trainer.log = lambda message: None
        trainer.epoch = initial_epoch
        if isinstance(val, EveryNthEpoch):
            val.engine = trainer
        self._torch_optimizer(trainer.optimizer)
        trainer.fit()
        self._trainer_state = trainer.optimizer.state_dict()
        self.optimizer.fit_ended()
        self.history = history
        return history

    def _torch_optimizer(self, opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
        """``opt`` continuing where the last ``fit``/``train_on_batch`` left the optimizer (its state), driven by
        the Keras optimizer, projecting constrained weights after each step."""
        if getattr(self, "_trainer_state", None) is not None:  # keep the optimizer state across fit() calls
            opt.load_state_dict(self._trainer_state)
        self.optimizer.install_restored(opt)  # or the state a file restored (optimizer_state.restore)
        self.optimizer.bind(opt)
        if any(layer._constraints for top in self.layers for layer in top._all_layers()):
            opt.register_step_post_hook(lambda *_: self.apply_constraints())
        return opt

    @torch.no_grad()
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        if not self.compiled:
            raise RuntimeError("call compile() before evaluate()")
        steps = capped_steps(steps)
        cbs = custom_loop.start_callbacks(self, callbacks, "test")
        if custom_loop.overrides(self, "test_step"):
            return custom_loop.evaluate(self, x, y, batch_size, sample_weight, return_dict, steps, cbs)
        totals: dict[str, float] = {}
        n = step = 0
        bar = Progbar(self._steps(x, batch_size, steps), verbosity(verbose))
        for xs, ys, w in self._chunks(x, y, sample_weight, batch_size, steps, "evaluate"):
            self._ensure_built(xs)
            self.eval()
            for cb in cbs:
                cb.on_test_batch_begin(step, {})
            out = self.validation_step(self._on_device(self._flat(xs, ys, w)))
            m = xs[0].shape[0]
            for k, v in out.items():
                totals[k] = totals.get(k, 0.0) + float(v) * m
            n, step = n + m, step + 1
            logs = self._weighted_logs({k: v / n for k, v in totals.items()}, samples=n)
            for cb in cbs:
                cb.on_test_batch_end(step - 1, logs)
            bar.update(step, logs)
        result = self._weighted_logs({k: v / n for k, v in totals.items()}, samples=n)
        for cb in cbs:
            cb.on_test_end(result)
        bar.finish(step, result)
        if return_dict:
            return result
        return result["loss"] if len(result) == 1 else list(result.values())

    @torch.no_grad()
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        chunks = []
        steps = capped_steps(steps)
        cbs = custom_loop.start_callbacks(self, callbacks, "predict")
        bar = Progbar(self._steps(x, batch_size, steps), verbosity(verbose))
        for xs, _, _ in self._chunks(x, None, None, batch_size, steps, "predict"):
            self._ensure_built(xs)
            self.eval()
            for cb in cbs:
                cb.on_predict_batch_begin(len(chunks), {})
            batch = self._on_device(xs)
            chunks.append(as_list(self._run(batch if len(batch) > 1 else batch[0], False)))
            for cb in cbs:
                cb.on_predict_batch_end(len(chunks) - 1, {"outputs": chunks[-1] if len(chunks[-1]) > 1
                                                          else chunks[-1][0]})
            bar.update(len(chunks))
        for cb in cbs:
            cb.on_predict_end({})
        bar.finish(len(chunks))
        outs = [torch.cat([c[i] for c in chunks]).cpu().numpy() for i in range(len(chunks[0]))]
        nesting = self.__dict__.get("output_nesting")
        if nesting is not None:  # a model whose outputs nest (stacked cells' states): Keras's structure
            from rnnkit.keras.model import _nest

            return _nest(outs, nesting)
        return outs if len(outs) > 1 else outs[0]

    # --- one batch at a time (Keras's custom loops) ------------------------------------------------------------
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on this batch (the optimizer's state carried between calls and into ``fit``); the
        batch's loss and metrics, before the step, as Keras returns them."""
        if not self.compiled:
            raise RuntimeError("call compile() before train_on_batch()")
        xs, ys, w = self._dataset(x, y, sample_weight, class_weight)
        self._ensure_built(xs)
        opt = getattr(self, "_batch_optimizer", None)
        if opt is None or opt is not self.optimizer._torch:
            opt = self._batch_optimizer = self._torch_optimizer(self.optimizer.build(self.parameters()))
        self.train()
        opt.zero_grad(set_to_none=True)
        out = self.training_step(self._on_device(self._flat(xs, ys, w)))
        out["loss"].backward()
        grads = [p.grad for p in self.parameters() if p.grad is not None]
        if torch.isfinite(out["loss"]) and all(bool(torch.isfinite(g).all()) for g in grads):
            opt.step()  # as fit: a non-finite loss or gradient leaves the weights as they were
        self._trainer_state = opt.state_dict()
        return self._batch_logs(out, return_dict, len(w))

    @torch.no_grad()
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        if not self.compiled:
            raise RuntimeError("call compile() before test_on_batch()")
        xs, ys, w = self._dataset(x, y, sample_weight)
        self._ensure_built(xs)
        self.eval()
        return self._batch_logs(self.validation_step(self._on_device(self._flat(xs, ys, w))), return_dict, len(w))

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=len(as_list(x)[0]))

    def _batch_logs(self, out: dict, return_dict: bool, samples: int):
        logs = self._weighted_logs({k: float(v.detach() if isinstance(v, torch.Tensor) else v)
                                    for k, v in out.items()}, samples=samples)
        if return_dict:
            return logs
        return logs["loss"] if len(logs) == 1 else list(logs.values())
