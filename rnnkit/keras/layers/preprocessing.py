"""Keras's numeric preprocessing layers: ``Rescaling`` (y = x·scale + offset), ``CategoryEncoding`` (integer ids to
one-hot, multi-hot or count vectors) and ``Discretization`` (values to bucket ids by boundaries, given or learnt by
``adapt`` as approximate quantiles, Keras's summary algorithm, so the same data gives Keras's boundaries).

Encoding ids i into vectors of ``depth`` D, as Keras's ``encode_categorical_inputs``:

    one_hot    e_i for every id (a trailing axis of size 1 is dropped first)     (..., D)
    multi_hot  y_j = 1 if some id of the sample is j (the last axis holds a sample's ids; a rank-1 input is one
               sample)                                                            (batch, D)
    count      y_j = Σ over the sample's ids equal to j of their weight (1, or ``count_weights``)
"""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.keras.layers.base import Layer

MODES = ("one_hot", "multi_hot", "count")


def encode(ids: torch.Tensor, mode: str, depth: int, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Integer ids as ``mode`` vectors of ``depth`` (module docstring); float32."""
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= depth):
        raise ValueError(f"ids must be in [0, {depth}): got values from {int(ids.min())} to {int(ids.max())}")
    ids = ids.long()
    if mode == "one_hot":
        if ids.dim() > 1 and ids.shape[-1] == 1:
            ids = ids.squeeze(-1)
        return torch.nn.functional.one_hot(ids, depth).float()
    rows = ids.reshape(1, -1) if ids.dim() <= 1 else ids.reshape(-1, ids.shape[-1])
    w = torch.ones(rows.shape) if weights is None else torch.as_tensor(weights, dtype=torch.float32).reshape(rows.shape)
    out = torch.zeros(rows.shape[0], depth).scatter_add_(1, rows, w if mode == "count" else torch.ones(rows.shape))
    if mode == "multi_hot":
        out = (out > 0).float()
    return out[0] if ids.dim() <= 1 else out.reshape(*ids.shape[:-1], depth)


class Rescaling(Layer):
    """y = x · scale + offset (``scale``, ``offset``: numbers, or one per feature of the last axis)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, x, mask=None, training=False):
        return x * torch.as_tensor(self.scale, dtype=x.dtype) + torch.as_tensor(self.offset, dtype=x.dtype)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class CategoryEncoding(Layer):
    """Integer ids in [0, num_tokens) as one-hot, multi-hot or count vectors (``encode``); ``layer(ids,
    count_weights=w)`` weighs each id in "count" mode."""

    reads_ids = True

    def __init__(self, num_tokens=None, output_mode: str = "multi_hot", sparse: bool = False, **kwargs):
        super().__init__(**kwargs)
        if output_mode not in MODES:
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None or num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise ValueError("CategoryEncoding: sparse=True is not supported (torch tensors here are dense)")
        self.num_tokens, self.output_mode, self.sparse = num_tokens, output_mode, sparse

    def call(self, x, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"`count_weights` is not used when `output_mode` is not `'count'`. Received "
                             f"`count_weights={count_weights}`.")
        return encode(x, self.output_mode, self.num_tokens, count_weights)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "one_hot":
            return (*(shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape), self.num_tokens)
        return (*shape[:-1], self.num_tokens) if len(shape) > 1 else (self.num_tokens,)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}


# --- Discretization's approximate quantiles: a summary is (values, weights), 2 × k, values ascending -------------
def _summary(values: np.ndarray, epsilon: float) -> np.ndarray:
    """About 1/ε evenly spaced order statistics of ``values``, each weighing the values it stands for."""
    ordered = np.sort(np.asarray(values, dtype=np.float32).reshape(-1))
    step = max(ordered.size * epsilon, 1)
    kept = ordered[int(step - 1)::int(step)]
    return np.stack([kept, np.full(kept.shape, step, dtype=kept.dtype)])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """At most 1/ε points: the values where the cumulative weight reaches ε, 2ε, …, 1 (interpolated)."""
    if summary.shape[1] * epsilon < 1:
        return summary
    targets = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    values = np.interp(targets, cumulative / cumulative[-1], summary[0])
    reached = np.interp(targets, cumulative / cumulative[-1], cumulative)
    return np.stack([values, np.diff(reached, prepend=0.0)]).astype(np.float32)


def _merge(a: np.ndarray, b: np.ndarray, epsilon: float) -> np.ndarray:
    both = np.concatenate([a, b], axis=1)
    return _compress(both[:, np.argsort(both[0], kind="stable")], epsilon)


class Discretization(Layer):
    """x → the index of its bucket: i such that b_{i−1} ≤ x < b_i for boundaries b (``bin_boundaries``, or
    ``num_bins`` − 1 of them learnt by ``adapt``), as ids (int32) or encoded (``encode``) with depth len(b) + 1."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon: float = 0.01, output_mode: str = "int",
                 sparse: bool = False, dtype=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if output_mode not in ("int", *MODES):
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of {('int', *MODES)}. "
                             f"Received: output_mode={output_mode}")
        if sparse:
            raise ValueError("Discretization: sparse=True is not supported (torch tensors here are dense)")
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"`num_bins` must be greater than or equal to 0. Received: `num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Both `num_bins` and `bin_boundaries` should not be set. Received: "
                             f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`")
        self.bin_boundaries = None if bin_boundaries is None else list(bin_boundaries)
        self.num_bins, self.epsilon, self.output_mode, self.sparse = num_bins, epsilon, output_mode, sparse

    def adapt(self, data, steps=None) -> None:
        """Learn ``num_bins`` − 1 boundaries: an array is one batch; any other iterable gives batches (``steps`` at
        most), whose summaries are merged as Keras merges them."""
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized with `bin_boundaries`, "
                             "use `num_bins` instead.")
        if isinstance(data, (np.ndarray, torch.Tensor)) or not hasattr(data, "__iter__"):
            batches = [data]
        else:
            batches = [b for i, b in enumerate(data) if steps is None or i < steps]
        summary = np.zeros((2, 0), dtype=np.float32)
        for batch in batches:
            values = batch.detach().cpu().numpy() if isinstance(batch, torch.Tensor) else np.asarray(batch)
            summary = _merge(_summary(values, self.epsilon), summary, self.epsilon)
        self.bin_boundaries = _compress(summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, x, mask=None, training=False):
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at construction time or call "
                             "`adapt(dataset)` before you can start using the `Discretization` layer.")
        ids = torch.bucketize(x, torch.as_tensor(self.bin_boundaries, dtype=x.dtype), right=True)
        if self.output_mode == "int":
            return ids.to(torch.int32)
        return encode(ids, self.output_mode, len(self.bin_boundaries) + 1)

    def get_config(self):
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name, "dtype": "float32"}


__all__ = ["Rescaling", "CategoryEncoding", "Discretization", "encode"]
