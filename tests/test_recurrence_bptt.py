"""The hand-written BPTT kernels (rnnkit.recurrence.bptt) against finite differences and torch.nn.

Given a sequence kernel (which projects its inputs itself), its gradients for the inputs, the weights, the biases and
the initial state equal central finite differences in float64 (torch.autograd.gradcheck) — whether the loss reads the
outputs and the final state, only the final state or only the outputs, with and without step masks, on both of their
paths (the whole sequence in compiled C, which equals the torch-operation loop in float64 with the rows split across
1–4 threads, and that loop); a masked step keeps the state exactly; and a layer on the loop backend (which routes
through these kernels) gives the outputs and gradients of torch.nn's fused module.
"""

import pytest
import torch

import rnnkit
from rnnkit.recurrence import bptt
from rnnkit.recurrence.native import status as bptt_native_status
from tests.helpers import compiled_or_torch, whole_then_steps

T, B, H = 5, 3, 4


def _rand(*shape, scale=0.5, requires_grad=True):
    return (torch.randn(*shape, dtype=torch.float64) * scale).requires_grad_(requires_grad)


# (T, B, 1) step masks: none; padding at the end of one sequence, a hole in another, a masked first step in a third
MASKS = [None, torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 1, 1]], dtype=torch.bool).unsqueeze(-1)]


I = 3  # input size: the kernels project x_t themselves


# which outputs the loss reads: all (the layer's usual case), only the final state (Keras's return_sequences=False: the
# kernel gets no gradient for the outputs), only the outputs (no gradient for the final state)
USES = ["all", "final", "outputs"]


def _pick(use, y, *finals):
    return (y, *finals) if use == "all" else finals if use == "final" else y


@pytest.mark.parametrize("use", USES)
@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("path", ["sequence", "torch"])
def test_simple_rnn_kernel_matches_finite_differences(nonlinearity, mask, use, path, monkeypatch):
    compiled_or_torch(path, monkeypatch, bptt)
    torch.manual_seed(0)
    x, W_ih, b, h0, W = _rand(T, B, I), _rand(H, I), _rand(H), _rand(B, H), _rand(H, H)

    def f(x, W_ih, b, h0, W):
        y, (h,) = bptt.simple_rnn_sequence(x, W_ih, b, h0, W, nonlinearity, mask)
        return _pick(use, y, h)

    assert torch.autograd.gradcheck(f, (x, W_ih, b, h0, W))


@pytest.mark.parametrize("use", USES)
@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("path", ["sequence", "torch"])
def test_lstm_kernel_matches_finite_differences(mask, use, path, monkeypatch):
    """On both of the LSTM kernel's paths: the whole sequence in compiled C (``native/lstmseq.c``, CPU) and the
    torch-operation loop (everywhere else)."""
    compiled_or_torch(path, monkeypatch, bptt)
    torch.manual_seed(1)
    x, W_ih, b, h0, c0, W = _rand(T, B, I), _rand(4 * H, I), _rand(4 * H), _rand(B, H), _rand(B, H), _rand(4 * H, H)

    def f(x, W_ih, b, h0, c0, W):
        y, (h, c) = bptt.lstm_sequence(x, W_ih, b, h0, c0, W, mask)
        return _pick(use, y, h, c)

    assert torch.autograd.gradcheck(f, (x, W_ih, b, h0, c0, W))


@pytest.mark.parametrize("use", USES)
@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("bias", ["both", "none", "hh"])
@pytest.mark.parametrize("path", ["sequence", "torch"])
def test_gru_kernel_matches_finite_differences(bias, mask, use, path, monkeypatch):
    compiled_or_torch(path, monkeypatch, bptt)
    torch.manual_seed(2)
    x, W_ih, h0, W = _rand(T, B, I), _rand(3 * H, I), _rand(B, H), _rand(3 * H, H)
    b_ih = _rand(3 * H) if bias == "both" else None
    b_hh = None if bias == "none" else _rand(3 * H)

    def f(x, W_ih, h0, W, b_ih, b_hh):
        y, (h,) = bptt.gru_sequence(x, W_ih, b_ih, h0, W, b_hh, mask)
        return _pick(use, y, h)

    assert torch.autograd.gradcheck(f, (x, W_ih, h0, W, b_ih, b_hh))


