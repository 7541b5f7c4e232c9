"""rnnkit.decoding: greedy and batched beam search, checked on hand-built models whose best outputs are known."""

import math

import pytest
import torch

from rnnkit.decoding import beam_search, greedy_search, length_penalty
from rnnkit.models.seq2seq import Seq2Seq

PAD, UNK, BOS, EOS, A, B, C = range(7)
V = 7


class TableModel:
    """A decoder whose next-token distribution depends only on the previous token: ``p(y_t | y_{t-1})`` is a fixed
    table, so the probability of any output is a product the test can compute by hand."""

    pad, bos, eos = PAD, BOS, EOS

    def __init__(self, table: dict[int, dict[int, float]]) -> None:
        self.logp = torch.full((V, V), float("-inf"))
        for prev, row in table.items():
            for tok, p in row.items():
                self.logp[prev, tok] = math.log(p)

    def start(self, src, lengths):
        return src, None

    def step(self, tokens, state, memory):
        return self.logp[tokens], state, None

    @staticmethod
    def reorder_state(state, index):
        return state

    @staticmethod
    def reorder_memory(memory, index):
        return memory.index_select(0, index)

    def prob(self, tokens: list[int]) -> float:
        p, prev = 1.0, BOS
        for t in tokens + [EOS]:
            p *= math.exp(float(self.logp[prev, t]))
            prev = t
        return p


# greedy takes A (0.6), then C (0.4), then <eos> (0.6): p = 0.144; B (0.4) then <eos> (0.9) has p = 0.36
TRAP = TableModel({BOS: {A: 0.6, B: 0.4}, A: {C: 0.4, EOS: 0.3, B: 0.3}, B: {EOS: 0.9, C: 0.1},
                   C: {EOS: 0.6, C: 0.4}})
SRC, LENGTHS = torch.full((1, 4), 5), torch.tensor([4])


def test_beam_search_finds_the_best_output_greedy_search_misses():
    greedy = greedy_search(TRAP, SRC, LENGTHS)[0]
    best = beam_search(TRAP, SRC, LENGTHS, beam_size=2, length_penalty_kind="none")[0][0]
    assert greedy.tokens == [A, C]
    assert best.tokens == [B]
    assert best.log_prob == pytest.approx(math.log(0.4 * 0.9))
    assert TRAP.prob(best.tokens) > TRAP.prob(greedy.tokens)
    assert greedy.log_prob == pytest.approx(math.log(TRAP.prob(greedy.tokens)))


def test_length_penalty_matches_the_formulas():
    # GNMT: ((5 + |Y|) / 6)^α, computed by hand: (15/6)^0.6 = 2.5^0.6 = 1.73286...
    assert length_penalty(10, "wu", 0.6) == pytest.approx(1.732862, abs=1e-6)
    assert length_penalty(1, "wu", 1.0) == pytest.approx(1.0)
    assert length_penalty(7, "avg") == 7.0 and length_penalty(7, "none", 0.9) == 1.0
    with pytest.raises(ValueError, match="unknown length penalty"):
        length_penalty(3, "gnmt")


def test_length_penalty_changes_which_hypothesis_wins():
    # [B]: p = 0.5 · 0.5 = 0.25 over 2 tokens; [B, C]: p = 0.5 · 0.5 · 0.9 = 0.225 over 3 tokens
    model = TableModel({BOS: {A: 0.5, B: 0.5}, B: {EOS: 0.5, C: 0.5}, A: {A: 0.9, EOS: 0.1}, C: {EOS: 0.9, A: 0.1}})
    short = beam_search(model, SRC, LENGTHS, beam_size=4, n_best=4, length_penalty_kind="none",
                        max_len_a=0, max_len_b=4)[0]
    avg = beam_search(model, SRC, LENGTHS, beam_size=4, n_best=4, length_penalty_kind="avg",
                      max_len_a=0, max_len_b=4)[0]
    assert short[0].tokens == [B]  # log 0.25 is the largest total
    assert avg[0].tokens == [B, C]  # log 0.225 / 3 = -0.497 beats log 0.25 / 2 = -0.693
    for hyps, kind in ((short, "none"), (avg, "avg")):
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)  # n-best sorted by score
        for h in hyps:  # each score is log p(y) / lp(|y| + 1), p from the table by hand
            assert h.log_prob == pytest.approx(math.log(model.prob(h.tokens)))
            assert h.score == pytest.approx(h.log_prob / length_penalty(len(h.tokens) + 1, kind))


