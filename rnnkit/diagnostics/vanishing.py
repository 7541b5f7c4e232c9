"""The long-range experiment: which cells learn the adding problem as the distance grows — and why.

Each run trains a cell on the adding problem at one length T (``rnnkit.train.Trainer``: Adam, optional clipping), records
the validation MSE curve, the pre-clip gradient norm of every step, and the gradient flow ‖∂L/∂h_t‖ over t on a fixed
batch at initialisation and after training. A run *passes* when its final validation MSE is below ``PASS_MSE`` (0.05,
under a third of the 0.167 scored by always predicting the mean).

``explosion_demo`` shows the other failure: a tanh RNN whose recurrent matrix is 2× an orthogonal one, trained by SGD,
receives gradients of norm 10³–10⁴; without clipping one such step throws the weights away (the loss becomes non-finite
or stays far above the baseline); with clipping by global norm the same run stays stable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from rnnkit.data.synthetic import adding_problem
from rnnkit.diagnostics.gradient_flow import gradient_flow
from rnnkit.layers import CELL_NAMES
from rnnkit.models import SequenceRegressor
from rnnkit.train import Callback, Config, Trainer, TrainingDiverged

BASELINE_MSE = 1.0 / 6.0
PASS_MSE = 0.05


@dataclass
class AddingRun:
    cell: str
    seq_len: int
    clip: float | None
    seed: int
    steps: int
    curve: list[tuple[int, float]] = field(default_factory=list)  # (step, validation MSE)
    grad_norms: list[float] = field(default_factory=list)  # pre-clip, every step
    flow_init: np.ndarray | None = None  # ‖∂L/∂h_t‖, t = 1..T, first layer
    flow_trained: np.ndarray | None = None
    final_mse: float = float("nan")
    diverged: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.diverged is None and self.final_mse < PASS_MSE


class _Record(Callback):
    def __init__(self, run: AddingRun):
        self.run = run

    def on_batch_end(self, trainer, info):
        self.run.grad_norms.append(trainer.last_grad_norm)

    def on_epoch_end(self, trainer, record):
        self.run.curve.append((record["step"], record.get("val_loss", float("nan"))))


def check_cells(cells) -> list[str]:
    cells = list(cells)
    bad = [c for c in cells if c not in CELL_NAMES]
    if bad:
        raise ValueError(f"unknown cell name(s) {bad}; expected some of {list(CELL_NAMES)}")
    return cells


def check_lengths(lengths) -> list[int]:
    lengths = [int(t) for t in lengths]
    if any(t < 2 for t in lengths):
        raise ValueError(f"sequence lengths must be at least 2 (one marker in each half), got {lengths}")
    return lengths


def _flow(model, x, y) -> np.ndarray:
    def loss_fn(m, batch):
        return torch.nn.functional.mse_loss(m(batch[0]), batch[1])

    gf = gradient_flow(model, (x, y), loss_fn, spectra=False)
    first = next(k for k in gf.norms if k.endswith(".l0"))
    return gf.norms[first]


def train_adding(cell: str, seq_len: int, *, steps: int = 1500, clip: float | None = 1.0, seed: int = 0,
                 hidden: int = 32, batch: int = 64, lr: float = 5e-3, evals: int = 10, optimizer: str = "adam",
                 recurrent_init_scale: float | None = None) -> AddingRun:
    """Train one cell at one length; ``steps`` optimizer steps split into ``evals`` epochs (one validation each)."""
    check_cells([cell])
    check_lengths([seq_len])
    evals = max(1, min(evals, steps))
    run = AddingRun(cell, seq_len, clip, seed, steps)
    torch.manual_seed(seed)
    model = SequenceRegressor(cell, 2, hidden, 1)
    if recurrent_init_scale is not None:
        with torch.no_grad():
            W = model.rnn.weight_hh_l0
            torch.nn.init.orthogonal_(W)
            W.mul_(recurrent_init_scale)
    per_epoch = max(1, steps // evals)
    train = adding_problem(per_epoch * batch, seq_len, seed=1000 + seed)
    val = adding_problem(512, seq_len, seed=2000 + seed)
    vx, vy = val.tensors[0][:64], val.tensors[1][:64]
    run.flow_init = _flow(model, vx, vy)
    cfg = Config()
    cfg.data.batch_size = batch
    cfg.optim.name, cfg.optim.lr = optimizer, lr
    cfg.train.epochs, cfg.train.clip_norm, cfg.train.progress, cfg.train.seed = evals, clip, False, seed
    cfg.train.max_nonfinite = 3
    cfg.train.device = "cpu"  # the study reads gradients and flows between epochs with NumPy (tiny models)
    start = time.perf_counter()
    trainer = Trainer(model, train, val, config=cfg, callbacks=[_Record(run)])
    try:
        trainer.log = lambda message: None  # quiet: the study prints its own progress
        trainer.fit()
        run.final_mse = run.curve[-1][1] if run.curve else float("nan")
        if not np.isfinite(run.final_mse):
            run.diverged = "the validation loss became non-finite"
    except TrainingDiverged:
        run.diverged = f"non-finite loss or gradient from step {trainer.step - 2}"
        run.final_mse = float("inf")
    run.seconds = time.perf_counter() - start
    if run.diverged is None:
        run.flow_trained = _flow(model, vx, vy)
    return run


def study(cells=("rnn", "lstm", "gru", "feedback"), lengths=(10, 25, 50, 100, 200), clips=(1.0, None),
          seeds=(0,), steps: int = 1500, progress=print, **kwargs) -> list[AddingRun]:
    cells, lengths = check_cells(cells), check_lengths(lengths)
    runs = []
    total = len(cells) * len(lengths) * len(clips) * len(seeds)
    for T in lengths:
        for cell in cells:
            for clip in clips:
                for seed in seeds:
                    run = train_adding(cell, T, steps=steps, clip=clip, seed=seed, **kwargs)
                    runs.append(run)
                    if progress:
                        progress(f"[{len(runs)}/{total}] {cell:<8} T={T:<4} clip={clip!s:<5} seed={seed}: "
                                 f"val MSE {run.final_mse:.4f} ({'pass' if run.passed else 'fail'}, {run.seconds:.0f} s)")
    return runs


def explosion_demo(seq_len: int = 50, steps: int = 300, scale: float = 2.0, lr: float = 0.05, seed: int = 0
                   ) -> tuple[AddingRun, AddingRun]:
    """(without clipping, with clip_norm=1) for a tanh RNN with W_hh = scale · orthogonal, trained by SGD."""
    kwargs = dict(steps=steps, seed=seed, optimizer="sgd", lr=lr, recurrent_init_scale=scale, evals=10)
    return (train_adding("rnn", seq_len, clip=None, **kwargs), train_adding("rnn", seq_len, clip=1.0, **kwargs))


def summary_table(runs: list[AddingRun]) -> list[dict]:
    """One row per (cell, T, clip): mean final MSE over seeds and how many seeds passed."""
    groups: dict[tuple, list[AddingRun]] = {}
    for r in runs:
        groups.setdefault((r.cell, r.seq_len, r.clip), []).append(r)
    rows = []
    for (cell, T, clip), rs in groups.items():
        finite = [r.final_mse for r in rs if np.isfinite(r.final_mse)]
        rows.append({"cell": cell, "T": T, "clip": "none" if clip is None else clip,
                     "final MSE": float(np.mean(finite)) if finite else float("inf"),
                     "vs baseline": (float(np.mean(finite)) / BASELINE_MSE) if finite else float("inf"),
                     "passed": f"{sum(r.passed for r in rs)}/{len(rs)}",
                     "seconds": float(sum(r.seconds for r in rs))})
    return rows
