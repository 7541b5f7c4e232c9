"""The ``rnnkit`` command line."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="rnnkit: recurrent neural networks, made real.")


@app.command()
def digits(
    cells: str = typer.Option("rnn,lstm,gru", help="comma-separated cells: rnn, relu, lstm, gru, feedback, ..."),
    epochs: int = typer.Option(15, min=1),
    hidden: int = typer.Option(64, min=1),
    seed: int = typer.Option(0),
    mode: str = typer.Option("rows", help="rows: 8 steps x 8 pixels; pixels: 64 steps x 1 pixel"),
) -> None:
    """Train the tutorial's model (recurrent layer + linear head on the last step) on scikit-learn's digits."""
    from rnnkit.tasks.digits import run

    try:
        run(tuple(c.strip() for c in cells.split(",") if c.strip()), epochs=epochs, hidden_size=hidden, seed=seed,
            mode=mode)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="a YAML or JSON run config (see examples/)"),
    out: Path = typer.Option(..., "--out", help="output folder: model.safetensors, config.json, metrics.csv, checkpoints/"),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out from its last checkpoint"),
) -> None:
    """Train a model from CONFIG; any field can be overridden: --train.epochs 5 --model.cell gru --lr 0.01."""
    from rnnkit.tasks.sequence import train_from_config
    from rnnkit.train import CheckpointError, TrainingDiverged, apply_overrides, load_config

    try:
        cfg = apply_overrides(load_config(config), list(ctx.args))
        history = train_from_config(cfg, out, resume=resume)
    except (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, CheckpointError, TrainingDiverged) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if history:
        last = history[-1]
        typer.echo("final: " + ", ".join(f"{k}={v:.4g}" for k, v in last.items() if k.startswith(("train_", "val_"))))
    typer.echo(f"model saved to {out}/model.safetensors and {out}/config.json")


@app.command()
def evaluate(run_dir: Path = typer.Argument(..., help="a folder written by rnnkit train")) -> None:
    """Reload a trained run and report its metrics on the validation data."""
    from rnnkit.tasks.sequence import evaluate_run
    from rnnkit.train import CheckpointError

    try:
        metrics = evaluate_run(run_dir)
    except (CheckpointError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    for k, v in metrics.items():
        typer.echo(f"{k}: {v:.6g}")


@app.command()
def version() -> None:
    """Print rnnkit's version."""
    from rnnkit import __version__

    typer.echo(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
