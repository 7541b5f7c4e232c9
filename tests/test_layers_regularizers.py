"""Regularisers of the stacked layers (``rnnkit.layers.regularizers``): each against the equations written out here
with the same random draws (torch's RNG, seeded), off in eval mode, and the properties the papers state."""

from __future__ import annotations

import pytest
import torch

import rnnkit

D64 = torch.float64
ALL = {"variational_dropout": 0.3, "recurrent_dropout": 0.4, "zoneout": 0.2, "weight_drop": 0.5}
LAYERS = [rnnkit.RNN, rnnkit.LSTM, rnnkit.GRU, rnnkit.LayerNormLSTM, rnnkit.LayerNormGRU, rnnkit.IndRNN]


def pair(cls, **reg):
    torch.manual_seed(0)
    plain = cls(3, 4, num_layers=2, bidirectional=True).double()
    regularized = cls(3, 4, num_layers=2, bidirectional=True, **reg).double()
    regularized.load_state_dict(plain.state_dict())
    return plain, regularized


@pytest.mark.parametrize("cls", LAYERS)
def test_in_eval_mode_the_layer_is_the_unregularised_one(cls):
    plain, reg = pair(cls, **ALL)
    x = torch.randn(6, 2, 3, dtype=D64)
    a, b = plain.eval()(x, lengths=[6, 4]), reg.eval()(x, lengths=[6, 4])
    torch.testing.assert_close(b[0], a[0], atol=0, rtol=0)
    reg.train()
    y, _ = reg(x, lengths=[6, 4])
    assert not torch.allclose(y, a[0])  # and in training it is not
    y.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in reg.parameters() if p.grad is not None)


def test_recurrent_dropout_is_one_mask_per_sequence_on_the_recurrent_input():
    layer = rnnkit.RNN(3, 4, recurrent_dropout=0.5).double().train()
    x = torch.randn(5, 2, 3, dtype=D64)
    torch.manual_seed(7)
    y, h_n = layer(x)
    torch.manual_seed(7)
    m = torch.bernoulli(torch.full((1, 2, 4), 0.5, dtype=D64))[0] / 0.5  # the layer's one draw
    h, outs = torch.zeros(2, 4, dtype=D64), []
    for x_t in x:  # h_t = tanh(W_ih x_t + b_ih + W_hh (m ⊙ h_{t-1}) + b_hh)
        h = torch.tanh(x_t @ layer.weight_ih_l0.T + layer.bias_ih_l0 + (m * h) @ layer.weight_hh_l0.T + layer.bias_hh_l0)
        outs.append(h)
    torch.testing.assert_close(y, torch.stack(outs), atol=1e-12, rtol=0)


def test_zoneout_keeps_each_unit_with_its_probability_at_every_step():
    layer = rnnkit.LSTM(3, 4, zoneout=0.3).double().train()
    x = torch.randn(5, 2, 3, dtype=D64)
    torch.manual_seed(3)
    y, (h_n, c_n) = layer(x)
    torch.manual_seed(3)
    d = torch.bernoulli(torch.full((5, 2, 8), 0.3, dtype=D64))  # d_t for h and c, drawn before the loop
    h, c = torch.zeros(2, 4, dtype=D64), torch.zeros(2, 4, dtype=D64)
    W, U, b = layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0 + layer.bias_hh_l0
    outs = []
    for t in range(5):
        i, f, g, o = (x[t] @ W.T + h @ U.T + b).chunk(4, -1)
        c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        h = d[t, :, :4] * h + (1 - d[t, :, :4]) * h_new
        c = d[t, :, 4:] * c + (1 - d[t, :, 4:]) * c_new
        outs.append(h)
    torch.testing.assert_close(y, torch.stack(outs), atol=1e-12, rtol=0)
    torch.testing.assert_close(c_n[0], c, atol=1e-12, rtol=0)


def test_zoneout_one_keeps_the_state():
    layer = rnnkit.GRU(3, 4, zoneout=1.0).double().train()
    h0 = torch.randn(1, 2, 4, dtype=D64)
    y, h_n = layer(torch.randn(6, 2, 3, dtype=D64), h0)
    torch.testing.assert_close(h_n, h0, atol=0, rtol=0)
    torch.testing.assert_close(y, h0.expand(6, 2, 4), atol=0, rtol=0)


