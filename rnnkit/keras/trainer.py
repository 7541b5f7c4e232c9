"""Keras's ``compile`` / ``fit`` / ``evaluate`` / ``predict`` for rnnkit.keras models (a mixin of ``Model``, as
Keras's ``Model`` inherits its ``Trainer``).

``fit`` runs on rnnkit's training engine (``rnnkit.train.Trainer``): the compiled model becomes a module whose
``training_step`` computes Keras's loss and metrics; epochs, batches, shuffling, validation and Keras callbacks map onto
the trainer. ``validation_split`` takes the *last* fraction of the data, before shuffling, as Keras does.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import TensorDataset

from rnnkit.keras import losses as L
from rnnkit.keras import optimizers
from rnnkit.keras.callbacks import History, KerasCallbacks
from rnnkit.keras.layers.base import weights_device


def _to_tensor(a, name="x") -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        t = a
    else:
        arr = np.asarray(a)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name}: expected numeric data, got dtype {arr.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_floating_point():
        t = t.float()
    elif t.dtype != torch.bool:
        t = t.long()
    return t


def _as_list(v):
    return list(v) if isinstance(v, (list, tuple)) else [v]


class Trainer:
    """The training half of a Keras model; the model supplies ``_run(x, training)``, ``_build_on(xs)``, ``layers``,
    ``losses`` and ``apply_constraints``."""

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs) -> None:
        if loss is None:
            raise ValueError("compile() needs a loss")
        self.optimizer = optimizers.get(optimizer)
        self.loss_names = _as_list(loss)
        self.loss_fns = [L.get_loss(x) for x in self.loss_names]
        self.metric_fns = [L.get_metric(m, L.loss_kind(self.loss_names[0])) for m in (metrics or [])]
        self.compiled = True
        self._trainer_state = None  # a new optimizer, as Keras's compile makes (e.g. after unfreezing layers)

    def _split_batch(self, batch):
        """(x, targets, sample weights): the dataset's last tensor holds the weights (``_dataset``)."""
        n_in = len(self.graph_inputs) if hasattr(self, "graph_inputs") else 1
        xs, ys = list(batch[:n_in]), list(batch[n_in:-1])
        return (xs if n_in > 1 else xs[0]), ys, batch[-1]

    @staticmethod
    def _loss(fn, y, p, w) -> torch.Tensor:
        if isinstance(fn, L.Loss):
            return fn(y, p, sample_weight=w)
        value = fn(y, p)  # Keras's function forms and a user's fn(y_true, y_pred): per-sample losses, reduced here
        return L.reduce(value, w) if torch.as_tensor(value).dim() > 0 else value

    def _loss_and_metrics(self, batch, training):
        x, ys, w = self._split_batch(batch)
        preds = _as_list(self._run(x, training))
        if len(ys) != len(preds):
            raise ValueError(f"the model has {len(preds)} output(s) but {len(ys)} target array(s) were given")
        fns = self.loss_fns if len(self.loss_fns) == len(preds) else self.loss_fns * len(preds)
        loss = sum(self._loss(fn, y, p, w) for fn, y, p in zip(fns, ys, preds))
        extra = self.losses
        if extra:  # regularizers and add_loss, as Keras's compute_loss
            loss = loss + torch.stack([torch.as_tensor(v, dtype=loss.dtype).sum() for v in extra]).sum()
        out = {"loss": loss}
        with torch.no_grad():
            for name, fn in self.metric_fns:
                out[name] = float(torch.as_tensor(fn(ys[0], preds[0].detach())).float().mean())  # unweighted, as Keras
        return out

    def training_step(self, batch):
        return self._loss_and_metrics(batch, training=True)

    @torch.no_grad()
    def validation_step(self, batch):
        out = self._loss_and_metrics(batch, training=False)
        out["loss"] = float(out["loss"])
        return out

    def _dataset(self, x, y, sample_weight=None, class_weight=None):
        """Tensors of the inputs, the targets and the sample weights (ones where none are given; ``class_weight``
        {class: weight} gives each sample its class's weight, read from a sparse or one-hot first target)."""
        xs = [_to_tensor(a, "x") for a in _as_list(x)]
        ys = [_to_tensor(a, "y") for a in _as_list(y)] if y is not None else []
        n = xs[0].shape[0]
        for t in xs + ys:
            if t.shape[0] != n:
                raise ValueError(f"all inputs and targets need the same number of samples; got {[a.shape[0] for a in xs + ys]}")
        if sample_weight is not None and class_weight is not None:
            raise ValueError("give sample_weight or class_weight, not both")
        if class_weight is not None:
            if not ys:
                raise ValueError("class_weight needs targets")
            y0 = ys[0]
            labels = y0.argmax(-1) if y0.dim() > 1 and y0.shape[-1] > 1 else y0.reshape(n, -1)[:, 0].round().long()
            missing = sorted({int(c) for c in labels.unique()} - {int(c) for c in class_weight})
            if missing:
                raise ValueError(f"class_weight has no weight for class(es) {missing} found in the targets")
            sample_weight = torch.tensor([float(class_weight[int(c)]) for c in labels])
        w = torch.ones(n) if sample_weight is None else _to_tensor(sample_weight, "sample_weight").float()
        if w.shape[0] != n:
            raise ValueError(f"sample_weight has {w.shape[0]} weights for {n} samples")
        return xs, ys, w

    @staticmethod
    def _flat(xs, ys, w) -> list[torch.Tensor]:
        return [*xs, *ys, w]

    def _ensure_built(self, xs):
        if "graph_inputs" not in self.__dict__:
            self._build_on(xs)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0, seed: int = 0):
        if not self.compiled:
            raise RuntimeError("call compile() before fit()")
        from rnnkit.train import Config
        from rnnkit.train import Trainer as Engine

        xs, ys, w = self._dataset(x, y, sample_weight, class_weight)
        self._ensure_built(xs)
        if validation_data is not None:  # (x, y) or (x, y, sample_weight), as Keras takes it
            val = TensorDataset(*self._flat(*self._dataset(*validation_data[:3])))
        elif validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
            cut = int(xs[0].shape[0] * (1 - validation_split))
            val = TensorDataset(*[t[cut:] for t in self._flat(xs, ys, w)])
            xs, ys, w = [t[:cut] for t in xs], [t[:cut] for t in ys], w[:cut]
        else:
            val = None
        train = TensorDataset(*self._flat(xs, ys, w))
        cfg = Config()
        cfg.data.batch_size, cfg.data.shuffle = batch_size or 32, bool(shuffle)
        cfg.train.epochs, cfg.train.seed = epochs, seed
        cfg.train.progress = verbose not in (0, False)
        cfg.train.checkpoint_every = 0  # device: auto — the GPU when torch sees one, as Keras's torch backend
        history = History()
        adapter = KerasCallbacks(self, [*(callbacks or []), history])  # History last, as Keras: it sees their logs
        trainer = Engine(self, train, val, config=cfg, callbacks=[adapter], make_optimizer=self.optimizer.build)
        if not cfg.train.progress:
            trainer.log = lambda message: None
        trainer.epoch = initial_epoch
        if getattr(self, "_trainer_state", None) is not None:  # keep the optimizer state across fit() calls
            trainer.optimizer.load_state_dict(self._trainer_state)
        self.optimizer.bind(trainer.optimizer)
        if any(layer._constraints for top in self.layers for layer in top._all_layers()):
            trainer.optimizer.register_step_post_hook(lambda *_: self.apply_constraints())
        trainer.fit()
        self._trainer_state = trainer.optimizer.state_dict()
        self.history = history
        return history

    @torch.no_grad()
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, return_dict=False):
        if not self.compiled:
            raise RuntimeError("call compile() before evaluate()")
        xs, ys, w = self._dataset(x, y, sample_weight)
        self._ensure_built(xs)
        self.eval()
        n, bs = xs[0].shape[0], batch_size or 32
        totals: dict[str, float] = {}
        dev = weights_device(self)
        for s in range(0, n, bs):
            out = self.validation_step([t[s:s + bs].to(dev) if dev is not None else t[s:s + bs]
                                        for t in self._flat(xs, ys, w)])
            m = min(bs, n - s)
            for k, v in out.items():
                totals[k] = totals.get(k, 0.0) + float(v) * m
        result = {k: v / n for k, v in totals.items()}
        if return_dict:
            return result
        return result["loss"] if len(result) == 1 else list(result.values())

    @torch.no_grad()
    def predict(self, x, batch_size=None, verbose="auto"):
        xs, _, _ = self._dataset(x, None)
        self._ensure_built(xs)
        self.eval()
        n, bs = xs[0].shape[0], batch_size or 32
        chunks = []
        dev = weights_device(self)
        for s in range(0, n, bs):
            batch = [t[s:s + bs].to(dev) if dev is not None else t[s:s + bs] for t in xs]
            chunks.append(_as_list(self._run(batch if len(batch) > 1 else batch[0], False)))
        outs = [torch.cat([c[i] for c in chunks]).cpu().numpy() for i in range(len(chunks[0]))]
        return outs if len(outs) > 1 else outs[0]
