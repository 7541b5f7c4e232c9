"""Generated long-range tasks (no files, fully determined by the seed).

**Adding problem** (Hochreiter & Schmidhuber 1997; in the form of Le, Jaitly & Hinton 2015): each step carries a pair
(value, marker); values are U(0, 1), exactly two markers are 1 — one in the first half, one in the second — and the
target is the sum of the two marked values. Predicting the mean (1.0) scores MSE = Var(U + U) = 1/6 ≈ 0.167; a model
that solves it must carry a value across up to T steps.

**Copy memory** (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): ``n_symbols`` random symbols (1..K), then
``delay`` blanks (0), then a delimiter (K+1) and ``n_symbols`` blanks; the target is blanks (0) everywhere except the
last ``n_symbols`` steps, which must reproduce the symbols. One-hot inputs of K + 2 classes.
"""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset


def adding_problem(n: int, seq_len: int, seed: int = 0) -> TensorDataset:
    """``x``: (n, seq_len, 2) float32, ``y``: (n, 1) float32."""
    if seq_len < 2:
        raise ValueError(f"the adding problem needs seq_len >= 2, got {seq_len}")
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(n, seq_len, generator=g)
    half = seq_len // 2
    first = torch.randint(0, half, (n,), generator=g)
    second = torch.randint(half, seq_len, (n,), generator=g)
    markers = torch.zeros(n, seq_len)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)
    y = (values[rows, first] + values[rows, second]).unsqueeze(-1)
    return TensorDataset(x, y)


def copy_memory(n: int, delay: int, n_symbols: int = 10, num_classes: int = 8, seed: int = 0) -> TensorDataset:
    """``x``: (n, T, K+2) one-hot float32, ``y``: (n, T) int64 with T = 2·n_symbols + delay."""
    if delay < 1 or n_symbols < 1 or num_classes < 2:
        raise ValueError(f"copy memory needs delay >= 1, n_symbols >= 1, num_classes >= 2; got {delay}, {n_symbols}, "
                         f"{num_classes}")
    g = torch.Generator().manual_seed(seed)
    K = num_classes
    T = 2 * n_symbols + delay
    symbols = torch.randint(1, K + 1, (n, n_symbols), generator=g)
    seq = torch.zeros(n, T, dtype=torch.long)
    seq[:, :n_symbols] = symbols
    seq[:, n_symbols + delay - 1] = K + 1  # the delimiter: "now repeat"
    target = torch.zeros(n, T, dtype=torch.long)
    target[:, -n_symbols:] = symbols
    x = torch.nn.functional.one_hot(seq, K + 2).float()
    return TensorDataset(x, target)