def test_no_repeat_ngram_forbids_repeats():
    model = TableModel({BOS: {A: 0.9, B: 0.1}, A: {A: 0.9, B: 0.05, EOS: 0.05}, B: {A: 0.6, B: 0.3, EOS: 0.1}})
    plain = beam_search(model, SRC, LENGTHS, beam_size=3, max_len_a=0, max_len_b=6)[0][0]
    assert plain.tokens.count(A) > 1
    for n in (1, 2):
        out = beam_search(model, SRC, LENGTHS, beam_size=3, max_len_a=0, max_len_b=6, no_repeat_ngram=n)[0][0].tokens
        grams = [tuple(out[i:i + n]) for i in range(len(out) - n + 1)]
        assert len(grams) == len(set(grams)), out


def test_length_limit_is_a_times_source_plus_b():
    model = TableModel({BOS: {A: 1.0}, A: {A: 0.99, EOS: 0.01}})
    src = torch.full((2, 5), 5)
    lengths = torch.tensor([5, 2])
    for hyps in (greedy_search(model, src, lengths, 1.0, 1), [h[0] for h in beam_search(model, src, lengths, 1,
                                                                                         max_len_a=1.0, max_len_b=1)]):
        # at most a·|x| + b tokens, <eos> included
        assert [len(h.tokens) + 1 for h in hyps] == [6, 3]


def _models():
    for attention in ("none", "dot", "general", "additive"):
        for feed, cell in ((False, "lstm"), (True, "gru")):
            torch.manual_seed(len(attention))
            yield Seq2Seq(12, 15, 8, 8, "gru", cell, 1, 2, True, attention, feed, 0.0).eval()


def _batch():
    src = torch.tensor([[4, 5, 6, 7, 8, 9], [6, 5, 4, 0, 0, 0], [11, 10, 0, 0, 0, 0]])
    return src, torch.tensor([6, 3, 2])


def test_beam_of_one_is_greedy_search():
    src, lengths = _batch()
    for model in _models():
        greedy = greedy_search(model, src, lengths, 1.0, 4)
        beam = beam_search(model, src, lengths, 1, 1, "none", max_len_a=1.0, max_len_b=4)
        assert [h.tokens for h in greedy] == [b[0].tokens for b in beam]
        assert [h.log_prob for h in greedy] == pytest.approx([b[0].log_prob for b in beam], abs=1e-5)


def test_padding_does_not_change_translations_and_attention_ignores_it():
    src, lengths = _batch()
    for model in _models():
        together = beam_search(model, src, lengths, 3, 2)
        for i in range(3):
            alone = beam_search(model, src[i:i + 1, :int(lengths[i])], lengths[i:i + 1], 3, 2)[0]
            assert [h.tokens for h in alone] == [h.tokens for h in together[i]]
            assert [h.score for h in alone] == pytest.approx([h.score for h in together[i]], abs=1e-5)
            for h in together[i]:
                if model.attention is None:
                    assert h.attention is None
                elif h.tokens:
                    assert h.attention.shape == (len(h.tokens), int(lengths[i]))  # valid positions only
                    assert torch.allclose(h.attention.sum(-1), torch.ones(len(h.tokens)), atol=1e-5)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="n_best"):
        beam_search(TRAP, SRC, LENGTHS, beam_size=2, n_best=3)
    with pytest.raises(ValueError, match="a·"):
        greedy_search(TRAP, SRC, LENGTHS, 0, 0)
