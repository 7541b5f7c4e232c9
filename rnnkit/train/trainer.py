"""The training loop, made safe and observable without hiding it.

For every batch it does what the tutorial does — zero_grad, forward, loss, backward, step — and around that:

* measures the gradient norm before clipping (logged), clips by global norm and/or by value, counts how often clipping fired;
* refuses to step on a non-finite loss or gradient (the weights and optimizer state stay untouched; the step is reported),
  and stops with ``TrainingDiverged`` after ``max_nonfinite`` in a row — or when the loss stays far above where it
  started (``rnnkit.train.guards``); refuses validation data holding NaN or inf, naming the rows;
* truncated BPTT when ``train.tbptt = k``: each batch is cut into chunks of k steps, the recurrent state is carried from
  chunk to chunk and detached between them, one optimizer step per chunk;
* checkpoints every ``checkpoint_every`` steps and every epoch (model, optimizer, scheduler, RNG, data position, callbacks),
  keeping ``last`` and ``best``; ``fit(resume=True)`` continues so that the final weights are bitwise those of an
  uninterrupted run;
* stops after ``max_steps`` batches (``trainer.step`` counts batches) or after ``max_minutes`` of training time
  (evaluation and checkpoints excluded); with a time budget the cosine schedule anneals over the time (or over the
  epochs/steps, if they end first) — the run then ends where the machine's speed puts it, so its step count (unlike
  everything else) is not reproducible;
* mixed precision with ``train.precision = "bf16"``: the forward and loss under ``torch.autocast`` in bfloat16 (matmuls
  and torch's fused LSTM; rnnkit's own recurrences stay float32), float32 weights, gradients and optimizer state — about
  1.3–1.8× the speed on CPUs with AVX-512 BF16 and on GPUs, slower on CPUs without it; validation runs in float32;
* trains where ``train.device`` says (``auto``: the GPU when torch sees one): the model and each batch move there, the
  GPU's random generator is checkpointed with the CPU's; under torchrun every rank takes its local GPU (or the CPU);
* progress bars (loss, throughput in the model's unit, ETA or the time budget), ``metrics.csv`` and optional
  TensorBoard; only rank 0 writes under torchrun.

The model owns ``training_step(batch) -> {"loss": tensor, ...}`` and ``validation_step(batch) -> {name: float}`` (and, for
TBPTT, ``split_for_tbptt`` / ``tbptt_step``); the trainer owns the loop, optimizer and scheduler. A batch weighs in
the epoch's means by its items, or by the model's ``batch_samples(batch)`` (Keras's streams: an item is a batch).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import default_collate
from tqdm.auto import tqdm

from rnnkit.train.callbacks import Callback, CSVLogger, EarlyStopping, TensorBoardLogger
from rnnkit.train.checkpoint import save_model
from rnnkit.train.config import Config
from rnnkit.train.distributed import DistContext
from rnnkit.train.guards import DivergenceGuard, TrainingDiverged, check_finite_data
from rnnkit.train.optim import build_optimizer, build_scheduler
from rnnkit.train.progress import TrainingBar
from rnnkit.train.resume import ResumableRun
from rnnkit.train.sampler import ResumableBatchSampler, fetch_batch
from rnnkit.train.steps import PRECISIONS, Steps, detach


class Trainer(ResumableRun):
    clock = staticmethod(time.perf_counter)  # what training time is measured with

    def __init__(self, model: nn.Module, train_data, val_data=None, *, config: Config | None = None,
                 out_dir: str | Path | None = None, callbacks: list[Callback] | tuple = (), collate_fn=None,
                 model_config: dict[str, Any] | None = None, run_info: dict[str, Any] | None = None,
                 resume_check: dict[str, Any] | None = None, make_optimizer=None) -> None:
        """``run_info`` goes into the run's ``config.json`` (e.g. the task that made it); ``resume_check`` (e.g. a task's
        options) rides in the checkpoints and must be equal to resume from them, like the config's sections;
        ``make_optimizer(params)``, when given, makes the optimizer instead of the config's ``optim`` section (the Keras
        front end's own update rules)."""
        self.config = config or Config()
        self.config.check()
        t = self.config.train
        if t.clip_norm is not None and t.clip_norm <= 0:
            raise ValueError(f"train.clip_norm must be positive, got {t.clip_norm}")
        if t.clip_value is not None and t.clip_value <= 0:
            raise ValueError(f"train.clip_value must be positive, got {t.clip_value}")
        if t.max_minutes is not None and not t.max_minutes > 0:
            raise ValueError(f"train.max_minutes must be positive, got {t.max_minutes}")
        if t.tbptt is not None and t.tbptt < 1:
            raise ValueError(f"train.tbptt must be a positive number of steps, got {t.tbptt}")
        if t.precision not in PRECISIONS:
            raise ValueError(f"train.precision must be one of {', '.join(map(repr, PRECISIONS))}, got {t.precision!r}")
        if val_data is not None:
            check_finite_data(val_data, "validation")
        self.guard = DivergenceGuard(t.divergence_factor, t.divergence_patience)
        self.run_info, self.resume_check = dict(run_info or {}), resume_check
        self.dist = DistContext.from_env(t.device)
        self.raw_model = model.to(self.dist.device)
        steps = Steps(self.raw_model, self.dist.device.type, t.precision)
        if self.dist.enabled:
            ids = [self.dist.local_rank] if self.dist.device.type == "cuda" else None
            steps = nn.parallel.DistributedDataParallel(steps, device_ids=ids)
        self.steps = steps
        self.train_data, self.val_data = train_data, val_data
        self.collate = collate_fn or default_collate
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.model_config = model_config or getattr(model, "config", {})
        make = make_optimizer or (lambda params: build_optimizer(self.config.optim, params))
        self.optimizer = make(self.raw_model.parameters())
        self.sampler = ResumableBatchSampler(len(train_data), self.config.data.batch_size, seed=t.seed,
                                             shuffle=self.config.data.shuffle, rank=self.dist.rank,
                                             world_size=self.dist.world_size,
                                             lengths=train_data.lengths() if self.config.data.bucket else None)
        self.train_seconds = 0.0  # training time so far (evaluation, callbacks and checkpoints excluded)
        self._batch_seconds = 0.0  # the latest batch's (the slowest rank's under torchrun)
        self.scheduler = build_scheduler(self.config.scheduler, self.optimizer, self._scheduler_horizon(),
                                         self._budget_fraction if t.max_minutes is not None else None)
        self.callbacks: list[Callback] = list(callbacks)
        if t.early_stopping:
            self.callbacks.append(EarlyStopping(t.monitor, t.early_stopping, t.monitor_mode))
        if self.out_dir is not None:
            self.callbacks.append(CSVLogger(self.out_dir / "metrics.csv"))
            if t.tensorboard:
                self.callbacks.append(TensorBoardLogger(self.out_dir / "tensorboard"))
        self.epoch = self.batch = self.step = 0
        self.history: list[dict] = []
        self.best: float | None = None
        self.nonfinite_in_row = 0
        self.last_grad_norm = float("nan")  # pre-clip norm of the latest step (read it in on_batch_end)
        self.last_loss = float("nan")  # the latest batch's loss, finite or not (read it in on_batch_end)
        self._carried = None  # the recurrent state carried between batches (train.carry_state)
        self._acc = self._new_acc()
        self.eval_samples = 0  # how many samples (tokens, streaming) the current or latest evaluate() has scored
        self._stop_reason: str | None = None
        self.label = ""  # shown before the progress bar's text (e.g. "member 2/3")

    def _scheduler_horizon(self) -> int:
        """How often the scheduler steps in the whole run: epochs, or optimizer steps (batches × TBPTT chunks)."""
        t = self.config.train
        if self.config.scheduler.interval != "step":
            return t.epochs
        batches = t.epochs * self.sampler.batches_per_epoch
        if t.max_steps is not None:
            batches = min(batches, t.max_steps)
        if t.tbptt is None or len(self.train_data) == 0:
            return batches
        first = self.collate([self.train_data[0]])
        return batches * len(self.raw_model.split_for_tbptt(first, t.tbptt))

    def _budget_fraction(self) -> float:
        """The fraction of ``train.max_minutes`` spent at the end of the current batch, if it takes as long as the
        previous one (the same on every rank, so all ranks apply the same learning rate)."""
        return (self.train_seconds + self._batch_seconds) / (60 * self.config.train.max_minutes)

    def _budget_spent(self) -> bool:
        t = self.config.train
        return ((t.max_steps is not None and self.step >= t.max_steps)
                or (t.max_minutes is not None and self.train_seconds >= 60 * t.max_minutes))

    # --- small helpers ------------------------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path | None:
        return None if self.out_dir is None else self.out_dir / "checkpoints"

    def log(self, message: str) -> None:
        if self.dist.is_main:
            tqdm.write(f"{self.label}: {message}" if self.label else message)

    def stop(self, reason: str) -> None:
        self._stop_reason = reason

    @staticmethod
    def _new_acc() -> dict[str, float]:
        return {"loss": 0.0, "samples": 0, "units": 0, "grad_norm": 0.0, "steps": 0, "clipped": 0, "skipped": 0,
                "seconds": 0.0}

    def _params(self):
        return [p for p in self.raw_model.parameters() if p.requires_grad]

    def _to_device(self, batch):
        if self.dist.device.type == "cpu":
            return batch
        return [b.to(self.dist.device) if torch.is_tensor(b) else b for b in batch]

    # --- one optimizer step ---------------------------------------------------------------------------------------
    def _backward_and_step(self, loss: torch.Tensor) -> bool:
        """One optimizer step on ``loss``; False when it was skipped as non-finite."""
        t = self.config.train
        self.optimizer.zero_grad(set_to_none=True)
        if self.guard.start is None:
            self.guard.first_loss(loss.item())
        if loss.requires_grad:  # else nothing is trained (every weight frozen): a step that changes nothing
            loss.backward()
        grads = [p.grad for p in self._params() if p.grad is not None]
        norm = torch.nn.utils.get_total_norm(grads) if grads else torch.tensor(0.0)
        finite = bool(torch.isfinite(loss.detach()).all()) and bool(torch.isfinite(norm))
        self.last_grad_norm = norm.item()
        if not self.dist.all_true(finite):
            self.optimizer.zero_grad(set_to_none=True)
            self.nonfinite_in_row += 1
            self._acc["skipped"] += 1
            self.log(f"step {self.step + 1}: non-finite loss or gradient (loss={loss.item():.4g}, grad norm={norm.item():.4g})"
                     f" — step skipped, weights unchanged ({self.nonfinite_in_row} in a row)")
            if self.nonfinite_in_row >= t.max_nonfinite:
                raise TrainingDiverged(
                    f"{self.nonfinite_in_row} steps in a row had a non-finite loss or gradient (last at epoch "
                    f"{self.epoch + 1}, step {self.step}); the weights were left as they were before them. Check the "
                    "data for NaN/inf, lower the learning rate, or clip gradients (train.clip_norm)")
            return False
        self.nonfinite_in_row = 0
        if t.clip_norm is not None:
            torch.nn.utils.clip_grads_with_norm_(self._params(), t.clip_norm, norm)
            self._acc["clipped"] += int(norm.item() > t.clip_norm)
        if t.clip_value is not None:
            torch.nn.utils.clip_grad_value_(self._params(), t.clip_value)
        self.optimizer.step()
        if self.scheduler is not None and self.config.scheduler.interval == "step":
            self.scheduler.step()
        self.last_grad_norm = norm.item()
        self._acc["grad_norm"] += self.last_grad_norm
        self._acc["steps"] += 1
        return True

    def _samples(self, batch, items: int) -> int:  # the samples in a batch of ``items`` items (``batch_samples``)
        count = getattr(self.raw_model, "batch_samples", None)
        return items if count is None else int(count(batch))

    def _train_batch(self, batch, n: int) -> None:
        self.steps.train()
        units = getattr(self.raw_model, "batch_units", None)
        self._acc["units"] += units(batch) * self.dist.world_size if units is not None else n
        k = self.config.train.tbptt
        if k is None:
            out = self.steps("train", batch)
            loss = out["loss"]
            stepped, self.last_loss = self._backward_and_step(loss), loss.item()  # last_loss: finite or not
            if stepped:
                self._acc["loss"] += self.last_loss * n
                self._acc["samples"] += n
                for k, v in out.items():  # other metrics the model reports, averaged like the loss
                    if k != "loss":
                        self._acc[f"metric.{k}"] = self._acc.get(f"metric.{k}", 0.0) + float(v) * n
            return
        state = self._carried if self.config.train.carry_state else None
        losses = []
        for chunk in self.raw_model.split_for_tbptt(batch, k):
            out, state = self.steps("tbptt", chunk, state)
            state = detach(state)  # truncate: no gradient flows into the previous chunk
            if out is not None and self._backward_and_step(out["loss"]):
                losses.append(out["loss"].item())
        self._carried, self.last_loss = state, sum(losses) / len(losses) if losses else float("nan")
        if losses:
            self._acc["loss"] += sum(losses) / len(losses) * n
            self._acc["samples"] += n

    # --- evaluation ------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, data=None, hooks: bool = False) -> dict[str, float]:
        """The mean of each validation metric over ``data`` (the validation set); ``hooks``: the callbacks'
        ``on_validation_batch_start``/``_end`` around each batch (the running means after it)."""
        data = self.val_data if data is None else data
        if data is None or len(data) == 0:
            return {}
        self.raw_model.eval()
        # a stateful model (train.carry_state) reads the validation streams in order, its state carried from batch to
        # batch, and weighs each batch by the tokens it scored
        stream = self.config.train.carry_state and hasattr(self.raw_model, "stream_validation_step")
        totals: dict[str, float] = {}
        n_total, state = 0, None
        bs = getattr(data, "eval_batch_size", None) or self.config.data.batch_size  # a dataset may name its own
        starts = range(0, len(data), bs)
        for start in tqdm(starts, desc="evaluating", unit="batch", leave=False,
                          disable=not (self.config.train.progress and self.dist.is_main) or len(starts) < 2):
            idx = list(range(start, min(start + bs, len(data))))
            batch = self._to_device(fetch_batch(data, idx, self.collate))
            for cb in self.callbacks if hooks else ():
                cb.on_validation_batch_start(self, start // bs)
            if stream:
                out, state, n = self.raw_model.stream_validation_step(batch, state)
            else:
                out, n = self.raw_model.validation_step(batch), self._samples(batch, len(idx))
            for key, v in out.items():
                totals[key] = totals.get(key, 0.0) + float(v) * n
            n_total += n
            self.eval_samples = n_total
            for cb in self.callbacks if hooks else ():
                cb.on_validation_batch_end(self, start // bs, {k: v / n_total for k, v in totals.items()})
        metrics = {k: v / n_total for k, v in totals.items()}
        corpus_metrics = getattr(data, "corpus_metrics", None)  # metrics of the whole set (BLEU, WER), not per batch
        if corpus_metrics is not None:
            metrics.update(corpus_metrics(self.raw_model))
        return metrics

    def _prepare_out_dir(self, resume: bool) -> None:
        if self.checkpoint_dir is None:
            if resume:
                raise ValueError("resume needs an output folder (out_dir)")
            return
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise NotADirectoryError(f"the output folder {self.out_dir} is a file")
        last = self.checkpoint_dir / "last.safetensors"
        if resume:
            if last.exists():
                self._restore(last)
            else:
                self.log(f"no checkpoint in {self.checkpoint_dir}: starting from the beginning")
        elif last.exists() or (self.out_dir / "model.safetensors").exists():
            raise FileExistsError(f"{self.out_dir} already holds a run; pass resume (--resume) to continue it, or "
                                  "choose another output folder (nothing was overwritten)")
        if self.dist.is_main:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            for stale in self.checkpoint_dir.glob(".*.tmp"):  # temp files of a write that was killed
                stale.unlink(missing_ok=True)

    # --- the loop -----------------------------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> list[dict]:
        t = self.config.train
        self._prepare_out_dir(resume)
        for cb in self.callbacks:
            cb.on_train_start(self)
        bar = TrainingBar(self)
        while self.epoch < t.epochs and self._stop_reason is None:
            if self._budget_spent():
                break
            for cb in self.callbacks:
                cb.on_epoch_start(self)
            if self.batch == 0:
                self._carried = None  # each epoch reads the streams from their start
            self.sampler.n = len(self.train_data)  # (a stream read by steps: an epoch may end where its pass does)
            self.sampler.set_epoch(self.epoch, self.batch)
            bar.start_epoch(self.epoch, self.batch, self.sampler.batches_per_epoch)
            for idx in self.sampler:
                start = self.clock()
                batch = self._to_device(fetch_batch(self.train_data, idx, self.collate))
                self._train_batch(batch, self._samples(batch, len(idx)) * self.dist.world_size)
                self._batch_seconds = self.clock() - start
                if t.max_minutes is not None:  # every rank must agree on when the budget is spent
                    self._batch_seconds = self.dist.max(self._batch_seconds)
                self.train_seconds += self._batch_seconds
                self._acc["seconds"] += self._batch_seconds
                self.batch += 1
                self.step += 1
                bar.update(self._batch_seconds, self._acc["loss"] / max(self._acc["samples"], 1),
                           self._acc["units"] / max(self._acc["seconds"], 1e-9))
                for cb in self.callbacks:
                    cb.on_batch_end(self, {"step": self.step})
                if t.checkpoint_every and self.step % t.checkpoint_every == 0:
                    self.save_checkpoint("last")
                if self._budget_spent() or self._stop_reason is not None:  # a callback may stop inside an epoch
                    break
            bar.end_epoch()
            if self.batch < self.sampler.batches_per_epoch:  # stopped by max_steps/max_minutes inside the epoch
                self.save_checkpoint("last")
                break
            self._end_epoch()
        bar.close()
        self._finish()
        return self.history

    def _end_epoch(self) -> None:
        t, acc = self.config.train, self._acc
        record: dict[str, Any] = {"epoch": self.epoch + 1, "step": self.step,
                                  "train_loss": acc["loss"] / max(acc["samples"], 1)}
        record.update({f"train_{k[len('metric.'):]}": v / max(acc["samples"], 1) for k, v in acc.items()
                       if k.startswith("metric.")})
        validating = self.val_data is not None and len(self.val_data) > 0
        for cb in self.callbacks if validating else ():
            cb.on_validation_start(self)
        metrics = self.evaluate(hooks=True)
        for cb in self.callbacks if validating else ():
            cb.on_validation_end(self, metrics)
        record.update({f"val_{k}": v for k, v in metrics.items()})
        record.update({"lr": self.optimizer.param_groups[0]["lr"],
                       "grad_norm": acc["grad_norm"] / max(acc["steps"], 1),
                       "clipped": acc["clipped"] / max(acc["steps"], 1), "skipped": acc["skipped"],
                       "seconds": acc["seconds"], "samples_per_s": acc["samples"] / max(acc["seconds"], 1e-9)})
        unit = getattr(self.raw_model, "unit_name", None)
        if unit is not None:
            record[f"{unit}_per_s"] = acc["units"] / max(acc["seconds"], 1e-9)
        self.history.append(record)
        for key, v in record.items():
            if key.startswith("val_") and isinstance(v, float) and not math.isfinite(v):
                self.log(f"warning: {key} is {v} at epoch {self.epoch + 1}: the validation data or the model produce "
                         "non-finite values; no best checkpoint can be chosen on it")
        if self.scheduler is not None and self.config.scheduler.interval == "epoch":
            if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(record.get("val_loss", record["train_loss"]))
            else:
                self.scheduler.step()
        self.log(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))
        for cb in self.callbacks:
            cb.on_epoch_end(self, record)
        self.guard.observe(record["train_loss"] if acc["samples"] else None, f"epoch {self.epoch + 1} training loss")
        self.epoch += 1
        self.batch = 0
        self._acc = self._new_acc()
        value = record.get(t.monitor)
        improved = value is not None and math.isfinite(value) and (
            self.best is None or (value < self.best if t.monitor_mode == "min" else value > self.best))
        if improved:
            self.best = value
        self.save_checkpoint("last")
        if improved:
            self.save_checkpoint("best")

    def _finish(self) -> None:
        if self._stop_reason:
            self.log(self._stop_reason)
        if self.out_dir is not None and self.dist.is_main:
            save_model(self.out_dir, self.raw_model, {**self.run_info, "model": self.model_config,
                                                      "run": self.config.to_dict(), "history": self.history})
        for cb in self.callbacks:
            cb.on_train_end(self)
        self.dist.barrier()
