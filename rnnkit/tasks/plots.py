"""Figures the tasks share: learning curves against training time, the confusion matrix, attention heatmaps, CTC
posteriors (matplotlib, PNG, no display). Each says at a glance what it shows: a title naming the split, axes with
units, the legend off the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(curves: dict[str, list[dict]], path: Path, ylabel: str = "held-out bits per token",
                title: str = "Learning curve on the held-out text", key: str = "val_bits_per_token") -> Path:
    """Learning curves (label → ``LearningCurve`` rows): a held-out metric against training minutes."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for label, rows in curves.items():
        ax.plot([r["train_seconds"] / 60 for r in rows], [r[key] for r in rows], marker="o", ms=3, label=label)
    ax.set_xlabel("training time (minutes, evaluation excluded)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_confusion(m: np.ndarray, labels: list[str], path: Path, split: str = "validation") -> Path:
    """Counts with the row-normalised share as colour; white numbers on dark cells, black on light ones."""
    plt = _pyplot()
    m = np.asarray(m)
    n = len(labels)
    share = m / np.maximum(m.sum(1, keepdims=True), 1)
    side = max(4.5, 1.6 + 0.75 * n)
    fig, ax = plt.subplots(figsize=(side + 1.2, side))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{m[i, j]}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=10 if n <= 8 else 7,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), labels, rotation=45 if max(map(len, labels), default=0) > 4 else 0, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    accuracy = np.trace(m) / max(m.sum(), 1)
    ax.set_title(f"Confusion matrix, {split} set ({m.sum()} texts, accuracy {accuracy:.1%})")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true label's texts")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_attention(weights, source: list[str], target: list[str], path: Path, title: str = "Attention") -> Path:
    """A heatmap of attention weights: one row per output token, one column per source token (each row sums to 1)."""
    plt = _pyplot()
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(target), len(source)):
        raise ValueError(f"attention weights of shape {w.shape} do not match {len(target)} output × {len(source)} "
                         "source tokens")
    fig, ax = plt.subplots(figsize=(min(2.5 + 0.38 * len(source), 30), min(1.8 + 0.32 * len(target), 30)))
    image = ax.imshow(w, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(source)), source, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(target)), target, fontsize=8)
    ax.set_xlabel("source tokens")
    ax.set_ylabel("output tokens")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_ctc(features, log_probs, symbols, step_seconds: float, frame_seconds: float, path: Path,
             text: str = "") -> Path:
    """An utterance's log-mel spectrogram over its CTC posteriors p(label | frame) (blank shown as '-')."""
    plt = _pyplot()
    f, lp = np.asarray(features), np.exp(np.asarray(log_probs))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, gridspec_kw={"height_ratios": [1, 1.4]})
    top.imshow(f.T, origin="lower", aspect="auto", cmap="magma", extent=(0, len(f) * frame_seconds, 0, f.shape[1]))
    top.set_ylabel("mel band")
    top.set_title(f"Log-mel spectrogram and CTC posteriors{': ' + repr(text[:70]) if text else ''}")
    used = [k for k in range(lp.shape[1]) if lp[:, k].max() > 0.05] or [0]
    bottom.imshow(lp[:, used].T, origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest",
                  extent=(0, len(lp) * step_seconds, -0.5, len(used) - 0.5))
    bottom.set_yticks(range(len(used)), ["-" if k == 0 else repr(symbols[k])[1:-1] for k in used], fontsize=7)
    bottom.set_ylabel("label (p > 0.05 somewhere)")
    bottom.set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_forecasts(rows: list[dict], series: list, path: Path, actuals: list | None = None, max_series: int = 12,
                   history: int | None = None) -> Path:
    """A grid of forecasts: each series' recent history, the forecast (the 0.5 level), its intervals (shaded) and,
    where known, the actual values that followed; against dates where the series has them, positions otherwise."""
    plt = _pyplot()
    n = min(len(rows), max_series)
    cols = 1 if n == 1 else 2 if n <= 4 else 3
    nrows = -(-n // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 3.0 * nrows), squeeze=False)
    for k in range(nrows * cols):
        ax = axes[k // cols][k % cols]
        if k >= n:
            ax.axis("off")
            continue
        row, s = rows[k], series[k]
        h = len(row["forecast"])
        past = history or max(3 * h, 24)
        dated = s.timestamps is not None and all(isinstance(t, str) for t in row["steps"])
        if dated:  # dated series are drawn against their dates (the rows' steps continue them)
            import pandas as pd

            x_hist, x_f = s.timestamps[-past:], pd.to_datetime(row["steps"])
            ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        else:
            n = len(s.values)
            x_hist, x_f = s.positions(max(0, n - past), n), s.positions(n, n + h)
        ax.plot(x_hist, s.values[-past:], color="black", lw=1.2, label="history")
        levels = sorted(float(t) for t in row["quantiles"])
        for lo in [t for t in levels if t < 0.5]:
            hi = f"{1 - lo:g}"
            if hi in row["quantiles"]:
                ax.fill_between(x_f, row["quantiles"][f"{lo:g}"], row["quantiles"][hi], color="tab:blue",
                                alpha=0.18, lw=0, label=f"{1 - 2 * lo:.0%} interval")
        ax.plot(x_f, row["forecast"], color="tab:blue", lw=1.6, label="forecast")
        if actuals is not None and actuals[k] is not None:
            ax.plot(x_f[:len(actuals[k])], actuals[k][:h], color="tab:red", lw=1.2, ls="--", label="actual")
        ax.set_title(str(row["id"]), fontsize=10)
        ax.set_xlabel(f"date ({s.freq})" if dated else "step")
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=7, loc="upper left", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
