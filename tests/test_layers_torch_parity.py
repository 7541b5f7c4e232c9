"""Given torch.nn weights, rnnkit's RNN/LSTM/GRU give torch.nn's outputs and gradients (float32, within 1e-5).

The reference is ``torch.nn.RNN/LSTM/GRU`` itself: its ``state_dict()`` is loaded into the rnnkit layer, both run on the same
input, and every output, final state and gradient (parameters, input, initial state) is compared. Both backends.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit
from tests.helpers import assert_close_all, assert_grads_close, run_with_grads

ATOL = 1e-5
KINDS = {
    "rnn_tanh": (nn.RNN, rnnkit.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNN, rnnkit.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, rnnkit.LSTM, {}),
    "lstm_proj": (nn.LSTM, rnnkit.LSTM, {"proj_size": 3}),
    "gru": (nn.GRU, rnnkit.GRU, {}),
}
BACKENDS = ["fused", "loop"]
I, H, T, B = 5, 7, 6, 4


def make_pair(kind, backend, **kw):
    tcls, rcls, extra = KINDS[kind]
    ref = tcls(I, H, **extra, **kw)
    ours = rcls(I, H, **extra, **kw, backend=backend)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def random_hx(kind, rows, batch):
    h_out = 3 if kind == "lstm_proj" else H
    if kind.startswith("lstm"):
        return (torch.randn(*rows, batch, h_out) if batch else torch.randn(*rows, h_out),
                torch.randn(*rows, batch, H) if batch else torch.randn(*rows, H))
    return torch.randn(*rows, batch, H) if batch else torch.randn(*rows, H)


def compare(ref, ours, inputs, call):
    out_r, g_r = run_with_grads(ref, inputs, call)
    out_o, g_o = run_with_grads(ours, inputs, call)
    assert_close_all(out_o, out_r, ATOL, what="outputs")
    assert_grads_close(g_o, g_r, ATOL)


def _flatten_hx(hx):
    return list(hx) if isinstance(hx, tuple) else [hx]


def _call_with(n_state):
    def call(m, x, *hx):
        if n_state == 0:
            return m(x)
        return m(x, tuple(hx) if n_state == 2 else hx[0])
    return call


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,given_hx",
                         [(1, False, False, False), (2, True, False, True), (3, False, True, True),
                          (2, True, True, False), (1, True, False, True)])
def test_dense_input_matches_torch(kind, backend, num_layers, bidirectional, batch_first, given_hx):
    ref, ours = make_pair(kind, backend, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    x = torch.randn(B, T, I) if batch_first else torch.randn(T, B, I)
    rows = (num_layers * (2 if bidirectional else 1),)
    hx = _flatten_hx(random_hx(kind, rows, B)) if given_hx else []
    compare(ref, ours, [x, *hx], _call_with(len(hx)))


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_unbatched_input_matches_torch(kind, backend):
    ref, ours = make_pair(kind, backend, num_layers=2, bidirectional=True)
    hx = _flatten_hx(random_hx(kind, (4,), 0))
    compare(ref, ours, [torch.randn(T, I), *hx], _call_with(len(hx)))
    compare(ref, ours, [torch.randn(T, I)], _call_with(0))


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bidirectional,batch_first", [(False, False), (True, True)])
def test_packed_input_matches_torch(kind, backend, bidirectional, batch_first):
    """A PackedSequence goes in and comes out with the same data, batch_sizes and ordering as torch.nn."""
    ref, ours = make_pair(kind, backend, num_layers=2, bidirectional=bidirectional, batch_first=batch_first)
    lengths = torch.tensor([3, 6, 1, 6])  # unsorted, with ties
    hx = _flatten_hx(random_hx(kind, (2 * (2 if bidirectional else 1),), B))

    def call(m, x, *hx):
        packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
        y, h = m(packed, tuple(hx) if len(hx) == 2 else hx[0])
        assert torch.equal(y.batch_sizes, packed.batch_sizes)
        assert torch.equal(y.sorted_indices, packed.sorted_indices)
        return y, h

    x = torch.randn(B, T, I) if batch_first else torch.randn(T, B, I)
    compare(ref, ours, [x, *hx], call)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lengths_equal_packing_in_torch(kind, backend, bidirectional):
    """``lengths=`` on a padded batch gives what torch.nn gives on the packed batch: zeros past the end, states at the end."""
    ref, ours = make_pair(kind, backend, num_layers=2, bidirectional=bidirectional, batch_first=True)
    lengths = torch.tensor([2, 6, 5, 1])

    def call_ref(m, x):
        y, h = m(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        return pad_packed_sequence(y, batch_first=True, total_length=T)[0], h

    def call_ours(m, x):
        return m(x, lengths=lengths)

    x = torch.randn(B, T, I)
    out_r, g_r = run_with_grads(ref, [x], call_ref)
    out_o, g_o = run_with_grads(ours, [x], call_ours)
    assert_close_all(out_o, out_r, ATOL, what="outputs")
    assert_grads_close(g_o, g_r, ATOL)
    assert torch.all(out_o[0][0, 2:] == 0) and torch.all(out_o[0][3, 1:] == 0)


@pytest.mark.parametrize("kind", list(KINDS))
def test_torch_state_dict_loads_and_round_trips(kind):
    tcls, rcls, extra = KINDS[kind]
    ref = tcls(I, H, num_layers=2, bidirectional=True, **extra)
    ours = rcls(I, H, num_layers=2, bidirectional=True, **extra)
    assert list(ours.state_dict()) == list(ref.state_dict()), "same names in the same order as torch.nn"
    for (n, p), (m, q) in zip(ours.named_parameters(), ref.named_parameters()):
        assert n == m and p.shape == q.shape
    ours.load_state_dict(ref.state_dict())
    back = tcls(I, H, num_layers=2, bidirectional=True, **extra)
    back.load_state_dict(ours.state_dict())
    for k, v in ref.state_dict().items():
        assert torch.equal(back.state_dict()[k], v)


@pytest.mark.parametrize("kind", list(KINDS))
def test_flatten_parameters_on_the_cpu_is_a_no_op_as_in_torch_nn(kind):
    """torch.nn flattens only for cuDNN: on the CPU every weight keeps its own storage, before and after ``.double()``
    and an explicit call, and the layer still computes torch.nn's outputs (the GPU side: tests/test_cuda.py)."""
    tcls, rcls, extra = KINDS[kind]
    ref = tcls(I, H, num_layers=2, bidirectional=True, **extra).double()
    ours = rcls(I, H, num_layers=2, bidirectional=True, **extra)
    ours.load_state_dict(ref.state_dict())
    ours.double().flatten_parameters()
    for m in (ref, ours):
        assert len({p.untyped_storage().data_ptr() for p in m.parameters()}) == len(list(m.parameters()))
    x = torch.randn(T, B, I, dtype=torch.float64)
    torch.testing.assert_close(ours(x)[0], ref(x)[0])


