"""``keras.datasets.mnist``: 60,000 + 10,000 handwritten digits, uint8 (28, 28) — an RNN reads one as 28 steps of 28
pixels."""

from __future__ import annotations

import numpy as np

from rnnkit.keras.datasets._files import fetch


def load_data(path="mnist.npz"):
    with np.load(fetch(path, "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1", "mnist.npz"),
                 allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


__all__ = ["load_data"]
