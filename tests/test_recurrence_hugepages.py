"""Large CPU buffers on huge pages (``rnnkit.recurrence.hugepages``): ordinary tensors (only how their memory is mapped
differs)."""

from __future__ import annotations

import torch

from rnnkit.recurrence import hugepages


def test_empty_huge_is_an_ordinary_tensor():
    like = torch.zeros(2, dtype=torch.float64)
    t = hugepages.empty_huge((3000, 1000), like)
    assert t.shape == (3000, 1000) and t.dtype == torch.float64 and t.is_contiguous()
    t.fill_(2.0)
    assert float(t.sum()) == 6_000_000.0
