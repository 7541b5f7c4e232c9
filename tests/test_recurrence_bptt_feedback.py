"""The Gated-Feedback RNN's kernel (rnnkit.recurrence.bptt_feedback) against finite differences and autograd.

Given the inputs, all layers' initial states and every weight, the kernel's gradients equal central finite differences
in float64 (torch.autograd.gradcheck) — tanh, GRU and LSTM layers, gated and ungated, 1 to 3 layers, with and without
biases and step masks, the tanh layers on each of their paths (the compiled whole-sequence loops and the compiled
elementwise steps of ``rnnkit.recurrence.native``, and the torch-operation path), whichever outputs the loss reads; the
whole-sequence loops with the batch's rows split across 1–4 threads equal the steps in float64. Through the layer, the
kernel's gradients equal autograd's through the loop backend's steps (the cell's equations, ``rnnkit.cells.feedback``)
in float32 at a size off the vector width; double backward runs (the autograd fallback) and ``retain_graph`` gives the
same gradients twice.
"""

import pytest
import torch

import rnnkit
from rnnkit.recurrence import bptt_feedback, feedback_native, native
from rnnkit.recurrence.record import record_steps
from tests.helpers import compiled_or_torch, whole_then_steps

T, B, H, IN = 5, 3, 4, 2
MASK = torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 1, 1]], dtype=torch.bool).unsqueeze(-1)


COMPILED = "in use" in native.status()


def _rand(*shape, scale=0.5):
    return (torch.randn(*shape, dtype=torch.float64) * scale).requires_grad_(True)


def _layers(cell, L, gated, bias):
    G = {"tanh": 1, "gru": 3, "lstm": 4}[cell]
    layers = []
    for j in range(L):
        in_j = IN if j == 0 else H
        layers.append((_rand(G * H, in_j), _rand(G * H) if bias else None, _rand(L, in_j) if gated else None,
                       _rand(H, L * H), _rand(L, L * H) if gated else None,
                       None if cell == "tanh" else _rand((G - 1) * H, H), _rand(H) if bias and cell == "gru" else None))
    return layers


CASES = [("tanh", 2, True, True), ("tanh", 2, False, True), ("tanh", 1, True, False), ("tanh", 3, True, True),
         ("gru", 2, True, True), ("gru", 2, False, False), ("lstm", 2, True, True), ("lstm", 1, False, False)]


def _paths(cells):
    """(path, cell): the tanh layers on the compiled whole-sequence loops, on the compiled steps and on the
    torch-operation path, GRU/LSTM layers on the latter (they have no compiled steps)."""
    return [(p, *c) for c in cells for p in (("sequence", "steps", "torch") if c[0] == "tanh" else ("torch",))]


@pytest.mark.parametrize("use", ["all", "final", "outputs"])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("path,cell,L,gated,bias", _paths(CASES))
def test_kernel_matches_finite_differences(monkeypatch, path, cell, L, gated, bias, masked, use):
    compiled_or_torch(path, monkeypatch, bptt_feedback, feedback_native)
    torch.manual_seed(L)
    x, h0 = _rand(T, B, IN, scale=1.0), _rand(B, L * H)
    c0 = _rand(B, L * H) if cell == "lstm" else None
    layers = _layers(cell, L, gated, bias)
    flat = [w for layer in layers for w in layer]
    mask = MASK if masked else None

    def f(x, h0, c0, *ws):
        it = iter(ws)
        per = [tuple(None if w is None else next(it) for w in layer) for layer in layers]
        y, *finals = bptt_feedback.feedback_sequence(cell, x, h0, c0, per, gated, mask)
        return (y, *finals) if use == "all" else tuple(finals) if use == "final" else y

    assert torch.autograd.gradcheck(f, (x, h0, c0, *[w for w in flat if w is not None]))


def _loop_and_kernel(m, x, state, lengths=None):
    """Outputs, final state and every gradient through the kernel and through autograd over the cell's steps (a
    recorder makes the layer take its loop)."""
    runs = []
    for record in (False, True):
        m.zero_grad()
        xr = x.clone().requires_grad_(True)
        sr = tuple(s.clone().requires_grad_(True) for s in state)
        hx = sr if m.cell == "lstm" else sr[0]
        if record:
            with record_steps():
                y, finals = m(xr, hx, lengths=lengths)
        else:
            y, finals = m(xr, hx, lengths=lengths)
        finals = finals if m.cell == "lstm" else (finals,)
        (y.sin().sum() + sum((f * f).sum() for f in finals)).backward()
        runs.append([y, *finals, xr.grad, *(s.grad for s in sr)] + [p.grad.clone() for p in m.parameters()])
    return runs


