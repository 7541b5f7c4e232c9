"""Large CPU buffers (``rnnkit.recurrence.hugepages``): ordinary tensors (only how their memory is mapped differs),
reused by a later call only when no tensor — not a view, not one autograd saved, not an output the caller kept — uses
them, and kept to the pool's limit."""

from __future__ import annotations

import torch

from rnnkit.recurrence import hugepages


def test_empty_huge_is_an_ordinary_tensor():
    like = torch.zeros(2, dtype=torch.float64)
    t = hugepages.empty_huge((3000, 1000), like)
    assert t.shape == (3000, 1000) and t.dtype == torch.float64 and t.is_contiguous()
    t.fill_(2.0)
    assert float(t.sum()) == 6_000_000.0


def test_a_large_buffer_is_reused_only_when_nothing_uses_it(monkeypatch):
    """Freed: the next call of its size gets the same memory. Still used — by the tensor, a view of it, or a tensor
    autograd saved — another buffer."""
    monkeypatch.setenv("RNNKIT_BUFFER_CACHE_MB", "1024")
    hugepages.release()
    like = torch.zeros(1)
    a = hugepages.empty_huge((3000, 1000), like)
    where = a.data_ptr()
    del a
    b = hugepages.empty_huge((3000, 1000), like)
    assert b.data_ptr() == where
    view = b[5:]
    del b
    c = hugepages.empty_huge((3000, 1000), like)
    assert c.data_ptr() != where
    saved_at = c.data_ptr()
    w = torch.ones(1000, requires_grad=True)
    y = (c * w).sum()  # autograd keeps c for ∂/∂w
    del c, view
    d = hugepages.empty_huge((3000, 1000), like)  # the view is gone: its memory is free again
    assert d.data_ptr() == where
    e = hugepages.empty_huge((3000, 1000), like)  # c is gone but saved by autograd: not its memory
    assert e.data_ptr() != saved_at
    y.backward()
    del y
    f = hugepages.empty_huge((3000, 1000), like)  # after backward the graph let c go
    assert f.data_ptr() == saved_at


def test_outputs_kept_by_the_caller_are_never_overwritten(monkeypatch):
    """Two long minGRU calls with the first's output kept: it still equals what it was (the second call had to take
    other memory), and its gradient is right."""
    import rnnkit

    monkeypatch.setenv("RNNKIT_BUFFER_CACHE_MB", "1024")
    torch.manual_seed(0)
    m = rnnkit.MinGRU(16, 64)
    x1, x2 = torch.randn(2000, 32, 16), torch.randn(2000, 32, 16)
    y1 = m(x1)[0]
    before = y1.clone()
    y2 = m(x2)[0]
    assert torch.equal(y1, before) and not torch.equal(y1, y2)


def test_the_pool_keeps_to_its_limit(monkeypatch):
    monkeypatch.setenv("RNNKIT_BUFFER_CACHE_MB", "20")
    hugepages.release()
    like = torch.zeros(1)
    kept = [hugepages.empty_huge((4_000_000,), like) for _ in range(3)]  # 16 MB each: only the first fits
    assert sum(b.numel() for b in hugepages._pool.bufs) <= 20 << 20
    assert len({t.data_ptr() for t in kept}) == 3
    del kept
    assert hugepages.release() > 0 and hugepages._pool.bufs == []
    monkeypatch.setenv("RNNKIT_BUFFER_CACHE_MB", "0")
    hugepages.empty_huge((4_000_000,), like)
    assert hugepages._pool.bufs == []
