"""The training progress bar: per epoch (batches, ETA) or, under a time budget, one bar over the budget itself.

Throughput is shown in the model's own unit (``model.unit_name``, e.g. ``tok`` for a language model, whose "sample" is a
window of many streams; ``samples`` otherwise), counted by ``model.batch_units(batch)`` when the model has it.
"""

from __future__ import annotations

from tqdm.auto import tqdm


class TrainingBar:
    def __init__(self, trainer) -> None:
        t = trainer.config.train
        self.epochs = t.epochs
        self.budget = None if t.max_minutes is None else 60 * t.max_minutes
        self.disable = not (t.progress and trainer.dist.is_main)
        self.unit = getattr(trainer.raw_model, "unit_name", "samples")
        self.label = f"{trainer.label} " if trainer.label else ""
        self.bar = None
        if self.budget is not None:
            self.bar = tqdm(total=round(self.budget, 1), initial=round(trainer.train_seconds, 1), unit="s",
                            disable=self.disable, leave=False,
                            bar_format="{desc}{percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s of training "
                                       "[{elapsed} wall{postfix}]")

    def start_epoch(self, epoch: int, batch: int, batches: int) -> None:
        if self.budget is not None:
            self.bar.set_description(f"{self.label}time budget {self.budget / 60:g} min, epoch {epoch + 1}")
            return
        self.bar = tqdm(total=batches, initial=batch, desc=f"{self.label}epoch {epoch + 1}/{self.epochs}", unit="batch",
                        disable=self.disable, leave=False)

    def update(self, seconds: float, loss: float, units_per_s: float) -> None:
        if self.budget is not None:
            self.bar.update(round(min(seconds, self.budget - self.bar.n), 6))
        else:
            self.bar.update(1)
        self.bar.set_postfix({"loss": f"{loss:.4g}", f"{self.unit}/s": f"{units_per_s:.0f}"}, refresh=False)

    def end_epoch(self) -> None:
        if self.budget is None and self.bar is not None:
            self.bar.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
