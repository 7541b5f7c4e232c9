"""More of ``keras.ops``' NumPy array functions: stacking and splitting along the first three axes (``hstack``,
``vstack``, ``dstack``, ``hsplit``, …), flips and quarter turns, diagonals and traces, differences, products of
arrays (``kron``, ``inner``, ``vdot``, ``cross``), ``vander``, and lookups into sorted arrays (``searchsorted``,
``digitize``, ``isin``, ``bincount``), ``trapezoid`` and ``corrcoef``."""

from __future__ import annotations

import torch

from rnnkit.keras.ops.arrays import _same_dtype
from rnnkit.keras.ops.core import convert_to_tensor as _t
from rnnkit.keras.ops.numpy import _float, _pair
from rnnkit.keras.ops.operation import operation


@operation("Hstack")
def hstack(xs):
    return torch.hstack(_same_dtype(xs))


@operation("Vstack")
def vstack(xs):
    return torch.vstack(_same_dtype(xs))


@operation("Dstack")
def dstack(xs):
    return torch.dstack(_same_dtype(xs))


def _split(class_name: str, fn):
    @operation(class_name, static=("indices_or_sections",))
    def op(x, indices_or_sections):
        s = indices_or_sections
        return list(fn(_t(x), s if isinstance(s, int) else list(s)))
    return op


hsplit = _split("Hsplit", torch.hsplit)
vsplit = _split("Vsplit", torch.vsplit)
dsplit = _split("Dsplit", torch.dsplit)


@operation("Fliplr")
def fliplr(x):
    return torch.fliplr(_t(x))


@operation("Flipud")
def flipud(x):
    return torch.flipud(_t(x))


@operation("Rot90", static=("k", "axes"))
def rot90(array, k=1, axes=(0, 1)):
    return torch.rot90(_t(array), k, list(axes))


@operation("Diag", static=("k",))
def diag(x, k=0):
    return torch.diag(_t(x), k)


@operation("Diagflat", static=("k",))
def diagflat(x, k=0):
    return torch.diagflat(_t(x), k)


@operation("Diagonal", static=("offset", "axis1", "axis2"))
def diagonal(x, offset=0, axis1=0, axis2=1):
    return torch.diagonal(_t(x), offset, axis1, axis2)


@operation("Trace", static=("offset", "axis1", "axis2"))
def trace(x, offset=0, axis1=0, axis2=1):
    x = _t(x)
    out = torch.diagonal(x, offset, axis1, axis2).sum(-1)
    return out.to(torch.int32) if out.dtype in (torch.bool, torch.int32) else out


@operation("Diff", static=("n", "axis"))
def diff(a, n=1, axis=-1):
    return torch.diff(_t(a), n=n, dim=axis)


@operation("Kron")
def kron(x1, x2):
    return torch.kron(*_pair(x1, x2))


@operation("Inner")
def inner(x1, x2):
    return torch.inner(*_pair(x1, x2))


@operation("Vdot")
def vdot(x1, x2):
    a, b = _pair(x1, x2)
    return torch.dot(a.reshape(-1), b.reshape(-1))


@operation("Cross", static=("axisa", "axisb", "axisc", "axis"))
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    a, b = _pair(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    out = torch.linalg.cross(torch.movedim(a, axisa, -1), torch.movedim(b, axisb, -1))
    return torch.movedim(out, -1, axisc)


@operation("Vander", static=("N", "increasing"))
def vander(x, N=None, increasing=False):  # noqa: N803 (NumPy's name)
    return torch.vander(_t(x), N=N, increasing=increasing)


@operation("Searchsorted", static=("side",))
def searchsorted(sorted_sequence, values, side="left"):
    a, v = _pair(sorted_sequence, values)
    return torch.searchsorted(a, v.to(a.dtype), side=side).to(torch.int32)


@operation("Digitize")
def digitize(x, bins):
    """The index i with bins[i−1] ≤ x < bins[i] (increasing bins), as NumPy's."""
    a, b = _pair(x, bins)
    return torch.bucketize(a, b.to(a.dtype), right=True).to(torch.int32)


@operation("Isin", static=("assume_unique", "invert"))
def isin(x1, x2, assume_unique=False, invert=False):
    a, b = _pair(x1, x2)
    return torch.isin(a, b, assume_unique=assume_unique, invert=invert)


@operation("Bincount", static=("minlength", "sparse"))
def bincount(x, weights=None, minlength=0, sparse=False):
    x = _t(x).long()
    if x.dim() == 2:  # Keras's batched form: one count per row
        return torch.stack([bincount(row, None if weights is None else _t(weights)[i], minlength)
                            for i, row in enumerate(x)])
    w = None if weights is None else _t(weights)
    out = torch.bincount(x, w, minlength=minlength)
    return out.to(torch.int32) if w is None else out


@operation("Trapezoid", static=("dx", "axis"))
def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = _float(y)
    return torch.trapezoid(y, dx=dx, dim=axis) if x is None else torch.trapezoid(y, _float(x), dim=axis)


@operation("Corrcoef")
def corrcoef(x):
    return torch.corrcoef(_float(x))


@operation("Nonzero")
def nonzero(x):
    """The indices of the non-zero entries, one int32 row per axis ((ndim, count), as Keras's PyTorch backend returns
    them; ``rows, cols = nonzero(x)`` unpacks as NumPy's tuple does)."""
    return torch.nonzero(_t(x)).T.to(torch.int32)


@operation("UnravelIndex", static=("shape",))
def unravel_index(indices, shape):
    return tuple(i for i in torch.unravel_index(_t(indices).long(), tuple(shape)))


@operation("InTopK", static=("k",), module="math")
def in_top_k(targets, predictions, k):
    """Whether each sample's target class is among its k largest predictions."""
    p = _float(predictions)
    target = p.gather(-1, _t(targets).long().reshape(-1, 1))
    return (p > target).sum(-1) < k


def _segment(class_name: str, reduce: str):
    @operation(class_name, static=("num_segments", "sorted"), module="math")
    def op(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002 (Keras's name)
        x, ids = _t(data), _t(segment_ids).long()
        n = int(ids.max()) + 1 if num_segments is None else num_segments
        out = torch.zeros((n, *x.shape[1:]), dtype=x.dtype)
        index = ids.reshape(-1, *[1] * (x.dim() - 1)).expand_as(x)
        return out.scatter_reduce(0, index, x, reduce=reduce, include_self=False)
    op.__doc__ = f"Keras's ``segment_{reduce.replace('amax', 'max')}``: rows of ``data`` combined by segment id."
    return op


segment_sum = _segment("SegmentSum", "sum")
segment_max = _segment("SegmentMax", "amax")
segment_min = _segment("SegmentMin", "amin")
segment_prod = _segment("SegmentProd", "prod")
