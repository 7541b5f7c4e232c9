"""The per-step recurrent product through oneDNN with the weight packed once (rnnkit.recurrence.packed).

Given float32 weights at or above the packing size, the product equals float64 matrix multiplication to float32
rounding, and every hand-written kernel that uses it (SimpleRNN, LSTM, GRU, the layer-normalised cells) still gives
torch.nn's / the torch path's outputs and gradients — checked with packing forced on at small sizes and at a real one.
"""

import pytest
import torch

import rnnkit
from rnnkit.recurrence import bptt_layernorm, layernorm_native, packed

PACKS = torch.backends.mkldnn.is_available() and packed.RecurrentProduct(torch.ones(512, 512), 4).packed is not None
pytestmark = pytest.mark.skipif(not PACKS, reason="oneDNN's packed linear is not available in this torch build")


def test_the_packed_product_is_a_float32_matrix_product():
    torch.manual_seed(0)
    W, x, acc = torch.randn(1024, 256), torch.randn(8, 256), torch.randn(8, 1024)
    prod = packed.RecurrentProduct(W, 8)
    assert prod.packed is not None
    exact = x.double() @ W.double().t()
    scale = exact.abs().max()
    assert ((prod(x).double() - exact).abs().max() / scale) < 1e-5
    assert ((prod.plus(acc, x).double() - (acc.double() + exact)).abs().max() / scale) < 1e-5
    total = acc.clone()
    prod.add_to(total, x)
    torch.testing.assert_close(total, acc + x @ W.t(), atol=1e-4, rtol=1e-5)
    assert packed.RecurrentProduct(torch.randn(64, 32), 8).packed is None  # small: torch.mm
    assert packed.RecurrentProduct(W.double(), 8).packed is None  # float64: torch.mm


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("hidden,force", [(8, True), (256, False)])
def test_loop_kernels_with_packed_products_match_torch_nn(kind, hidden, force, monkeypatch):
    if force:
        monkeypatch.setattr(packed, "PACK_FROM", 1)
    torch.manual_seed(1)
    ref = getattr(torch.nn, kind)(5, hidden, batch_first=True)
    ours = getattr(rnnkit, kind).from_torch(ref, backend="loop")
    x = torch.randn(3, 7, 5, requires_grad=True)
    y_ref, _ = ref(x)
    (g_ref,) = torch.autograd.grad(y_ref.square().sum(), x)
    y, _ = ours(x, lengths=[7, 4, 2])  # the masked path: the full-length sequence as torch.nn alone
    torch.testing.assert_close(y[:1], ref(x[:1])[0], atol=1e-5, rtol=1e-4)
    y_full, _ = ours(x)
    (g_full,) = torch.autograd.grad(y_full.square().sum(), x)
    torch.testing.assert_close(y_full, y_ref, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(g_full, g_ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("cls", [rnnkit.LayerNormLSTM, rnnkit.LayerNormGRU])
def test_layernorm_kernels_with_packed_products_match_the_torch_path(cls, monkeypatch):
    """The compiled steps stepped from Python (the path that multiplies through ``RecurrentProduct``: the
    whole-sequence loops have their own product) with packed products, against the torch-operation path."""
    monkeypatch.setattr(packed, "PACK_FROM", 1)
    monkeypatch.setattr(layernorm_native, "native_sequence", lambda *a, **k: None)
    torch.manual_seed(2)
    layer = cls(5, 8, num_layers=2)
    x = torch.randn(9, 3, 5, requires_grad=True)

    def run():
        y, _ = layer(x, lengths=[9, 5, 2])
        return (y, *torch.autograd.grad(y.square().sum(), [x, *layer.parameters()]))
    fast = run()
    with monkeypatch.context() as m:
        m.setattr(packed, "PACK_FROM", 10**9)
        m.setattr(bptt_layernorm, "native_function", lambda *a: None)
        plain = run()
    for a, b in zip(fast, plain):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("shape", [(64, 32), (512, 384)])  # torch.mm below PACK_FROM, oneDNN's packed product above
def test_a_bfloat16_product_is_the_float64_product_within_bfloat16_rounding(shape):
    """With ``dtype=bfloat16`` the operands round to bfloat16 (relative error ~2^-9 each) and the result comes back in
    the weight's dtype: ``x W^T`` of float64, within 1e-2 relative, for every entry point."""
    torch.manual_seed(0)
    W, x, acc = torch.randn(*shape), torch.randn(8, shape[1]), torch.randn(8, shape[0])
    exact = (x.double() @ W.double().t())
    p = packed.RecurrentProduct(W, 8, torch.bfloat16)
    out = torch.empty(8, shape[0])
    for got, want in ((p(x), exact), (p(x, out=out), exact), (p.plus(acc, x), acc.double() + exact),
                      (p.add_to(acc.clone(), x), acc.double() + exact)):
        assert got.dtype == torch.float32
        rel = ((got.double() - want).norm() / want.norm()).item()
        assert 1e-5 < rel < 1e-2, rel
