"""FeedbackRNN (Gated-Feedback RNN, Chung et al. 2015) against a hand-written float64 loop of its equations."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.layers.feedback import FeedbackRNN


def gf_reference(m: FeedbackRNN, x: torch.Tensor, h0, c0=None):
    """The paper's equations, one layer and one block U^{i→j} at a time (x: T, B, I; h0, c0: L, B, H)."""
    L, H = m.num_layers, m.hidden_size
    h = [h0[i] for i in range(L)]
    c = [c0[i] for i in range(L)] if c0 is not None else None
    ys = []
    for t in range(x.shape[0]):
        h_star = torch.cat(h, dim=-1)
        new_h, new_c = [], []
        below = x[t]
        for j in range(L):
            P = lambda n: getattr(m, f"{n}_l{j}")  # noqa: E731
            # Σ_i g^{i→j} U^{i→j} h^i_{t-1}, block by block
            fb = 0
            for i in range(L):
                if m.gated:
                    g = torch.sigmoid(below @ P("weight_gx")[i] + h_star @ P("weight_gh")[i])  # (B,) scalar per example
                else:
                    g = torch.ones(x.shape[1], dtype=x.dtype)
                fb = fb + g[:, None] * (h[i] @ P("weight_fb")[:, i * H:(i + 1) * H].T)
            W, bi, bh = P("weight_ih"), P("bias_ih"), P("bias_hh")
            if m.cell == "tanh":
                hj = torch.tanh(below @ W.T + bi + fb + bh)
            elif m.cell == "gru":
                U = P("weight_hh")
                r = torch.sigmoid(below @ W[:H].T + bi[:H] + h[j] @ U[:H].T + bh[:H])
                z = torch.sigmoid(below @ W[H:2 * H].T + bi[H:2 * H] + h[j] @ U[H:].T + bh[H:2 * H])
                n = torch.tanh(below @ W[2 * H:].T + bi[2 * H:] + r * (fb + bh[2 * H:]))
                hj = (1 - z) * n + z * h[j]
            else:
                U = P("weight_hh")  # rows: i, f, o
                ig = torch.sigmoid(below @ W[:H].T + bi[:H] + h[j] @ U[:H].T + bh[:H])
                fg = torch.sigmoid(below @ W[H:2 * H].T + bi[H:2 * H] + h[j] @ U[H:2 * H].T + bh[H:2 * H])
                gg = torch.tanh(below @ W[2 * H:3 * H].T + bi[2 * H:3 * H] + fb + bh[2 * H:3 * H])
                og = torch.sigmoid(below @ W[3 * H:].T + bi[3 * H:] + h[j] @ U[2 * H:].T + bh[3 * H:])
                cj = fg * c[j] + ig * gg
                hj = og * torch.tanh(cj)
                new_c.append(cj)
            new_h.append(hj)
            below = hj
        h, c = new_h, (new_c if c is not None else None)
        ys.append(below)
    return torch.stack(ys), torch.stack(h), (torch.stack(c) if c is not None else None)


CASES = [(cell, gated) for cell in ("tanh", "gru", "lstm") for gated in (True, False)]


@pytest.mark.parametrize("cell,gated", CASES)
def test_matches_hand_written_equations(cell, gated):
    m = FeedbackRNN(3, 4, num_layers=3, cell=cell, gated=gated).double()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    h0 = torch.randn(3, 2, 4, dtype=torch.float64)
    c0 = torch.randn(3, 2, 4, dtype=torch.float64) if cell == "lstm" else None
    y, state = m(x, (h0, c0) if cell == "lstm" else h0)
    y_ref, h_ref, c_ref = gf_reference(m, x, h0, c0)
    torch.testing.assert_close(y, y_ref, atol=1e-12, rtol=0)
    if cell == "lstm":
        torch.testing.assert_close(state[0], h_ref, atol=1e-12, rtol=0)
        torch.testing.assert_close(state[1], c_ref, atol=1e-12, rtol=0)
    else:
        torch.testing.assert_close(state, h_ref, atol=1e-12, rtol=0)


