"""scikit-learn's bundled handwritten digits (1,797 8×8 images, UCI; BSD licence) read as sequences.

``rows``: each image is 8 time steps of 8 features (one pixel row per step) — the task of the tutorial's sequence model.
``pixels``: 64 time steps of 1 feature (a long-range task: the class depends on pixels far apart in time).
Pixel values 0..16 are scaled to [0, 1]. The split is stratified and fixed by ``seed``.
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


def load_digit_sequences(mode: str = "rows", test_fraction: float = 0.2, seed: int = 0) -> SequenceSplit:
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - scikit-learn is in the pinned environment
        raise RuntimeError("the digits data set needs scikit-learn: pip install scikit-learn") from e
    if mode not in ("rows", "pixels"):
        raise ValueError(f"mode must be 'rows' (8 steps x 8 features) or 'pixels' (64 steps x 1), got {mode!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x = x.reshape(-1, 8, 8) if mode == "rows" else x.reshape(-1, 64, 1)
    y = digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    test_idx = []
    for c in np.unique(y):  # stratified: the same share of every class in the test set
        idx = rng.permutation(np.flatnonzero(y == c))
        test_idx.extend(idx[: int(round(len(idx) * test_fraction))])
    test = np.zeros(len(y), dtype=bool)
    test[test_idx] = True
    t = torch.from_numpy
    return SequenceSplit(t(x[~test]), t(y[~test]), t(x[test]), t(y[test]), int(y.max()) + 1)
