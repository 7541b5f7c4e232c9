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


@operation("Pinv", static=("rcond",), module="linalg")
def pinv(x, rcond=None):
    """The Moore–Penrose pseudo-inverse (singular values below rcond × the largest treated as zero)."""
    return torch.linalg.pinv(_float(x), rtol=rcond) if rcond is not None else torch.linalg.pinv(_float(x))


@operation("Slogdet")
def slogdet(x):
    """(sign, log |det|) of each matrix."""
    return tuple(torch.linalg.slogdet(_float(x)))


@operation("Logdet", module="math")
def logdet(x):
    """log det of each (positive-definite) matrix."""
    return torch.logdet(_float(x))


@operation("Lstsq", static=("rcond",), module="linalg")
def lstsq(a, b, rcond=None):
    """The least-squares solution x of a·x ≈ b (through the pseudo-inverse, as Keras's PyTorch backend)."""
    a, b = _float(a), _float(b)
    return torch.linalg.lstsq(a, b, rcond=rcond, driver="gelsd").solution


@operation("SolveTriangular", static=("lower",), module="linalg")
def solve_triangular(a, b, lower=False):
    """x with a·x = b for a triangular a (upper unless ``lower``); b a vector or a matrix."""
    a, b = _float(a), _float(b)
    vector = b.dim() == a.dim() - 1
    out = torch.linalg.solve_triangular(a, b.unsqueeze(-1) if vector else b, upper=not lower)
    return out.squeeze(-1) if vector else out


@operation("MatrixRank", static=("tol",), module="linalg")
def matrix_rank(x, tol=None):
    return torch.linalg.matrix_rank(_float(x), atol=tol) if tol is not None else torch.linalg.matrix_rank(_float(x))


@operation("CholeskyInverse", static=("upper",), module="linalg")
def cholesky_inverse(x, upper=False):
    """The inverse of the matrix whose Cholesky factor is ``x`` (lower, or ``upper``)."""
    return torch.cholesky_inverse(_float(x), upper=upper)


@operation("LuFactor", module="linalg")
def lu_factor(x):
    """(LU, pivots) of each matrix: the packed factors and the 0-based row swaps, as SciPy's ``lu_factor``."""
    lu, pivots = torch.linalg.lu_factor(_float(x))
    return lu, pivots - 1


@operation("Eig", module="linalg")
def eig(x):
    """(eigenvalues, eigenvectors) of a general square matrix — complex tensors."""
    return tuple(torch.linalg.eig(_float(x)))


from rnnkit.keras.ops.transforms import jvp  # noqa: E402, F401 (keras.ops.linalg.jvp)
