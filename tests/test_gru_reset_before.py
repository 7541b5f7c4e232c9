"""GRU(reset_after=False) against a hand-written float64 loop of Cho et al. (2014), and finite differences."""

from __future__ import annotations

import pytest
import torch

import rnnkit


def cho_gru_reference(layer: rnnkit.GRU, x: torch.Tensor, h0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The documented equations, written out per layer and direction with explicit gate slices (x: T, B, I)."""
    H = layer.hidden_size
    inp = x
    finals = []
    for layer_idx in range(layer.num_layers):
        outs = []
        for d in range(2 if layer.bidirectional else 1):
            sfx = f"_l{layer_idx}" + ("_reverse" if d else "")
            W_ih, W_hh = getattr(layer, "weight_ih" + sfx), getattr(layer, "weight_hh" + sfx)
            b_ih, b_hh = getattr(layer, "bias_ih" + sfx), getattr(layer, "bias_hh" + sfx)
            W_ir, W_iz, W_in = W_ih[:H], W_ih[H:2 * H], W_ih[2 * H:]
            W_hr, W_hz, W_hn = W_hh[:H], W_hh[H:2 * H], W_hh[2 * H:]
            b_ir, b_iz, b_in = b_ih[:H], b_ih[H:2 * H], b_ih[2 * H:]
            b_hr, b_hz, b_hn = b_hh[:H], b_hh[H:2 * H], b_hh[2 * H:]
            h = h0[layer_idx * (2 if layer.bidirectional else 1) + d]
            seq = range(x.shape[0]) if d == 0 else reversed(range(x.shape[0]))
            ys = {}
            for t in seq:
                x_t = inp[t]
                r = torch.sigmoid(x_t @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
                z = torch.sigmoid(x_t @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
                n = torch.tanh(x_t @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
                h = (1 - z) * n + z * h
                ys[t] = h
            outs.append(torch.stack([ys[t] for t in range(x.shape[0])]))
            finals.append(h)
        inp = torch.cat(outs, dim=-1)
    return inp, torch.stack(finals)


@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
def test_matches_hand_written_equations(num_layers, bidirectional):
    layer = rnnkit.GRU(3, 4, num_layers=num_layers, bidirectional=bidirectional, reset_after=False).double()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    h0 = torch.randn(num_layers * (2 if bidirectional else 1), 2, 4, dtype=torch.float64)
    y, h = layer(x, h0)
    y_ref, h_ref = cho_gru_reference(layer, x, h0)
    torch.testing.assert_close(y, y_ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=1e-12, rtol=0)


def test_gradcheck():
    layer = rnnkit.GRU(3, 4, num_layers=2, bidirectional=True, reset_after=False).double()
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 2, 4, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in layer.named_parameters()]

    def f(x, h0, *ps):
        return torch.func.functional_call(layer, dict(zip(names, ps)), (x, h0), {"lengths": torch.tensor([4, 2])})

    assert torch.autograd.gradcheck(f, (x, h0, *layer.parameters()))
