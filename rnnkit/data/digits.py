"""scikit-learn's bundled handwritten digits (1,797 8×8 images, UCI; BSD licence) read as sequences.

``rows``: each image is 8 time steps of 8 features (one pixel row per step) — the task of the tutorial's sequence model.
``pixels``: 64 time steps of 1 feature (a long-range task: the class depends on pixels far apart in time).
Pixel values 0..16 are scaled to [0, 1]. The split is stratified and fixed by ``seed``: ``test_fraction`` of every class
is the test set; ``val_fraction`` of every class is carved from the rest as a validation set (for early stopping and
choosing a checkpoint — never the test set, or the test accuracy stops being an estimate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SOURCE = "scikit-learn load_digits (UCI optical recognition of handwritten digits, 1,797 images); BSD-3-Clause"


@dataclass
class SequenceSplit:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None


def load_digit_sequences(mode: str = "rows", test_fraction: float = 0.2, seed: int = 0,
                         val_fraction: float = 0.0) -> SequenceSplit:
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - scikit-learn is in the pinned environment
        raise RuntimeError("the digits data set needs scikit-learn: pip install scikit-learn") from e
    if mode not in ("rows", "pixels"):
        raise ValueError(f"mode must be 'rows' (8 steps x 8 features) or 'pixels' (64 steps x 1), got {mode!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if not 0 <= val_fraction < 1 - test_fraction:
        raise ValueError(f"val_fraction must be in [0, {1 - test_fraction:g}), got {val_fraction}")
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x = x.reshape(-1, 8, 8) if mode == "rows" else x.reshape(-1, 64, 1)
    y = digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    part = np.zeros(len(y), dtype=np.int8)  # 0 train, 1 test, 2 validation
    for c in np.unique(y):  # stratified: the same share of every class in each part
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(len(idx) * test_fraction))
        part[idx[:n_test]] = 1
        part[idx[n_test:n_test + int(round(len(idx) * val_fraction))]] = 2
    t = torch.from_numpy
    train, test, val = part == 0, part == 1, part == 2
    return SequenceSplit(t(x[train]), t(y[train]), t(x[test]), t(y[test]), int(y.max()) + 1, t(x[val]), t(y[val]))
