"""rnnkit.models.vocab_loss: the fused output layer + cross-entropy equals torch's ``F.cross_entropy(F.linear(…))`` —
loss, gradients, padding and label smoothing — in float64 exactly and under bf16 autocast to bf16's precision."""

import pytest
import torch
from torch.nn import functional as F

import rnnkit.models.vocab_loss as vocab_loss
from rnnkit.models.seq2seq import Seq2Seq
from rnnkit.models.text import LanguageModel
from rnnkit.models.vocab_loss import linear_cross_entropy


@pytest.fixture(autouse=True)
def fused_at_any_vocabulary(monkeypatch):
    """Small vocabularies would take torch's own path (below FUSED_FROM_CLASSES); here the fused pass is under test."""
    monkeypatch.setattr(vocab_loss, "FUSED_FROM_CLASSES", 1)


def _case(N=40, V=23, D=6, bias=True, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(N, D, generator=g, dtype=dtype).requires_grad_()
    W = torch.randn(V, D, generator=g, dtype=dtype).requires_grad_()
    b = torch.randn(V, generator=g, dtype=dtype).requires_grad_() if bias else None
    y = torch.randint(1, V, (N,), generator=g)
    y[::3] = 0  # padding
    return h, W, b, y


@pytest.mark.parametrize("chunk", [1, 23 * 7, 1 << 22], ids=["one row per chunk", "several chunks", "one chunk"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("bias", [True, False])
def test_loss_and_gradients_equal_torch_in_float64(monkeypatch, chunk, smoothing, bias):
    """Given padding (ignore_index) and label smoothing, the loss and ∂/∂h, ∂/∂W, ∂/∂b equal torch's to 1e-12."""
    monkeypatch.setattr(vocab_loss, "CHUNK_ELEMENTS", chunk)
    h, W, b, y = _case(bias=bias)
    params = [t for t in (h, W, b) if t is not None]
    ours, _ = linear_cross_entropy(h, W, b, y, ignore_index=0, label_smoothing=smoothing)
    theirs = F.cross_entropy(F.linear(h, W, b), y, ignore_index=0, label_smoothing=smoothing)
    torch.testing.assert_close(ours, theirs, atol=1e-12, rtol=0)
    for a, e in zip(torch.autograd.grad(2.5 * ours, params), torch.autograd.grad(2.5 * theirs, params)):
        torch.testing.assert_close(a, e, atol=1e-12, rtol=0)


def test_below_the_threshold_torchs_path_gives_the_same(monkeypatch):
    monkeypatch.setattr(vocab_loss, "FUSED_FROM_CLASSES", 256)
    h, W, b, y = _case()
    ours, correct = linear_cross_entropy(h, W, b, y, ignore_index=0, label_smoothing=0.1)
    z = F.linear(h, W, b)
    torch.testing.assert_close(ours, F.cross_entropy(z, y, ignore_index=0, label_smoothing=0.1), atol=1e-12, rtol=0)
    assert correct == ((z.argmax(1) == y) & (y != 0)).sum()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_a_confident_softmax_far_past_exp_underflow_still_equals_torch(dtype):
    """Logit gaps of hundreds (probabilities below float32's smallest normal number): same loss and gradients."""
    h, W, b, y = _case(dtype=dtype)
    h = (h.detach() * 60).requires_grad_()
    ours, _ = linear_cross_entropy(h, W, b, y, ignore_index=0, label_smoothing=0.1)
    theirs = F.cross_entropy(F.linear(h, W, b), y, ignore_index=0, label_smoothing=0.1)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(ours, theirs, atol=tol * theirs.abs().item(), rtol=0)
    for a, e in zip(torch.autograd.grad(ours, (h, W, b)), torch.autograd.grad(theirs, (h, W, b))):
        torch.testing.assert_close(a, e, atol=tol * e.abs().max().item(), rtol=0)


def test_gradcheck_against_finite_differences():
    h, W, b, y = _case(N=9, V=7, D=3)
    assert torch.autograd.gradcheck(
        lambda h, W, b: linear_cross_entropy(h, W, b, y, ignore_index=0, label_smoothing=0.2)[0], (h, W, b))


def test_correct_counts_counted_rows_whose_reference_has_the_highest_logit():
    h, W, b, y = _case(N=60, V=5, D=4)
    z = F.linear(h, W, b)
    y[1::3] = z.argmax(1)[1::3]  # a third right by construction, the padding third never counted
    expected = ((z.argmax(1) == y) & (y != 0)).sum()
    assert linear_cross_entropy(h, W, b, y, ignore_index=0)[1] == expected > 0


def test_without_gradients_only_the_loss_is_computed_and_it_is_the_same():
    h, W, b, y = _case()
    with_graph, _ = linear_cross_entropy(h, W, b, y, ignore_index=0, label_smoothing=0.1)
    with torch.no_grad():
        without, _ = linear_cross_entropy(h, W, b, y, ignore_index=0, label_smoothing=0.1)
    assert with_graph.requires_grad and not without.requires_grad
    torch.testing.assert_close(without, with_graph.detach(), atol=1e-12, rtol=0)


def test_under_bf16_autocast_it_matches_torch_to_bf16_precision():
    """Under autocast torch computes the logits in bf16 and the loss in float32; so do we. Gradients come back in the
    inputs' dtypes (float32 weights stay float32)."""
    h, W, b, y = (t.float().detach().requires_grad_() if t.is_floating_point() else t
                  for t in _case(N=200, V=300, D=32, dtype=torch.float64))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours, _ = linear_cross_entropy(h, W, b, y, ignore_index=0, label_smoothing=0.1)
        theirs = F.cross_entropy(F.linear(h, W, b), y, ignore_index=0, label_smoothing=0.1)
    assert ours.dtype == theirs.dtype == torch.float32
    torch.testing.assert_close(ours, theirs, rtol=1e-2, atol=0)
    for a, e in zip(torch.autograd.grad(ours, (h, W, b)), torch.autograd.grad(theirs, (h, W, b))):
        assert a.dtype == torch.float32
        assert (a - e).norm() <= 2e-2 * e.norm()


def test_all_padding_gives_nan_like_torch_and_bad_shapes_are_named():
    h, W, b, y = _case()
    y = torch.zeros_like(y)
    assert linear_cross_entropy(h, W, b, y, ignore_index=0)[0].isnan()
    assert F.cross_entropy(F.linear(h, W, b), y, ignore_index=0).isnan()
    with pytest.raises(ValueError, match="expected h"):
        linear_cross_entropy(h, W.t(), b, y)
    with pytest.raises(ValueError, match="label_smoothing"):
        linear_cross_entropy(h, W, b, y, label_smoothing=1.0)
    with pytest.raises(ValueError, match="target class 23 is out of range for 23 classes"):
        linear_cross_entropy(h, W, b, torch.full_like(y, 23), ignore_index=0)


@pytest.mark.parametrize("tied", [False, True])
def test_seq2seq_loss_is_torchs_cross_entropy_of_its_logits(tied):
    """The translator's training loss (fused) equals F.cross_entropy over ``model(...)``'s logits, padding ignored,
    label smoothing applied; token accuracy = argmax == reference over the real target tokens."""
    torch.manual_seed(0)
    model = Seq2Seq(11, 13, 6, 8, tie_embeddings=tied, dropout=0.0, label_smoothing=0.1).double()
    src = torch.tensor([[4, 5, 6, 7], [8, 9, 0, 0]])
    lengths = torch.tensor([4, 2])
    tgt_in = torch.tensor([[2, 5, 6, 7], [2, 9, 0, 0]])
    tgt_out = torch.tensor([[5, 6, 7, 3], [9, 3, 0, 0]])
    out = model.training_step((src, lengths, tgt_in, tgt_out))
    logits = model(src, lengths, tgt_in)
    expected = F.cross_entropy(logits.reshape(-1, 13), tgt_out.reshape(-1), ignore_index=0, label_smoothing=0.1)
    torch.testing.assert_close(out["loss"], expected, atol=1e-12, rtol=0)
    valid = tgt_out != 0
    assert out["token_accuracy"] == pytest.approx(((logits.argmax(-1) == tgt_out) & valid).sum().item() / 6)
    params = [p for p in model.parameters()]
    for a, e in zip(torch.autograd.grad(out["loss"], params, allow_unused=True),
                    torch.autograd.grad(expected, params, allow_unused=True)):
        if e is not None:
            torch.testing.assert_close(a, e, atol=1e-12, rtol=0)


def test_language_model_loss_is_torchs_cross_entropy_of_its_logits():
    """The LM's training loss (fused at a word-sized vocabulary) equals F.cross_entropy over ``model(x)``'s logits."""
    torch.manual_seed(0)
    model = LanguageModel(300, 8, 12, dropout=0.0).double()
    x, y = torch.randint(0, 300, (3, 7)), torch.randint(0, 300, (3, 7))
    loss = model.training_step((x, y))["loss"]
    expected = F.cross_entropy(model(x)[0].reshape(-1, 300), y.reshape(-1))
    torch.testing.assert_close(loss, expected, atol=1e-12, rtol=0)
    params = list(model.parameters())
    for a, e in zip(torch.autograd.grad(loss, params), torch.autograd.grad(expected, params)):
        torch.testing.assert_close(a, e, atol=1e-12, rtol=0)