@pytest.mark.parametrize("kind", list(KINDS))
def test_mode_is_torch_nn_mode(kind):
    """``layer.mode`` — what code written for torch.nn.RNNBase branches on — is torch.nn's: LSTM, GRU, RNN_TANH,
    RNN_RELU."""
    tcls, rcls, extra = KINDS[kind]
    assert rcls(I, H, **extra).mode == tcls(I, H, **extra).mode


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_bias_false_and_dropout_eval(kind):
    ref, ours = make_pair(kind, "loop", num_layers=2, bias=False, dropout=0.3)
    ref.eval(), ours.eval()  # dropout is off in eval mode on both sides
    compare(ref, ours, [torch.randn(T, B, I)], _call_with(0))


def test_dropout_in_training_drops_between_layers_only():
    """With dropout=1 every activation passed up is zero: layer 2 then sees only zeros, in both backends."""
    for backend in BACKENDS:
        m = rnnkit.LSTM(I, H, num_layers=2, dropout=1.0, backend=backend).train()
        zeros_in = rnnkit.LSTM(I, H, num_layers=1)
        zeros_in.weight_ih_l0, zeros_in.weight_hh_l0 = m.weight_ih_l1, m.weight_hh_l1
        zeros_in.bias_ih_l0, zeros_in.bias_hh_l0 = m.bias_ih_l1, m.bias_hh_l1
        y, _ = m(torch.randn(T, B, I))
        y2, _ = zeros_in(torch.zeros(T, B, I))
        torch.testing.assert_close(y, y2)


