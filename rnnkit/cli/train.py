"""``rnnkit train``: a run from a config file (``rnnkit train CONFIG --out DIR``), or a task's run from its options
(``rnnkit train classify ...``, ``rnnkit train lm ...``) — one subcommand per task that has an options dataclass."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup

from rnnkit.cli.common import USER_ERRORS, echo_metrics, fail, is_main_process
from rnnkit.cli.task_options import keyword, task_command


class TrainGroup(TyperGroup):
    """Subcommands per task; any other first word is a config file, handed to the hidden ``config`` command."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "config", self.commands["config"], args
        return super().resolve_command(ctx, args)


train_app = typer.Typer(cls=TrainGroup, no_args_is_help=True, help=(
    "Train a model. From a config file: 'rnnkit train CONFIG.yaml --out DIR [--section.key VALUE ...]' (see examples/; "
    "--resume continues a killed run). Or a task from its options: 'rnnkit train classify --help', "
    "'rnnkit train lm --help', 'rnnkit train translate --help', 'rnnkit train asr --help', 'rnnkit train forecast --help'."))


@train_app.command("config", hidden=True, context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train_config(
    ctx: typer.Context,
    config: Path = typer.Argument(..., help="a YAML or JSON run config (see examples/)"),
    out: Path = typer.Option(..., "--out", help="output folder: model.safetensors, config.json, metrics.csv, checkpoints/"),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out from its last checkpoint"),
) -> None:
    """Train a model from CONFIG; any field can be overridden: --train.epochs 5 --model.cell gru --lr 0.01."""
    from rnnkit.tasks.sequence import train_from_config
    from rnnkit.train import apply_overrides, load_config

    try:
        cfg = apply_overrides(load_config(config), list(ctx.args))
        history = train_from_config(cfg, out, resume=resume)
    except USER_ERRORS as e:
        raise fail(e) from None
    if not is_main_process():
        return
    if history:
        last = history[-1]
        typer.echo("final: " + ", ".join(f"{k}={v:.4g}" for k, v in last.items() if k.startswith(("train_", "val_"))))
    typer.echo(f"model saved to {out}/model.safetensors and {out}/config.json")


def _run_options() -> list:
    return [keyword("out", ..., Path, help="the run folder to write (refused if it holds a run, unless --resume)"),
            keyword("resume", False, bool, help="continue the run in --out from its checkpoints, bit for bit")]


def _register(name: str, help_text: str) -> None:
    from rnnkit.tasks.registry import tasks

    task = tasks()[name]

    def run(opts, out: Path, resume: bool) -> None:
        try:
            results = task.train(opts, out, resume=resume)
        except USER_ERRORS as e:
            raise fail(e) from None
        if is_main_process():
            echo_metrics(results)
            typer.echo(f"model saved to {out}/")

    train_app.command(name, help=help_text)(task_command(task.options, run, _run_options()))


_register("classify", "Train a text classifier on a built-in corpus or your CSV/TSV/JSONL file (every option below).")
_register("lm", "Train a language model on a built-in corpus or your text file (every option below).")
_register("translate", "Train an encoder–decoder translator on kjv-rv1909 or your sentence pairs (every option below).")
_register("asr", "Train a CTC speech recogniser on a synthesised corpus or your recordings (every option below).")
_register("forecast", "Train global RNN forecasters on m3, classic, highfreq or your long/wide CSV or Parquet series "
                      "(every option below).")
