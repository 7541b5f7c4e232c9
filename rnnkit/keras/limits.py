"""Keras's debugging caps on a run: ``config.set_max_epochs(n)`` limits the epochs of every ``fit`` and
``config.set_max_steps_per_epoch(n)`` the batches of every epoch, evaluation and prediction (None: no limit), also set
by the ``KERAS_MAX_EPOCHS`` / ``KERAS_MAX_STEPS_PER_EPOCH`` environment variables when rnnkit.keras is imported — with
Keras's warnings ("Limiting epochs to n", "Limiting steps_per_epoch to n") where a cap cuts a run short."""

from __future__ import annotations

import os
import warnings

_LIMITS: dict[str, int | None] = {
    "epochs": int(os.environ["KERAS_MAX_EPOCHS"]) if "KERAS_MAX_EPOCHS" in os.environ else None,
    "steps": int(os.environ["KERAS_MAX_STEPS_PER_EPOCH"]) if "KERAS_MAX_STEPS_PER_EPOCH" in os.environ else None,
}


def set_max_epochs(max_epochs: int | None) -> None:
    _LIMITS["epochs"] = max_epochs


def set_max_steps_per_epoch(max_steps_per_epoch: int | None) -> None:
    _LIMITS["steps"] = max_steps_per_epoch


def max_epochs() -> int | None:
    return _LIMITS["epochs"]


def max_steps_per_epoch() -> int | None:
    return _LIMITS["steps"]


def capped_epochs(epochs: int) -> int:
    cap = _LIMITS["epochs"]
    if cap and cap < epochs:
        warnings.warn(f"Limiting epochs to {cap}", stacklevel=3)
        return cap
    return epochs


def capped_steps(steps: int | None) -> int | None:
    """``steps`` (None: all the data's batches) under the cap."""
    cap = _LIMITS["steps"]
    if cap and (not steps or cap < steps):
        warnings.warn(f"Limiting steps_per_epoch to {cap}", stacklevel=3)
        return cap
    return steps
