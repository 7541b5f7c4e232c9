"""The cells people ask for — LayerNormLSTM, LayerNormGRU, IndRNN, MinGRU, MinLSTM — each against a float64 loop of
the equations in its docstring written out here (1e-12), torch's gradcheck, per-sequence runs for ``lengths=``, a
manual reverse for ``bidirectional``, and carried state; and each in ``make_layer``, so every task's ``--cell`` has it."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

import rnnkit
from rnnkit.layers import CELL_NAMES, make_layer

D64 = torch.float64


def ln(v, gain, shift=None):
    mu = v.mean(-1, keepdim=True)
    var = ((v - mu) ** 2).mean(-1, keepdim=True)
    out = gain * (v - mu) / torch.sqrt(var + 1e-5)
    return out if shift is None else out + shift


def g(v):
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


def reference(layer, x, sfx, state):
    """One layer-direction of ``layer`` over time-major ``x`` (T, B, I), the docstring's equations step by step."""
    p = {n[: -len(sfx)] if n.endswith(sfx) else n: v for n, v in layer.named_parameters() if n.endswith(sfx)}
    W, b = p["weight_ih"], p.get("bias_ih")
    outs = []
    for x_t in x:
        if isinstance(layer, rnnkit.LayerNormLSTM):
            h, c = state
            a = ln(x_t @ W.T, p["ln_ih_weight"]) + ln(h @ p["weight_hh"].T, p["ln_hh_weight"]) + p["bias_ih"] + \
                p["bias_hh"]
            i, f, gg, o = a.chunk(4, -1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
            h = torch.sigmoid(o) * torch.tanh(ln(c, p["ln_c_weight"], p["ln_c_bias"]))
            state = (h, c)
        elif isinstance(layer, rnnkit.LayerNormGRU):
            (h,) = state
            xh = ln(x_t @ W.T, p["ln_ih_weight"]) + p["bias_ih"]
            hh = ln(h @ p["weight_hh"].T, p["ln_hh_weight"]) + p["bias_hh"]
            r = torch.sigmoid(xh[..., :4] + hh[..., :4])
            z = torch.sigmoid(xh[..., 4:8] + hh[..., 4:8])
            n = torch.tanh(xh[..., 8:] + r * hh[..., 8:])
            h = (1 - z) * n + z * h
            state = (h,)
        elif isinstance(layer, rnnkit.IndRNN):
            (h,) = state
            h = torch.relu(x_t @ W.T + p["bias_ih"] + p["weight_hh"] * h + p["bias_hh"])
            state = (h,)
        elif isinstance(layer, rnnkit.MinGRU):
            (h,) = state
            k, v = (x_t @ W.T + b).chunk(2, -1)
            z = torch.sigmoid(k)
            h = (1 - z) * h + z * g(v)
            state = (h,)
        else:  # MinLSTM
            (h,) = state
            kf, ki, v = (x_t @ W.T + b).chunk(3, -1)
            f, i = torch.sigmoid(kf), torch.sigmoid(ki)
            h = f / (f + i) * h + i / (f + i) * g(v)
            state = (h,)
        outs.append(state[0])
    return torch.stack(outs), state


LAYERS = [rnnkit.LayerNormLSTM, rnnkit.LayerNormGRU, rnnkit.IndRNN, rnnkit.MinGRU, rnnkit.MinLSTM]


def make(cls, **kw):
    torch.manual_seed(0)
    layer = cls(3, 4, **kw).double()
    with torch.no_grad():  # move the norms' gains off 1 so that they are tested
        for n, p in layer.named_parameters():
            if n.startswith("ln_"):
                p.add_(0.3 * torch.randn_like(p))
    return layer


def zeros_state(layer, rows, B):
    n = 2 if isinstance(layer, rnnkit.LayerNormLSTM) else 1
    return tuple(torch.randn(rows, B, 4, dtype=D64) * 0.5 for _ in range(n))


def pick(state, row):
    return tuple(s[row] for s in state)


@pytest.mark.parametrize("cls", LAYERS)
def test_two_layers_bidirectional_equal_the_equations(cls):
    layer = make(cls, num_layers=2, bidirectional=True)
    x = torch.randn(6, 2, 3, dtype=D64)
    hx = zeros_state(layer, 4, 2)
    y, h_n = layer(x, hx if len(hx) > 1 else hx[0])
    h_n = h_n if isinstance(h_n, tuple) else (h_n,)
    inp, finals = x, []
    for k in range(2):
        f_out, f_state = reference(layer, inp, f"_l{k}", pick(hx, 2 * k))
        b_out, b_state = reference(layer, inp.flip(0), f"_l{k}_reverse", pick(hx, 2 * k + 1))
        inp = torch.cat([f_out, b_out.flip(0)], -1)
        finals += [f_state, b_state]
    torch.testing.assert_close(y, inp, atol=1e-12, rtol=0)
    for i, s in enumerate(h_n):
        torch.testing.assert_close(s, torch.stack([f[i] for f in finals]), atol=1e-12, rtol=0)


@pytest.mark.parametrize("cls", LAYERS)
def test_lengths_give_each_sequence_its_own_run(cls):
    layer = make(cls, batch_first=True, bidirectional=True)
    x = torch.randn(3, 7, 3, dtype=D64)
    lengths = [7, 4, 1]
    y, h_n = layer(x, lengths=lengths)
    h_n = h_n if isinstance(h_n, tuple) else (h_n,)
    for b, n in enumerate(lengths):
        y_b, h_b = layer(x[b:b + 1, :n])
        h_b = h_b if isinstance(h_b, tuple) else (h_b,)
        torch.testing.assert_close(y[b, :n], y_b[0], atol=1e-12, rtol=0)
        assert torch.all(y[b, n:] == 0)  # outputs past a sequence's end are zero
        for s, sb in zip(h_n, h_b):
            torch.testing.assert_close(s[:, b], sb[:, 0], atol=1e-12, rtol=0)


@pytest.mark.parametrize("cls", LAYERS)
def test_gradients_are_autograds_of_the_equations(cls):
    layer = make(cls)
    x = torch.randn(5, 2, 3, dtype=D64, requires_grad=True)
    names, params = zip(*layer.named_parameters())

    def f(x, *ps):
        return torch.func.functional_call(layer, dict(zip(names, ps)), (x,), {"lengths": [5, 3]})[0]
    assert torch.autograd.gradcheck(f, (x, *params))


@pytest.mark.parametrize("cls", [rnnkit.MinGRU, rnnkit.MinLSTM])
def test_minimal_cells_scan_and_loop_agree_and_state_carries(cls):
    layer = make(cls, num_layers=2)
    x = torch.randn(300, 2, 3, dtype=D64)
    y_loop, h_loop = layer(x, lengths=[300, 123])
    layer.backend = "scan"
    y_scan, h_scan = layer(x, lengths=[300, 123])
    torch.testing.assert_close(y_scan, y_loop, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(h_scan, h_loop, atol=1e-10, rtol=1e-10)
    layer.backend = "auto"
    y1, h1 = layer(x[:100])  # inference in pieces, carrying h_n, is the whole sequence
    y2, h2 = layer(x[100:], h1)
    y, h = layer(x)
    torch.testing.assert_close(torch.cat([y1, y2]), y, atol=1e-12, rtol=0)
    torch.testing.assert_close(h2, h, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cls, cell", [(rnnkit.MinGRU, rnnkit.MinGRUCell), (rnnkit.MinLSTM, rnnkit.MinLSTMCell)])
def test_a_minimal_cell_is_one_step_of_the_layer(cls, cell):
    layer, step = make(cls), cell(3, 4).double()
    step.load_state_dict({"weight_ih": layer.weight_ih_l0, "bias_ih": layer.bias_ih_l0})
    x = torch.randn(4, 2, 3, dtype=D64)
    h = torch.zeros(2, 4, dtype=D64)
    outs = []
    for x_t in x:
        h = step(x_t, h)
        outs.append(h)
    torch.testing.assert_close(torch.stack(outs), layer(x)[0], atol=1e-12, rtol=0)
    assert step(x[0, 0]).shape == (4,)  # unbatched, as torch's cells


def test_indrnn_recurrent_max_bounds_the_weight_in_use():
    layer = rnnkit.IndRNN(3, 4, recurrent_max=0.5).double()
    assert float(layer.weight_hh_l0.detach().abs().max()) <= 0.5
    with torch.no_grad():
        layer.weight_hh_l0.fill_(3.0)  # an optimizer step past the bound
    x = torch.randn(5, 1, 3, dtype=D64)
    clipped = rnnkit.IndRNN(3, 4).double()
    clipped.load_state_dict(layer.state_dict())
    with torch.no_grad():
        clipped.weight_hh_l0.fill_(0.5)
    torch.testing.assert_close(layer(x)[0], clipped(x)[0], atol=1e-12, rtol=0)
    with pytest.raises(ValueError, match="recurrent_max"):
        rnnkit.IndRNN(3, 4, recurrent_max=-1)


def test_bad_arguments_are_refused_as_torch_refuses_them():
    for cls in LAYERS:
        with pytest.raises(TypeError):
            cls(3.0, 4)
        with pytest.raises(TypeError):
            cls(3, 4, batch_first="False")
    with pytest.raises(ValueError, match="backend"):
        rnnkit.MinGRU(3, 4, backend="fused")
    with pytest.raises(ValueError, match="backend='fused'"):
        rnnkit.LayerNormLSTM(3, 4, backend="fused")


@pytest.mark.parametrize("name", ["layernorm-lstm", "layernorm-gru", "indrnn", "mingru", "minlstm"])
def test_every_task_can_name_the_new_cells(name):
    assert name in CELL_NAMES
    layer = make_layer(name, 3, 4, 2, bidirectional=True)
    y, _ = layer(torch.randn(2, 5, 3), lengths=[5, 2])
    assert y.shape == (2, 5, 8)
    from rnnkit.models.text import LanguageModel, TextClassifier

    clf = TextClassifier(20, 2, 8, 6, name)
    assert clf(torch.randint(1, 20, (3, 7)), torch.tensor([7, 5, 2])).shape == (3, 2)
    lm = LanguageModel(20, 8, 6, name, num_layers=2)
    logits, state = lm(torch.randint(0, 20, (2, 5)))
    F.cross_entropy(logits.reshape(-1, 20), torch.randint(0, 20, (10,))).backward()
    assert all(p.grad is not None for p in lm.parameters())


@pytest.mark.parametrize("cls", LAYERS)
def test_torch_export_with_a_dynamic_length(cls):
    layer = cls(3, 4, batch_first=True).eval()
    x, lengths = torch.randn(2, 6, 3), torch.tensor([6, 3])
    T = torch.export.Dim("T", min=2, max=512)
    program = torch.export.export(layer, (x,), {"lengths": lengths}, dynamic_shapes=({1: T}, None))
    x2, l2 = torch.randn(2, 11, 3), torch.tensor([11, 4])
    got, want = program.module()(x2, lengths=l2), layer(x2, lengths=l2)
    torch.testing.assert_close(got[0], want[0], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("cls", LAYERS)
def test_gradient_flow_reads_every_step_of_the_new_cells(cls):
    """The diagnostics' step recorder sees each new layer's states; ∂L/∂h_t from it equals autograd through a
    float64 loop of the equations."""
    from rnnkit.diagnostics import gradient_flow

    layer = make(cls)
    x = torch.randn(7, 2, 3, dtype=D64)

    def loss_fn(m, batch):
        return m(batch)[0][-1].square().sum()
    gf = gradient_flow(layer, x, loss_fn, spectra=False)
    norms = gf.norms[next(k for k in gf.norms if k.endswith(".l0") or k.endswith("l0"))]
    assert len(norms) == 7 and norms[-1] > 0
    state = tuple(torch.zeros(2, 4, dtype=D64) for _ in range(2 if cls is rnnkit.LayerNormLSTM else 1))
    hs = []
    for t in range(7):  # the reference: autograd through the equations, one step at a time
        _, state = reference(layer, x[t:t + 1], "_l0", state)
        hs.append(state[0])
    grads = torch.autograd.grad(hs[-1].square().sum(), hs)
    expected = [float(g.norm()) for g in grads]
    assert norms == pytest.approx(expected, rel=1e-9)
