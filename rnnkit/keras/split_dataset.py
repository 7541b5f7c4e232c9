"""``keras.utils.split_dataset``: a dataset — arrays, a tuple/list of arrays of one length, or a
``torch.utils.data.Dataset`` — in two ``torch.utils.data.Subset`` s, as Keras's PyTorch backend returns them.

Sizes as Keras reads them: a float in (0, 1) is a fraction of the samples (rounded), an int a count, None the rest.
``shuffle=True`` draws the order as Keras does (``torch.utils.data.random_split`` with a generator seeded ``seed``:
the same subsets as Keras); without it the left part is the first ``left_size`` samples and the right the next
``right_size`` — Keras's documented behaviour (its PyTorch backend shuffles anyway, from torch's global generator).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset, Subset, TensorDataset, random_split


def _dataset(data) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (np.ndarray, torch.Tensor)):
        return TensorDataset(torch.as_tensor(data))
    if isinstance(data, (list, tuple)) and data and all(isinstance(a, (np.ndarray, torch.Tensor)) for a in data):
        lengths = {len(a) for a in data}
        if len(lengths) != 1:
            raise ValueError(f"split_dataset: the arrays must have one length, got lengths {sorted(lengths)}")
        return TensorDataset(*[torch.as_tensor(a) for a in data])
    raise TypeError(f"The `dataset` argument must be a `torch.utils.data.Dataset` object, or a list/tuple of arrays. "
                    f"Received: dataset of type {type(data).__name__}")


def _size(value, total: int, side: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Invalid `{side}_size` type. Expected: int or float or None, Received: {type(value)}")
    if isinstance(value, float):
        if not 0 < value < 1:
            raise ValueError(f"`{side}_size` should be a float in the range (0, 1) or an int in (0, {total}); "
                             f"received {side}_size={value}")
        return round(value * total)
    if not 0 < value < total:
        raise ValueError(f"`{side}_size` should be an int in (0, {total}) or a float in the range (0, 1); received "
                         f"{side}_size={value}")
    return value


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None, preferred_backend=None):
    """(left, right): the two parts of ``dataset``."""
    data = _dataset(dataset)
    total = len(data)
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. Received: "
                         "left_size=None and right_size=None")
    if isinstance(left_size, float) and isinstance(right_size, float) and left_size + right_size > 1:
        raise ValueError(f"The sum of `left_size` and `right_size` should be at most 1, got {left_size + right_size}")
    left, right = _size(left_size, total, "left"), _size(right_size, total, "right")
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total or left == 0 or right == 0:
        raise ValueError(f"split_dataset: {left} + {right} samples cannot be split from a dataset of {total}, each "
                         "side needing at least one")
    if shuffle:
        generator = torch.Generator()
        if seed is not None:
            generator.manual_seed(seed)
        else:
            generator.seed()
        parts = random_split(data, [left, right] if left + right == total else [left, right, total - left - right],
                             generator=generator)
        return parts[0], parts[1]
    return Subset(data, range(left)), Subset(data, range(left, left + right))


__all__ = ["split_dataset"]
