"""The kernels' large products (``rnnkit.recurrence.projection``) against torch.

``mm`` equals ``torch.mm`` (+ bias) for row-major and transposed left operands, with the rows of the result split
across 1–3 threads; ``linear`` computes what ``F.linear`` computes — outputs and the gradients of the input, the weight
and the bias, for contiguous, batch-first (strided) and expanded upstream gradients, and second derivatives — and
falls back to ``F.linear``
itself where torch's own rounding is wanted (autocast) or the tensors are not on a CPU.
"""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from rnnkit.recurrence import native, projection

COMPILED = "in use" in native.status()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (700, 33, 64), (64, 17, 600), (5, 300, 9), (40, 64, 0)])
def test_mm_equals_torch_mm(monkeypatch, dtype, threads, transposed, m, n, k):
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    g = torch.Generator().manual_seed(m + n + k)
    a = torch.randn(k, m, generator=g, dtype=dtype).t() if transposed else torch.randn(m, k, generator=g, dtype=dtype)
    b, bias = torch.randn(k, n, generator=g, dtype=dtype), torch.randn(n, generator=g, dtype=dtype)
    tol = 1e-12 if dtype == torch.float64 else 2e-5
    torch.testing.assert_close(projection.mm(a, b), a @ b, atol=tol * k ** 0.5, rtol=tol)
    torch.testing.assert_close(projection.mm(a, b, bias=bias), a @ b + bias, atol=tol * k ** 0.5, rtol=tol)


@pytest.mark.skipif(not COMPILED, reason="the compiled product is not built here")
def test_mm_takes_the_compiled_product_on_a_cpu_for_results_a_vector_wide(monkeypatch):
    calls, real = [], projection.native_sequence
    monkeypatch.setattr(projection, "native_sequence", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    projection.mm(torch.randn(40, 8), torch.randn(8, 16))
    assert calls == ["gemm_pieces"]
    projection.mm(torch.randn(40, 8), torch.randn(8, 15))  # narrower: torch.mm (the compiled one's scalar loop)
    projection.mm(torch.randn(40, 8, dtype=torch.float64), torch.randn(8, 7, dtype=torch.float64))
    assert calls == ["gemm_pieces"]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("layout", ["contiguous", "batch_first", "expanded_grad"])
def test_linear_is_f_linear(bias, dtype, layout):
    """A (900, 8, 64) input to 384 outputs (11–22 MB: its output on huge pages) against F.linear."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(900, 8, 64, generator=g, dtype=dtype)
    x = (x.transpose(0, 1).contiguous().transpose(0, 1) if layout == "batch_first" else x).requires_grad_(True)
    w = torch.randn(384, 64, generator=g, dtype=dtype, requires_grad=True)
    b = torch.randn(384, generator=g, dtype=dtype, requires_grad=True) if bias else None
    wrt = [x, w] + ([b] if bias else [])
    y = projection.linear(x, w, b)
    assert type(y.grad_fn).__name__ == "_LinearBackward" and y.shape == (900, 8, 384)
    want = F.linear(x, w, b)
    tol = 1e-12 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(y, want, atol=tol, rtol=tol)
    up = torch.ones(()).expand(y.shape).to(dtype) if layout == "expanded_grad" else torch.randn(
        y.shape, generator=g, dtype=dtype)
    for a, c in zip(torch.autograd.grad(y, wrt, up), torch.autograd.grad(want, wrt, up)):
        torch.testing.assert_close(a, c, atol=tol * 30, rtol=tol)


def test_autocast_and_small_calls_keep_torch_semantics():
    x, w = torch.randn(3, 4), torch.randn(5, 4)
    torch.testing.assert_close(projection.linear(x, w), F.linear(x, w))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # autocast: torch's own op, so it rounds as torch.nn does
        big = torch.randn(4000, 600)
        assert projection.linear(big, torch.randn(800, 600)).dtype == torch.bfloat16


def test_linear_allows_double_backward():
    x = torch.randn(5, 3, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda x, w, b: projection.linear(x, w, b).tanh(), (x, w, b))
