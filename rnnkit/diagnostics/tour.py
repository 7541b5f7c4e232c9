"""``rnnkit tour``: the tutorial's story, run for real on this machine, written up as one HTML report.

1. a SimpleRNN learns the adding problem over a short distance;
2. over a long distance it fails while LSTM and GRU succeed;
3. why: the gradient-flow curves — ‖∂L/∂h_t‖ shrinks geometrically through a SimpleRNN and much less through gates;
4. the other failure, explosion, and clipping rescuing it;
5. the cost of recurrence: time and memory linear in T.
Every conclusion line is computed from the numbers of this run.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rnnkit.diagnostics import cost as costmod
from rnnkit.diagnostics import plots
from rnnkit.diagnostics.report import Section, prepare_out_dir, write_html, write_tables
from rnnkit.diagnostics.vanishing import BASELINE_MSE, PASS_MSE, explosion_demo, summary_table, train_adding


@dataclass
class TourBudget:
    short_len: int = 10
    long_len: int = 100
    short_steps: int = 800
    long_steps: int = 1500
    long_cells: tuple[str, ...] = ("rnn", "lstm", "gru")
    seeds: tuple[int, ...] = (0,)
    explosion_len: int = 50
    explosion_steps: int = 300
    cost_lens: tuple[int, ...] = (25, 50, 100, 200)
    cost_hiddens: tuple[int, ...] = (32, 64, 128)
    cost_repeats: int = 3

    @classmethod
    def quick(cls) -> TourBudget:
        return cls()

    @classmethod
    def full(cls) -> TourBudget:
        return cls(long_steps=3000, long_cells=("rnn", "lstm", "gru", "feedback"), seeds=(0, 1, 2),
                   cost_lens=(25, 50, 100, 200, 400), cost_hiddens=(32, 64, 128, 256), cost_repeats=5)


def _cells_that(rows, passed: bool) -> list[str]:
    return [r["cell"] for r in rows if (r["passed"].split("/")[0] != "0") == passed]


def explosion_outcome(run) -> str:
    """What a run of the explosion demo did, in words that do not claim more than it shows."""
    if run.diverged is not None or not np.isfinite(run.final_mse):
        return f"diverged ({run.diverged or 'non-finite loss'})"
    if run.final_mse < BASELINE_MSE:
        return f"learned: MSE {run.final_mse:.3g}, below the {BASELINE_MSE:.3f} of predicting the mean"
    return (f"did not diverge but did not learn: MSE {run.final_mse:.3g}, no better than predicting the mean "
            f"({BASELINE_MSE:.3f})")


def time_exponent_sentence(exp_rows: list[dict]) -> str:
    """What the table's fitted exponents of time in T say — every row of it, not a chosen subset."""
    a = [r["time ∝ T^a"] for r in exp_rows]
    return (f"Time grows as T^a with a fitted between {min(a):.2f} and {max(a):.2f} (mean {np.mean(a):.2f} over the "
            f"{len(a)} cell/backend rows of the table; 1 = linear)")


