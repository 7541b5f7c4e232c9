"""rnnkit.models.seq2seq and .attention: the score functions against their equations, the step interface against
the teacher-forced pass, and a reversal task every attention type learns."""

import pytest
import torch

from rnnkit.decoding import greedy_search
from rnnkit.models.attention import Attention
from rnnkit.models.seq2seq import Seq2Seq


@pytest.mark.parametrize("kind", ["dot", "general", "additive"])
def test_attention_equals_its_equation_written_out(kind):
    att = Attention(kind, 3).requires_grad_(False)
    q, h = torch.randn(2, 1, 3), torch.randn(2, 4, 3)
    mask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    context, weights = att(q, h, att.keys(h), mask)
    for b in range(2):
        valid = int(mask[b].sum())
        scores = []
        for s in range(valid):  # score(h_t, h̄_s), one pair at a time
            if kind == "dot":
                scores.append(float(q[b, 0] @ h[b, s]))
            elif kind == "general":
                scores.append(float(q[b, 0] @ (att.W_a.weight @ h[b, s])))
            else:
                inner = att.W_q.weight @ q[b, 0] + att.W_k.weight @ h[b, s] + att.W_k.bias
                scores.append(float(att.v_a.weight[0] @ torch.tanh(inner)))
        a = torch.softmax(torch.tensor(scores), 0)
        assert torch.allclose(weights[b, 0, :valid], a, atol=1e-6)
        assert torch.all(weights[b, 0, valid:] == 0)  # exactly zero on padding
        assert torch.allclose(context[b, 0], (a[:, None] * h[b, :valid]).sum(0), atol=1e-6)


@pytest.mark.parametrize("attention,feed,cell", [("none", False, "lstm"), ("general", True, "lstm"),
                                                 ("additive", True, "gru"), ("dot", False, "gru")])
def test_step_by_step_decoding_equals_the_teacher_forced_pass(attention, feed, cell):
    model = Seq2Seq(10, 11, 6, 8, "lstm", cell, 2, 2, True, attention, feed, 0.0).eval()
    src, lengths = torch.tensor([[4, 5, 6, 7], [8, 9, 0, 0]]), torch.tensor([4, 2])
    tgt = torch.tensor([[2, 5, 6, 7], [2, 9, 8, 4]])
    memory, state = model.start(src, lengths)
    logits, weights, _ = model.decode(tgt, memory, state)
    for t in range(tgt.shape[1]):
        logp, state, w = model.step(tgt[:, t], state, memory)
        assert torch.allclose(logp, torch.log_softmax(logits[:, t], -1), atol=1e-5)
        if attention != "none":
            assert torch.allclose(w, weights[:, t], atol=1e-6)


def test_configuration_errors_are_clear():
    with pytest.raises(ValueError, match="bidirectional"):
        Seq2Seq(10, 10, encoder_cell="feedback", bidirectional=True)
    with pytest.raises(ValueError, match="even"):
        Seq2Seq(10, 10, hidden_size=7)
    with pytest.raises(ValueError, match="share_embeddings needs one joint vocabulary"):
        Seq2Seq(10, 11, share_embeddings=True)
    with pytest.raises(ValueError, match="unknown attention"):
        Seq2Seq(10, 10, attention="bahdanau")
    with pytest.raises(ValueError, match="decoder cell"):
        Seq2Seq(10, 10, decoder_cell="rnn")


def test_tied_and_shared_embeddings_are_one_matrix_and_follow_the_equation():
    """tie_embeddings with embedding_dim ≠ hidden_size: logits = E (W_p h̃) + b; share_embeddings: one E for both sides."""
    torch.manual_seed(0)
    model = Seq2Seq(12, 12, 6, 8, tie_embeddings=True, share_embeddings=True, dropout=0.0).eval()
    assert model.tgt_embedding.weight is model.src_embedding.weight is model.out.weight
    assert sum(p.numel() for p in model.parameters()) == \
        sum(p.numel() for p in Seq2Seq(12, 12, 6, 8, dropout=0.0).parameters()) - 12 * 6 - 12 * 8 + 8 * 6
    src, lengths, tgt = torch.tensor([[4, 5, 6]]), torch.tensor([3]), torch.tensor([[2, 7]])
    memory, state = model.start(src, lengths)
    h, _ = model._rnn(model.tgt_embedding(tgt), state.rnn)
    h_tilde, _ = model._attend(h, memory)
    expected = h_tilde @ model.out_proj.weight.T @ model.src_embedding.weight.T + model.out.bias
    torch.testing.assert_close(model.decode(tgt, memory, state)[0], expected, atol=1e-6, rtol=0)
    E = model.src_embedding.weight
    loss = model.training_step((src, lengths, tgt, torch.tensor([[7, 3]])))["loss"]
    loss.backward()
    assert E.grad is not None and E.grad[[4, 5, 6, 7]].abs().sum() > 0  # one gradient from all three uses


def _reversal_batch(g, n=64):
    lengths = torch.randint(2, 6, (n,), generator=g)
    src = torch.zeros(n, 6, dtype=torch.long)
    tgt_in = torch.zeros(n, 7, dtype=torch.long)
    tgt_out = torch.zeros(n, 7, dtype=torch.long)
    for i, L in enumerate(lengths.tolist()):
        seq = torch.randint(4, 10, (L,), generator=g)
        src[i, :L] = seq
        tgt_in[i, 0], tgt_in[i, 1:L + 1] = 2, seq.flip(0)
        tgt_out[i, :L], tgt_out[i, L] = seq.flip(0), 3
    return src, lengths, tgt_in, tgt_out


@pytest.mark.parametrize("attention", ["none", "dot", "general", "additive"])
def test_every_attention_type_learns_to_reverse_sequences(attention):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = Seq2Seq(10, 10, 32, 128, "gru", "gru", 1, 1, True, attention, False, 0.0, label_smoothing=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def reversed_exactly(seed: int) -> int:
        model.eval()
        src, lengths, _, _ = _reversal_batch(torch.Generator().manual_seed(seed), 100)
        hyps = greedy_search(model, src, lengths, 1.0, 2)
        model.train()
        return sum(h.tokens == src[i, :int(lengths[i])].flip(0).tolist() for i, h in enumerate(hyps))

    # at most 400 steps, stopping once a check batch of its own (seed 98) is reversed as well as the target asks
    # (attention reaches it in 100-150 steps, the plain encoder-decoder in ~300)
    target = 85 if attention == "none" else 95
    for step in range(1, 401):
        loss = model.training_step(_reversal_batch(g))["loss"]
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 and reversed_exactly(98) >= target + 5:
            break
    exact = reversed_exactly(99)  # held out from the training batches and from the stopping rule
    # attention: 100/100 on seeds 0-2 after 400 steps; the plain encoder-decoder squeezes the source into one vector:
    # 91-96 there on one CPU, 89 with seed 0 on an AVX2 one (its float rounding differs)
    assert exact >= target, f"{attention}: {exact}/100 reversed exactly after {step} steps"
