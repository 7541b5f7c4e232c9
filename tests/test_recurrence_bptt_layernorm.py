"""The layer-normalised LSTM/GRU kernels (rnnkit.recurrence.bptt_layernorm) against finite differences and autograd.

Given the input part of every step ``xw``, the kernels' gradients for it, the initial state, the recurrent weight and
the norms' gains and shifts equal central finite differences in float64 (torch.autograd.gradcheck) — on both of their
paths (the compiled C steps of ``rnnkit.recurrence.native`` and the torch-operation path that runs where no compiler
or no CPU is), with and without step masks, whichever outputs the loss reads. The two paths agree in float32 at sizes
that are not a multiple of the vector width, a masked step keeps the state exactly, and double backward and
``retain_graph`` work through the layers.
"""

import pytest
import torch

import rnnkit
from rnnkit.recurrence import bptt_layernorm, layernorm_native, native
from tests.helpers import compiled_or_torch, whole_then_steps

T, B, H = 5, 3, 4
MASKS = [None, torch.tensor([[1, 1, 0], [1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 1, 1]], dtype=torch.bool).unsqueeze(-1)]
USES = ["all", "final", "outputs"]
COMPILED = "in use" in native.status()


@pytest.fixture(params=["sequence", "steps", "torch"])
def path(request, monkeypatch):
    """Run the test on the compiled whole-sequence loops (rows split across threads), on the compiled steps with
    Python between them (what autocast's lower-precision products take) and on the torch-operation path."""
    return compiled_or_torch(request.param, monkeypatch, bptt_layernorm, layernorm_native)


def _rand(*shape, scale=0.5, dtype=torch.float64, requires_grad=True):
    return (torch.randn(*shape, dtype=dtype) * scale).requires_grad_(requires_grad)


def _gains(n, dtype=torch.float64):
    return (1 + 0.3 * torch.randn(n, dtype=dtype)).requires_grad_(True)


def _pick(use, y, *finals):
    return (y, *finals) if use == "all" else finals if use == "final" else y


@pytest.mark.parametrize("use", USES)
@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("shift", [True, False])
def test_lstm_kernel_matches_finite_differences(path, mask, use, shift):
    torch.manual_seed(0)
    xw, h0, c0, W = _rand(T, B, 4 * H, scale=1.0), _rand(B, H), _rand(B, H), _rand(4 * H, H)
    g_hh, g_c, b_c = _gains(4 * H), _gains(H), _rand(H) if shift else None

    def f(xw, h0, c0, W, g_hh, g_c, b_c):
        y, (h, c) = bptt_layernorm.layernorm_lstm_sequence(xw, h0, c0, W, g_hh, g_c, b_c, mask)
        return _pick(use, y, h, c)

    assert torch.autograd.gradcheck(f, (xw, h0, c0, W, g_hh, g_c, b_c))


@pytest.mark.parametrize("use", USES)
@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("bias", [True, False])
def test_gru_kernel_matches_finite_differences(path, mask, use, bias):
    torch.manual_seed(1)
    xw, h0, W = _rand(T, B, 3 * H, scale=1.0), _rand(B, H), _rand(3 * H, H)
    g_hh, b_hh = _gains(3 * H), _rand(3 * H) if bias else None

    def f(xw, h0, W, g_hh, b_hh):
        y, (h,) = bptt_layernorm.layernorm_gru_sequence(xw, h0, W, g_hh, b_hh, mask)
        return _pick(use, y, h)

    assert torch.autograd.gradcheck(f, (xw, h0, W, g_hh, b_hh))


def _run(kind, dtype, Hs, seed=2, Tn=7, Bn=5):
    """Outputs and every gradient of one kernel call at hidden size ``Hs`` (with padding in the batch)."""
    torch.manual_seed(seed)
    G = (4 if kind == "lstm" else 3) * Hs
    mask = (torch.arange(Tn).unsqueeze(1) < torch.tensor([Tn, 3, 5, 1, 6, 2, 4][:Bn]).clamp(max=Tn)).unsqueeze(-1)
    ins = [_rand(Tn, Bn, G, scale=1.0, dtype=dtype), _rand(Bn, Hs, dtype=dtype)]
    if kind == "lstm":
        ins += [_rand(Bn, Hs, dtype=dtype), _rand(G, Hs, dtype=dtype), _gains(G, dtype), _gains(Hs, dtype),
                _rand(Hs, dtype=dtype)]
        outs = bptt_layernorm.layernorm_lstm_sequence(*ins, mask)
    else:
        ins += [_rand(G, Hs, dtype=dtype), _gains(G, dtype), _rand(G, dtype=dtype)]
        outs = bptt_layernorm.layernorm_gru_sequence(*ins, mask)
    y, finals = outs
    loss = (y * torch.linspace(-1, 1, y.numel(), dtype=dtype).view_as(y)).sum() + sum((s ** 3).sum() for s in finals)
    return [y, *finals, *torch.autograd.grad(loss, ins)]


