"""Large CPU buffers on huge pages (``rnnkit.recurrence.hugepages``): the projection computes what ``F.linear``
computes, forward and every gradient, and the buffers are ordinary tensors (only how their memory is mapped differs)."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from rnnkit.recurrence import hugepages


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_large_projection_is_f_linear(bias, dtype):
    """A (900, 8, 64) input to 384 outputs (11–22 MB: the huge-page path) against F.linear: outputs, and the
    gradients of the input, the weight and the bias."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(900, 8, 64, generator=g, dtype=dtype, requires_grad=True)
    w = torch.randn(384, 64, generator=g, dtype=dtype, requires_grad=True)
    b = torch.randn(384, generator=g, dtype=dtype, requires_grad=True) if bias else None
    wrt = [x, w] + ([b] if bias else [])
    y = hugepages.linear(x, w, b)
    assert type(y.grad_fn).__name__ == "_LinearBackward" and y.shape == (900, 8, 384)
    want = F.linear(x, w, b)
    tol = 1e-12 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(y, want, atol=tol, rtol=tol)
    up = torch.randn(y.shape, generator=g, dtype=dtype)
    for a, c in zip(torch.autograd.grad(y, wrt, up), torch.autograd.grad(want, wrt, up)):
        torch.testing.assert_close(a, c, atol=tol * 10, rtol=tol)


def test_small_or_traced_projections_are_f_linear_itself():
    x, w = torch.randn(3, 4), torch.randn(5, 4)
    assert torch.equal(hugepages.linear(x, w), F.linear(x, w))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # autocast: torch's own op, so it rounds as torch.nn does
        big = torch.randn(4000, 600)
        assert hugepages.linear(big, torch.randn(800, 600)).dtype == torch.bfloat16


def test_empty_huge_is_an_ordinary_tensor():
    like = torch.zeros(2, dtype=torch.float64)
    t = hugepages.empty_huge((3000, 1000), like)
    assert t.shape == (3000, 1000) and t.dtype == torch.float64 and t.is_contiguous()
    t.fill_(2.0)
    assert float(t.sum()) == 6_000_000.0
