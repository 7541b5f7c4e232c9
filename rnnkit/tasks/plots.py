"""Figures the tasks share: learning curves against training time and the confusion matrix (matplotlib, PNG, no
display). Each says at a glance what it shows: a title naming the split, axes with units, the legend off the data."""

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