@pytest.mark.skipif(not COMPILED, reason="the compiled steps are not available here")
@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("Hs", [1, 5, 37])
def test_compiled_steps_equal_the_torch_path(kind, Hs, monkeypatch):
    """float32 at sizes off the vector width (1, 5, 37): the C steps and torch's operations agree to float32 rounding
    (a norm over one feature divides by √ε and amplifies it); float64 to 1e-12 — ∂L/∂W_hh formed over several chunks of
    steps."""
    monkeypatch.setattr(layernorm_native, "CHUNK", 3)  # ∂L/∂W_hh in chunks of 3 steps (7 = 1 + 3 + 3)
    for dtype, tol in ((torch.float32, 1e-4), (torch.float64, 1e-12)):
        compiled = _run(kind, dtype, Hs)
        with monkeypatch.context() as m:
            m.setattr(bptt_layernorm, "native_function", lambda *a: None)
            plain = _run(kind, dtype, Hs)
        for a, b in zip(compiled, plain):
            torch.testing.assert_close(a, b, atol=tol, rtol=tol)


@pytest.mark.skipif(not COMPILED, reason="the compiled steps are not available here")
@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("threads,Bn,Tn", [(1, 5, 7), (2, 5, 7), (3, 5, 6), (3, 7, 8), (4, 1, 5), (2, 2, 1)])
@pytest.mark.parametrize("Hs", [3, 16])
def test_whole_sequence_equals_the_steps(kind, threads, Bn, Tn, Hs, monkeypatch):
    """The whole-sequence loops — rows cut into one piece per thread (fewer when there are fewer rows), each piece
    with its own ∂L/∂W_hh chunks (of 3 steps here) and gain sums, ∂L/∂h_0 in either buffer by the parity of T —
    give the per-step loop's outputs and gradients: float64 to 1e-12."""
    monkeypatch.setattr(layernorm_native, "CHUNK", 3)
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    def run():
        return _run(kind, torch.float64, Hs, Tn=Tn, Bn=Bn)
    for a, b in zip(*whole_then_steps(run, monkeypatch, layernorm_native, min(threads, Bn))):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)


def test_masked_step_keeps_the_state(path):
    torch.manual_seed(3)
    mask = MASKS[1]
    xw, h0, c0, W = _rand(T, B, 4 * H), _rand(B, H), _rand(B, H), _rand(4 * H, H)
    Y, (h, c) = bptt_layernorm.layernorm_lstm_sequence(xw, h0, c0, W, _gains(4 * H), _gains(H), None, mask)
    prev = torch.cat([h0.unsqueeze(0), Y[:-1]])
    keep = ~mask.expand_as(Y)
    assert torch.equal(Y[keep], prev[keep])
    assert torch.equal(h[0], Y[2, 0])  # sequence 0 ends after step 3


@pytest.mark.parametrize("cls", [rnnkit.LayerNormLSTM, rnnkit.LayerNormGRU])
def test_layers_run_the_kernel_and_allow_double_backward_and_retain_graph(cls, path):
    """The layer's training forward goes through the kernel; second derivatives (with lengths) pass gradgradcheck
    through its autograd fallback; a graph kept with retain_graph gives the same gradients twice."""
    calls = []
    fn = bptt_layernorm.LayerNormLSTMSequence if cls is rnnkit.LayerNormLSTM else bptt_layernorm.LayerNormGRUSequence
    apply = fn.apply
    torch.manual_seed(4)
    layer = cls(2, 3, num_layers=2).double()
    x = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(fn, "apply", lambda *a: calls.append(1) or apply(*a))
        y, _ = layer(x, lengths=[4, 2, 3])
    assert len(calls) == 2
    assert torch.autograd.gradgradcheck(lambda x: layer(x, lengths=[4, 2, 3])[0], (x,))
    y, _ = layer(x)
    first = torch.autograd.grad(y.square().sum(), [x, *layer.parameters()], retain_graph=True)
    second = torch.autograd.grad(y.square().sum(), [x, *layer.parameters()])
    for a, b in zip(first, second):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_status_names_the_reason_for_a_fallback(monkeypatch):
    monkeypatch.setenv("RNNKIT_NATIVE", "0")
    lib, why = native._build()
    assert lib is None and "RNNKIT_NATIVE=0" in why
    assert native.status().startswith(("in use: ", "not in use: "))


@pytest.mark.skipif(not COMPILED, reason="the compiled steps are not available here")
def test_the_library_is_built_in_a_private_cache_folder_only(tmp_path, monkeypatch):
    """Built into $RNNKIT_NATIVE_CACHE; a folder others may write to is refused (a library is loaded from it)."""
    monkeypatch.setenv("RNNKIT_NATIVE_CACHE", str(tmp_path / "cache"))
    lib, why = native._build()
    assert lib is not None and str(tmp_path / "cache") in why
    assert list((tmp_path / "cache").glob("steps-*.so"))
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("RNNKIT_NATIVE_CACHE", str(shared))
    lib, why = native._build()
    assert lib is None and "not private" in why
