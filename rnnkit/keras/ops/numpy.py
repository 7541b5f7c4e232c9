"""``keras.ops``' NumPy-like math: element-wise functions, arithmetic between two arrays (broadcast, Python numbers
promoted as Keras promotes them) and reductions over ``axis`` (an int, a tuple or None for all) with ``keepdims``.
Arrays, numbers and tensors in; torch tensors out. Shapes and indexing: ``arrays.py``."""

from __future__ import annotations

import builtins

import torch

from rnnkit.keras.ops.core import convert_to_tensor as _t
from rnnkit.keras.ops.core import torch_dtype
from rnnkit.keras.ops.operation import operation

_FLOAT = torch.float32


def _float(x):
    x = _t(x)
    return x if x.is_floating_point() or x.is_complex() else x.to(_FLOAT)


def _pair(x1, x2):
    """Both as tensors on one device (a number becomes a 0-d tensor: it takes the other's dtype within its kind)."""
    a, b = _t(x1), _t(x2)
    if a.device != b.device:
        a, b = (a.to(b.device), b) if a.dim() == 0 or a.device.type == "cpu" else (a, b.to(a.device))
    return a, b


# --- element-wise, one input ---------------------------------------------------------------------------------------
def _unary(class_name: str, fn, floats: bool = True, doc: str = ""):
    @operation(class_name)
    def op(x):
        return fn(_float(x) if floats else _t(x))
    op.__doc__ = doc or f"Element-wise ``{fn.__name__}`` (Keras's ``ops.{op.__name__}``)."
    return op


abs = _unary("Absolute", torch.abs, floats=False)  # noqa: A001
absolute = abs
negative = _unary("Negative", torch.neg, floats=False)
sign = _unary("Sign", torch.sign, floats=False)
square = _unary("Square", torch.square, floats=False)
exp = _unary("Exp", torch.exp)
exp2 = _unary("Exp2", torch.exp2)
expm1 = _unary("Expm1", torch.expm1)
log = _unary("Log", torch.log)
log1p = _unary("Log1p", torch.log1p)
log2 = _unary("Log2", torch.log2)
log10 = _unary("Log10", torch.log10)
sqrt = _unary("Sqrt", torch.sqrt)
rsqrt = _unary("Rsqrt", torch.rsqrt)
reciprocal = _unary("Reciprocal", torch.reciprocal)
sin, cos, tan = _unary("Sin", torch.sin), _unary("Cos", torch.cos), _unary("Tan", torch.tan)
arcsin, arccos, arctan = _unary("Arcsin", torch.asin), _unary("Arccos", torch.acos), _unary("Arctan", torch.atan)
sinh, cosh, tanh = _unary("Sinh", torch.sinh), _unary("Cosh", torch.cosh), _unary("Tanh", torch.tanh)
arcsinh, arccosh = _unary("Arcsinh", torch.asinh), _unary("Arccosh", torch.acosh)
arctanh = _unary("Arctanh", torch.atanh)
floor, ceil = _unary("Floor", torch.floor, floats=False), _unary("Ceil", torch.ceil, floats=False)
trunc = _unary("Trunc", torch.trunc, floats=False)
isnan, isinf = _unary("Isnan", torch.isnan, floats=False), _unary("Isinf", torch.isinf, floats=False)
isfinite = _unary("Isfinite", torch.isfinite, floats=False)
logical_not = _unary("LogicalNot", torch.logical_not, floats=False)
copy = _unary("Copy", torch.clone, floats=False)
erf = _unary("Erf", torch.erf)
erfinv = _unary("Erfinv", torch.erfinv)


@operation("Round", static=("decimals",))
def round(x, decimals=0):  # noqa: A001
    return torch.round(_t(x), decimals=decimals)


@operation("Clip", static=("x_min", "x_max"))
def clip(x, x_min, x_max):
    return torch.clamp(_t(x), x_min, x_max)


@operation("NanToNum", static=("nan", "posinf", "neginf"))
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    return torch.nan_to_num(_t(x), nan=nan, posinf=posinf, neginf=neginf)


# --- element-wise, two inputs ----------------------------------------------------------------------------------------
def _binary(class_name: str, fn, doc: str = ""):
    @operation(class_name)
    def op(x1, x2):
        return fn(*_pair(x1, x2))
    op.__doc__ = doc or f"Element-wise ``{fn.__name__}`` of two arrays, broadcast (Keras's ``ops.{class_name}``)."
    return op


