"""End-to-end tasks, one module per application, one shape for all: an options dataclass, ``train_*(opts, out)``, a
predictor loaded from a run folder whose config.json names its task, and ``evaluate``. ``load``/``evaluate`` here work
on any run folder (``rnnkit.tasks.registry``)."""

from rnnkit.tasks.registry import WrongTask, evaluate, load, task_of, tasks

__all__ = ["load", "evaluate", "task_of", "tasks", "WrongTask"]
