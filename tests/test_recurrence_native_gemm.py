"""The compiled loops' matrix product (``rnnkit/recurrence/native/gemm.c``) against torch.mm.

Given A (or the transpose of a stored matrix, read through strides), B and C, ``gemm`` writes A B, or adds it to C,
equal to torch.mm's product in float64 to 1e-12 and in float32 to float32 rounding — at sizes on and off its register
tile (8 rows × 2 vectors of 64 bytes on AVX-512: 32 float32 or 16 float64 columns; 6 rows × 2 vectors of 32 bytes
elsewhere: 16 or 8), with one row, one column, one term and none (an empty sum: zeros, as torch.mm gives).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnkit.recurrence import native
from rnnkit.recurrence.native import ptr

pytestmark = pytest.mark.skipif("in use" not in native.status(), reason="the compiled loops are not built here")

SIZES = [(1, 1, 1), (4, 40, 0), (9, 3, 0), (8, 32, 5), (9, 33, 7), (7, 17, 128), (16, 512, 128), (16, 128, 512),
         (33, 100, 3), (3, 1, 9), (6, 16, 4), (13, 24, 9), (12, 8, 300)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("m,n,k", SIZES)
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("add", [False, True])
def test_gemm_equals_torch_mm(dtype, m, n, k, transposed, add):
    g = torch.Generator().manual_seed(m * 1000 + n * 10 + k)
    stored = torch.randn(k, m, generator=g, dtype=dtype) if transposed else torch.randn(m, k, generator=g, dtype=dtype)
    A = stored.t() if transposed else stored
    B = torch.randn(k, n, generator=g, dtype=dtype)
    C = torch.randn(m, n, generator=g, dtype=dtype)
    expected = (C if add else 0) + torch.mm(A, B)
    ai, ap = (1, m) if transposed else (k, 1)
    f = native.function("gemm", A)
    f(m, n, k, ptr(stored), ai, ap, ptr(B), n, ptr(C), n, int(add))
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(C, expected, atol=tol * k ** 0.5, rtol=tol)


def test_gemm_leaves_other_columns_of_a_wider_C_alone():
    """ldc larger than n: only the first n columns of each row are written (the loops write into row slices)."""
    A, B = torch.randn(9, 4, dtype=torch.float64), torch.randn(4, 20, dtype=torch.float64)
    C = torch.full((9, 24), 7.0, dtype=torch.float64)
    native.function("gemm", A)(9, 20, 4, ptr(A), 4, 1, ptr(B), 20, ptr(C), 24, 0)
    torch.testing.assert_close(C[:, :20], A @ B, atol=1e-12, rtol=1e-12)
    assert torch.equal(C[:, 20:], torch.full((9, 4), 7.0, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("n", [1, 5, 17, 40, 1000])
@pytest.mark.parametrize("add", [False, True])
def test_equal_columns_of_b_give_equal_columns_of_c(dtype, n, add):
    """Every column's sum is formed alike — the leftover columns past the last full vector too — so equal inputs give
    bit-equal outputs, as torch's BLAS gives (torch's own test_RNN_dropout relies on it: all-ones weights, every unit
    of a layer equal)."""
    m, k = 9, 300
    A = torch.full((m, k), 10 / 0.724, dtype=dtype)
    A[:, ::3] = 0
    B = torch.ones(k, n, dtype=dtype)
    C = torch.full((m, n), 0.5, dtype=dtype)
    native.function("gemm", A)(m, n, k, ptr(A), k, 1, ptr(B), n, ptr(C), n, int(add))
    assert (C == C[:, :1]).all()
    rtol = 1e-12 if dtype == torch.float64 else 1e-5  # a sum of 300 float32 terms
    torch.testing.assert_close(C[:, 0], ((0.5 if add else 0) + A.double().sum(1)).to(dtype), rtol=rtol, atol=0)


def test_the_portable_build_computes_the_same_products(tmp_path):
    """The last flag set, without -march=native (what a compiler that lacks it builds: SSE's 16-byte vectors on
    x86-64), gives torch.mm's products at every size above too — its tile is otherwise never run on these machines."""
    script = f"""
import itertools, sys
import torch
from rnnkit.recurrence import native
native.FLAG_SETS = native.FLAG_SETS[-1:]
assert native.status().startswith("in use: compiled (" + " ".join(native.FLAG_SETS[0]) + ")"), native.status()
sys.path.insert(0, {str(Path(__file__).parent)!r})
import test_recurrence_native_gemm as t
for dtype, (m, n, k), transposed, add in itertools.product([torch.float64, torch.float32], t.SIZES, [False, True],
                                                           [False, True]):
    t.test_gemm_equals_torch_mm(dtype, m, n, k, transposed, add)
"""
    env = {**os.environ, "RNNKIT_NATIVE_CACHE": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
