"""``rnnkit diagnose vanishing|cost`` and ``rnnkit tour``: the tutorial's claims, measured on this machine.

Presets (``--quick``) fill only the settings the user did not give: an explicit ``--cells`` or ``--lengths`` wins.
Output folders that already hold files are refused unless ``--force``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from rnnkit.cli.common import USER_ERRORS, csv_list, fail

diagnose_app = typer.Typer(no_args_is_help=True, help="Show vanishing/exploding gradients and the cost of recurrence.")

FORCE_HELP = "write into --out even if it holds files (files of the same name are replaced)"
VANISHING = {"full": {"cells": "rnn,lstm,gru,feedback", "lengths": "10,25,50,100,200", "seeds": 2, "steps": 1500},
             "quick": {"cells": "rnn,lstm,gru", "lengths": "10,50", "seeds": 1, "steps": 600}}
COST = {"full": {"lengths": "25,50,100,200,400", "hiddens": "32,64,128,256", "batches": "16,32,64"},
        "quick": {"lengths": "25,50,100,200", "hiddens": "32,64,128", "batches": "32"}}


def _preset(table: dict, quick: bool, **given) -> dict:
    """The preset's values for the settings left unset (None); the ones given stay."""
    preset = table["quick" if quick else "full"]
    return {k: preset[k] if v is None else v for k, v in given.items()}


@diagnose_app.command("vanishing")
def diagnose_vanishing(
    out: Path = typer.Option(Path("runs/vanishing"), "--out", help="folder for tables (Markdown, CSV) and PNG plots"),
    cells: str = typer.Option(None, help=f"comma-separated cells [default: {VANISHING['full']['cells']}]"),
    lengths: str = typer.Option(None, help=f"comma-separated sequence lengths T [default: {VANISHING['full']['lengths']}]"),
    seeds: int = typer.Option(None, min=1, help=f"seeds per configuration [default: {VANISHING['full']['seeds']}]"),
    steps: int = typer.Option(None, min=1, help=f"optimizer steps per run [default: {VANISHING['full']['steps']}]"),
    quick: bool = typer.Option(False, "--quick", help="defaults for a short run: rnn, lstm, gru at T = 10 and 50, one "
                                                      "seed, 600 steps (options you give still win)"),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Train each cell on the adding problem at each length, with and without clipping; tables, curves, gradient flow."""
    from rnnkit.diagnostics import plots
    from rnnkit.diagnostics.report import prepare_out_dir, table_markdown, write_tables
    from rnnkit.diagnostics.vanishing import explosion_demo, study, summary_table

    s = _preset(VANISHING, quick, cells=cells, lengths=lengths, seeds=seeds, steps=steps)
    try:
        cell_list, len_list = csv_list(s["cells"]), csv_list(s["lengths"], int)
        out = prepare_out_dir(out, force)
        runs = study(cell_list, len_list, clips=(1.0, None), seeds=tuple(range(s["seeds"])), steps=s["steps"],
                     progress=typer.echo)
    except USER_ERRORS as e:
        raise fail(e) from None
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
    cells: str = typer.Option("rnn,lstm,gru", help="comma-separated cells"),
    backends: str = typer.Option("fused,loop", help="fused (torch's kernels), loop (rnnkit's), auto (the faster)"),
    lengths: str = typer.Option(None, help=f"sequence lengths T [default: {COST['full']['lengths']}]"),
    hiddens: str = typer.Option(None, help=f"hidden sizes H [default: {COST['full']['hiddens']}]"),
    batches: str = typer.Option(None, help=f"batch sizes B [default: {COST['full']['batches']}]"),
    quick: bool = typer.Option(False, "--quick", help="defaults for a short run: T up to 200, H up to 128, batch 32 "
                                                      "(options you give still win)"),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Time and activation memory of forward+backward vs T, H and batch, with fitted exponents and parameter counts."""
    from rnnkit.diagnostics import cost as costmod
    from rnnkit.diagnostics import plots
    from rnnkit.diagnostics.report import prepare_out_dir, table_markdown, write_tables

    s = _preset(COST, quick, lengths=lengths, hiddens=hiddens, batches=batches)
    try:
        c, bk = csv_list(cells), csv_list(backends)
        T, H, B = csv_list(s["lengths"], int), csv_list(s["hiddens"], int), csv_list(s["batches"], int)
        out = prepare_out_dir(out, force)
        mid = lambda xs: xs[len(xs) // 2]  # noqa: E731
        rows_T = costmod.measure(c, bk, T, (mid(H),), (mid(B),), progress=typer.echo)
        rows_H = costmod.measure(c, bk[:1], (mid(T),), H, (mid(B),))  # H and B sweeps: the first backend
        rows_B = costmod.measure(c, bk[:1], (mid(T),), (mid(H),), B)
    except USER_ERRORS as e:
        raise fail(e) from None
    for name, rows in (("cost_vs_T", rows_T), ("cost_vs_H", rows_H), ("cost_vs_B", rows_B)):
        write_tables(out, name, rows)
    plots.cost_curves(rows_T, out / "cost.png")
    fits = costmod.exponent_table(rows_T, rows_H, rows_B)
    write_tables(out, "exponents", fits)
    typer.echo(table_markdown(fits))
    typer.echo(costmod.NOT_APPLICABLE_NOTE)
    typer.echo(f"tables and plots in {out}/")


def tour(
    out: Path = typer.Option(Path("runs/tour"), "--out", help="folder for index.html and its figures"),
    quick: bool = typer.Option(False, "--quick", help="the short version: at most ~5 minutes on 2 CPU cores"),
    force: bool = typer.Option(False, "--force", help=FORCE_HELP),
) -> None:
    """Walk the tutorial's story on real runs: vanishing gradients, the gating cure, clipping, cost; one HTML report."""
    from rnnkit.diagnostics.tour import TourBudget, run_tour

    try:
        run_tour(out, TourBudget.quick() if quick else TourBudget.full(), progress=typer.echo, force=force)
    except USER_ERRORS as e:
        raise fail(e) from None