@pytest.mark.parametrize("path,cell", _paths([("tanh",), ("gru",), ("lstm",)]))
@pytest.mark.parametrize("gated", [True, False])
@pytest.mark.parametrize("lengths", [None, [37, 20, 1, 30]])
def test_layer_kernel_equals_autograd_through_the_steps(monkeypatch, path, cell, gated, lengths):
    compiled_or_torch(path, monkeypatch, bptt_feedback, feedback_native)
    torch.manual_seed(0)
    m = rnnkit.FeedbackRNN(7, 37, num_layers=2, cell=cell, gated=gated)
    x = torch.randn(37, 4, 7)
    state = tuple(torch.randn(2, 4, 37) * 0.5 for _ in range(2 if cell == "lstm" else 1))
    kernel, loop = _loop_and_kernel(m, x, state, lengths)
    assert len(kernel) == len(loop)
    for a, b in zip(kernel, loop):
        torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)


@pytest.mark.skipif(not COMPILED, reason="the compiled steps are not available here")
@pytest.mark.parametrize("threads,Bn", [(1, 3), (2, 3), (3, 7), (4, 2)])
@pytest.mark.parametrize("L,gated,masked", [(1, True, False), (2, True, True), (3, False, True), (2, False, False)])
def test_whole_sequence_equals_the_steps(monkeypatch, threads, Bn, L, gated, masked):
    """Rows cut into one piece per thread (fewer with fewer rows) run at once: outputs, final states and every
    gradient equal the compiled steps' (float64, 1e-12)."""
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    torch.manual_seed(L + Bn)
    x, h0 = _rand(6, Bn, IN, scale=1.0), _rand(Bn, L * H)
    layers = _layers("tanh", L, gated, True)
    flat = [w for layer in layers for w in layer if w is not None]
    mask = (torch.arange(6).unsqueeze(1) < torch.tensor([6, 2, 5, 1, 4, 3, 6][:Bn])).unsqueeze(-1) if masked else None

    def run():
        y, h = bptt_feedback.feedback_sequence("tanh", x, h0, None, layers, gated, mask)
        return [y, h, *torch.autograd.grad((y.sin().sum() + (h * h).sum()), (x, h0, *flat))]
    for a, b in zip(*whole_then_steps(run, monkeypatch, feedback_native, min(threads, Bn))):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)


def test_the_layer_runs_the_kernel(monkeypatch):
    calls = []
    real = bptt_feedback.FeedbackSequence.apply
    monkeypatch.setattr(bptt_feedback.FeedbackSequence, "apply", lambda *a: calls.append(a[0]) or real(*a))
    for cell in ("tanh", "gru", "lstm"):
        rnnkit.FeedbackRNN(3, 4, num_layers=2, cell=cell)(torch.randn(5, 2, 3))
    with record_steps():  # recorders and the scan backend (export) step through the cell
        rnnkit.FeedbackRNN(3, 4, num_layers=2)(torch.randn(5, 2, 3))
    rnnkit.FeedbackRNN(3, 4, num_layers=2, backend="scan")(torch.randn(5, 2, 3))
    assert calls == ["tanh", "gru", "lstm"]


@pytest.mark.skipif(not COMPILED, reason="the compiled steps are not available here")
def test_tanh_layers_take_the_compiled_steps_on_cpu(monkeypatch):
    calls = []
    for name in ("tanh_forward", "tanh_backward"):
        real = getattr(feedback_native, name)
        monkeypatch.setattr(feedback_native, name, lambda *a, real=real, name=name: calls.append(name) or real(*a))
    rnnkit.FeedbackRNN(3, 4, num_layers=2)(torch.randn(5, 2, 3, requires_grad=True))[0].sum().backward()
    rnnkit.FeedbackRNN(3, 4, num_layers=2, cell="gru")(torch.randn(5, 2, 3))  # the GRU's: torch operations
    assert calls == ["tanh_forward", "tanh_backward"]


@pytest.mark.parametrize("path,cell", _paths([("tanh",), ("lstm",)]))
def test_double_backward_and_retain_graph(monkeypatch, path, cell):
    compiled_or_torch(path, monkeypatch, bptt_feedback, feedback_native)
    torch.manual_seed(1)
    m = rnnkit.FeedbackRNN(3, 4, num_layers=2, cell=cell).double()
    x = torch.randn(6, 2, 3, dtype=torch.float64, requires_grad=True)

    def f(x):
        return m(x, lengths=[6, 3])[0]

    assert torch.autograd.gradgradcheck(f, (x,))
    y, _ = m(x)
    loss = y.pow(2).sum()
    g1 = torch.autograd.grad(loss, [x, *m.parameters()], retain_graph=True)
    g2 = torch.autograd.grad(loss, [x, *m.parameters()])
    for a, b in zip(g1, g2):
        assert torch.equal(a, b)