def run_tour(out: str | Path, budget: TourBudget | None = None, progress=print, force: bool = False) -> Path:
    b = budget or TourBudget.quick()
    out = prepare_out_dir(out, force)
    t0 = time.perf_counter()
    say = progress or (lambda *_: None)
    sections: list[Section] = []

    # 1. short
    say(f"[1/5] SimpleRNN on the adding problem at T = {b.short_len} ...")
    short = [train_adding("rnn", b.short_len, steps=b.short_steps, seed=s) for s in b.seeds]
    short_mse = float(np.mean([r.final_mse for r in short]))
    fig1 = plots.learning_curves(short, out / "short_task.png", f"SimpleRNN, adding problem, T = {b.short_len}")
    sections.append(Section(
        "A SimpleRNN learns a short dependency",
        f"The adding problem: two marked numbers among T, the target is their sum. Predicting the mean scores "
        f"MSE {BASELINE_MSE:.3f}; a run passes below {PASS_MSE}.",
        [(fig1, f"Validation MSE during training, T = {b.short_len}")], [summary_table(short)],
        f"At T = {b.short_len} the SimpleRNN reached validation MSE {short_mse:.4f} "
        f"({short_mse / BASELINE_MSE:.1%} of the baseline): "
        f"{'it learned the task' if short_mse < PASS_MSE else 'it did not learn it within this budget'}."))

    # 2. long
    say(f"[2/5] {', '.join(b.long_cells)} at T = {b.long_len} ({b.long_steps} steps each) ...")
    long_runs = []
    for cell in b.long_cells:
        for s in b.seeds:
            r = train_adding(cell, b.long_len, steps=b.long_steps, seed=s)
            long_runs.append(r)
            say(f"      {cell:<8} seed {s}: val MSE {r.final_mse:.4f} in {r.seconds:.0f} s")
    rows = summary_table(long_runs)
    write_tables(out, "long_task", rows)
    fig2 = plots.learning_curves(long_runs, out / "long_task.png", f"Adding problem, T = {b.long_len}")
    passed, failed = _cells_that(rows, True), _cells_that(rows, False)
    sections.append(Section(
        "…and fails a long one, while gated cells succeed",
        f"The same task with the two numbers up to {b.long_len} steps apart. Same hidden size, optimizer and budget.",
        [(fig2, f"Validation MSE during training, T = {b.long_len}, one curve per cell")], [rows],
        f"At T = {b.long_len}: passed — {', '.join(passed) or 'none'}; failed — {', '.join(failed) or 'none'}."))

    # 3. why
    say("[3/5] gradient flow ...")
    fig3 = plots.gradient_flow_curves(long_runs, out / "gradient_flow.png",
                                      f"‖∂L/∂h_t‖ for a loss at step T = {b.long_len}")
    def ratio(flow):
        return float(flow[0] / flow[-1]) if flow is not None and flow[-1] > 0 else float("nan")

    flow_rows = [{"cell": r.cell, "seed": r.seed, "‖∂L/∂h_1‖/‖∂L/∂h_T‖ at init": ratio(r.flow_init),
                  "after training": ratio(r.flow_trained)} for r in long_runs]
    trained = {r.cell: ratio(r.flow_trained) for r in long_runs if r.seed == b.seeds[0]}
    init = [ratio(r.flow_init) for r in long_runs]
    parts = [f"{c} {v:.2g}×" for c, v in trained.items() if np.isfinite(v)]
    gated = [v for c, v in trained.items() if c != "rnn" and np.isfinite(v)]
    simple = trained.get("rnn", float("nan"))
    if gated and np.isfinite(simple) and min(gated) > 100 * simple:
        verdict = ("every gated cell now passes back over 100× more than the SimpleRNN: training learned to hold the "
                   "gates open (forget/update gate near 1), a path a SimpleRNN does not have")
    else:
        verdict = "in this run the gated cells did not keep a clearly larger gradient than the SimpleRNN"
    flow_text = (f"After training, the gradient that reaches the first step is, relative to the last step's: "
                 f"{', '.join(parts) or 'not measured'}; at initialisation it was between {np.nanmin(init):.2g}× and "
                 f"{np.nanmax(init):.2g}× for every cell. So {verdict}.")
    sections.append(Section(
        "Why: the gradient vanishes through a SimpleRNN",
        "Back-propagating from a loss at the last step, the gradient reaching h_t is multiplied at every step by "
        "diag(σ') W_hh (SimpleRNN) or by the gates (LSTM, GRU). Below, its norm at every t, at initialisation and after "
        "training.",
        [(fig3, "Gradient norm at each step, at initialisation (left) and after training (right)")],
        [flow_rows], flow_text))

    # 4. explosion
    say("[4/5] exploding gradients, with and without clipping ...")
    without, with_clip = explosion_demo(b.explosion_len, b.explosion_steps)
    fig4 = plots.explosion(without, with_clip, out / "explosion.png")
    def finite_max(values) -> float | str:
        finite = [v for v in values if np.isfinite(v)]
        return max(finite) if finite else "–"

    ex_rows = [{"run": name, "largest finite pre-clip norm": finite_max(r.grad_norms),
                "non-finite steps": int(sum(not np.isfinite(v) for v in r.grad_norms)),
                "final MSE": r.final_mse, "outcome": explosion_outcome(r)}
               for name, r in (("no clipping", without), ("clip norm 1", with_clip))]
    sections.append(Section(
        "Exploding gradients, and clipping",
        "A tanh RNN whose recurrent matrix is twice an orthogonal one, trained by plain SGD: its gradients are huge. "
        "Non-finite values (inf, NaN) are marked with × on the figure's top edge, not drawn as numbers.",
        [(fig4, "Pre-clip gradient norm per step and validation MSE per evaluation, with and without clipping")],
        [ex_rows],
        f"Without clipping the run {explosion_outcome(without)}; with clipping by global norm 1 it "
        f"{explosion_outcome(with_clip)}. Clipping keeps the weights finite; it does not by itself make this "
        "ill-conditioned network learn."))

    # 5. cost
    say("[5/5] the cost of recurrence ...")
    rows_T = costmod.measure(seq_lens=b.cost_lens, hiddens=(b.cost_hiddens[1 if len(b.cost_hiddens) > 1 else 0],),
                             repeats=b.cost_repeats)
    rows_H = costmod.measure(backends=("fused",), seq_lens=(b.cost_lens[len(b.cost_lens) // 2],),
                             hiddens=b.cost_hiddens, repeats=b.cost_repeats)
    write_tables(out, "cost_vs_T", rows_T)
    write_tables(out, "cost_vs_H", rows_H)
    fig5 = plots.cost_curves(rows_T, out / "cost.png")
    exp_rows = costmod.exponent_table(rows_T, rows_H)
    for row in exp_rows:
        row.pop("time ∝ B^c")
    params = {c: costmod.param_count(c, 32, 64) for c in ("rnn", "gru", "lstm")}
    sections.append(Section(
        "The cost of recurrence",
        "Forward+backward time and activation memory (tensors saved for backward) against the sequence length; every "
        "step waits for the previous one. " + costmod.NOT_APPLICABLE_NOTE,
        [(fig5, "Forward+backward time (left) and activation memory (right) against T")], [exp_rows],
        f"{time_exponent_sentence(exp_rows)}, and memory with it; a GRU has "
        f"{params['gru'] / params['lstm']:.2f} of an LSTM's parameters ({params['gru']} vs {params['lstm']} at input 32, "
        f"hidden 64)."))

    meta = (f"rnnkit tour, {time.perf_counter() - t0:.0f} s on {platform.machine()} with {torch.get_num_threads()} "
            f"threads, torch {torch.__version__}")
    path = write_html(out / "index.html", "rnnkit tour: why gates, why clipping, what recurrence costs",
                      "Every number and figure below was produced by this run, on this machine.", sections, meta)
    say(f"report: {path}")
    return path
