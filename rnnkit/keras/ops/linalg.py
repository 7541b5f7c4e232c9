"""``keras.ops.linalg``: norms, inverse, determinant, solve, Cholesky, QR, SVD and the symmetric eigenproblem, on
torch's ``linalg`` (float inputs)."""

from __future__ import annotations

import torch

from rnnkit.keras.ops.core import convert_to_tensor as _t
from rnnkit.keras.ops.operation import operation


def _float(x):
    x = _t(x)
    return x if x.is_floating_point() else x.to(torch.float32)


@operation("Norm", static=("ord", "axis", "keepdims"), module="linalg")
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 (NumPy's name)
    """NumPy's ``norm``: a vector norm along one axis (or of the flattened array), a matrix norm over two axes."""
    x = _float(x)
    if axis is None:
        if ord is None or x.dim() == 1:
            out = torch.linalg.vector_norm(x.reshape(-1), ord=2 if ord is None else ord)
            return out.reshape([1] * x.dim()) if keepdims else out
        return torch.linalg.matrix_norm(x, ord=ord, keepdim=keepdims)
    if isinstance(axis, (list, tuple)) and len(axis) == 2:
        return torch.linalg.matrix_norm(x, ord="fro" if ord is None else ord, dim=tuple(axis), keepdim=keepdims)
    return torch.linalg.vector_norm(x, ord=2 if ord is None else ord, dim=axis, keepdim=keepdims)


@operation("Inv", module="linalg")
def inv(x):
    return torch.linalg.inv(_float(x))


@operation("Det", module="linalg")
def det(x):
    return torch.linalg.det(_float(x))


@operation("Solve", module="linalg")
def solve(a, b):
    return torch.linalg.solve(_float(a), _float(b))


@operation("Cholesky", static=("upper",), module="linalg")
def cholesky(x, upper=False):
    return torch.linalg.cholesky(_float(x), upper=upper)


@operation("Qr", static=("mode",), module="linalg")
def qr(x, mode="reduced"):
    return torch.linalg.qr(_float(x), mode=mode)


@operation("SVD", static=("full_matrices", "compute_uv"), module="linalg")
def svd(x, full_matrices=True, compute_uv=True):
    if not compute_uv:
        return torch.linalg.svdvals(_float(x))
    return torch.linalg.svd(_float(x), full_matrices=full_matrices)


@operation("Eigh", module="linalg")
def eigh(x):
    return torch.linalg.eigh(_float(x))
