"""Given torch.nn cell weights, rnnkit's cells compute torch.nn's step (values and gradients)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import rnnkit
from tests.helpers import assert_close_all, assert_grads_close, run_with_grads

PAIRS = [
    (nn.RNNCell, rnnkit.SimpleRNNCell, {"nonlinearity": "tanh"}),
    (nn.RNNCell, rnnkit.SimpleRNNCell, {"nonlinearity": "relu"}),
    (nn.LSTMCell, rnnkit.LSTMCell, {}),
    (nn.GRUCell, rnnkit.GRUCell, {}),
]


def _call(m, x, *hx):
    out = m(x, tuple(hx) if len(hx) == 2 else (hx[0] if hx else None))
    return (out[0], out[1]) if isinstance(out, tuple) else (out, ())


@pytest.mark.parametrize("tcls,rcls,kw", PAIRS)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
def test_cell_matches_torch(tcls, rcls, kw, bias, batched):
    ref, ours = tcls(5, 6, bias=bias, **kw), rcls(5, 6, bias=bias, **kw)
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    shape = (3,) if batched else ()
    x = torch.randn(*shape, 5)
    hx = [torch.randn(*shape, 6) for _ in range(2 if rcls is rnnkit.LSTMCell else 1)]
    for args in ([x, *hx], [x]):
        out_r, g_r = run_with_grads(ref, args, _call)
        out_o, g_o = run_with_grads(ours, args, _call)
        assert_close_all(out_o, out_r, 1e-6, what=rcls.__name__)
        assert_grads_close(g_o, g_r, 1e-6)


def test_gru_reset_after_false_differs_from_torch_form_unless_reset_gate_is_open():
    """The two GRU forms are different functions of the same weights; they agree when r = 1 (reset gate bias huge)."""
    a, b = rnnkit.GRUCell(4, 5), rnnkit.GRUCell(4, 5, reset_after=False)
    b.load_state_dict(a.state_dict())
    x, h = torch.randn(2, 4), torch.randn(2, 5)
    assert (a(x, h) - b(x, h)).abs().max() > 1e-3
    with torch.no_grad():
        for m in (a, b):
            m.bias_ih[:5] = 1e4  # r = σ(huge) = 1
    torch.testing.assert_close(a(x, h), b(x, h))


def test_cell_rejects_bad_input():
    cell = rnnkit.LSTMCell(4, 5)
    with pytest.raises(ValueError, match=r"input has inconsistent input_size: got 3 expected 4 .*shape \(2, 3\)"):
        cell(torch.randn(2, 3))  # torch.nn.LSTMCell's words, then the shape
    with pytest.raises(TypeError, match="floating-point"):
        cell(torch.ones(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"Input batch size 2 doesn't match hidden0 batch size 3 .*shape \(3, 5\)"):
        cell(torch.randn(2, 4), (torch.randn(3, 5), torch.randn(2, 5)))
    with pytest.raises(ValueError, match=r"hidden1 has inconsistent hidden_size: got 6, expected 5"):
        cell(torch.randn(2, 4), (torch.randn(2, 5), torch.randn(2, 6)))
    with pytest.raises(ValueError, match="2 tensor"):
        cell(torch.randn(2, 4), torch.randn(2, 5))
    with pytest.raises(ValueError, match="nonlinearity"):
        rnnkit.SimpleRNNCell(2, 3, nonlinearity="sigmoid")
