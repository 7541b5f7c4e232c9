"""The ``rnnkit`` command line."""

from __future__ import annotations

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


@app.command()
def version() -> None:
    """Print rnnkit's version."""
    from rnnkit import __version__

    typer.echo(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