def test_variational_dropout_drops_a_feature_for_the_whole_sequence():
    layer = rnnkit.LSTM(5, 4, variational_dropout=0.5).double().train()
    x = torch.randn(7, 3, 5, dtype=D64, requires_grad=True)
    torch.manual_seed(1)
    y, _ = layer(x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    dead = grad.abs().sum(0) == 0  # (B, F): an input feature of a sequence that no step sees
    assert dead.any() and (~dead).any()
    assert torch.all((grad == 0) == dead.unsqueeze(0))  # zero at every step or at none: one mask per sequence


def test_weight_drop_is_dropconnect_on_w_hh_and_leaves_the_stored_weights_untouched():
    layer = rnnkit.LSTM(3, 4, weight_drop=0.5).double().train()
    plain = rnnkit.LSTM(3, 4).double()
    plain.load_state_dict(layer.state_dict())
    before = layer.weight_hh_l0.detach().clone()
    x = torch.randn(6, 2, 3, dtype=D64)
    torch.manual_seed(5)
    y, _ = layer(x)
    y.sum().backward()
    assert torch.equal(layer.weight_hh_l0.detach(), before)
    torch.manual_seed(5)
    with torch.no_grad():  # the layer's one draw: dropout(W_hh) for this forward
        plain.weight_hh_l0.copy_(torch.nn.functional.dropout(before, 0.5))
    torch.testing.assert_close(y, plain(x)[0], atol=1e-12, rtol=0)
    assert (layer.weight_hh_l0.grad[plain.weight_hh_l0 == 0] == 0).all()  # dropped weights get no gradient


@pytest.mark.parametrize("cls", [rnnkit.RNN, rnnkit.LSTM, rnnkit.GRU])
@pytest.mark.parametrize("lengths", [None, [6, 4]])
def test_weight_drop_and_variational_dropout_run_in_torchs_fused_kernel_with_the_loops_draws(monkeypatch, cls,
                                                                                              lengths):
    """backend="fused" keeps torch's kernel under the two regularisers that act outside the step (one layer per call)
    and draws the same masks and dropped weights as the loop: a seed gives both the same outputs and gradients."""
    import rnnkit.layers.stacked as stacked

    calls = []
    monkeypatch.setattr(stacked, "run_fused", lambda *a, **k: calls.append(1) or run_fused(*a, **k))
    run_fused = rnnkit.recurrence.run_fused
    reg = {"variational_dropout": 0.3, "weight_drop": 0.4}
    torch.manual_seed(0)
    loop = cls(3, 4, num_layers=2, bidirectional=True, dropout=0.2, backend="loop", **reg).double().train()
    fused = cls(3, 4, num_layers=2, bidirectional=True, dropout=0.2, backend="fused", **reg).double().train()
    fused.load_state_dict(loop.state_dict())
    x = torch.randn(6, 2, 3, dtype=D64)
    results = []
    for layer in (loop, fused):
        torch.manual_seed(3)
        y, state = layer(x, lengths=lengths)
        state = state if isinstance(state, tuple) else (state,)
        results.append((y, *state, *torch.autograd.grad((y ** 2).sum() + sum(s.sum() for s in state),
                                                        list(layer.parameters()))))
    assert len(calls) == 2  # one fused call per layer
    for a, b in zip(*results):
        torch.testing.assert_close(b, a, atol=1e-12, rtol=0)


def test_arguments_are_checked_and_shown():
    with pytest.raises(ValueError, match="zoneout must be a number in \\[0, 1\\]"):
        rnnkit.LSTM(3, 4, zoneout=1.5)
    with pytest.raises(ValueError, match="recurrent_dropout must be a number in \\[0, 1\\)"):
        rnnkit.GRU(3, 4, recurrent_dropout=1.0)
    with pytest.raises(TypeError):
        rnnkit.LSTM(3, 4, zonout=0.1)
    assert "zoneout=0.1" in repr(rnnkit.LSTM(3, 4, zoneout=0.1))


def test_same_seed_same_regularised_run():
    _, reg = pair(rnnkit.GRU, **ALL)
    x = torch.randn(6, 2, 3, dtype=D64)
    torch.manual_seed(11)
    a = reg.train()(x)[0]
    torch.manual_seed(11)
    b = reg(x)[0]
    torch.testing.assert_close(a, b, atol=0, rtol=0)


@pytest.mark.parametrize("cls", [rnnkit.MinGRU, rnnkit.MinLSTM])
def test_minimal_cells_take_the_regularisers_that_apply_to_them(cls):
    torch.manual_seed(0)
    plain = cls(3, 4, num_layers=2).double()
    reg = cls(3, 4, num_layers=2, variational_dropout=0.2, recurrent_dropout=0.3, zoneout=0.4).double()
    reg.load_state_dict(plain.state_dict())
    x = torch.randn(6, 2, 3, dtype=D64)
    torch.testing.assert_close(reg.eval()(x)[0], plain.eval()(x)[0], atol=0, rtol=0)
    y, h = reg.train()(x, lengths=[6, 2])
    y.sum().backward()
    assert not torch.allclose(y, plain(x, lengths=[6, 2])[0])
    keep = cls(3, 4, zoneout=1.0).double().train()
    h0 = torch.randn(1, 2, 4, dtype=D64)
    torch.testing.assert_close(keep(x, h0)[1], h0, atol=0, rtol=0)  # zoneout 1 keeps the state
    with pytest.raises(ValueError, match="no recurrent weights|has none"):
        cls(3, 4, weight_drop=0.5)


def test_a_language_model_trains_with_awd_style_regularisation():
    from rnnkit.layers import make_layer

    layer = make_layer("lstm", 8, 16, 2, weight_drop=0.5, variational_dropout=0.3, zoneout=0.1)
    opt = torch.optim.Adam(layer.parameters(), 0.01)
    x = torch.randn(4, 12, 8)
    target = x.roll(1, dims=1)[..., :1].expand(4, 12, 16)
    losses = []
    for _ in range(30):
        y, _ = layer.train()(x)
        loss = (y - target.tanh()).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
