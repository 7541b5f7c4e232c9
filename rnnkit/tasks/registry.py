"""One registry of tasks: every run folder names the task that made it, and every verb goes through here.

A task module defines ``TASK = Task(...)``: its name, its options dataclass, ``train(opts, out, resume=False)``,
``load(run_dir) -> predictor`` and ``evaluate(run_dir, data=None) -> metrics`` (``data``: new held-out data), and the
CLI verbs that take its runs. A new task is a new module named in ``TASK_MODULES``; ``rnnkit evaluate``,
``rnnkit.tasks.load`` and the verbs that check a run's kind do not change.

The task of a run is ``config.json``'s ``"task"``; folders written before that key existed are recognised by their
model class.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnkit.train.checkpoint import CheckpointError

TASK_MODULES = ("rnnkit.tasks.sequence", "rnnkit.tasks.classify", "rnnkit.tasks.lm", "rnnkit.tasks.translate",
                "rnnkit.tasks.speech", "rnnkit.tasks.forecast")


@dataclass(frozen=True)
class Task:
    name: str
    summary: str
    train: Callable[..., Any]
    load: Callable[[Path], Any]
    evaluate: Callable[..., dict]
    options: type | None = None
    verbs: tuple[str, ...] = ()  # the CLI verbs that use this task's runs (besides evaluate)
    model_classes: tuple[str, ...] = field(default=())  # config.json "model.class" values of runs made before "task"


class WrongTask(CheckpointError):
    """A run folder of another task than the one a verb or function needs."""


def tasks() -> dict[str, Task]:
    found = {}
    for module in TASK_MODULES:
        task = importlib.import_module(module).TASK
        found[task.name] = task
    return found


def read_config(run_dir: str | Path) -> dict:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{run_dir} holds no config.json: is it an rnnkit run folder?")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: invalid JSON: {e}") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return config


def task_of(run_dir: str | Path) -> Task:
    """The task that made ``run_dir`` (from its config.json)."""
    config, known = read_config(run_dir), tasks()
    name = config.get("task")
    if name is None:  # a run folder from before tasks were named
        cls = (config.get("model") or {}).get("class") if isinstance(config.get("model"), dict) else None
        name = next((t.name for t in known.values() if cls in t.model_classes), None)
    if name is None and "class_name" in config:
        raise CheckpointError(f"{run_dir} holds a Keras-style model folder (rnnkit.keras's model.save), not a run of "
                              "'rnnkit train': load it with rnnkit.keras.models.load_model and call evaluate() on it")
    if name not in known:
        raise CheckpointError(f"{run_dir}/config.json names task {name!r}, which this rnnkit does not know "
                              f"(known: {', '.join(known)})")
    return known[name]


def require(run_dir: str | Path, *names: str, verb: str = "") -> Task:
    """The run's task, which must be one of ``names``; otherwise a ``WrongTask`` error that says what the run is."""
    task = task_of(run_dir)
    if task.name not in names:
        use = [f"'rnnkit {v}'" for v in task.verbs]
        raise WrongTask(f"{run_dir} is a {task.name!r} run ({task.summary}); {verb or 'this'} needs a run of "
                        f"{' or '.join(repr(n) for n in names)}" + (f" — for this run use {' or '.join(use)}" if use else ""))
    return task


def load(run_dir: str | Path):
    """The predictor of whatever task made ``run_dir`` (``predictor.predict(inputs)``; ``predictor.task``)."""
    return task_of(run_dir).load(Path(run_dir))


def evaluate(run_dir: str | Path, data: str | Path | None = None, **kwargs) -> dict:
    """Reload ``run_dir`` and measure it, whatever task made it: on its own held-out data, or on ``data`` — held-out
    data of the task's kind (labelled texts, a text, pairs, recordings, series), scored as its test set (``test_*``)."""
    if data is not None:
        kwargs["data"] = data
    return task_of(run_dir).evaluate(Path(run_dir), **kwargs)


__all__ = ["Task", "WrongTask", "TASK_MODULES", "tasks", "task_of", "require", "load", "evaluate", "read_config"]
