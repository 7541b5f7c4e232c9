"""Guards that stop a run going wrong quietly: a loss that runs away while staying finite, and validation data that
holds NaN or inf (whose loss would read ``nan`` every epoch and never pick a best checkpoint).

Non-finite *steps* are handled in the loop itself (``Trainer``: the step is skipped, ``max_nonfinite`` in a row stop the
run); the divergence guard catches the other failure — a learning rate so large that the loss grows to 10¹³ and the
weights to 10⁶ without ever overflowing.
"""

from __future__ import annotations

import math

import torch


class TrainingDiverged(RuntimeError):
    """Raised when training has gone wrong beyond repair: ``max_nonfinite`` non-finite steps in a row, or a loss that
    stayed far above where it started (``DivergenceGuard``)."""


class DivergenceGuard:
    """Stops a run whose loss stays above ``factor`` × the first loss it saw (the untrained model's, on the first
    batch) for ``patience`` evaluations in a row (epoch ends, and learning-curve evaluations).

    An untrained model's loss is a generous ceiling: a model that learns stays below it, one that overfits rarely climbs
    a few times above it; 100× that is a run that has left the rails (a too-large learning rate, unscaled targets).
    """

    def __init__(self, factor: float | None = 100.0, patience: int = 3) -> None:
        if factor is not None and not factor > 1:
            raise ValueError(f"train.divergence_factor must be above 1 (or null to switch the guard off), got {factor}")
        if patience < 1:
            raise ValueError(f"train.divergence_patience must be at least 1, got {patience}")
        self.factor, self.patience = factor, patience
        self.start: float | None = None
        self.strikes = 0

    def first_loss(self, loss: float) -> None:
        if self.start is None and math.isfinite(loss):
            self.start = abs(loss)

    def observe(self, loss: float | None, where: str) -> None:
        """Record one evaluation's loss; raise ``TrainingDiverged`` after ``patience`` too high in a row."""
        if self.factor is None or self.start is None or loss is None or not math.isfinite(loss):
            return
        limit = self.factor * max(self.start, 1e-12)
        if loss <= limit:
            self.strikes = 0
            return
        self.strikes += 1
        if self.strikes >= self.patience:
            raise TrainingDiverged(
                f"training diverged: the loss was above {self.factor:g}× its starting value ({self.start:.4g}) for "
                f"{self.strikes} evaluations in a row (latest {loss:.4g}, {where}). Lower the learning rate, clip "
                "gradients (train.clip_norm) or scale the targets; train.divergence_factor: null turns this check off")

    def state_dict(self) -> dict:
        return {"start": self.start, "strikes": self.strikes}

    def load_state_dict(self, state: dict) -> None:
        self.start, self.strikes = state.get("start"), state.get("strikes", 0)


def nonfinite_rows(data) -> list[tuple[int, list[int]]]:
    """[(tensor index, rows holding NaN or inf)] for a dataset made of tensors (``TensorDataset``-like ``.tensors``)."""
    found = []
    for i, t in enumerate(getattr(data, "tensors", ()) or ()):
        if torch.is_tensor(t) and t.is_floating_point() and t.dim() > 0:
            bad = ~torch.isfinite(t.reshape(t.shape[0], -1)).all(dim=1)
            if bad.any():
                found.append((i, torch.nonzero(bad).flatten().tolist()))
    return found


def check_finite_data(data, what: str) -> None:
    """Refuse ``data`` (validation) holding NaN or inf, naming the rows: its metrics would be ``nan`` every epoch."""
    found = nonfinite_rows(data)
    if found:
        parts = []
        for i, rows in found:
            shown = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
            parts.append(f"tensor {i} ({'inputs' if i == 0 else 'targets' if i == 1 else f'#{i}'}): "
                         f"{len(rows)} row(s) [{shown}]")
        raise ValueError(f"the {what} data holds NaN or inf — " + "; ".join(parts)
                         + f" (of {len(data)} rows); remove or fill those rows: every {what} metric would be nan")