def test_kernels_skip_gradients_nobody_asked_for():
    """Frozen weights (requires_grad=False) get no gradient; the input's and the state's still match finite
    differences — also for a batch-first input seen through a transposed view, as the Keras layers pass it."""
    torch.manual_seed(3)
    W_ih, b, W = _rand(4 * H, I, requires_grad=False), _rand(4 * H, requires_grad=False), _rand(4 * H, H, requires_grad=False)
    x_bf, h0, c0 = _rand(B, T, I), _rand(B, H), _rand(B, H)
    assert torch.autograd.gradcheck(
        lambda x_bf, h0, c0: bptt.lstm_sequence(x_bf.transpose(0, 1), W_ih, b, h0, c0, W)[0], (x_bf, h0, c0))


@pytest.mark.parametrize("kind,backend", [("RNN", "loop"), ("LSTM", "loop"), ("GRU", "loop"), ("RNN", "auto"),
                                          ("GRU", "auto")])
def test_loop_layer_uses_the_kernel_and_matches_torch_nn(kind, backend, monkeypatch):
    """Given torch.nn's weights, the loop backend's outputs and every gradient match torch.nn's fused module (float32),
    and the hand-written kernel is what ran — also for ``auto`` with the RNN and GRU on CPU."""
    calls = []
    name = {"RNN": "SimpleRNNSequence", "LSTM": "LSTMSequence", "GRU": "GRUSequence"}[kind]
    kernel = getattr(bptt, name)
    apply = kernel.apply
    monkeypatch.setattr(kernel, "apply", lambda *a: calls.append(1) or apply(*a))
    torch.manual_seed(4)
    ref = getattr(torch.nn, kind)(6, 8, num_layers=2, bidirectional=True, batch_first=True)
    ours = getattr(rnnkit, kind)(6, 8, num_layers=2, bidirectional=True, batch_first=True, backend=backend)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, 9, 6)
    results = []
    for m in (ref, ours):
        xi = x.clone().requires_grad_()
        y, h = m(xi)
        final = h[0] if kind == "LSTM" else h  # only the final hidden state feeds the second term
        loss = (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum() + (final ** 2).sum()
        grads = torch.autograd.grad(loss, [xi, *m.parameters()])
        results.append((y, *grads))
    assert len(calls) == 4  # two layers x two directions
    for a, b in zip(*results):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
def test_run_sequence_with_torch_weights_matches_torch_nn(mode):
    """run_sequence(mode, x, state, *flat weights) is one layer of torch.nn's module: same outputs, final state, grads."""
    torch.manual_seed(5)
    kind = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}[mode]
    kw = {"nonlinearity": "relu"} if mode == "RNN_RELU" else {}
    ref = getattr(torch.nn, kind)(6, 8, dtype=torch.float64, **kw)
    x = torch.randn(7, 3, 6, dtype=torch.float64, requires_grad=True)
    state = tuple(torch.randn(1, 3, 8, dtype=torch.float64, requires_grad=True) for _ in range(2 if kind == "LSTM" else 1))
    y_ref, fin_ref = ref(x, state if kind == "LSTM" else state[0])
    fin_ref = fin_ref if kind == "LSTM" else (fin_ref,)
    y, fin = rnnkit.recurrence.run_sequence(mode, x, tuple(s[0] for s in state), *ref._flat_weights)
    for a, b in zip((y, *fin), (y_ref, *(f[0] for f in fin_ref))):
        torch.testing.assert_close(a, b)
    inputs = [x, *state, *ref.parameters()]
    g = torch.autograd.grad(y.sum() + sum((f * 3).sum() for f in fin), inputs)
    g_ref = torch.autograd.grad(y_ref.sum() + sum((f * 3).sum() for f in fin_ref), inputs)
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("threads,Bn,Tn", [(1, 3, 5), (2, 3, 6), (3, 7, 4), (4, 2, 1)])
@pytest.mark.parametrize("kind", ["lstm", "gru", "tanh", "relu"])
def test_whole_sequence_equals_the_torch_loop(monkeypatch, kind, threads, Bn, Tn):
    """The LSTM's, GRU's and SimpleRNN's whole sequence in C with the rows cut into one piece per thread: outputs, final states
    and every gradient equal the torch-operation loop's (float64, 1e-12), with a step mask."""
    if "in use" not in bptt_native_status():
        pytest.skip("the compiled loops are not built here")
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    torch.manual_seed(threads)
    G = {"lstm": 4, "gru": 3}.get(kind, 1)
    x, W_ih, b, h0, c0, W = _rand(Tn, Bn, I), _rand(G * H, I), _rand(G * H), _rand(Bn, H), _rand(Bn, H), _rand(G * H, H)
    b_hh = _rand(G * H)
    mask = (torch.arange(Tn).unsqueeze(1) < torch.tensor([Tn, 1, 3, 2, Tn, 4, 1][:Bn])).unsqueeze(-1)

    def run():
        if kind == "lstm":
            ins = (x, W_ih, b, h0, c0, W)
            y, (h, c) = bptt.lstm_sequence(*ins, mask)
            loss = y.sin().sum() + (h * c).sum()
        elif kind == "gru":
            ins = (x, W_ih, b, h0, W, b_hh)
            y, (h,) = bptt.gru_sequence(*ins, mask)
            loss = y.sin().sum() + (h * h).sum()
        else:
            ins = (x, W_ih, b, h0, W)
            y, (h,) = bptt.simple_rnn_sequence(*ins, kind, mask)
            loss = y.sin().sum() + (h * h).sum()
        return [y, h, *torch.autograd.grad(loss, ins)]
    for a, c in zip(*whole_then_steps(run, monkeypatch, bptt, min(threads, Bn))):
        torch.testing.assert_close(a, c, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("path", ["sequence", "torch"])
def test_masked_step_keeps_the_state(path, monkeypatch):
    compiled_or_torch(path, monkeypatch, bptt)
    """Where the mask is False the carried state is the previous one, bit for bit (hand-checkable)."""
    torch.manual_seed(6)
    mask = MASKS[1]
    x, W_ih, h0, c0, W = _rand(T, B, I), _rand(4 * H, I), _rand(B, H), _rand(B, H), _rand(4 * H, H)
    Y, (h, c) = bptt.lstm_sequence(x, W_ih, None, h0, c0, W, mask)
    prev = torch.cat([h0.unsqueeze(0), Y[:-1]])
    keep = ~mask.expand_as(Y)
    assert torch.equal(Y[keep], prev[keep])
    assert torch.equal(Y[3:, 0], Y[2, 0].expand(2, H)) and torch.equal(h[0], Y[2, 0])  # sequence 0 ends after step 3


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm", "feedback-gru"])
def test_second_derivatives_with_lengths_pass_gradgradcheck(cell):
    """Double backward through the hand-written kernels (and FeedbackRNN's deferred loop), step masks included, against
    finite differences of the first derivative (torch.autograd.gradgradcheck, float64)."""
    from rnnkit.layers import make_layer

    torch.manual_seed(0)
    kw = {} if cell.startswith("feedback") else {"backend": "loop"}
    layer = make_layer(cell, 2, 3, 2, **kw).double()
    x = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, 3, dtype=torch.float64, requires_grad=True) if cell != "lstm" else None

    def f(x, *h):
        y, state = layer(x, h[0] if h else None, lengths=[4, 2, 3])
        return (y, *(state if isinstance(state, tuple) else (state,)))

    assert torch.autograd.gradgradcheck(f, (x,) + ((h0,) if h0 is not None else ()))


def test_large_recurrent_weights_keep_the_per_step_path(monkeypatch):
    """Above ``WEIGHT_BYTES_MAX`` of recurrent weight the kernels step from Python (oneDNN's packed product passes
    over the weight once for all rows); the results are the same either way."""
    from rnnkit.recurrence import native

    seen = []
    real = bptt.native_sequence
    monkeypatch.setattr(bptt, "native_sequence", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    monkeypatch.setattr(native, "WEIGHT_BYTES_MAX", 4 * 3 * 8 * 8 - 1)  # a GRU of hidden 8 in float32: just over
    layer = rnnkit.GRU(3, 8)
    layer(torch.randn(4, 2, 3))[0].sum().backward()
    assert seen == [None, None]
