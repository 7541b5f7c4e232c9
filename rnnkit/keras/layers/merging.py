"""Keras's merging layers — ``Concatenate``, ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
``Minimum``, ``Dot`` — on a list of tensors, with Keras's masks: a step stays valid where any input's is (element-wise
merges: no mask at all if an input has none; ``Concatenate`` on the features: an input without one counts as all
valid; along time or batch it joins the masks; ``Dot``: none). Keras's functional forms too: ``concatenate(inputs,
axis)``, ``add``, ``subtract``, ``multiply``, ``average``, ``maximum``, ``minimum``, ``dot(inputs, axes)``."""

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


def l2_normalize(x: torch.Tensor, axis: int, epsilon: float = 1e-7) -> torch.Tensor:
    """Keras's ``ops.normalize`` (order 2): x · min(1 / sqrt(Σ x²), 1 / ε) along ``axis``."""
    return x * torch.clamp(torch.rsqrt((x * x).sum(axis, keepdim=True)), max=1.0 / epsilon)


def batch_dot(x: torch.Tensor, y: torch.Tensor, axes: tuple[int, int]) -> torch.Tensor:
    """Keras's ``batch_dot``: for each sample, x's axis ``axes[0]`` contracted with y's ``axes[1]``; the result keeps
    x's other axes then y's ((b, t1, d) · (b, t2, d) on (2, 2) → (b, t1, t2)); a result of one number per sample is
    (b, 1)."""
    a, b = axes
    xm, ym = x.movedim(a, -1), y.movedim(b, 1)
    k, batch = xm.shape[-1], x.shape[0]
    out = torch.bmm(xm.reshape(batch, -1, k), ym.reshape(batch, k, -1)).reshape(batch, *xm.shape[1:-1], *ym.shape[2:])
    return out.unsqueeze(1) if out.dim() == 1 else out


class Dot(Merge):
    """Keras's ``Dot(axes, normalize=False)``: the per-sample dot product of two inputs along ``axes`` (one axis for
    both, or one each; the batch axis is not counted out: axis 1 is the first after it); ``normalize``: cosine
    similarity (each input L2-normalized along its axis first). Luong attention's scores are ``Dot(axes=(2, 2))``
    on the decoder's and the encoder's sequences."""

    def __init__(self, axes, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int) and not (isinstance(axes, (list, tuple)) and len(axes) == 2
                                              and all(isinstance(a, int) for a in axes)):
            raise TypeError(f"Invalid format for argument `axes`: list of two integers or an integer. Received: "
                            f"axes={axes}")
        self.axes, self.normalize = axes, normalize

    def _merge(self, xs):
        if len(xs) != 2:
            raise ValueError(f"A `Dot` layer should be called on exactly 2 inputs. Received: inputs={len(xs)}")
        pair = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        axes = tuple(a % x.dim() if a < 0 else a for a, x in zip(pair, xs))
        x1, x2 = xs
        if self.normalize:
            x1, x2 = l2_normalize(x1, axes[0]), l2_normalize(x2, axes[1])
        if x1.shape[axes[0]] != x2.shape[axes[1]]:
            raise ValueError(f"Incompatible input shapes: axis values {x1.shape[axes[0]]} (at axis {axes[0]}) != "
                             f"{x2.shape[axes[1]]} (at axis {axes[1]}). Full input shapes: {tuple(x1.shape)}, "
                             f"{tuple(x2.shape)}")
        return batch_dot(x1, x2, axes)

    def compute_mask(self, xs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _functional(cls, doc: str):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__doc__ = doc
    return merge


concatenate = _functional(Concatenate, "Keras's ``concatenate(inputs, axis=-1)``: ``Concatenate(axis)(inputs)``.")
add = _functional(Add, "``Add()(inputs)``.")
subtract = _functional(Subtract, "``Subtract()(inputs)``.")
multiply = _functional(Multiply, "``Multiply()(inputs)``.")
average = _functional(Average, "``Average()(inputs)``.")
maximum = _functional(Maximum, "``Maximum()(inputs)``.")
minimum = _functional(Minimum, "``Minimum()(inputs)``.")
dot = _functional(Dot, "Keras's ``dot(inputs, axes, normalize=False)``: ``Dot(axes, normalize)(inputs)``.")

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "concatenate", "add",
           "subtract", "multiply", "average", "maximum", "minimum", "dot", "batch_dot"]
