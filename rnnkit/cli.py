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
    """Train a model from CONFIG; any field can be overridden: --train.epochs 5 --model.cell gru --lr 0.01.

    Text tasks: ``rnnkit train classify --data FILE|NAME [--text-col C --label-col L --cell gru ...] --out DIR`` and
    ``rnnkit train lm --data FILE|NAME [--tokenizer char --hidden-size 512 --bptt 128 ...] --out DIR``.
    """
    from rnnkit.tasks.sequence import train_from_config
    from rnnkit.train import CheckpointError, TrainingDiverged, apply_overrides, load_config

    if str(config) in ("classify", "lm"):
        _train_text(str(config), list(ctx.args), out)
        return
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


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _options(cls, args: list[str]):
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(cls)}
    values, i = {}, 0
    while i < len(args):
        key = args[i]
        if not key.startswith("--"):
            raise ValueError(f"unexpected argument {key!r}")
        name, eq, val = key[2:].replace("-", "_").partition("=")
        if not eq:
            if i + 1 >= len(args):
                raise ValueError(f"--{name} needs a value")
            val, i = args[i + 1], i + 1
        i += 1
        if name not in fields:
            raise ValueError(f"unknown option --{name.replace('_', '-')}; options: "
                             + ", ".join("--" + n.replace("_", "-") for n in fields))
        default = fields[name].default
        if isinstance(default, bool):
            values[name] = val.lower() in ("1", "true", "yes")
        elif isinstance(default, int) or (default is None and val.isdigit()):
            values[name] = int(val)
        elif isinstance(default, float) or (default is None and _is_float(val)):
            values[name] = float(val)
        else:
            values[name] = val
    if "data" not in values:
        raise ValueError("--data FILE|NAME is required")
    return cls(**values)