add = _binary("Add", torch.add)
subtract = _binary("Subtract", torch.sub)
multiply = _binary("Multiply", torch.mul)
divide = _binary("Divide", lambda a, b: torch.true_divide(_float(a), b))
true_divide = _binary("TrueDivide", lambda a, b: torch.true_divide(_float(a), b))
floor_divide = _binary("FloorDivide", torch.floor_divide)
mod = _binary("Mod", torch.remainder)
power = _binary("Power", torch.pow)
maximum = _binary("Maximum", torch.maximum)
minimum = _binary("Minimum", torch.minimum)
arctan2 = _binary("Arctan2", lambda a, b: torch.atan2(_float(a), _float(b)))
equal, not_equal = _binary("Equal", torch.eq), _binary("NotEqual", torch.ne)
less, less_equal = _binary("Less", torch.lt), _binary("LessEqual", torch.le)
greater, greater_equal = _binary("Greater", torch.gt), _binary("GreaterEqual", torch.ge)
logical_and, logical_or = _binary("LogicalAnd", torch.logical_and), _binary("LogicalOr", torch.logical_or)
logical_xor = _binary("LogicalXor", torch.logical_xor)
logaddexp = _binary("Logaddexp", lambda a, b: torch.logaddexp(_float(a), _float(b)))
hypot = _binary("Hypot", lambda a, b: torch.hypot(_float(a), _float(b)))


@operation("DivideNoNan")
def divide_no_nan(x1, x2):
    """``x1 / x2``, 0 where ``x2`` is 0."""
    a, b = _pair(x1, x2)
    q = torch.true_divide(_float(a), b)
    return torch.where(b == 0, torch.zeros_like(q), q)


