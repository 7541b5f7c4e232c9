"""Clipping, truncated BPTT and whole training runs: the NumPy engine against torch doing the same thing (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.reference import (
    SGD,
    Adam,
    ReferenceSequenceModel,
    clip_grad_norm,
    clip_grad_value,
    from_torch,
    tbptt_gradients,
    train,
)


class TorchModel(nn.Module):
    def __init__(self, rnn, out, on):
        super().__init__()
        self.rnn, self.fc, self.on = rnn, nn.Linear(rnn.hidden_size * (2 if getattr(rnn, "bidirectional", False) else 1),
                                                    out).double(), on

    def forward(self, x, h=None):
        y, h = self.rnn(x, h)
        return self.fc(y[:, -1] if self.on == "last" else y), h


def pair(rnn, out=2, loss="mse", on="last"):
    rnn = rnn.double()
    tm = TorchModel(rnn, out, on)
    ref = ReferenceSequenceModel(from_torch(rnn), out, loss=loss, on=on,
                                 fc_weight=tm.fc.weight.detach().numpy().copy(), fc_bias=tm.fc.bias.detach().numpy().copy())
    return tm, ref


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(0)
    for norm_type, max_norm in [(2.0, 0.5), (2.0, 1e6), (float("inf"), 0.1), (1.0, 2.0)]:
        grads = {f"p{i}": rng.standard_normal(s) * 3 for i, s in enumerate([(3, 4), (5,), (2, 2, 2)])}
        params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
        for p, g in zip(params, grads.values()):
            p.grad = torch.from_numpy(g.copy())
        expected = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
        total = clip_grad_norm(grads, max_norm, norm_type)
        assert total == pytest.approx(float(expected), rel=1e-12)
        for p, g in zip(params, grads.values()):
            np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-12, atol=0)


def test_clip_grad_value_matches_torch():
    g = {"w": np.random.default_rng(1).standard_normal((4, 4))}
    p = torch.zeros(4, 4, dtype=torch.float64, requires_grad=True)
    p.grad = torch.from_numpy(g["w"].copy())
    torch.nn.utils.clip_grad_value_([p], 0.3)
    clip_grad_value(g, 0.3)
    np.testing.assert_array_equal(g["w"], p.grad.numpy())
    with pytest.raises(ValueError, match="non-finite"):
        clip_grad_norm({"w": np.array([np.nan])}, 1.0)


@pytest.mark.parametrize("k1,k2", [(4, 4), (3, 6), (5, 5)])
@pytest.mark.parametrize("cell", ["lstm", "gru", "tanh"])
def test_tbptt_matches_torch_detach_loop(k1, k2, cell):
    """Each window: the state entering it is detached in torch, a constant in the reference; same loss, same grads."""
    torch.manual_seed(0)
    rnn = {"lstm": rnnkit.LSTM(3, 4, batch_first=True), "gru": rnnkit.GRU(3, 4, batch_first=True),
           "tanh": rnnkit.RNN(3, 4, batch_first=True)}[cell]
    tm, ref = pair(rnn, out=2, on="all")
    x = torch.randn(2, 13, 3, dtype=torch.float64)
    y = torch.randn(2, 13, 2, dtype=torch.float64)
    got = tbptt_gradients(ref, x.numpy(), y.numpy(), k1, k2)
    T, i = 13, 0
    for end in list(range(k1, T, k1)) + [T]:
        first = end - k1 if end % k1 == 0 else end - end % k1
        start = max(0, end - k2)
        with torch.no_grad():
            h = tm.rnn(x[:, :start])[1] if start else None
        if h is not None:
            h = tuple(s.detach() for s in h) if isinstance(h, tuple) else h.detach()
        pred, _ = tm(x[:, start:end], h)
        loss = nn.functional.mse_loss(pred[:, first - start:], y[:, first:end])
        grads = torch.autograd.grad(loss, list(tm.parameters()))
        loss_r, grads_r = got[i]
        assert loss_r == pytest.approx(loss.item(), abs=1e-12)
        for (name, _), g in zip(tm.named_parameters(), grads):
            np.testing.assert_allclose(grads_r[name], g.numpy(), atol=1e-10, rtol=0, err_msg=name)
        i += 1
    assert i == len(got)


@pytest.mark.parametrize("opt", ["sgd", "sgd_momentum", "adam"])
def test_numpy_training_follows_torch_loss_curve(opt):
    """20 steps from the same initial weights: the NumPy loop and torch's loop give the same losses within 1e-8."""
    torch.manual_seed(0)
    tm, ref = pair(rnnkit.RNN(3, 6, batch_first=True), out=1, on="last")
    x = torch.randn(16, 10, 3, dtype=torch.float64)
    y = x[:, :3, 0].sum(1, keepdim=True)  # a real target: the sum of the first three inputs
    make = {"sgd": (lambda p: torch.optim.SGD(p, lr=0.05), SGD(0.05)),
            "sgd_momentum": (lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), SGD(0.05, momentum=0.9)),
            "adam": (lambda p: torch.optim.Adam(p, lr=0.01), Adam(0.01))}[opt]
    optimizer = make[0](tm.parameters())
    torch_losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(tm(x)[0], y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tm.parameters(), 1.0)
        optimizer.step()
        torch_losses.append(loss.item())
    history = train(ref, x.numpy(), y.numpy(), make[1], steps=20, clip_norm=1.0)
    np.testing.assert_allclose(history.loss, torch_losses, atol=1e-8, rtol=0)
    assert history.loss[-1] < history.loss[0]


def test_cross_entropy_last_step_matches_torch():
    torch.manual_seed(0)
    tm, ref = pair(rnnkit.GRU(3, 5, batch_first=True, bidirectional=True), out=4, loss="cross_entropy", on="last")
    x = torch.randn(6, 7, 3, dtype=torch.float64)
    labels = torch.tensor([0, 3, 1, 2, 3, 0])
    loss = nn.functional.cross_entropy(tm(x)[0], labels)
    grads = torch.autograd.grad(loss, list(tm.parameters()))
    loss_r, grads_r = ref.loss_and_grads(x.numpy(), labels.numpy())
    assert loss_r == pytest.approx(loss.item(), abs=1e-12)
    for (name, _), g in zip(tm.named_parameters(), grads):
        np.testing.assert_allclose(grads_r[name], g.numpy(), atol=1e-10, rtol=0, err_msg=name)
