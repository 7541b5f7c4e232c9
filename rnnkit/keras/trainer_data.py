"""Keras's data in, as tensors: arrays (or a dict by input/output name) to (inputs, targets, sample weights), with
``class_weight``, ``validation_split`` and per-output weights; streams (DataLoader, PyDataset, generator) batch by
batch; a string ``Input``'s texts as NumPy arrays. A mixin of the Keras ``Trainer``."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import TensorDataset

from rnnkit.keras.data_adapters import ArrayBatches, Batches, is_stream, unpack
from rnnkit.keras.layers.base import as_list, weights_device
from rnnkit.keras.model_inputs import texts, vectorize


def _to_tensor(a, name="x") -> torch.Tensor | np.ndarray:
    """Data as a tensor (float32, int64 or bool); strings (for a model with a string ``Input``) as a NumPy array."""
    if isinstance(a, torch.Tensor):
        t = a
    else:
        arr = np.asarray(a)
        if arr.dtype.kind in "USO" and name == "x" and arr.size and all(isinstance(v, (str, bytes))
                                                                        for v in arr.reshape(-1)[:1]):
            return arr.astype(object)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name}: expected numeric data, got dtype {arr.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_floating_point():
        t = t.float()
    elif t.dtype != torch.bool:
        t = t.long()
    return t


class KerasData:
    def _by_name(self, data, names: list[str], what: str):
        """Keras's dict form: arrays keyed by input (or output) name, in the model's order."""
        if not isinstance(data, dict):
            return data
        missing = [n for n in names if n not in data]
        if missing or len(data) != len(names):
            raise ValueError(f"{what}: a dict must hold exactly the model's {what == 'x' and 'inputs' or 'outputs'} "
                             f"{names}; got keys {sorted(data)}")
        return [data[n] for n in names]

    def _dataset(self, x, y, sample_weight=None, class_weight=None):
        """Tensors of the inputs, the targets and the sample weights (ones where none are given; ``class_weight``
        {class: weight} gives each sample its class's weight, read from a sparse or one-hot first target)."""
        if isinstance(x, dict):
            x = self._by_name(x, [t.name for t in self.__dict__.get("graph_inputs", [])], "x")
        y = self._by_name(y, self.output_names, "y")
        if isinstance(x, (list, tuple)) and texts(x):
            x = np.asarray(x, dtype=object)  # a list of texts is one input, not one input per text
        xs = [_to_tensor(a, "x") for a in as_list(x)]
        if "graph_inputs" not in self.__dict__ and any(isinstance(t, np.ndarray) for t in xs):
            self._ensure_built(xs)  # a Sequential model built on texts: its string Input first
        xs = vectorize(self, xs)  # a string Input's texts: vectorized once, before batching
        ys = [_to_tensor(a, "y") for a in as_list(y)] if y is not None else []
        n = xs[0].shape[0]
        for t in xs + ys:
            if t.shape[0] != n:
                raise ValueError(f"all inputs and targets need the same number of samples; got {[a.shape[0] for a in xs + ys]}")
        if sample_weight is not None and class_weight is not None:
            raise ValueError("give sample_weight or class_weight, not both")
        if class_weight is not None:
            if not ys:
                raise ValueError("class_weight needs targets")
            y0 = ys[0]
            labels = y0.argmax(-1) if y0.dim() > 1 and y0.shape[-1] > 1 else y0.reshape(n, -1)[:, 0].round().long()
            missing = sorted({int(c) for c in labels.unique()} - {int(c) for c in class_weight})
            if missing:
                raise ValueError(f"class_weight has no weight for class(es) {missing} found in the targets")
            sample_weight = torch.tensor([float(class_weight[int(c)]) for c in labels])
        w = torch.ones(n) if sample_weight is None else self._sample_weights(sample_weight, n)
        if w.shape[0] != n:
            raise ValueError(f"sample_weight has {w.shape[0]} weights for {n} samples")
        return xs, ys, w

    def _sample_weights(self, sample_weight, n: int) -> torch.Tensor:
        """One weight per sample (n,), or — a dict by output name, or a list with one array per output of a model
        with several — one column per output (n, outputs); an output left out of the dict weighs 1."""
        names = self.output_names
        per_output = isinstance(sample_weight, dict) or (
            len(names) > 1 and isinstance(sample_weight, (list, tuple)) and len(sample_weight) == len(names)
            and all(np.ndim(v) >= 1 for v in sample_weight))
        if not per_output:
            return _to_tensor(sample_weight, "sample_weight").float()
        if isinstance(sample_weight, dict):
            unknown = sorted(set(sample_weight) - set(names))
            if unknown:
                raise ValueError(f"sample_weight: {unknown} are not outputs of the model (outputs: {names})")
            sample_weight = [sample_weight.get(name) for name in names]
        cols = [torch.ones(n) if v is None else _to_tensor(v, "sample_weight").float().reshape(-1) for v in
                sample_weight]
        for name, col in zip(names, cols):
            if col.shape[0] != n:
                raise ValueError(f"sample_weight for output {name!r} has {col.shape[0]} weights for {n} samples")
        return torch.stack(cols, dim=1)

    @staticmethod
    def _split_off(xs, ys, w, validation_split: float):
        """Keras's ``validation_split``: the last fraction of the samples, before any shuffling, held out —
        ((xs, ys, w) to train on, (xs, ys, w) to validate on)."""
        if not 0 < validation_split < 1:
            raise ValueError(f"validation_split must be in (0, 1), got {validation_split}")
        cut = int(xs[0].shape[0] * (1 - validation_split))
        return ([t[:cut] for t in xs], [t[:cut] for t in ys], w[:cut]), \
            ([t[cut:] for t in xs], [t[cut:] for t in ys], w[cut:])

    @staticmethod
    def _flat(xs, ys, w) -> list[torch.Tensor]:
        return [*xs, *ys, w]

    def _ensure_built(self, xs):
        if "graph_inputs" not in self.__dict__:
            self._build_on(xs)

    def _fit_stream(self, x, y, sample_weight, validation_split, steps_per_epoch, shuffle, seed) -> Batches | None:
        """``fit``'s ``x`` as a stream of batches (the model built on its first, when not built yet), or None for
        arrays; what the other kind of data takes is refused."""
        if not is_stream(x):
            return None
        if y is not None or sample_weight is not None or validation_split:
            raise ValueError("with a DataLoader or generator, y, sample_weight and validation_split come from its "
                             "batches: give them there (and validation_data for validation)")
        batches = Batches(x, steps_per_epoch, "x", shuffle=bool(shuffle), seed=seed)  # shuffle: a PyDataset's
        if "graph_inputs" not in self.__dict__:  # a first batch to build on (peeked only when needed)
            self._ensure_built(self._batch(batches.first())[0])
        return batches

    def _batch(self, batch, class_weight=None):
        """A stream's batch (x / (x, y) / (x, y, sample_weight)) as tensors: (xs, ys, w)."""
        x, y, w = unpack(batch)
        return self._dataset(x, y, w, class_weight)

    def _streamed(self, source, steps, what: str):
        """Every batch of a stream (``steps`` of them, or all), joined into one (xs, ys, w)."""
        parts = [self._batch(b) for b in Batches(source, steps, what).epoch()]
        return tuple([torch.cat([p[i][j] for p in parts]) for j in range(len(parts[0][i]))] for i in range(2)) + \
            (torch.cat([p[2] for p in parts]),)

    def _validation(self, validation_data, validation_steps):
        """The validation set as tensors: (x, y[, sample_weight]) arrays, or a stream read once."""
        if is_stream(validation_data):
            xs, ys, w = self._streamed(validation_data, validation_steps, "validation_data")
        else:
            xs, ys, w = self._dataset(*validation_data[:3])
        return TensorDataset(*self._flat(xs, ys, w))

    def _chunks(self, x, y, sample_weight, batch_size, steps, what: str):
        """(xs, ys, w) batch by batch: slices of arrays, or a stream's batches (``steps`` of them, or all)."""
        if is_stream(x):
            if y is not None or sample_weight is not None:
                raise ValueError(f"with a DataLoader or generator, {what}'s targets and weights come from its batches")
            yield from (self._batch(b) for b in Batches(x, steps, "x").epoch())
            return
        xs, ys, w = self._dataset(x, y, sample_weight)
        yield from Batches(ArrayBatches(xs, ys, w, batch_size or 32, shuffle=False), steps, "x").epoch()

    @staticmethod
    def _steps(x, batch_size, steps) -> int | None:
        """How many batches ``_chunks`` will give (for the progress bar), when it is known in advance."""
        if steps is not None:
            return steps
        if is_stream(x):
            return len(x) if hasattr(x, "__len__") else None
        first = x[0] if isinstance(x, (list, tuple)) else next(iter(x.values())) if isinstance(x, dict) else x
        return -(-len(first) // (batch_size or 32))

    def _on_device(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        dev = weights_device(self)  # (a string input's NumPy array stays where it is)
        return [t.to(dev) if isinstance(t, torch.Tensor) else t for t in tensors] if dev is not None else tensors