def test_defaults_mirror_torch_signatures():
    """Positional order of torch.nn.RNN/LSTM/GRU (torch documents it; its own __init__ takes *args)."""
    import inspect

    common = ["input_size", "hidden_size", "num_layers"]
    tail = ["bias", "batch_first", "dropout", "bidirectional"]
    expected = {rnnkit.RNN: common + ["nonlinearity"] + tail + ["device", "dtype"],
                rnnkit.LSTM: common + tail + ["proj_size", "device", "dtype"],
                rnnkit.GRU: common + tail + ["device", "dtype"]}
    for cls, names in expected.items():
        assert list(inspect.signature(cls.__init__).parameters)[1:len(names) + 1] == names
    r = rnnkit.RNN(3, 4, 2, "relu", False, True, 0.0, True)  # torch.nn.RNN's positional order
    assert (r.num_layers, r.nonlinearity, r.bias, r.batch_first, r.bidirectional) == (2, "relu", False, True, True)
    lstm = rnnkit.LSTM(3, 4, 2, True, True, 0.0, False, 2)
    assert lstm.proj_size == 2 and lstm.batch_first


def test_auto_backend_picks_the_faster_kernel_for_the_device():
    """auto = fused where torch's kernel is the faster one (GPUs; the LSTM on CPU: oneDNN), rnnkit's hand-written BPTT
    for the RNN and GRU on CPU (faster than torch's CPU kernels: `python -m benchmarks layers`), the loop where no fused
    kernel exists."""
    assert rnnkit.LSTM(2, 3).uses_fused() and rnnkit.LSTM(2, 3).uses_fused("cuda")
    for layer in (rnnkit.GRU(2, 3), rnnkit.RNN(2, 3), rnnkit.RNN(2, 3, nonlinearity="relu")):
        assert not layer.uses_fused() and not layer.uses_fused("cpu") and layer.uses_fused("cuda")
    assert not rnnkit.GRU(2, 3, reset_after=False).uses_fused("cuda")
    assert not rnnkit.LSTM(2, 3, backend="loop").uses_fused("cuda")
    assert rnnkit.GRU(2, 3, backend="fused").uses_fused("cpu")
    with pytest.raises(ValueError, match="fused"):
        rnnkit.GRU(2, 3, reset_after=False, backend="fused")
    # a padded batch to differentiate: torch's CPU kernel would take a PackedSequence down its slow native path
    assert not rnnkit.LSTM(2, 3).uses_fused("cpu", packed_backward=True)
    assert rnnkit.LSTM(2, 3).uses_fused("cuda", packed_backward=True)
    assert rnnkit.LSTM(2, 3, backend="fused").uses_fused("cpu", packed_backward=True)


@pytest.mark.parametrize("kind,backend", list(itertools.product(["lstm", "gru", "rnn_tanh"], BACKENDS)))
def test_float64(kind, backend):
    ref, ours = make_pair(kind, backend, num_layers=2, bidirectional=True)
    ref.double(), ours.double()
    compare(ref, ours, [torch.randn(T, B, I, dtype=torch.float64)], _call_with(0))


@pytest.mark.parametrize("kind", ["gru", "rnn_tanh", "lstm"])
@pytest.mark.parametrize("backend", ["fused", "auto", "loop"])
def test_double_backward_matches_torch_nn_on_every_backend(kind, backend):
    """A gradient penalty (differentiating a gradient, create_graph=True) gives torch.nn's numbers on every backend: on
    the hand-written BPTT (auto on CPU for the RNN/GRU, loop for all) the backward hands over to the same equations in
    autograd operations when a graph of the gradient is asked for; a plain backward still runs the hand-written loop."""
    torch.manual_seed(0)
    ref, ours = make_pair(kind, backend, num_layers=2, bidirectional=True)
    results = []
    for m in (ref, ours):
        x = torch.linspace(-1, 1, 5 * 2 * I).view(5, 2, I).requires_grad_(True)
        y, h = m(x)
        (g,) = torch.autograd.grad(y.pow(2).sum() + sum(s.sum() for s in (h if isinstance(h, tuple) else (h,))), x,
                                   create_graph=True)
        results.append(torch.autograd.grad((g ** 2).sum(), [x, *m.parameters()]))
    for a, b in zip(*results):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-4)
