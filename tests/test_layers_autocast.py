"""Under ``torch.autocast`` (mixed precision) rnnkit's layers accept mixed input/state dtypes as torch.nn's do; the fused
LSTM runs in bfloat16 (bitwise torch.nn's under the same autocast; on a CPU whose oneDNN has no bfloat16 LSTM, where
torch.nn's fails, torch's native kernel in float32), every other path in float32 (torch.nn's float32 result)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit
from rnnkit.cells.base import DtypeError

B, T, I, H = 4, 7, 5, 6
LENGTHS = torch.tensor([7, 5, 3, 6])


def bf16():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def pair(kind: str, **kw):
    torch.manual_seed(0)
    ref = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind](I, H, batch_first=True, **kw)
    ours = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU, "rnn": rnnkit.RNN}[kind](I, H, batch_first=True, **kw)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_fused_lstm_runs_in_bfloat16_like_torch_nn(bidirectional):
    ref, ours = pair("lstm", num_layers=2, bidirectional=bidirectional)
    x = torch.randn(B, T, I)
    h0 = torch.randn(2 * (1 + bidirectional), B, H).bfloat16()  # a bfloat16 state next to a float32 input: accepted
    c0 = torch.randn(2 * (1 + bidirectional), B, H)
    with bf16():
        try:
            y_ref, (h_ref, c_ref) = ref(x, (h0, c0))
            dtype = torch.bfloat16
        except RuntimeError as e:  # an AVX2 CPU: oneDNN has no bfloat16 LSTM; torch's native kernel, in float32
            assert "could not create a primitive descriptor" in str(e)
            with torch.backends.mkldnn.flags(enabled=False):
                y_ref, (h_ref, c_ref) = ref(x, (h0, c0))
            dtype = torch.float32
        y, (h, c) = ours(x, (h0, c0))
    assert y.dtype == y_ref.dtype == dtype
    for a, b in ((y, y_ref), (h, h_ref), (c, c_ref)):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_a_missing_onednn_kernel_is_tried_once_per_process_and_float32_keeps_onednn(monkeypatch):
    # a stand-in for oneDNN on an AVX2 CPU: it has no bfloat16 kernel ("could not create a primitive descriptor")
    # under autocast, and runs float32; after the first failure rnnkit goes to the native kernel at once
    from rnnkit.recurrence import fused

    monkeypatch.setattr(fused, "_NO_ONEDNN", set())
    calls = []

    def kernel(x):
        onednn = torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
        calls.append(("onednn" if onednn else "native", torch.is_autocast_enabled("cpu")))
        if onednn and torch.is_autocast_enabled("cpu"):
            raise RuntimeError("could not create a primitive descriptor for an LSTM forward propagation primitive")
        return x

    x = torch.zeros(2)
    with bf16():
        for _ in range(3):
            fused._call(kernel, x)
    fused._call(kernel, x)  # float32, outside autocast: oneDNN as before
    assert calls == [("onednn", True), ("native", True), ("native", True), ("native", True), ("onednn", False)]
    with pytest.raises(RuntimeError, match="something else"):  # other errors are not swallowed
        fused._call(lambda x: (_ for _ in ()).throw(RuntimeError("something else")), x)


@pytest.mark.parametrize("kind", ["gru", "rnn"])
def test_other_recurrences_run_in_float32_under_autocast(kind):
    """rnnkit's loops keep the whole recurrence in float32: torch.nn's float32 result (torch's own CPU GRU/RNN kernels
    round their matmuls to bfloat16 under autocast instead, ~4e-3 off)."""
    ref, ours = pair(kind)
    x = torch.randn(B, T, I)
    h0 = torch.randn(1, B, H).bfloat16()
    y_ref, h_ref = ref(x, h0.float())
    with bf16():
        y, h = ours(x, h0)  # a bfloat16 state is accepted (and read in float32)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(h, h_ref, atol=1e-5, rtol=0)


def test_a_padded_lstm_batch_trains_under_autocast_in_float32():
    """lengths= with gradients: rnnkit's hand-written BPTT, in float32 — torch.nn's float32 packed result."""
    ref, ours = pair("lstm", bidirectional=True)
    x = torch.randn(B, T, I)
    xr, xo = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    packed, _ = ref(pack_padded_sequence(xr, LENGTHS, batch_first=True, enforce_sorted=False))
    y_ref, _ = pad_packed_sequence(packed, batch_first=True, total_length=T)
    with bf16():
        y, _ = ours(xo, lengths=LENGTHS)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=0)
    w = torch.randn(B, T, 2 * H)
    (y_ref * w).sum().backward()
    (y * w).sum().backward()
    torch.testing.assert_close(xo.grad, xr.grad, atol=1e-5, rtol=0)
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=0, msg=name)


@pytest.mark.parametrize("layer", [lambda: rnnkit.MinGRU(I, H), lambda: rnnkit.FeedbackRNN(I, H, num_layers=2)])
def test_cells_without_a_torch_kernel_run_their_float32_recurrence_under_autocast(layer):
    torch.manual_seed(0)
    m = layer()
    x = torch.randn(T, B, I)
    expected, _ = m(x)
    with bf16():
        y, _ = m(x)
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, expected, atol=0, rtol=0)


@pytest.mark.parametrize("kind", ["LayerNormLSTM", "LayerNormGRU"])
@pytest.mark.parametrize("lengths", [None, LENGTHS])
def test_layer_normalised_cells_run_their_products_in_bfloat16_under_autocast(kind, lengths):
    """As torch's fused LSTM does, the products round to bfloat16 (the outputs and gradients move by ~1e-2 of their
    size from the float32 run, never more), the rest stays float32 — and outside autocast nothing changes."""
    torch.manual_seed(0)
    m = getattr(rnnkit, kind)(I, 48, batch_first=True)
    x = torch.randn(B, T, I)
    runs = []
    for low in (False, True, False):
        m.zero_grad()
        xr = x.clone().requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=low):
            y, _ = m(xr, lengths=lengths)
        assert y.dtype == torch.float32
        (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
        runs.append([y, xr.grad] + [p.grad.clone() for p in m.parameters()])
    for a, b, c in zip(*runs):
        assert torch.equal(a, c)  # float32 again once autocast is off
        rel = ((a - b).norm() / a.norm()).item()
        assert 1e-5 < rel < 3e-2, rel  # bfloat16 products: off by their rounding, not more


def test_mixed_dtypes_are_still_refused_outside_autocast():
    _, ours = pair("gru")
    with pytest.raises(DtypeError, match="bfloat16"):
        ours(torch.randn(B, T, I), torch.zeros(1, B, H).bfloat16())
    with pytest.raises(DtypeError, match="does not match weight dtype"):
        ours(torch.randn(B, T, I).bfloat16())


@pytest.mark.parametrize("cell", ["rnn", "gru", "feedback", "feedback-gru", "feedback-lstm", "layernorm-lstm",
                                  "layernorm-gru"])
def test_backward_called_inside_the_autocast_block_gives_the_gradients_of_backward_outside(cell):
    """Users often call ``loss.backward()`` inside ``with torch.autocast(...)``; on the CPU autograd then runs backward
    in that block. The hand-written kernels' backward switches autocast off as their forward did, so the gradients are
    exactly those of a backward outside the block (and finite: the compiled tanh feedback step once read a bfloat16
    buffer as float32 there). (Steps that autograd records — minGRU's input projection — follow torch's own rule.)"""
    from rnnkit.layers import make_layer

    torch.manual_seed(4)
    layer = make_layer(cell, 16, 32, num_layers=2)
    x = torch.randn(4, 12, 16)
    grads = []
    for inside in (False, True):
        layer.zero_grad()
        with bf16():
            loss = layer(x)[0].float().square().mean()
            if inside:
                loss.backward()
        if not inside:
            loss.backward()
        grads.append([p.grad.clone() for p in layer.parameters()])
    for outside, inside in zip(*grads):
        assert torch.isfinite(inside).all()
        torch.testing.assert_close(inside, outside, rtol=0, atol=0)
