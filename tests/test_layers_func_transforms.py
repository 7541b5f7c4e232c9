"""torch.func transforms through rnnkit's layers: ``grad``, ``vmap``, per-sample gradients, ``jacrev``.

rnnkit's fast paths (hand-written BPTT, compiled loops, torch's fused kernels) cannot be transformed; under a transform
a layer runs the plain loop of its cell's step instead (``rnnkit.recurrence.transforms``). Given the same weights and
inputs, the transformed results must equal torch.nn's under the same transforms — or, for cells torch lacks, the same
derivatives computed without any transform (through the layer's own kernels: another code path).
"""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call, grad, jacrev, vmap

import rnnkit


def first(output):
    return output[0] if isinstance(output, tuple) else output


def pair(name, **kwargs):
    torch.manual_seed(0)
    ref = getattr(torch.nn, name)(3, 4, **kwargs).double()
    ours = getattr(rnnkit, name)(3, 4, **kwargs).double()
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def loss(module, params, x):
    return first(functional_call(module, params, (x,))).pow(2).sum()


LAYERS = [("RNN", {"num_layers": 2}), ("GRU", {"bidirectional": True}), ("LSTM", {"num_layers": 2}),
          ("LSTM", {"proj_size": 2}), ("GRU", {"backend": "loop"}), ("LSTM", {"backend": "scan"})]


def per_sample_by_hand(module, x, batch_dim):
    """Each sample's gradient of ``loss`` by its own backward pass (no transform): the reference."""
    rows = []
    for b in range(x.shape[batch_dim]):
        xb = x.narrow(batch_dim, b, 1)
        rows.append(torch.autograd.grad(first(module(xb)).pow(2).sum(), list(module.parameters())))
    return {k: torch.stack([r[i] for r in rows]) for i, (k, _) in enumerate(module.named_parameters())}


@pytest.mark.parametrize("name,kwargs", LAYERS, ids=lambda v: v if isinstance(v, str) else str(v))
def test_per_sample_gradients_and_jacobians_equal_torch_nn(name, kwargs):
    """vmap(grad(...)) over the batch (per-sample gradients, as in differential privacy — which torch.nn's own RNN
    modules cannot do on the CPU) equals torch.nn's gradients sample by sample; jacrev of the outputs equals torch.nn's
    Jacobian (``torch.autograd.functional.jacobian``)."""
    ref, _ = pair(name, **{k: v for k, v in kwargs.items() if k != "backend"})
    ours = getattr(rnnkit, name)(3, 4, **kwargs).double()
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(5, 6, 3, dtype=torch.float64)  # (T, B, I): one gradient per sequence b
    params = {k: v.detach() for k, v in ours.named_parameters()}
    got = vmap(grad(lambda p, xb: loss(ours, p, xb.unsqueeze(1))), in_dims=(None, 1))(params, x)
    expected = per_sample_by_hand(ref, x, 1)
    assert expected.keys() == got.keys()
    for k in expected:
        torch.testing.assert_close(got[k], expected[k], msg=k)
    xs = x[:, :2]
    torch.testing.assert_close(jacrev(lambda v: first(ours(v)))(xs),
                               torch.autograd.functional.jacobian(lambda v: first(ref(v)), xs))


@pytest.mark.parametrize("name", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cells_under_vmap_and_grad_equal_torch_nn(name):
    ref, ours = pair(name)
    x = torch.randn(6, 3, dtype=torch.float64)
    params = {k: v.detach() for k, v in ours.named_parameters()}
    got = vmap(grad(lambda p, xb: loss(ours, p, xb)), in_dims=(None, 0))(params, x)
    expected = per_sample_by_hand(ref, x, 0)
    for k in expected:
        torch.testing.assert_close(got[k], expected[k], msg=k)


OWN = {"FeedbackRNN": lambda: rnnkit.FeedbackRNN(3, 4, num_layers=2, cell="gru"),
       "LayerNormLSTM": lambda: rnnkit.LayerNormLSTM(3, 4), "LayerNormGRU": lambda: rnnkit.LayerNormGRU(3, 4),
       "IndRNN": lambda: rnnkit.IndRNN(3, 4), "MinGRU": lambda: rnnkit.MinGRU(3, 4),
       "MinLSTM": lambda: rnnkit.MinLSTM(3, 4, bidirectional=True)}


@pytest.mark.parametrize("name", sorted(OWN))
def test_rnnkit_only_layers_under_transforms_equal_their_kernels(name):
    """For cells torch lacks: grad under torch.func (the plain loop) equals .backward() through the layer's
    hand-written kernel; vmap over sequences equals the batched forward; jacrev equals the Jacobian built row by row
    with ordinary backward passes."""
    torch.manual_seed(0)
    module = OWN[name]().double()
    x = torch.randn(5, 3, 3, dtype=torch.float64)
    params = {k: v.detach() for k, v in module.named_parameters()}
    got = grad(lambda p: loss(module, p, x))(params)
    module.zero_grad()
    first(module(x)).pow(2).sum().backward()
    for k, p in module.named_parameters():
        torch.testing.assert_close(got[k], p.grad, msg=k)
    torch.testing.assert_close(vmap(lambda xb: first(module(xb.unsqueeze(1))).squeeze(1), in_dims=1, out_dims=1)(x),
                               first(module(x)))
    xs = x[:, :1]
    expected = torch.autograd.functional.jacobian(lambda v: first(module(v)), xs)
    torch.testing.assert_close(jacrev(lambda v: first(module(v)))(xs), expected)


def test_batched_gradients_through_the_kernels_equal_row_by_row():
    """autograd.grad(..., is_grads_batched=True) on a forward run outside any transform (the hand-written BPTT
    kernel's backward then receives a batch of gradients): each row equals a plain backward with that row."""
    torch.manual_seed(0)
    gru = rnnkit.GRU(3, 4).double()
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    y = gru(x)[0]
    v = torch.randn(3, *y.shape, dtype=torch.float64)
    batched = torch.autograd.grad(y, x, v, is_grads_batched=True, retain_graph=True)[0]
    for i in range(3):
        torch.testing.assert_close(batched[i], torch.autograd.grad(y, x, v[i], retain_graph=True)[0])
