"""PNG figures for the diagnostics (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from rnnkit.diagnostics.vanishing import BASELINE_MSE, PASS_MSE  # noqa: E402

COLORS = {"rnn": "tab:red", "relu": "tab:pink", "lstm": "tab:blue", "gru": "tab:green", "feedback": "tab:purple",
          "feedback-gru": "tab:olive", "feedback-lstm": "tab:cyan"}


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _legend_outside(ax) -> None:
    """The legend to the right of the axes, never over a curve."""
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, frameon=False)


def learning_curves(runs, path: Path, title: str) -> Path:
    """Validation MSE per evaluation, one panel per length (titled by its T only when there are several)."""
    lengths = sorted({r.seq_len for r in runs})
    fig, axes = plt.subplots(1, len(lengths), figsize=(4.2 * len(lengths) + 1.8, 3.6), squeeze=False, sharey=True)
    for ax, T in zip(axes[0], lengths):
        for r in (r for r in runs if r.seq_len == T):
            if r.curve:
                steps, mse = zip(*r.curve)
                _plot_marking_nonfinite(ax, steps, mse, COLORS.get(r.cell),
                                        f"{r.cell}{'' if r.clip else ' (no clip)'}", ls="-" if r.clip else "--")
        ax.axhline(BASELINE_MSE, color="gray", lw=1, ls=":", label=f"predict the mean ({BASELINE_MSE:.3f})")
        ax.axhline(PASS_MSE, color="gray", lw=0.8, ls="-.", label=f"pass ({PASS_MSE})")
        ax.set_yscale("log")
        if len(lengths) > 1:
            ax.set_title(f"T = {T}")
        ax.set_xlabel("optimizer step")
    axes[0][0].set_ylabel("validation MSE (log scale)")
    _legend_outside(axes[0][-1])
    fig.suptitle(title)
    return _save(fig, path)


def gradient_flow_curves(runs, path: Path, title: str) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.6), sharey=True)
    for ax, which in zip(axes, ("flow_init", "flow_trained")):
        for r in runs:
            flow = getattr(r, which)
            if flow is None:
                continue
            back = np.arange(len(flow))[::-1]  # steps back from the loss at the last step
            ax.plot(back, np.maximum(flow, 1e-30), color=COLORS.get(r.cell), label=f"{r.cell} T={r.seq_len}")
        ax.set_yscale("log")
        ax.set_xlabel("steps back from the loss (T − t)")
        ax.set_title("at initialisation" if which == "flow_init" else "after training")
    axes[0].set_ylabel("‖∂L/∂h_t‖ (log scale)")
    _legend_outside(axes[1])
    fig.suptitle(title)
    return _save(fig, path)


def _plot_marking_nonfinite(ax, x, y, color, label, **style) -> int:
    """Plot the finite points as a line; mark the non-finite ones (inf, NaN) with an × on the top edge of the axes,
    where no value is drawn — so nothing infinite is shown as a made-up large number. Returns how many were marked."""
    x, y = np.asarray(x), np.asarray(y, dtype=float)
    ok = np.isfinite(y)
    ax.plot(x[ok], y[ok], color=color, label=label, **style)
    bad = int((~ok).sum())
    if bad:
        edge = blended_transform_factory(ax.transData, ax.transAxes)
        ax.scatter(x[~ok], np.full(bad, 0.98), transform=edge, marker="x", s=36, color=color, clip_on=False, zorder=5,
                   label=f"{label}: non-finite (inf/NaN), marked on the top edge")
    return bad


def explosion(without, with_clip, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for r, label, color in ((without, "no clipping", "tab:red"), (with_clip, "clip norm 1", "tab:blue")):
        _plot_marking_nonfinite(axes[0], np.arange(1, len(r.grad_norms) + 1), r.grad_norms, color, label)
        if r.curve:
            steps, mse = zip(*r.curve)
            _plot_marking_nonfinite(axes[1], steps, mse, color, label, marker="o", ms=3)
        if r.diverged:
            axes[1].axvline(r.steps if not r.curve else max(s for s, _ in r.curve), color=color, lw=0.8, ls="--")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("optimizer step")
    axes[0].set_ylabel("gradient norm before clipping")
    axes[0].set_title("gradient norm")
    axes[1].axhline(BASELINE_MSE, color="gray", ls=":", label=f"predict the mean ({BASELINE_MSE:.3f})")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("optimizer step")
    axes[1].set_ylabel("validation MSE")
    axes[1].set_title("validation MSE (a run that stopped ends early)")
    for ax in axes:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.18), ncol=2, frameon=False)
    fig.suptitle("Exploding gradients: tanh RNN, W_hh = 2·orthogonal, plain SGD")
    return _save(fig, path)


def cost_curves(rows, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4))
    keys = sorted({(r["cell"], r["backend"]) for r in rows})
    lengths = sorted({r["T"] for r in rows})
    for cell, backend in keys:
        pts = sorted((r["T"], r["seconds"], r["saved_MB"]) for r in rows if (r["cell"], r["backend"]) == (cell, backend))
        T, s, mb = zip(*pts)
        style = "--" if backend == "loop" else "-"
        axes[0].plot(T, np.array(s) * 1000, style, color=COLORS.get(cell), marker="o", ms=3, label=f"{cell} {backend}")
        axes[1].plot(T, mb, style, color=COLORS.get(cell), marker="o", ms=3, label=f"{cell} {backend}")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(lengths, [str(t) for t in lengths])  # the measured lengths, no crowded minor labels
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("sequence length T (log scale)")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("forward+backward time (ms, log)")
    axes[0].set_title("time")
    axes[1].set_ylabel("saved for backward (MB, log)")
    axes[1].set_title("activation memory")
    _legend_outside(axes[1])
    fig.suptitle("The cost of recurrence against sequence length")
    return _save(fig, path)
