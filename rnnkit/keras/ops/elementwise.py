"""More of ``keras.ops``' NumPy element-wise functions — cube roots, angles, float remainders and extrema, gcd/lcm,
bitwise operations, ``sinc``, ``i0``, ``heaviside``, sign and infinity tests, the real/imaginary parts of real
arrays — and NumPy's nan-ignoring reductions (``nanmean``, ``nansum``, …), as Keras computes them on torch."""

from __future__ import annotations

import math

import torch

from rnnkit.keras.ops.core import convert_to_tensor as _t
from rnnkit.keras.ops.numpy import _binary, _float, _pair, _unary
from rnnkit.keras.ops.operation import operation

cbrt = _unary("Cbrt", lambda x: torch.sign(x) * torch.abs(x) ** (1.0 / 3.0))
deg2rad = _unary("Deg2rad", torch.deg2rad)
rad2deg = _unary("Rad2deg", torch.rad2deg)
fabs = _unary("Fabs", torch.abs)
erfc = _unary("Erfc", torch.erfc)
i0 = _unary("I0", torch.special.i0)
sinc = _unary("Sinc", torch.sinc)
signbit = _unary("Signbit", torch.signbit, floats=False)
isneginf = _unary("Isneginf", torch.isneginf, floats=False)
isposinf = _unary("Isposinf", torch.isposinf, floats=False)
isreal = _unary("Isreal", torch.isreal, floats=False)
real = _unary("Real", lambda x: torch.real(x) if x.is_complex() else x, floats=False)
imag = _unary("Imag", lambda x: torch.imag(x) if x.is_complex() else torch.zeros_like(x), floats=False)
conj = conjugate = _unary("Conjugate", lambda x: torch.conj(x) if x.is_complex() else x, floats=False)
bitwise_invert = bitwise_not = _unary("BitwiseInvert", torch.bitwise_not, floats=False)

fmod = _binary("Fmod", torch.fmod)
fmax = _binary("Fmax", lambda a, b: torch.fmax(_float(a), _float(b)))
fmin = _binary("Fmin", lambda a, b: torch.fmin(_float(a), _float(b)))
gcd = _binary("Gcd", torch.gcd)
lcm = _binary("Lcm", torch.lcm)
heaviside = _binary("Heaviside", lambda a, b: torch.heaviside(_float(a), _float(b).to(_float(a).dtype)))
logaddexp2 = _binary("Logaddexp2", lambda a, b: torch.logaddexp2(_float(a), _float(b)))
nextafter = _binary("Nextafter", lambda a, b: torch.nextafter(_float(a), _float(b).to(_float(a).dtype)))
bitwise_and = _binary("BitwiseAnd", torch.bitwise_and)
bitwise_or = _binary("BitwiseOr", torch.bitwise_or)
bitwise_xor = _binary("BitwiseXor", torch.bitwise_xor)
bitwise_left_shift = left_shift = _binary("BitwiseLeftShift", torch.bitwise_left_shift)
bitwise_right_shift = right_shift = _binary("BitwiseRightShift", torch.bitwise_right_shift)


@operation("Ldexp")
def ldexp(x1, x2):
    """x1 · 2^x2."""
    a, b = _pair(x1, x2)
    return torch.ldexp(_float(a), b)


# --- reductions that skip NaN -----------------------------------------------------------------------------------------
def _axes(x, axis):
    return tuple(range(x.dim())) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)


def _nan_reduce(class_name: str, fn, fill):
    """``fn`` over ``axis`` with NaN replaced by ``fill`` (the reduction's neutral value)."""
    @operation(class_name, static=("axis", "keepdims"))
    def op(x, axis=None, keepdims=False):
        x = _float(x)
        return fn(torch.where(torch.isnan(x), torch.full_like(x, fill), x), _axes(x, axis), keepdims)
    return op


nansum = _nan_reduce("Nansum", lambda x, d, k: torch.sum(x, dim=d, keepdim=k), 0.0)
nanprod = _nan_reduce("Nanprod", lambda x, d, k: _prod(x, d, k), 1.0)
nanmax = _nan_reduce("Nanmax", lambda x, d, k: torch.amax(x, dim=d, keepdim=k), -math.inf)
nanmin = _nan_reduce("Nanmin", lambda x, d, k: torch.amin(x, dim=d, keepdim=k), math.inf)


def _prod(x, dims, keepdim):
    for d in sorted(dims, reverse=True):
        x = torch.prod(x, dim=d, keepdim=keepdim)
    return x


@operation("Nanmean", static=("axis", "keepdims"))
def nanmean(x, axis=None, keepdims=False):
    x = _float(x)
    return torch.nanmean(x, dim=_axes(x, axis), keepdim=keepdims)


@operation("Nanvar", static=("axis", "keepdims"))
def nanvar(x, axis=None, keepdims=False):
    x = _float(x)
    mean = torch.nanmean(x, dim=_axes(x, axis), keepdim=True)
    return torch.nanmean((x - mean) ** 2, dim=_axes(x, axis), keepdim=keepdims)


@operation("Nanstd", static=("axis", "keepdims"))
def nanstd(x, axis=None, keepdims=False):
    return torch.sqrt(nanvar(x, axis, keepdims))


@operation("Nancumsum", static=("axis",))
def nancumsum(x, axis=None):
    x = _float(x)
    x = torch.where(torch.isnan(x), torch.zeros_like(x), x)
    return torch.cumsum(x.reshape(-1), 0) if axis is None else torch.cumsum(x, axis)


@operation("Nancumprod", static=("axis",))
def nancumprod(x, axis=None):
    x = _float(x)
    x = torch.where(torch.isnan(x), torch.ones_like(x), x)
    return torch.cumprod(x.reshape(-1), 0) if axis is None else torch.cumprod(x, axis)


@operation("Ptp", static=("axis", "keepdims"))
def ptp(x, axis=None, keepdims=False):
    """The range: max − min over ``axis``."""
    x = _t(x)
    d = _axes(x, axis)
    return torch.amax(x, dim=d, keepdim=keepdims) - torch.amin(x, dim=d, keepdim=keepdims)