@operation("Matmul")
def matmul(x1, x2):
    a, b = _pair(x1, x2)
    if a.dtype != b.dtype:
        dt = torch.promote_types(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    return torch.matmul(a, b)


@operation("Dot")
def dot(x1, x2):
    """NumPy's ``dot``: a product of scalars, an inner product of vectors, else the last axis of ``x1`` with the
    second-to-last of ``x2``."""
    a, b = _pair(x1, x2)
    if a.dim() == 0 or b.dim() == 0:
        return a * b
    return torch.tensordot(a, b, dims=([a.dim() - 1], [builtins.max(b.dim() - 2, 0)]))


@operation("Einsum", static=("subscripts",))
def einsum(subscripts, *operands):
    xs = [_t(o) for o in operands]
    dt = xs[0].dtype
    for x in xs[1:]:
        dt = torch.promote_types(dt, x.dtype)
    return torch.einsum(subscripts, *[x.to(dt) for x in xs])


@operation("Tensordot", static=("axes",))
def tensordot(x1, x2, axes=2):
    a, b = _pair(x1, x2)
    return torch.tensordot(a, b, dims=axes if isinstance(axes, int) else [list(ax) if isinstance(ax, (list, tuple))
                                                                           else [ax] for ax in axes])


@operation("Outer")
def outer(x1, x2):
    a, b = _pair(x1, x2)
    return torch.outer(a.reshape(-1), b.reshape(-1))


@operation("Where")
def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2``; with neither, the indices where it holds (one tensor per
    axis)."""
    c = _t(condition)
    if x1 is None and x2 is None:
        return list(torch.nonzero(c, as_tuple=True))
    a, b = _pair(x1, x2)
    return torch.where(c.to(a.device).bool(), a, b)


# --- reductions ------------------------------------------------------------------------------------------------------
def _dims(x, axis):
    if axis is None:
        return tuple(range(x.dim()))
    return tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)


def _reduction(class_name: str, fn, floats: bool = False, module: str = "numpy"):
    @operation(class_name, static=("axis", "keepdims"), module=module)
    def op(x, axis=None, keepdims=False):
        x = _float(x) if floats else _t(x)
        return fn(x, _dims(x, axis), keepdims) if x.dim() else fn(x, (), keepdims)
    op.__doc__ = f"Keras's ``ops.{class_name.lower()}`` over ``axis`` (None: all axes)."
    return op


def _mean(x, dims, keep):
    return x.mean(dim=dims, keepdim=keep) if dims else x.clone()


def _var(x, dims, keep):
    return x.var(dim=dims, keepdim=keep, correction=0) if dims else torch.zeros_like(x)


sum = _reduction("Sum", lambda x, d, k: x.sum(dim=d, keepdim=k) if d else x.clone())  # noqa: A001
mean = _reduction("Mean", _mean, floats=True)
var = _reduction("Var", _var, floats=True)
std = _reduction("Std", lambda x, d, k: _var(x, d, k).sqrt(), floats=True)
any = _reduction("Any", lambda x, d, k: x.bool().any(dim=d, keepdim=k) if d else x.bool())  # noqa: A001
all = _reduction("All", lambda x, d, k: x.bool().all(dim=d, keepdim=k) if d else x.bool())  # noqa: A001
amax = _reduction("Amax", lambda x, d, k: x.amax(dim=d, keepdim=k) if d else x.clone())
amin = _reduction("Amin", lambda x, d, k: x.amin(dim=d, keepdim=k) if d else x.clone())
logsumexp = _reduction("Logsumexp", lambda x, d, k: torch.logsumexp(x, dim=d, keepdim=k) if d else x.clone(),
                       floats=True, module="math")


@operation("Max", static=("axis", "keepdims", "initial"))
def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    out = amax(x, axis, keepdims)
    return out if initial is None else torch.clamp(out, min=initial)


@operation("Min", static=("axis", "keepdims", "initial"))
def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    out = amin(x, axis, keepdims)
    return out if initial is None else torch.clamp(out, max=initial)


@operation("Prod", static=("axis", "keepdims", "dtype"))
def prod(x, axis=None, keepdims=False, dtype=None):
    x = _t(x)
    out = x.to(torch_dtype(dtype)) if dtype is not None else x
    for d in sorted((a % x.dim() for a in _dims(x, axis)), reverse=True):
        out = out.prod(dim=d, keepdim=keepdims)
    return out


@operation("CountNonzero", static=("axis",))
def count_nonzero(x, axis=None):
    x = _t(x)
    return torch.count_nonzero(x, dim=_dims(x, axis)).to(torch.int32)


def _arg(fn, x, axis, keepdims):
    x = _t(x)
    if axis is None:
        out = fn(x.reshape(-1), dim=0)
        return (out.reshape([1] * x.dim()) if keepdims else out).to(torch.int32)
    return fn(x, dim=axis, keepdim=keepdims).to(torch.int32)


@operation("Argmax", static=("axis", "keepdims"))
def argmax(x, axis=None, keepdims=False):
    return _arg(torch.argmax, x, axis, keepdims)


@operation("Argmin", static=("axis", "keepdims"))
def argmin(x, axis=None, keepdims=False):
    return _arg(torch.argmin, x, axis, keepdims)


def _cumulative(fn, x, axis, dtype):
    x = _t(x)
    if dtype is not None:
        x = x.to(torch_dtype(dtype))
    return fn(x.reshape(-1), dim=0) if axis is None else fn(x, dim=axis)


@operation("Cumsum", static=("axis", "dtype"))
def cumsum(x, axis=None, dtype=None):
    return _cumulative(torch.cumsum, x, axis, dtype)


@operation("Cumprod", static=("axis", "dtype"))
def cumprod(x, axis=None, dtype=None):
    return _cumulative(torch.cumprod, x, axis, dtype)


@operation("Average", static=("axis",))
def average(x, axis=None, weights=None):
    x = _float(x)
    if weights is None:
        return mean(x, axis)
    w = _t(weights).to(x.dtype)
    if axis is not None and w.dim() == 1 and x.dim() > 1:
        shape = [1] * x.dim()
        shape[axis] = -1
        w = w.reshape(shape)
    return (x * w).sum(dim=_dims(x, axis)) / w.expand_as(x).sum(dim=_dims(x, axis))


@operation("Median", static=("axis", "keepdims"))
def median(x, axis=None, keepdims=False):
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


@operation("Quantile", static=("axis", "method", "keepdims"))
def quantile(x, q, axis=None, method="linear", keepdims=False):
    x = _float(x)
    qs = _t(q).to(x.dtype)
    if axis is None:
        out = torch.quantile(x.reshape(-1), qs, interpolation=method)
        return out.reshape([*qs.shape, *[1] * x.dim()]) if keepdims else out
    if isinstance(axis, (list, tuple)):
        dims = sorted(a % x.dim() for a in axis)
        rest = [d for d in range(x.dim()) if d not in dims]
        moved = x.permute(*rest, *dims).reshape(*[x.shape[d] for d in rest], -1)
        out = torch.quantile(moved, qs, dim=-1, interpolation=method)
        if keepdims:
            for d in dims:
                out = out.unsqueeze(d + qs.dim())
        return out
    return torch.quantile(x, qs, dim=axis, keepdim=keepdims, interpolation=method)


@operation("Percentile", static=("axis", "method", "keepdims"))
def percentile(x, q, axis=None, method="linear", keepdims=False):
    return quantile(x, _t(q) / 100.0, axis=axis, method=method, keepdims=keepdims)


@operation("Isclose", static=("equal_nan",))
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    a, b = _pair(x1, x2)
    return torch.isclose(_float(a), _float(b).to(_float(a).dtype), rtol=rtol, atol=atol, equal_nan=equal_nan)


@operation("AllClose", static=("rtol", "atol", "equal_nan"))
def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    return torch.all(isclose(x1, x2, rtol, atol, equal_nan))
