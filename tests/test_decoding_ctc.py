"""rnnkit.decoding.ctc: the collapse rules, prefix beam search against exact CTC probabilities (torch's CTC loss), and
shallow fusion with a language model."""

import math

import numpy as np
import pytest
import torch

from rnnkit.decoding import ctc_greedy, ctc_prefix_beam_search

BLANK, A, B, C = 0, 1, 2, 3


def logp(rows):
    return np.log(np.asarray(rows, dtype=np.float64))


def test_greedy_merges_repeats_then_removes_blanks():
    one_hot = np.eye(4)[[A, A, BLANK, A, B, B, BLANK, BLANK, C]] * 0.9 + 0.025
    assert ctc_greedy(np.log(one_hot)) == [A, A, B, C]
    assert ctc_greedy(np.log(np.eye(4)[[BLANK, BLANK]] * 0.9 + 0.025)) == []


def test_prefix_search_finds_the_labelling_greedy_misses():
    # two frames, blank 0.6 / a 0.4 each: the best path is "--" (0.36), but "a" sums a-, -a, aa = 0.64
    y = logp([[0.6, 0.4], [0.6, 0.4]])
    assert ctc_greedy(y) == []
    best = ctc_prefix_beam_search(y, beam=4)[0]
    assert best.labels == [A]
    assert best.score == pytest.approx(math.log(0.64))


def test_prefix_scores_are_exact_ctc_probabilities():
    rng = np.random.default_rng(0)
    for _ in range(5):
        y = torch.log_softmax(torch.tensor(rng.standard_normal((6, 4))), -1)
        hyps = ctc_prefix_beam_search(y.numpy(), beam=200, prune=-np.inf, n_best=10)
        for h in hyps:  # -CTC loss = log Σ over every path collapsing to the labelling (torch's implementation)
            target = torch.tensor([h.labels or [1]])
            if not h.labels:
                expected = float(y[:, BLANK].sum())
            else:
                expected = -float(torch.nn.functional.ctc_loss(y[:, None], target, [6], [len(h.labels)],
                                                               reduction="sum"))
            assert h.score == pytest.approx(expected, abs=1e-6)
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)


def test_beam_of_one_equals_greedy_on_peaked_outputs():
    rng = np.random.default_rng(1)
    for _ in range(20):  # a trained CTC model's frames: one label (often the blank) takes most of the mass
        winners = rng.choice(6, size=30, p=[0.5, 0.1, 0.1, 0.1, 0.1, 0.1])
        y = rng.dirichlet(np.ones(6), size=30) * 0.1
        y[np.arange(30), winners] += 0.9
        assert ctc_prefix_beam_search(np.log(y), beam=1)[0].labels == ctc_greedy(np.log(y))


class PrefersAB:
    """A language model that, after 'a', strongly expects 'b'."""

    def initial(self):
        return ()

    def advance(self, state, label):
        return state + (label,)

    def log_probs(self, state):
        p = np.full(4, 1 / 3)
        if state and state[-1] == A:
            p = np.array([1e-9, 0.02, 0.96, 0.02])
        return np.log(p)


def test_a_language_model_picks_the_spelling_it_prefers():
    # "a" then an ambiguous frame slightly favouring c over b
    y = logp([[0.05, 0.9, 0.025, 0.025], [0.1, 0.02, 0.42, 0.46], [0.9, 0.04, 0.03, 0.03]])
    assert ctc_prefix_beam_search(y, beam=8)[0].labels == [A, C]
    fused = ctc_prefix_beam_search(y, beam=8, lm=PrefersAB(), alpha=1.0)[0]
    assert fused.labels == [A, B]
    assert fused.frames == [0, 1]  # where each label was first emitted


def test_bad_arguments():
    with pytest.raises(ValueError, match="frames, labels"):
        ctc_prefix_beam_search(np.zeros(3))
    with pytest.raises(ValueError, match="n_best"):
        ctc_prefix_beam_search(np.zeros((2, 3)), beam=2, n_best=3)