def _train_text(kind: str, args: list[str], out: Path) -> None:
    from rnnkit.tasks.text import ClassifyOptions, LMOptions, train_classifier, train_language_model
    from rnnkit.train import CheckpointError, TrainingDiverged

    try:
        if kind == "classify":
            results = train_classifier(_options(ClassifyOptions, args), out)
        else:
            results = train_language_model(_options(LMOptions, args), out)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError, CheckpointError, TrainingDiverged) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    for k, v in results.items():
        if not isinstance(v, list):
            typer.echo(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")
    typer.echo(f"model saved to {out}/")


@app.command()
def predict(run_dir: Path = typer.Argument(...), text: list[str] = typer.Argument(None),
            file: Path = typer.Option(None, "--file", help="classify every line of this file")) -> None:
    """Classify texts with a model trained by 'rnnkit train classify': prints label and probabilities."""
    from rnnkit.tasks.text import predict as run_predict
    from rnnkit.train import CheckpointError

    try:
        texts = list(text or [])
        if file is not None:
            from rnnkit.data.readers import read_text

            texts += [e.text for e in read_text(file, per_line=True)]
        for t, (label, probs) in zip(texts, run_predict(run_dir, texts)):
            typer.echo(f"{label}\t" + " ".join(f"{k}={v:.3f}" for k, v in probs.items()) + f"\t{t[:80]}")
    except (ValueError, FileNotFoundError, CheckpointError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


@app.command()
def generate(run_dir: Path = typer.Argument(...), prompt: str = typer.Option(..., "--prompt"),
             length: int = typer.Option(200, min=1), temperature: float = typer.Option(0.8, min=0.0),
             top_k: int = typer.Option(None, "--top-k"), top_p: float = typer.Option(None, "--top-p"),
             seed: int = typer.Option(0)) -> None:
    """Generate text from a language model trained by 'rnnkit train lm', streamed token by token."""
    import sys

    from rnnkit.tasks.text import generate as run_generate
    from rnnkit.train import CheckpointError

    try:
        sys.stdout.write(prompt)
        for piece in run_generate(run_dir, prompt, length, temperature, top_k, top_p, seed):
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
    except (ValueError, CheckpointError) as e:
        typer.echo(f"\nerror: {e}", err=True)
        raise typer.Exit(2) from None


data_app = typer.Typer(no_args_is_help=True, help="Built-in corpora, prepared offline from installed packages.")
app.add_typer(data_app, name="data")


@data_app.command("list")
def data_list() -> None:
    """Show the built-in data sets: source, licence, and whether they are prepared."""
    from rnnkit.data.corpora import describe

    for row in describe():
        typer.echo(f"{row['name']:<12} {row['task']:<15} {row['description']}\n{'':<12} source: {row['source']}; "
                   f"licence: {row['licence']}; prepared: {row['prepared']}")


@data_app.command("prepare")
def data_prepare(name: str, force: bool = typer.Option(False, "--force")) -> None:
    """Prepare a built-in data set into the local cache."""
    from rnnkit.data.corpora import prepare

    try:
        typer.echo(f"{name}: {prepare(name, force=force)}")
    except (ValueError, FileNotFoundError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


diagnose_app = typer.Typer(no_args_is_help=True, help="Show vanishing/exploding gradients and the cost of recurrence.")
app.add_typer(diagnose_app, name="diagnose")


def _csv(text: str, cast=str) -> list:
    return [cast(v.strip()) for v in text.split(",") if v.strip()]


@diagnose_app.command("vanishing")
def diagnose_vanishing(
    out: Path = typer.Option(Path("runs/vanishing"), "--out", help="folder for tables (Markdown, CSV) and PNG plots"),
    cells: str = typer.Option("rnn,lstm,gru,feedback", help="comma-separated cells"),
    lengths: str = typer.Option("10,25,50,100,200", help="comma-separated sequence lengths T"),
    seeds: int = typer.Option(2, min=1, help="seeds per configuration"),
    steps: int = typer.Option(1500, min=1, help="optimizer steps per run"),
    quick: bool = typer.Option(False, "--quick", help="rnn, lstm, gru at T = 10 and 50, one seed, 600 steps"),
) -> None:
    """Train each cell on the adding problem at each length, with and without clipping; tables, curves, gradient flow."""
    from rnnkit.diagnostics import plots
    from rnnkit.diagnostics.report import prepare_out_dir, table_markdown, write_tables
    from rnnkit.diagnostics.vanishing import explosion_demo, study, summary_table

    try:
        cell_list, len_list = _csv(cells), _csv(lengths, int)
        if quick:
            cell_list, len_list, seeds, steps = ["rnn", "lstm", "gru"], [10, 50], 1, 600
        out = prepare_out_dir(out)
        runs = study(cell_list, len_list, clips=(1.0, None), seeds=tuple(range(seeds)), steps=steps, progress=typer.echo)
    except (ValueError, NotADirectoryError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    rows = summary_table(runs)
    write_tables(out, "vanishing", rows)
    plots.learning_curves(runs, out / "learning_curves.png", "Adding problem: validation MSE")
    plots.gradient_flow_curves([r for r in runs if r.clip and r.seed == 0], out / "gradient_flow.png",
                               "‖∂L/∂h_t‖ for a loss at the last step")
    without, with_clip = explosion_demo()
    plots.explosion(without, with_clip, out / "explosion.png")
    typer.echo(table_markdown(rows))
    typer.echo(f"explosion: without clipping {without.diverged or f'MSE {without.final_mse:.3g}'}; "
               f"with clipping MSE {with_clip.final_mse:.3g}")
    typer.echo(f"tables and plots in {out}/")


@diagnose_app.command("cost")
def diagnose_cost(
    out: Path = typer.Option(Path("runs/cost"), "--out", help="folder for tables (Markdown, CSV) and PNG plots"),
    cells: str = typer.Option("rnn,lstm,gru"),
    backends: str = typer.Option("fused,loop", help="fused (torch's kernels), loop (rnnkit's), auto (the faster)"),
    lengths: str = typer.Option("25,50,100,200,400"),
    hiddens: str = typer.Option("32,64,128,256"),
    batches: str = typer.Option("16,32,64"),
    quick: bool = typer.Option(False, "--quick", help="T up to 200, H up to 128, batch 32 only"),
) -> None:
    """Time and activation memory of forward+backward vs T, H and batch, with fitted exponents and parameter counts."""
    from rnnkit.diagnostics import cost as costmod
    from rnnkit.diagnostics import plots
    from rnnkit.diagnostics.report import prepare_out_dir, table_markdown, write_tables

    try:
        c, bk = _csv(cells), _csv(backends)
        T, H, B = _csv(lengths, int), _csv(hiddens, int), _csv(batches, int)
        if quick:
            T, H, B = [t for t in T if t <= 200], [h for h in H if h <= 128], [32]
        out = prepare_out_dir(out)
        mid = lambda xs: xs[len(xs) // 2]  # noqa: E731
        rows_T = costmod.measure(c, bk, T, (mid(H),), (mid(B),), progress=typer.echo)
        rows_H = costmod.measure(c, bk[:1], (mid(T),), H, (mid(B),))  # H and B sweeps: the first backend
        rows_B = costmod.measure(c, bk[:1], (mid(T),), (mid(H),), B)
    except (ValueError, NotADirectoryError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    for name, rows in (("cost_vs_T", rows_T), ("cost_vs_H", rows_H), ("cost_vs_B", rows_B)):
        write_tables(out, name, rows)
    plots.cost_curves(rows_T, out / "cost.png")
    eT, eH, eB = (costmod.exponents(r, k) for r, k in ((rows_T, "T"), (rows_H, "H"), (rows_B, "B")))
    fits = [{"cell": cell, "backend": b, "time ∝ T^a": a, "time ∝ H^b": eH.get((cell, b), float("nan")),
             "time ∝ B^c": eB.get((cell, b), float("nan")), "params (I=32, H=64)": costmod.param_count(cell, 32, 64)}
            for (cell, b), a in eT.items()]
    write_tables(out, "exponents", fits)
    typer.echo(table_markdown(fits))
    typer.echo(f"tables and plots in {out}/")


@app.command()
def tour(
    out: Path = typer.Option(Path("runs/tour"), "--out", help="folder for index.html and its figures"),
    quick: bool = typer.Option(False, "--quick", help="the short version: at most ~5 minutes on 2 CPU cores"),
) -> None:
    """Walk the tutorial's story on real runs: vanishing gradients, the gating cure, clipping, cost; one HTML report."""
    from rnnkit.diagnostics.tour import TourBudget, run_tour

    try:
        run_tour(out, TourBudget.quick() if quick else TourBudget.full(), progress=typer.echo)
    except (ValueError, NotADirectoryError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


@app.command()
def version() -> None:
    """Print rnnkit's version."""
    from rnnkit import __version__

    typer.echo(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
