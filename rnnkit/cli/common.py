"""What every command shares: one way to report a user's error (``error: ...`` on stderr, exit status 2, no traceback)."""

from __future__ import annotations

import os

import typer

from rnnkit.train import CheckpointError, TrainingDiverged

# the errors a command reports as a message (anything else is a bug and keeps its traceback)
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, FileExistsError, NotADirectoryError, CheckpointError,
               TrainingDiverged)


def fail(e: BaseException | str, newline: bool = False) -> typer.Exit:
    typer.echo(f"{chr(10) if newline else ''}error: {e}", err=True)
    return typer.Exit(2)


def is_main_process() -> bool:
    """False on the other ranks of a torchrun job: only rank 0 prints summaries."""
    return os.environ.get("RANK", "0") == "0"


def echo_metrics(metrics: dict) -> None:
    for k, v in metrics.items():
        if isinstance(v, float):
            typer.echo(f"{k}: {v:.6g}")
        elif not isinstance(v, list):
            typer.echo(f"{k}: {v}")


def csv_list(text: str, cast=str) -> list:
    return [cast(v.strip()) for v in text.split(",") if v.strip()]
