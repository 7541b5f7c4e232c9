"""Keras's (NumPy's) order statistics, counting and spacing operations on torch: NaN-skipping ``nanargmax`` /
``nanargmin`` / ``nanmedian`` / ``nanquantile`` / ``nanpercentile``, ``histogram``, ``unique``, ``argpartition``,
``logspace``, ``geomspace``, ``correlate``, ``select``, ``cdist``, ``angle`` and ``saturate_cast``."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from rnnkit.keras.ops.core import convert_to_tensor as _t
from rnnkit.keras.ops.core import torch_dtype
from rnnkit.keras.ops.operation import operation


def _float(x):
    x = _t(x)
    return x if x.is_floating_point() else x.to(torch.float32)


def _arg_nan(class_name: str, fill: float, fn):
    @operation(class_name, static=("axis", "keepdims"))
    def op(x, axis=None, keepdims=False):
        x = _float(x)
        x = torch.where(torch.isnan(x), torch.full_like(x, fill), x)
        if axis is None:
            out = fn(x.reshape(-1), 0)
            return out.reshape([1] * x.dim()) if keepdims else out
        return fn(x, axis).unsqueeze(axis) if keepdims else fn(x, axis)
    op.__doc__ = f"NumPy's ``{class_name.lower()}``: the index of the extreme value, NaN skipped."
    return op


nanargmax = _arg_nan("Nanargmax", -math.inf, lambda x, d: torch.argmax(x, dim=d))
nanargmin = _arg_nan("Nanargmin", math.inf, lambda x, d: torch.argmin(x, dim=d))


@operation("Nanquantile", static=("axis", "method", "keepdims"))
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """NumPy's ``nanquantile`` (q in [0, 1], a number or an array whose axis leads the result)."""
    x = _float(x)
    q = _t(q).to(x.dtype)
    if isinstance(axis, (list, tuple)):  # several axes: moved last and flattened into one
        keep = [d for d in range(x.dim()) if d not in [a % x.dim() for a in axis]]
        moved = x.permute(*keep, *[a % x.dim() for a in axis]).reshape(*[x.shape[d] for d in keep], -1)
        out = torch.nanquantile(moved, q, dim=-1, interpolation=method)
        if keepdims:
            for a in sorted(a % x.dim() for a in axis):
                out = out.unsqueeze(a + (1 if q.dim() else 0))
        return out
    return torch.nanquantile(x, q, dim=axis, keepdim=keepdims, interpolation=method)


@operation("Nanpercentile", static=("axis", "method", "keepdims"))
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    return nanquantile(x, _t(q) / 100.0, axis=axis, method=method, keepdims=keepdims)


@operation("Nanmedian", static=("axis", "keepdims"))
def nanmedian(x, axis=None, keepdims=False):
    """NumPy's ``nanmedian``: the middle value, the mean of the two middle ones for an even count (torch's own
    ``nanmedian`` takes the lower)."""
    return nanquantile(x, 0.5, axis=axis, keepdims=keepdims)


@operation("Histogram", static=("bins", "range"))
def histogram(x, bins=10, range=None):  # noqa: A002 (NumPy's name)
    """NumPy's ``histogram``: (counts, bin edges) of ``bins`` equal bins over ``range`` (default: min to max)."""
    x = _float(x).reshape(-1)
    lo, hi = (float(x.min()), float(x.max())) if range is None else (float(range[0]), float(range[1]))
    counts, edges = torch.histogram(x.cpu().double(), bins=bins, range=(lo, hi))
    return counts.to(torch.int32), edges.to(x.dtype)


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False, axis=None, size=None,
           fill_value=None):  # noqa: A002 (NumPy's names)
    """NumPy's ``unique``: the distinct values (sorted), and on request the index of each one's first occurrence,
    each element's index into them, and their counts; ``size`` pads (with ``fill_value``, else the smallest
    value) or cuts the result to that many, as JAX's does."""
    x = _t(x)
    flat = x.reshape(-1) if axis is None else x
    values, inverse, counts = torch.unique(flat, sorted=True, return_inverse=True, return_counts=True, dim=axis)
    positions = torch.arange(inverse.numel(), device=x.device)
    first = torch.full((len(values),), inverse.numel(), dtype=torch.long, device=x.device).scatter_reduce(
        0, inverse.reshape(-1), positions, reduce="amin")
    if size is not None:
        pad = size - len(values)
        fill = values[:1] if fill_value is None else torch.full_like(values[:1], fill_value)
        if pad > 0:
            values = torch.cat([values, fill.expand(pad, *values.shape[1:])])
            first = torch.cat([first, torch.zeros(pad, dtype=first.dtype)])
            counts = torch.cat([counts, torch.zeros(pad, dtype=counts.dtype)])
        values, first, counts = values[:size], first[:size], counts[:size]
    out = [values] + ([first] if return_index else []) + ([inverse.reshape(x.shape) if axis is None else inverse]
                                                           if return_inverse else []) + ([counts] if return_counts
                                                                                        else [])
    return out[0] if len(out) == 1 else tuple(out)


