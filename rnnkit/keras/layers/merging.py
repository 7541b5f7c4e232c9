"""Keras's merging layers — ``Concatenate``, ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
``Minimum`` — on a list of tensors, with Keras's masks: a step stays valid where any input's is (element-wise merges:
no mask at all if an input has none; ``Concatenate`` on the features: an input without one counts as all valid; along
time or batch it joins the masks)."""

from __future__ import annotations

import functools

import torch

from rnnkit.keras.layers.base import Layer


class Merge(Layer):
    """The base: ``call`` takes the list (at least two tensors); ``merges_masks`` asks the model for their masks."""

    supports_masking = True
    merges_masks = True

    def _check(self, xs) -> list[torch.Tensor]:
        if not isinstance(xs, (list, tuple)) or len(xs) < 2:
            raise ValueError(f"A merge layer should be called on a list of at least 2 inputs. Got "
                             f"{len(xs) if isinstance(xs, (list, tuple)) else 1} input(s) ({self.name!r})")
        return list(xs)

    def _merge(self, xs: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def call(self, xs, mask=None, training=False):
        return self._merge(self._check(xs))

    def compute_mask(self, xs, mask=None):
        if not isinstance(mask, (list, tuple)) or any(m is None for m in mask):
            return None
        return functools.reduce(torch.logical_or, [m.bool() for m in mask])


def _elementwise(name: str, op, doc: str):
    def _merge(self, xs):
        try:
            return op(xs)
        except RuntimeError as e:  # shapes that do not broadcast
            raise ValueError(f"{name} {self.name!r}: inputs of shapes {[tuple(x.shape) for x in xs]} cannot be "
                             f"merged element by element ({e})") from None

    return type(name, (Merge,), {"_merge": _merge, "__doc__": doc})


Add = _elementwise("Add", lambda xs: functools.reduce(torch.add, xs), "Keras's ``Add``: the sum of the inputs.")
Multiply = _elementwise("Multiply", lambda xs: functools.reduce(torch.mul, xs), "The element-wise product.")
Average = _elementwise("Average", lambda xs: functools.reduce(torch.add, xs) / len(xs), "The element-wise mean.")
Maximum = _elementwise("Maximum", lambda xs: functools.reduce(torch.maximum, xs), "The element-wise maximum.")
Minimum = _elementwise("Minimum", lambda xs: functools.reduce(torch.minimum, xs), "The element-wise minimum.")


class Subtract(Merge):
    """Keras's ``Subtract``: the first input less the second (exactly two)."""

    def _merge(self, xs):
        if len(xs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. Received: inputs={len(xs)}")
        return xs[0] - xs[1]


class Concatenate(Merge):
    """Keras's ``Concatenate(axis=-1)``: the inputs joined along ``axis`` (the others must agree)."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def _merge(self, xs):
        rank = xs[0].dim()
        axis = self.axis % rank
        for x in xs[1:]:
            if x.dim() != rank or any(a != b for i, (a, b) in enumerate(zip(x.shape, xs[0].shape)) if i != axis):
                raise ValueError(f"A `Concatenate` layer requires inputs with matching shapes except for the "
                                 f"concatenation axis. Received: input_shape={[tuple(t.shape) for t in xs]}")
        return torch.cat(xs, dim=axis)

    def compute_mask(self, xs, mask=None):
        if not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        valid = [torch.ones(x.shape[:2], dtype=torch.bool, device=x.device) if m is None else m.bool()
                 for x, m in zip(xs, mask)]
        if self.axis % xs[0].dim() in (0, 1):  # joined along the batch or the time axis: the masks are joined too
            return torch.cat(valid, dim=self.axis % xs[0].dim())
        return functools.reduce(torch.logical_or, valid)  # features joined: a step is valid where any input's is

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]
