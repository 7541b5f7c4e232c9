"""Optimizers and LR schedulers from ``torch.optim``, named in the config."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from rnnkit.train.config import OptimConfig, SchedulerConfig

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULERS = ("none", "step", "cosine", "plateau")


def build_optimizer(cfg: OptimConfig, params) -> torch.optim.Optimizer:
    """``cfg``'s optimizer over ``params``; with ``decay_vectors=False`` and weight decay, two groups: the matrices
    (and embeddings) decayed, the 1-D parameters (biases, norm gains and shifts) not — the usual transformer recipe
    (a decayed layer-norm gain fights the normalisation)."""
    name = cfg.name.lower()
    if not cfg.decay_vectors and cfg.weight_decay:
        params = [p for p in params if p.requires_grad]
        groups = [{"params": [p for p in params if p.dim() >= 2]},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
        params = [g for g in groups if g["params"]]
    if name in ("adam", "adamw"):  # AdamW: the same update with decoupled weight decay
        for key in ("beta1", "beta2"):
            if not 0.0 <= getattr(cfg, key) < 1.0:
                raise ValueError(f"optim.{key} must be in [0, 1), got {getattr(cfg, key)}")
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return cls(params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay, eps=cfg.eps,
                   amsgrad=cfg.amsgrad)
    if name == "sgd":
        if cfg.nesterov and not cfg.momentum > 0:
            raise ValueError("optim.nesterov needs a positive optim.momentum")
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                               nesterov=cfg.nesterov)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                                   alpha=cfg.rho, eps=cfg.eps, centered=cfg.centered)
    raise ValueError(f"unknown optimizer {cfg.name!r}; expected one of {OPTIMIZERS}")


def build_scheduler(cfg: SchedulerConfig, optimizer, horizon: int, progress: Callable[[], float] | None = None):
    """``horizon``: how many times the scheduler will be stepped in the run — epochs for ``interval: epoch``, optimizer
    steps for ``interval: step`` (so a cosine schedule reaches its minimum at the end of training either way).
    ``progress``: for a time budget, a function giving the fraction of it spent so far; the cosine schedule then follows
    that fraction or the fraction of the ``horizon`` stepped, whichever is further — lr = lr₀ · ½ (1 + cos(π · min(1,
    max(progress(), n / horizon)))) after n steps — so it anneals by the end of the run whether the time or the
    epochs/steps run out first."""
    name = cfg.name.lower()
    if cfg.interval not in ("epoch", "step"):
        raise ValueError(f"scheduler.interval must be 'epoch' or 'step', got {cfg.interval!r}")
    if name == "none":
        return None
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_size, gamma=cfg.gamma)
    if name == "cosine" and progress is not None:
        steps = max(1, horizon)
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda n: 0.5 * (1 + math.cos(math.pi * min(1.0, max(progress(), n / steps)))))
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, horizon))
    if name == "plateau":
        if cfg.interval != "epoch":
            raise ValueError("the plateau scheduler steps on the validation loss: use scheduler.interval: epoch")
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=cfg.factor, patience=cfg.patience)
    raise ValueError(f"unknown scheduler {cfg.name!r}; expected one of {SCHEDULERS}")