def test_ungated_tanh_is_the_tutorials_formula():
    """gated=False, 2 layers: layer 1 is h_t = tanh(W_hx x_t + W_hh h_{t-1} + W_hh' h'_{t-1} + b), h' = layer 2's state."""
    m = FeedbackRNN(3, 4, num_layers=2, cell="tanh", gated=False).double()
    x = torch.randn(6, 1, 3, dtype=torch.float64)
    W_hx, U = m.weight_ih_l0, m.weight_fb_l0
    W_hh, W_hh_prime = U[:, :4], U[:, 4:]
    b = m.bias_ih_l0 + m.bias_hh_l0
    y, h_n = m(x)
    h = h_prime = torch.zeros(1, 4, dtype=torch.float64)
    for t in range(6):
        h_new = torch.tanh(x[t] @ W_hx.T + h @ W_hh.T + h_prime @ W_hh_prime.T + b)
        h_prime = torch.tanh(h_new @ m.weight_ih_l1.T + m.bias_ih_l1 + torch.cat([h, h_prime], -1) @ m.weight_fb_l1.T
                             + m.bias_hh_l1)
        h = h_new
    torch.testing.assert_close(h_n[0], h, atol=1e-12, rtol=0)
    torch.testing.assert_close(h_n[1], h_prime, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cell,gated", CASES)
def test_gradcheck(cell, gated):
    m = FeedbackRNN(2, 3, num_layers=2, cell=cell, gated=gated, batch_first=True).double()
    names = [n for n, _ in m.named_parameters()]
    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)

    def f(x, *ps):
        y, _ = torch.func.functional_call(m, dict(zip(names, ps)), (x,), {"lengths": [4, 2]})
        return y

    assert torch.autograd.gradcheck(f, (x, *m.parameters()))


@pytest.mark.parametrize("cell", ["tanh", "lstm"])
def test_lengths_match_running_each_sequence_alone(cell):
    m = FeedbackRNN(3, 4, num_layers=2, cell=cell, batch_first=True)
    x = torch.randn(3, 6, 3)
    lengths = [6, 2, 4]
    y, state = m(x, lengths=lengths)
    for b, n in enumerate(lengths):
        yb, sb = m(x[b:b + 1, :n])
        torch.testing.assert_close(y[b, :n], yb[0], atol=1e-6, rtol=0)
        assert torch.all(y[b, n:] == 0)
        for s, s1 in zip(state if cell == "lstm" else (state,), sb if cell == "lstm" else (sb,)):
            torch.testing.assert_close(s[:, b], s1[:, 0], atol=1e-6, rtol=0)


def test_packed_and_unbatched():
    m = FeedbackRNN(3, 4, num_layers=2, cell="gru")
    x = torch.randn(5, 2, 3)
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, [5, 3], enforce_sorted=False)
    y, h = m(packed)
    y_pad, _ = torch.nn.utils.rnn.pad_packed_sequence(y)
    y2, h2 = m(x, lengths=[5, 3])
    torch.testing.assert_close(y_pad, y2)
    torch.testing.assert_close(h, h2)
    y1, h1 = m(x[:, 0])
    torch.testing.assert_close(y1, y2[:, 0], atol=1e-6, rtol=0)
    assert h1.shape == (2, 4)


def test_parameter_shapes_and_errors():
    m = rnnkit.FeedbackRNN(5, 4, num_layers=3, cell="lstm")
    shapes = {n: tuple(p.shape) for n, p in m.named_parameters()}
    assert shapes["weight_ih_l0"] == (16, 5) and shapes["weight_ih_l2"] == (16, 4)
    assert shapes["weight_fb_l1"] == (4, 12) and shapes["weight_hh_l1"] == (12, 4)
    assert shapes["weight_gx_l0"] == (3, 5) and shapes["weight_gh_l2"] == (3, 12)
    assert "weight_gx_l0" not in dict(rnnkit.FeedbackRNN(5, 4, 3, gated=False).named_parameters())
    with pytest.raises(ValueError, match="unknown FeedbackRNN cell"):
        rnnkit.FeedbackRNN(5, 4, cell="transformer")
    with pytest.raises(ValueError, match=r"Expected hidden\[0\] size \(3, 2, 4\), got \[2, 2, 4\]"):
        m(torch.randn(7, 2, 5), (torch.randn(2, 2, 4), torch.randn(3, 2, 4)))