@operation("Argpartition", static=("kth", "axis"))
def argpartition(x, kth, axis=-1):
    """NumPy's ``argpartition``: indices that put the kth smallest element in its sorted place, the smaller before it
    and the larger after — a stable argsort, one of the orders NumPy allows."""
    return torch.argsort(_t(x), dim=axis, stable=True)


def _space(start, stop, num, endpoint, axis):
    start, stop = _float(start), _float(stop)
    steps = torch.arange(num, dtype=start.dtype) / max(num - 1 if endpoint else num, 1)
    shape = torch.broadcast_shapes(start.shape, stop.shape)
    steps = steps.reshape(-1, *[1] * len(shape))
    out = start + (stop - start) * steps
    return torch.movedim(out, 0, axis) if out.dim() > 1 else out


@operation("Logspace", static=("num", "endpoint", "base", "dtype", "axis"))
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """NumPy's ``logspace``: base ** (``num`` evenly spaced exponents from start to stop)."""
    out = float(base) ** _space(start, stop, num, endpoint, axis)
    return out if dtype is None else out.to(torch_dtype(dtype))


@operation("Geomspace", static=("num", "endpoint", "dtype", "axis"))
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """NumPy's ``geomspace``: ``num`` values from start to stop in a geometric progression."""
    start, stop = _float(start), _float(stop)
    sign = torch.sign(start)
    out = sign * torch.exp(_space(torch.log(start * sign), torch.log(stop * sign), num, endpoint, axis))
    return out if dtype is None else out.to(torch_dtype(dtype))


@operation("Correlate", static=("mode",))
def correlate(x1, x2, mode="valid"):
    """NumPy's ``correlate`` of two 1-D arrays: c_k = Σ_n x1[n + k] · x2[n], over the "valid", "same" or "full"
    overlaps."""
    a, v = _float(x1), _float(x2)
    m = v.shape[0]
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full', got {mode!r}")
    full = F.conv1d(F.pad(a.reshape(1, 1, -1), (m - 1, m - 1)), v.reshape(1, 1, -1)).reshape(-1)
    if mode == "full":
        return full
    if mode == "valid":
        return full[m - 1:full.shape[0] - (m - 1)] if a.shape[0] >= m else full[a.shape[0] - 1:m]
    start = (min(a.shape[0], m) - 1) // 2 if a.shape[0] >= m else (m - 1) - (m - 1) // 2
    return full[start:start + max(a.shape[0], m)]


@operation("Select", static=())
def select(condlist, choicelist, default=0):
    """NumPy's ``select``: each element from the first choice whose condition holds there, else ``default``."""
    out = _t(default)
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = torch.where(_t(cond).bool(), _t(choice), out)
    return out


@operation("CDist", static=(), module="math")
def cdist(x, y):
    """The Euclidean distances between the rows of x and y (batched as torch.cdist)."""
    return torch.cdist(_float(x), _float(y))


@operation("Angle", static=())
def angle(x):
    """The argument of each element: atan2(imag, real) — 0 or π for a real array (NumPy's ``angle``)."""
    return torch.angle(_float(x))


@operation("SaturateCast", static=("dtype",), module="core")
def saturate_cast(x, dtype):
    """``x`` cast to ``dtype`` with values outside its range clipped to it first (no wrap-around)."""
    x, target = _t(x), torch_dtype(dtype)
    info = torch.finfo(target) if target.is_floating_point else torch.iinfo(target)
    lo, hi = info.min, info.max
    if x.is_floating_point() and not target.is_floating_point:
        return torch.clamp(x, lo, hi).to(target)
    if not x.is_floating_point() and not target.is_floating_point:
        return torch.clamp(x.to(torch.int64), max(lo, torch.iinfo(torch.int64).min), hi).to(target)
    return torch.clamp(x.to(torch.float64), lo, hi).to(target)
