"""The ``rnnkit`` command line: one module per group of commands, all on one typer app."""

from __future__ import annotations

from pathlib import Path

import typer

from rnnkit.cli import ship, verbs
from rnnkit.cli.common import USER_ERRORS, fail
from rnnkit.cli.diagnose import diagnose_app, tour
from rnnkit.cli.train import train_app

app = typer.Typer(add_completion=False, no_args_is_help=True, help="rnnkit: recurrent neural networks, made real.")


@app.command()
def digits(
    cells: str = typer.Option("rnn,lstm,gru", help="comma-separated cells: rnn, relu, lstm, gru, feedback, ..."),
    epochs: int = typer.Option(15, min=1, help="passes over the training images"),
    hidden: int = typer.Option(64, min=1, help="hidden units"),
    seed: int = typer.Option(0, help="random seed (split, initialisation, batches)"),
    mode: str = typer.Option("rows", help="rows: 8 steps x 8 pixels; pixels: 64 steps x 1 pixel"),
) -> None:
    """Train the tutorial's model (recurrent layer + head on the last step) on scikit-learn's digits, per cell.

    The progress bar shows validation accuracy (images carved from the training part); the final table shows the
    accuracy on the held-out test images, which nothing during training looks at."""
    from rnnkit.tasks.digits import run

    try:
        run(tuple(c.strip() for c in cells.split(",") if c.strip()), epochs=epochs, hidden_size=hidden, seed=seed,
            mode=mode)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e


app.add_typer(train_app, name="train")
verbs.register(app)
ship.register(app)

data_app = typer.Typer(no_args_is_help=True, help="Built-in corpora, prepared offline from installed packages.")
app.add_typer(data_app, name="data")


@data_app.command("list")
def data_list() -> None:
    """Show the built-in data sets: source, licence, and whether they are prepared."""
    from rnnkit.data.corpora import describe
    from rnnkit.data.series_builtin import describe as describe_panels

    for row in describe() + describe_panels():
        typer.echo(f"{row['name']:<12} {row['task']:<15} {row['description']}\n{'':<12} source: {row['source']}; "
                   f"licence: {row['licence']}; prepared: {row['prepared']}")
    typer.echo("synthesised speech ('rnnkit data synth-speech --preset P'): commands (1-5 of the ten digits and 20 "
               "command words), sentences (≤ 15 words from austen/shakespeare, plus lm-text.txt: the source text without "
               "the validation/test sentences, for a fusion LM); espeak-ng, 8 English accents × 16 variants, and a quarter "
               "from flite's voices where flite is installed; validation/test voices never heard in training")


@data_app.command("synth-speech")
def data_synth_speech(out: Path = typer.Option(..., "--out", help="the corpus folder to write (must not hold one)"),
                      preset: str = typer.Option("commands", help="commands or sentences"),
                      utterances: int = typer.Option(3000, min=10, help="utterances in all (80/10/10 split)"),
                      seed: int = typer.Option(0, help="the same seed gives the same corpus"),
                      flite: str = typer.Option("auto", help="a quarter of the utterances from flite's voices (a "
                                                "second speaker family): auto (where flite is installed), true, false")
                      ) -> None:
    """Synthesise a speech corpus with espeak-ng (and flite): WAV files and a JSONL manifest per split."""
    from rnnkit.data.speech_synth import synth_speech

    choice = {"auto": "auto", "true": True, "yes": True, "false": False, "no": False}.get(flite.lower(), flite)
    try:
        for split, path in synth_speech(out, preset, utterances, seed, flite=choice).items():
            typer.echo(f"{split}: {path}")
    except (*USER_ERRORS, RuntimeError) as e:
        raise fail(e) from None


@data_app.command("prepare")
def data_prepare(name: str = typer.Argument(..., help="a name from 'rnnkit data list'"),
                 force: bool = typer.Option(False, "--force", help="prepare again even if it is in the cache")) -> None:
    """Prepare a built-in data set into the local cache."""
    from rnnkit.data.corpora import prepare

    try:
        typer.echo(f"{name}: {prepare(name, force=force)}")
    except USER_ERRORS as e:
        raise fail(e) from None


app.add_typer(diagnose_app, name="diagnose")
app.command()(tour)


@app.command()
def version() -> None:
    """Print rnnkit's version."""
    from rnnkit import __version__

    typer.echo(__version__)


def main() -> None:
    app()


__all__ = ["app", "main"]
