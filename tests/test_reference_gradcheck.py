"""Every hand-written gradient of the reference engine against central finite differences (relative error < 1e-6)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.reference import ReferenceFeedbackRNN, ReferenceRNN, gradcheck

X = np.random.default_rng(0).standard_normal((4, 2, 3))


@pytest.mark.parametrize("mode,kw", [
    ("tanh", {}), ("relu", {"num_layers": 2}), ("lstm", {"bidirectional": True}), ("lstm", {"proj_size": 2}),
    ("gru", {"num_layers": 2}), ("gru", {"reset_after": False, "bidirectional": True}),
])
def test_stacked(mode, kw):
    worst, per = gradcheck(ReferenceRNN(mode, 3, 4, seed=1, **kw), X)
    assert worst < 1e-6, per


@pytest.mark.parametrize("cell", ["tanh", "gru", "lstm"])
@pytest.mark.parametrize("gated", [True, False])
def test_feedback(cell, gated):
    worst, per = gradcheck(ReferenceFeedbackRNN(3, 3, num_layers=2, cell=cell, gated=gated, seed=2), X)
    assert worst < 1e-6, per


def test_gradcheck_detects_a_wrong_gradient():
    """The checker itself: a model whose backward is off by 1% must fail it."""
    m = ReferenceRNN("tanh", 3, 4, seed=1)
    good_backward = m.backward

    def bad_backward(*a, **k):
        g = good_backward(*a, **k)
        g["weight_hh_l0"] = g["weight_hh_l0"] * 1.01
        return g

    m.backward = bad_backward
    worst, per = gradcheck(m, X)
    assert per["weight_hh_l0"] > 1e-3 and worst == per["weight_hh_l0"]
