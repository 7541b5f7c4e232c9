"""The NumPy reference engine agrees with the PyTorch engine: forward within 1e-10, every gradient within 1e-8 (float64).

The torch side is rnnkit's layer (itself checked against torch.nn) differentiated by torch.autograd; the reference side is
the hand-written BPTT. Same weights via ``rnnkit.reference.from_torch``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.reference import from_torch

CONFIGS = [
    ("tanh", dict(num_layers=1)),
    ("relu", dict(num_layers=2, bidirectional=True)),
    ("tanh", dict(num_layers=3, batch_first=True, bias=False)),
    ("lstm", dict(num_layers=2, bidirectional=True)),
    ("lstm", dict(num_layers=2, proj_size=2, batch_first=True)),
    ("lstm", dict(num_layers=1, bidirectional=True, proj_size=3, bias=False)),
    ("gru", dict(num_layers=2, bidirectional=True)),
    ("gru_before", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("gru_before", dict(num_layers=1, bias=False)),
]


def build(kind, kw):
    if kind in ("tanh", "relu"):
        return rnnkit.RNN(3, 5, nonlinearity=kind, **kw)
    if kind == "lstm":
        return rnnkit.LSTM(3, 5, **kw)
    return rnnkit.GRU(3, 5, reset_after=(kind == "gru"), **kw)


def torch_forward_backward(m, x, hx, R, S):
    x = x.clone().requires_grad_(True)
    hx = tuple(h.clone().requires_grad_(True) for h in hx)
    y, fin = m(x, hx if len(hx) == 2 else hx[0])
    fin = fin if isinstance(fin, tuple) else (fin,)
    loss = (y * R).sum() + sum((f * s).sum() for f, s in zip(fin, S))
    params = dict(m.named_parameters())
    grads = torch.autograd.grad(loss, [x, *hx, *params.values()])
    named = dict(zip(["input", "h0", "c0"][:1 + len(hx)], grads[:1 + len(hx)]))
    named.update(dict(zip(params, grads[1 + len(hx):])))
    return y, fin, {k: v.numpy() for k, v in named.items()}


def check(m, ref, batch_first, n_state, rows, out_size, T=6, B=3, I=3):
    g = torch.Generator().manual_seed(3)
    x = torch.randn((B, T, I) if batch_first else (T, B, I), dtype=torch.float64, generator=g)
    sizes = [out_size, 5][:n_state]
    hx = tuple(torch.randn(rows, B, n, dtype=torch.float64, generator=g) for n in sizes)
    R, S = _weights(m, x, hx, torch.Generator().manual_seed(3 + 100))
    y_t, fin_t, g_t = torch_forward_backward(m, x, hx, R, S)
    y_r, fin_r = ref.forward(x.numpy(), tuple(h.numpy() for h in hx) if n_state == 2 else hx[0].numpy())
    np.testing.assert_allclose(y_r, y_t.detach().numpy(), atol=1e-10, rtol=0)
    fin_r = fin_r if isinstance(fin_r, tuple) else (fin_r,)
    for a, b in zip(fin_r, fin_t):
        np.testing.assert_allclose(a, b.detach().numpy(), atol=1e-10, rtol=0)
    g_r = ref.backward(R.numpy(), tuple(s.numpy() for s in S) if n_state == 2 else S[0].numpy())
    assert set(g_r) == set(g_t), (sorted(g_r), sorted(g_t))
    for k in g_t:
        np.testing.assert_allclose(g_r[k], g_t[k], atol=1e-8, rtol=0, err_msg=k)


def _weights(m, x, hx, g):
    with torch.no_grad():
        y, fin = m(x, hx if len(hx) == 2 else hx[0])
    fin = fin if isinstance(fin, tuple) else (fin,)
    return torch.randn(y.shape, dtype=torch.float64, generator=g), [torch.randn(f.shape, dtype=torch.float64,
                                                                                generator=g) for f in fin]


@pytest.mark.parametrize("kind,kw", CONFIGS)
def test_stacked_layers_agree(kind, kw):
    m = build(kind, kw).double()
    ref = from_torch(m)
    D = 2 if kw.get("bidirectional") else 1
    out_size = kw.get("proj_size") or 5
    check(m, ref, kw.get("batch_first", False), 2 if kind == "lstm" else 1, kw["num_layers"] * D, out_size)


@pytest.mark.parametrize("cell", ["tanh", "gru", "lstm"])
@pytest.mark.parametrize("gated", [True, False])
def test_feedback_rnn_agrees(cell, gated):
    m = rnnkit.FeedbackRNN(3, 5, num_layers=3, cell=cell, gated=gated).double()
    check(m, from_torch(m), False, 2 if cell == "lstm" else 1, 3, 5)


def test_round_trip_to_torch():
    m = rnnkit.LSTM(3, 4, 2, bidirectional=True).double()
    back = from_torch(m).to_torch()
    assert type(back) is rnnkit.LSTM and back.bidirectional
    for (n, p), (k, q) in zip(m.named_parameters(), back.named_parameters()):
        assert n == k and torch.equal(p, q)
    tm = torch.nn.GRU(3, 4).double()
    ref = from_torch(tm)
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    np.testing.assert_allclose(ref.forward(x)[0], tm(torch.from_numpy(x))[0].detach().numpy(), atol=1e-12)


def test_per_step_gradients_match_autograd():
    """dh_steps[l][t] = ∂L/∂h_t for every step: compared with autograd through explicit cell steps."""
    torch.manual_seed(0)
    cell = rnnkit.SimpleRNNCell(3, 4).double()
    layer = rnnkit.RNN(3, 4).double()
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    hs, h = [], torch.zeros(2, 4, dtype=torch.float64)
    for t in range(7):
        h = cell(x[t], h)
        hs.append(h)
    target = torch.randn(2, 4, dtype=torch.float64)
    loss = ((hs[-1] - target) ** 2).sum()
    expected = torch.autograd.grad(loss, hs)
    ref = from_torch(layer)
    y, _ = ref.forward(x.numpy())
    d_out = np.zeros_like(y)
    d_out[-1] = 2 * (y[-1] - target.numpy())
    ref.backward(d_out)
    for t in range(7):
        np.testing.assert_allclose(ref.dh_steps["l0"][t], expected[t].numpy(), atol=1e-12, rtol=0)


NEWER = [(rnnkit.LayerNormLSTM, dict(num_layers=2, bidirectional=True)),
         (rnnkit.LayerNormLSTM, dict(num_layers=1, batch_first=True, bias=False)),
         (rnnkit.IndRNN, dict(num_layers=2, bidirectional=True)),
         (rnnkit.IndRNN, dict(num_layers=1, bias=False, batch_first=True)),
         (rnnkit.MinGRU, dict(num_layers=2, bidirectional=True)),
         (rnnkit.MinGRU, dict(num_layers=1, bias=False))]


@pytest.mark.parametrize("cls,kw", NEWER)
def test_newer_cells_agree(cls, kw):
    """The layer-normalised LSTM, IndRNN and minGRU: hand-written NumPy BPTT = the torch engine's autograd (1e-8)."""
    torch.manual_seed(1)
    m = cls(3, 5, **kw).double()
    with torch.no_grad():  # norms away from the identity, so their gradients are exercised
        for n, p in m.named_parameters():
            if n.startswith("ln_"):
                p.add_(0.3 * torch.randn_like(p))
    D = 2 if kw.get("bidirectional") else 1
    two = cls is rnnkit.LayerNormLSTM
    check(m, from_torch(m), kw.get("batch_first", False), 2 if two else 1, kw["num_layers"] * D, 5)
    back = from_torch(m).to_torch()
    assert type(back) is cls and all(torch.equal(p, q) for p, q in zip(m.parameters(), back.parameters()))


@pytest.mark.parametrize("mode", ["layernorm-lstm", "indrnn", "mingru"])
def test_newer_cells_pass_finite_differences(mode):
    from rnnkit.reference import ReferenceRNN, gradcheck

    model = ReferenceRNN(mode, 3, 4, num_layers=2, bidirectional=True, seed=2)
    worst, per_param = gradcheck(model, np.random.default_rng(0).standard_normal((5, 2, 3)))
    assert worst < 1e-6, per_param
