"""The parallel linear scan (``rnnkit.recurrence.parallel_scan``, minGRU/minLSTM's GPU path): ``h_t = a_t ⊙ h_{t-1} +
b_t`` in 2 log₂ T rounds equals a plain Python loop of the equation (float64 1e-12, b of either sign, at lengths around
powers of two), float32 stays within rounding of float64 at 4096 steps, and the hand-written backward is autograd's
(gradcheck; autograd through the plain loop)."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.recurrence import diagonal
from tests.helpers import plain_linear


def parallel_linear_recurrence(a, b, h0):
    return diagonal.linear_recurrence(a, b, h0, parallel=True)


def _coefficients(T, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(T, 2, 5, dtype=dtype, generator=g) * 0.6 + 0.4
    b = torch.randn(T, 2, 5, dtype=dtype, generator=g)  # any sign: no logarithms
    h0 = torch.randn(2, 5, dtype=dtype, generator=g)
    return a, b, h0


@pytest.mark.parametrize("T", [1, 2, 3, 4, 5, 6, 7, 11, 63, 64, 65, 100, 1000, 4096])
def test_the_parallel_scan_is_the_recurrence_and_its_gradient_autograds(T):
    a, b, h0 = (t.requires_grad_() for t in _coefficients(T, T))
    want = plain_linear(a, b, h0)
    got = parallel_linear_recurrence(a, b, h0)
    torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-12)
    w = torch.randn_like(want)
    for x, y in zip(torch.autograd.grad((got * w).sum(), (a, b, h0)), torch.autograd.grad((want * w).sum(), (a, b, h0))):
        torch.testing.assert_close(x, y, atol=1e-11, rtol=1e-11)


@pytest.mark.parametrize("T", [1, 2, 5, 9])
def test_gradcheck(T):
    a, b, h0 = (t.requires_grad_() for t in _coefficients(T, 10 + T))
    assert torch.autograd.gradcheck(parallel_linear_recurrence, (a, b, h0))


def test_float32_stays_within_rounding_at_4096_steps():
    """No log-space cancellation: float32 agrees with float64 as closely as the float32 step-by-step loop does."""
    a, b, h0 = _coefficients(4096, 7)
    a = 0.9 + 0.1 * a  # long memory: h_t sums ~10–100 terms
    exact = plain_linear(a, b, h0)
    a32, b32, h32 = a.float(), b.float(), h0.float()
    parallel_err = (parallel_linear_recurrence(a32, b32, h32).double() - exact).abs().max()
    loop_err = (diagonal.linear_recurrence(a32, b32, h32).double() - exact).abs().max()
    assert parallel_err < 1e-5 and parallel_err < 4 * loop_err + 1e-6


@pytest.mark.parametrize("kind", ["mingru", "minlstm"])
def test_the_minimal_cells_parallel_path_equals_the_sequential_one_with_padding(kind):
    """``minimal_sequence(parallel=True)`` (what ``backend="auto"`` runs on a GPU): outputs and gradients of xw and
    h_0 equal the step-by-step kernel's, with ragged lengths (a padded step keeps the state)."""
    g = torch.Generator().manual_seed(5)
    G = 2 if kind == "mingru" else 3
    xw = (2 * torch.randn(70, 4, G * 6, generator=g, dtype=torch.float64)).requires_grad_()
    h0 = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    mask = torch.arange(70).view(70, 1, 1) < torch.tensor([70, 33, 1, 64]).view(1, 4, 1)
    w = torch.randn(70, 4, 6, generator=g, dtype=torch.float64)

    def run(parallel):
        y = diagonal.minimal_sequence(kind, xw, h0, mask, parallel=parallel)
        return (y, *torch.autograd.grad((y * w).sum(), (xw, h0)))
    for x, y in zip(run(True), run(False)):
        torch.testing.assert_close(x, y, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("layer_cls", [rnnkit.MinGRU, rnnkit.MinLSTM])
def test_a_layer_on_the_parallel_path_equals_the_loop(layer_cls, monkeypatch):
    """The layer as it runs on a GPU (``auto`` → the parallel scan; forced here on the CPU), stacked, bidirectional,
    with ``lengths=``: the loop backend's outputs, final states and parameter gradients."""
    torch.manual_seed(0)
    loop = layer_cls(3, 5, num_layers=2, bidirectional=True, backend="loop").double()
    par = layer_cls(3, 5, num_layers=2, bidirectional=True).double()
    par.load_state_dict(loop.state_dict())
    monkeypatch.setattr(par, "uses_scan", lambda device: True)
    x = torch.randn(12, 3, 3, dtype=torch.float64)
    lengths = torch.tensor([12, 7, 1])
    outs = []
    for layer in (par, loop):
        y, h = layer(x, lengths=lengths)
        outs.append((y, h, *torch.autograd.grad(y.square().sum() + h.sum(), list(layer.parameters()))))
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
