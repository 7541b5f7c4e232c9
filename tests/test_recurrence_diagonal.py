"""Diagonal recurrences (``rnnkit.recurrence.diagonal``): the hand-written BPTT of ``h_t = a_t ⊙ h_{t-1} + b_t`` and of
IndRNN against autograd (gradcheck, float64) and a plain loop; the log-space scan against the sequential recurrence at
every length the issue names, float64 and float32, with masks."""

from __future__ import annotations

import pytest
import torch

from rnnkit.recurrence.diagonal import indrnn_sequence, linear_recurrence, linear_scan_log
from tests.helpers import plain_linear


def test_linear_recurrence_is_the_loop_and_its_gradient_is_autograds():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(9, 3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.randn(9, 3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    h0 = torch.randn(3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    torch.testing.assert_close(linear_recurrence(a, b, h0), plain_linear(a, b, h0), atol=1e-12, rtol=0)
    assert torch.autograd.gradcheck(linear_recurrence, (a, b, h0))


@pytest.mark.parametrize("T", [1, 2, 63, 64, 65, 1000, 4096])
def test_the_log_space_scan_equals_the_sequential_recurrence(T):
    g = torch.Generator().manual_seed(T)
    a = torch.rand(T, 2, 8, dtype=torch.float64, generator=g) * 0.5 + 0.5
    b = torch.rand(T, 2, 8, dtype=torch.float64, generator=g)
    h0 = torch.randn(2, 8, dtype=torch.float64, generator=g)  # any sign: h0 enters linearly
    seq = linear_recurrence(a, b, h0)
    torch.testing.assert_close(linear_scan_log(a.log(), b.log(), h0), seq, atol=1e-10, rtol=1e-10)
    scan32 = linear_scan_log(a.float().log(), b.float().log(), h0.float())
    torch.testing.assert_close(scan32, seq.float(), atol=1e-5, rtol=1e-5)


def test_a_zero_b_is_minus_infinity_in_log_space_and_gradients_stay_finite():
    a = torch.full((6, 1, 2), 0.9, dtype=torch.float64, requires_grad=True)
    b = torch.ones(6, 1, 2, dtype=torch.float64, requires_grad=True)
    keep = torch.tensor([1, 1, 0, 0, 1, 0], dtype=torch.bool).view(6, 1, 1)
    log_a = a.log().masked_fill(~keep, 0.0)  # a padded step: a = 1, b = 0 — the state is kept
    log_b = b.log().masked_fill(~keep, float("-inf"))
    h = linear_scan_log(log_a, log_b, torch.zeros(1, 2, dtype=torch.float64))
    expected = plain_linear(torch.where(keep, a, 1.0), torch.where(keep, b, 0.0), torch.zeros(1, 2, dtype=torch.float64))
    torch.testing.assert_close(h, expected, atol=1e-12, rtol=0)
    h.sum().backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()


@pytest.mark.parametrize("nonlinearity", ["relu", "tanh"])
@pytest.mark.parametrize("masked", [False, True])
def test_indrnn_bptt_is_autograds(nonlinearity, masked):
    g = torch.Generator().manual_seed(1)
    xw = torch.randn(7, 3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    u = torch.rand(4, dtype=torch.float64, generator=g, requires_grad=True)
    h0 = torch.rand(3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    mask = (torch.arange(7).view(7, 1, 1) < torch.tensor([7, 4, 1]).view(1, 3, 1)) if masked else None
    act = torch.relu if nonlinearity == "relu" else torch.tanh
    h, expected = h0, []
    for t in range(7):  # the equation, h_t = σ(xw_t + u ⊙ h_{t-1}), kept on padded steps
        new = act(xw[t] + u * h)
        h = new if mask is None else torch.where(mask[t], new, h)
        expected.append(h)
    torch.testing.assert_close(indrnn_sequence(xw, u, h0, nonlinearity, mask), torch.stack(expected), atol=1e-12,
                               rtol=0)
    assert torch.autograd.gradcheck(lambda x, w, s: indrnn_sequence(x, w, s, nonlinearity, mask), (xw, u, h0))


def test_the_compiled_gate_math_equals_the_eager_one(monkeypatch):
    """Large minGRU sequences run their elementwise math as one compiled loop (where a C++ compiler exists): the same
    numbers as eager PyTorch, forward and backward."""
    import shutil

    from rnnkit.recurrence import diagonal

    if shutil.which("g++") is None:
        pytest.skip("no C++ compiler: the eager path is the only one here")
    g = torch.Generator().manual_seed(3)
    xw = torch.randn(40, 4, 2 * 8, generator=g, requires_grad=True)
    h0 = torch.randn(4, 8, generator=g)
    mask = torch.arange(40).view(40, 1, 1) < torch.tensor([40, 31, 5, 1]).view(1, 4, 1)
    monkeypatch.setattr(diagonal, "native_function", lambda *a: None)  # the torch path (the C loops: next test)
    monkeypatch.setenv("RNNKIT_COMPILE", "0")
    eager = diagonal.minimal_sequence("mingru", xw, h0, mask)
    (eager_grad,) = torch.autograd.grad(eager.square().sum(), xw)
    monkeypatch.setenv("RNNKIT_COMPILE", "1")
    monkeypatch.setattr(diagonal, "COMPILE_ABOVE", 0)
    compiled = diagonal.minimal_sequence("mingru", xw, h0, mask)
    (compiled_grad,) = torch.autograd.grad(compiled.square().sum(), xw)
    assert diagonal._forward_math in diagonal._compiled and not diagonal._compiled.get("broken")
    torch.testing.assert_close(compiled, eager, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(compiled_grad, eager_grad, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_the_compiled_c_loops_equal_the_torch_path(kind, dtype, tol, monkeypatch):
    """On CPU the whole minGRU/minLSTM sequence runs as one C call each way (rnnkit.recurrence.native): outputs and
    the gradients of xw and h_0 equal the torch path's (eager), with padding, at a size off the vector width."""
    from rnnkit.recurrence import diagonal, native

    if "in use" not in native.status():
        pytest.skip(f"the compiled loops are not available here: {native.status()}")
    g = torch.Generator().manual_seed(4)
    G = 2 if kind == "mingru" else 3
    xw = (3 * torch.randn(30, 5, G * 37, generator=g, dtype=dtype)).requires_grad_(True)
    h0 = torch.randn(5, 37, generator=g, dtype=dtype, requires_grad=True)
    mask = torch.arange(30).view(30, 1, 1) < torch.tensor([30, 12, 5, 1, 29]).view(1, 5, 1)
    w = torch.randn(30, 5, 37, generator=g, dtype=dtype)

    def run():
        y = diagonal.minimal_sequence(kind, xw, h0, mask)
        return (y, *torch.autograd.grad((y * w).sum(), (xw, h0)))
    compiled = run()
    monkeypatch.setenv("RNNKIT_COMPILE", "0")
    monkeypatch.setattr(diagonal, "native_function", lambda *a: None)
    for a, b in zip(compiled, run()):
        torch.testing.assert_close(a, b, atol=tol, rtol=tol)


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
@pytest.mark.parametrize("path", ["compiled", "torch"])
def test_saturated_gates_give_the_papers_numbers_in_float32(kind, path, monkeypatch):
    """Pre-activations of ±hundreds underflow σ in float32 (both minLSTM gates 0: f / (f + i) was 0 / 0) and overflow
    exp (the C loops' 1 / (1 + inf) was NaN under -ffast-math): every path stays finite and equals the paper's
    equations evaluated step by step in float64, where nothing underflows at this size."""
    from rnnkit.recurrence import diagonal

    if path == "torch":
        monkeypatch.setattr(diagonal, "native_function", lambda *a: None)
        monkeypatch.setenv("RNNKIT_COMPILE", "0")
    g = torch.Generator().manual_seed(5)
    G = 2 if kind == "mingru" else 3
    xw = (100 * torch.randn(12, 3, G * 8, generator=g)).requires_grad_(True)
    h0 = torch.rand(3, 8, generator=g)
    y = diagonal.minimal_sequence(kind, xw, h0, None)
    (grad,) = torch.autograd.grad(y.sum(), xw)
    assert torch.isfinite(y).all() and torch.isfinite(grad).all()

    x64 = xw.detach().double().requires_grad_(True)
    h, ys = h0.double(), []
    for t in range(12):
        k = x64[t].chunk(G, dim=-1)
        v = k[-1]
        gv = torch.where(v >= 0, v + 0.5, torch.sigmoid(v))
        if kind == "mingru":
            z = torch.sigmoid(k[0])
            h = (1 - z) * h + z * gv
        else:
            f, i = torch.sigmoid(k[0]), torch.sigmoid(k[1])
            h = f / (f + i) * h + i / (f + i) * gv
        ys.append(h)
    ref = torch.stack(ys)
    (ref_grad,) = torch.autograd.grad(ref.sum(), x64)
    # states up to ~300 (g(v) = v + ½): float32 rounds them to ~3e-5
    torch.testing.assert_close(y.double(), ref, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(grad.double(), ref_grad, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_the_compiled_loops_split_across_threads_equal_one_call(kind, monkeypatch):
    """Large sequences share their batch rows among torch's threads (one C call per piece, rows are independent):
    the same outputs and gradients as one call over all rows, with padding, for an uneven split (5 rows, 3 pieces)."""
    from rnnkit.recurrence import diagonal, native

    if "in use" not in native.status():
        pytest.skip(f"the compiled loops are not available here: {native.status()}")
    g = torch.Generator().manual_seed(6)
    G = 2 if kind == "mingru" else 3
    xw = (3 * torch.randn(40, 5, G * 9, generator=g, dtype=torch.float64)).requires_grad_(True)
    h0 = torch.randn(5, 9, generator=g, dtype=torch.float64, requires_grad=True)
    mask = torch.arange(40).view(40, 1, 1) < torch.tensor([40, 12, 5, 1, 39]).view(1, 5, 1)
    w = torch.randn(40, 5, 9, generator=g, dtype=torch.float64)

    def run():
        y = diagonal.minimal_sequence(kind, xw, h0, mask)
        return (y, *torch.autograd.grad((y * w).sum(), (xw, h0)))
    whole = run()
    monkeypatch.setattr(diagonal, "SPLIT_ABOVE", 0)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    for a, b in zip(run(), whole):
        assert torch.equal(a, b)
