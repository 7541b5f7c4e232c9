"""The corners torch.nn users hit, checked against torch.nn itself: constructor type checks, the exception types of bad
inputs (rnnkit's messages, caught by the same ``except`` as torch's), empty batches, zero-size cells, copies and
dtypes, ``repr``, ``check_forward_args``, ``torch.compile``, conversion to and from torch.nn, dynamic quantization,
saturated gates."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.layers import make_layer

PAIRS = [(nn.RNN, rnnkit.RNN), (nn.LSTM, rnnkit.LSTM), (nn.GRU, rnnkit.GRU)]
IDS = ["RNN", "LSTM", "GRU"]


def raised(fn) -> type[BaseException] | None:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e)
    return None


def hx_for(cls, rows, batch, hidden, dtype=torch.float32):
    h = torch.zeros(rows, batch, hidden, dtype=dtype)
    return (h, h.clone()) if cls in (nn.LSTM, rnnkit.LSTM) else h


@pytest.mark.parametrize("torch_cls, ours", PAIRS, ids=IDS)
@pytest.mark.parametrize("args, kwargs", [
    ((3.0, 4), {}), ((3, 4.5), {}), ((3, 4), {"num_layers": 2.0}), ((3, 4), {"batch_first": "False"}),
    ((3, 4), {"bias": "True"}), ((3, 0), {}), ((3, 4), {"num_layers": 0}), ((3, 4), {"dropout": 1.5}),
    ((3, 4), {"proj_size": 2}), ((3, 4), {"bias": 1}),
])
def test_constructor_refuses_what_torch_refuses_with_the_same_exception_type(torch_cls, ours, args, kwargs):
    expected = raised(lambda: torch_cls(*args, **kwargs))
    got = raised(lambda: ours(*args, **kwargs))
    if expected is None:
        assert got is None
    else:
        assert got is not None and issubclass(got, expected), (expected, got)


@pytest.mark.parametrize("torch_cls, ours", PAIRS, ids=IDS)
@pytest.mark.parametrize("case", ["float64 input", "int input", "wrong features", "4-D input", "no steps",
                                  "hx wrong batch", "hx wrong layers", "hx float64"])
def test_bad_inputs_raise_what_torch_code_catches(torch_cls, ours, case):
    def call(cls):
        torch.manual_seed(0)
        m = cls(3, 4)
        x = torch.randn(5, 2, 3)
        hx = None
        if case == "float64 input":
            x = x.double()
        elif case == "int input":
            x = torch.ones(5, 2, 3, dtype=torch.long)
        elif case == "wrong features":
            x = torch.randn(5, 2, 7)
        elif case == "4-D input":
            x = torch.randn(5, 2, 3, 1)
        elif case == "no steps":
            x = torch.randn(0, 2, 3)
        elif case == "hx wrong batch":
            hx = hx_for(cls, 1, 3, 4)
        elif case == "hx wrong layers":
            hx = hx_for(cls, 2, 2, 4)
        else:
            hx = hx_for(cls, 1, 2, 4, torch.float64)
        return m(x, hx)

    expected, got = raised(lambda: call(torch_cls)), raised(lambda: call(ours))
    assert expected is not None and got is not None and issubclass(got, expected), (expected, got)


@pytest.mark.parametrize("torch_cls, ours", PAIRS, ids=IDS)
@pytest.mark.parametrize("backend", ["auto", "loop", "fused"])
def test_an_empty_batch_works_like_torch(torch_cls, ours, backend):
    x = torch.randn(5, 0, 3, requires_grad=True)
    y_ref, h_ref = torch_cls(3, 4, 2)(x)
    y, h = ours(3, 4, 2, backend=backend)(x)
    assert y.shape == y_ref.shape == (5, 0, 4)
    for a, b in zip(h if isinstance(h, tuple) else (h,), h_ref if isinstance(h_ref, tuple) else (h_ref,)):
        assert a.shape == b.shape
    y.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "LayerNormLSTM", "LayerNormGRU", "IndRNN", "MinGRU",
                                  "MinLSTM", "FeedbackRNN"])
def test_a_meta_device_forward_and_backward_give_shapes_as_torch_nn_does(name):
    # deferred initialisation (accelerate's init_empty_weights, FSDP) runs modules on "meta" tensors to learn shapes;
    # torch.nn's layers do, so ours must (autocast has no "meta" device: asking it raised)
    kwargs = {} if name == "FeedbackRNN" else {"bidirectional": True}
    ref = nn.LSTM(3, 4, 2, device="meta", **kwargs)(torch.randn(5, 2, 3, device="meta"))[0]
    layer = getattr(rnnkit.layers, name)(3, 4, 2, device="meta", **kwargs)
    x = torch.randn(5, 2, 3, device="meta", requires_grad=True)
    y = layer(x)[0]
    assert y.is_meta and y.shape == ref.shape
    y.sum().backward()
    assert x.grad.is_meta and x.grad.shape == x.shape


@pytest.mark.parametrize("torch_cell, ours", [(nn.RNNCell, rnnkit.RNNCell), (nn.LSTMCell, rnnkit.LSTMCell),
                                              (nn.GRUCell, rnnkit.GRUCell)], ids=IDS)
def test_cells_match_torch_in_the_corners(torch_cell, ours):
    assert rnnkit.RNNCell is rnnkit.SimpleRNNCell
    x = torch.randn(2, 3)
    a, b = torch_cell(3, 0)(x), ours(3, 0)(x)  # hidden_size 0: an empty state, as in torch
    for p, q in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        assert p.shape == q.shape == (2, 0)
    ref, cell = torch_cell(3, 4), ours(3, 4)
    cell.load_state_dict(ref.state_dict())
    for p, q in zip(*(c(x) if isinstance(c(x), tuple) else (c(x),) for c in (ref, cell))):
        torch.testing.assert_close(q, p)
    lstm = torch_cell is nn.LSTMCell
    wrong_batch = (torch.zeros(3, 4), torch.zeros(3, 4)) if lstm else torch.zeros(3, 4)
    for bad in (lambda c: c(3.0, 4), lambda c: c(3, 4)(torch.randn(2, 5)),
                lambda c: c(3, 4)(torch.randn(2, 3, dtype=torch.float64)),
                lambda c: c(3, 4)(torch.randn(2, 3), wrong_batch)):
        expected, got = raised(lambda: bad(torch_cell)), raised(lambda: bad(ours))
        assert expected is not None and got is not None and issubclass(got, expected), (expected, got)


@pytest.mark.parametrize("torch_cls, ours", PAIRS, ids=IDS)
def test_copies_dtypes_and_repr_like_torch(torch_cls, ours):
    for kwargs in ({}, {"num_layers": 2, "batch_first": True}, {"bidirectional": True, "bias": False, "dropout": 0.5,
                                                                 "num_layers": 2}):
        assert repr(ours(3, 4, **kwargs)) == repr(torch_cls(3, 4, **kwargs))
    ref, m = torch_cls(3, 4, 2), ours(3, 4, 2)
    m.load_state_dict(ref.state_dict())
    x = torch.randn(5, 2, 3)
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        torch.testing.assert_close(clone(x)[0], ref(x)[0])
    for dtype, tol in ((torch.float64, 1e-6), (torch.bfloat16, 2e-2), (torch.half, 5e-3)):
        r, o = copy.deepcopy(ref).to(dtype), copy.deepcopy(m).to(dtype)
        torch.testing.assert_close(o(x.to(dtype))[0].float(), r(x.to(dtype))[0].float(), atol=tol, rtol=tol)


@pytest.mark.parametrize("torch_cls, ours", PAIRS, ids=IDS)
def test_check_forward_args_like_torch(torch_cls, ours):
    for cls in (torch_cls, ours):
        m, x = cls(3, 4), torch.randn(5, 2, 3)
        assert m.check_forward_args(x, hx_for(cls, 1, 2, 4), None) is None
        with pytest.raises(RuntimeError):
            m.check_forward_args(x, hx_for(cls, 1, 3, 4), None)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "feedback"])
def test_torch_compile_gives_the_eager_outputs_and_gradients(cell):
    torch._dynamo.reset()
    layer = make_layer(cell, 3, 4, 2, batch_first=False)
    x = torch.randn(5, 2, 3, requires_grad=True)
    y = torch.compile(layer)(x)[0]
    (g,) = torch.autograd.grad(y.sum(), x)
    y_ref = layer(x)[0]
    (g_ref,) = torch.autograd.grad(y_ref.sum(), x)
    torch.testing.assert_close(y, y_ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(g, g_ref, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("torch_cls, ours", PAIRS, ids=IDS)
@pytest.mark.parametrize("backend", ["auto", "loop", "fused"])
def test_saturated_gates_give_torchs_numbers(torch_cls, ours, backend):
    """Unscaled inputs (values in the hundreds, as raw series or counts are) drive float32 gate pre-activations far
    past ±88, where exp overflows: torch.nn returns the saturated gates' numbers (0, 1, ±1) and so must every rnnkit
    path — the compiled kernels used to give NaN there (a GRU's 1 / (1 + inf) under -ffast-math)."""
    torch.manual_seed(0)
    m = ours(3, 16, 2, backend=backend)
    t = torch_cls(3, 16, 2)
    t.load_state_dict(m.state_dict())
    x = (300 * torch.randn(9, 4, 3)).requires_grad_(True)
    (y, _), (y_ref, _) = m(x), t(x)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-5)
    g, g_ref = (torch.autograd.grad(out.sum(), x)[0] for out in (y, y_ref))
    assert torch.isfinite(g).all()
    torch.testing.assert_close(g, g_ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("torch_cls, ours", PAIRS, ids=IDS)
def test_to_torch_and_back_are_the_same_model(torch_cls, ours):
    kwargs = {"num_layers": 2, "bidirectional": True, "batch_first": True}
    m = ours(3, 4, **kwargs, **({"proj_size": 2} if ours is rnnkit.LSTM else {}))
    t = m.to_torch()
    assert type(t) is torch_cls and isinstance(t, nn.RNNBase) and repr(t) == repr(m)
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(t(x)[0], m(x)[0], atol=1e-6, rtol=0)
    back = ours.from_torch(t, backend="loop")
    assert back.backend == "loop"
    torch.testing.assert_close(back(x)[0], m(x)[0], atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="no reset_after=False form"):
        rnnkit.GRU(3, 4, reset_after=False).to_torch()


def test_dynamic_quantization_keeps_rnnkits_forward_contract():
    """rnnkit.quantize_dynamic gives a text classifier int8 LSTM and Linear weights (torch's dynamic quantization) and it
    still takes lengths=: its probabilities equal those of torch's quantized LSTM run on the packed batch, and stay
    close to the float model's."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from rnnkit.models.text import TextClassifier

    torch.manual_seed(0)
    model = TextClassifier(50, 3, 16, 32, "lstm", pooling="mean", dropout=0.0).eval()
    q = rnnkit.quantize_dynamic(model)
    assert "DynamicQuantizedLSTM" in repr(q.rnn) and "DynamicQuantizedLinear" in repr(q.fc)
    ids, lengths = torch.randint(4, 50, (4, 9)), torch.tensor([9, 3, 5, 1])
    with torch.no_grad():
        got = torch.softmax(q(ids, lengths), -1)
        torch_q = torch.ao.quantization.quantize_dynamic(nn.Sequential(model.rnn.to_torch()), {nn.LSTM})[0]
        y, _ = torch_q(pack_padded_sequence(model.embedding(ids), lengths, batch_first=True, enforce_sorted=False))
        y, _ = pad_packed_sequence(y, batch_first=True, total_length=9)
        valid = (torch.arange(9)[None] < lengths[:, None])[..., None]
        expected = torch.softmax(q.fc((y * valid).sum(1) / lengths[:, None]), -1)
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
        assert (got - torch.softmax(model(ids, lengths), -1)).abs().max() < 0.02


def test_config_counts_out_of_range_are_refused_with_the_field_name():
    from rnnkit.train import Config, Trainer, apply_overrides

    with pytest.raises(ValueError, match=r"train.epochs must be at least 1, got -3"):
        apply_overrides(Config(), ["--epochs", "-3"])
    cfg = Config()
    cfg.data.batch_size = 0
    with pytest.raises(ValueError, match=r"data.batch_size must be at least 1, got 0"):
        Trainer(nn.Linear(2, 2), torch.utils.data.TensorDataset(torch.zeros(4, 2)), config=cfg)


@pytest.mark.parametrize("layer", ["torch.nn", "auto", "loop", "fused"])
@pytest.mark.parametrize("p", [0, 0.276, 0.731, 1])
@pytest.mark.parametrize("train", [True, False])
def test_dropout_between_layers_as_torchs_test_rnn_dropout_checks_it(layer, p, train):
    # torch's test_nn.test_RNN_dropout: all-ones weights and input, 1000 ReLU units. Layer 1 gives 10 everywhere; the
    # dropout between the layers keeps each unit (scaled by 1 / (1 − p)) or zeroes it; layer 2's units all see the same
    # sum, kept · 10 / (1 − p): 10000 without dropout (or in eval mode), 0 at p = 1, else near 10000 and a whole
    # multiple of 10 once multiplied back by 1 − p. torch.nn itself is run through the same checks.
    make = (lambda: nn.RNN(10, 1000, 2, bias=False, dropout=p, nonlinearity="relu")) if layer == "torch.nn" else \
        (lambda: rnnkit.RNN(10, 1000, 2, bias=False, dropout=p, nonlinearity="relu", backend=layer))
    torch.manual_seed(0)
    rnn = make().train(train)
    with torch.no_grad():
        for w in rnn.parameters():
            w.fill_(1)
        output, hy = rnn(torch.ones(1, 1, 10), torch.zeros(2, 1, 1000))
    assert output.min() == output.max() and hy[0].min() == hy[0].max() and hy[1].min() == hy[1].max()
    value = output[0, 0, 0].item()
    if p == 0 or not train:
        assert value == 10000
    elif p == 1:
        assert value == 0
    else:
        assert 8000 < value < 12000
        rest = value * (1 - p) % 10
        assert min(rest, 10 - rest) < 1e-2
    assert hy[0, 0, 0].item() == 10 and hy[1, 0, 0].item() == value


class _Counted(nn.Module):
    """An identity parametrisation that counts how often the weight is computed."""

    calls = 0

    def forward(self, w):
        _Counted.calls += 1
        return w


@pytest.mark.parametrize("torch_cls, ours", PAIRS, ids=IDS)
def test_parametrised_weights_give_torchs_numbers_and_are_computed_once_per_call(torch_cls, ours):
    # torch.nn.utils.parametrizations (weight_norm, orthogonal, spectral_norm) on the recurrent layers: outputs and
    # every gradient as torch.nn's under the same parametrisations; each weight computed once per forward (before, once
    # per read — spectral_norm stepped its power iteration several times a call), so spectral_norm in training mode
    # stays a deterministic function of the seed and its estimate converges as it does under torch.nn
    from torch.nn.utils import parametrizations, parametrize

    torch.manual_seed(0)
    kw = {"num_layers": 2, "bidirectional": True}
    mine, ref = ours(6, 5, **kw), torch_cls(6, 5, **kw)
    ref.load_state_dict(mine.state_dict())
    for m in (mine, ref):
        torch.manual_seed(1)  # orthogonal's and spectral_norm's registrations draw random numbers
        parametrizations.weight_norm(m, "weight_hh_l0")
        parametrizations.orthogonal(m, "weight_hh_l1_reverse")
        parametrizations.spectral_norm(m, "weight_ih_l1")
        m.eval()  # spectral_norm's power iteration steps in training mode only (torch.nn steps it twice a call)
    x = torch.randn(7, 3, 6)
    y, y_ref = mine(x)[0], ref(x)[0]
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-5)
    grads = torch.autograd.grad(y.square().sum(), list(mine.parameters()))
    grads_ref = torch.autograd.grad(y_ref.square().sum(), list(ref.parameters()))
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in ref.named_parameters()]
    for g, g_ref in zip(grads, grads_ref):
        torch.testing.assert_close(g, g_ref, atol=1e-5, rtol=1e-5)
    counted = ours(6, 5)
    parametrize.register_parametrization(counted, "weight_hh_l0", _Counted())
    _Counted.calls = 0
    counted(torch.randn(4, 2, 6))[0].sum().backward()
    assert _Counted.calls == 1
