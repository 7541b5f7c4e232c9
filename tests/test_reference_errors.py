"""Bad input to the reference engine raises a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.reference import ReferenceFeedbackRNN, ReferenceRNN, ReferenceSequenceModel, cross_entropy, tbptt_windows


def test_unknown_cells():
    with pytest.raises(ValueError, match="unknown cell 'lstmm'"):
        ReferenceRNN("lstmm", 2, 3)
    with pytest.raises(ValueError, match="unknown FeedbackRNN cell"):
        ReferenceFeedbackRNN(2, 3, cell="rnn")


def test_shapes_and_values():
    m = ReferenceRNN("lstm", 2, 3)
    with pytest.raises(ValueError, match="input has 4 features, expected input_size=2"):
        m.forward(np.zeros((5, 1, 4)))
    with pytest.raises(ValueError, match=r"must have 3 dimensions, got shape \(5, 2\)"):
        m.forward(np.zeros((5, 2)))
    x = np.zeros((5, 1, 2))
    x[3, 0, 1] = np.nan
    with pytest.raises(ValueError, match=r"non-finite value \(nan\) at index \(3, 0, 1\)"):
        m.forward(x)
    with pytest.raises(ValueError, match=r"h0 has shape \(2, 1, 3\), expected \(1, 1, 3\)"):
        m.forward(np.zeros((5, 1, 2)), (np.zeros((2, 1, 3)), np.zeros((1, 1, 3))))
    with pytest.raises(TypeError, match="real numeric"):
        m.forward(np.array([["a"]]))
    with pytest.raises(RuntimeError, match="forward"):
        ReferenceRNN("gru", 2, 3).backward(np.zeros((1, 1, 3)))
    m.forward(np.zeros((5, 1, 2)))
    with pytest.raises(ValueError, match=r"d_outputs has shape \(4, 1, 3\) \(time-major\), expected \(5, 1, 3\)"):
        m.backward(np.zeros((4, 1, 3)))


def test_parameters_and_losses():
    with pytest.raises(ValueError, match=r"missing \['weight_hh_l0'\]"):
        ReferenceRNN("tanh", 2, 3, params={"weight_ih_l0": np.zeros((3, 2)), "bias_ih_l0": np.zeros(3),
                                           "bias_hh_l0": np.zeros(3)})
    with pytest.raises(ValueError, match=r"weight_ih_l0 has shape \(3, 5\), expected \(3, 2\)"):
        ReferenceRNN("tanh", 2, 3, params={"weight_ih_l0": np.zeros((3, 5)), "weight_hh_l0": np.zeros((3, 3)),
                                           "bias_ih_l0": np.zeros(3), "bias_hh_l0": np.zeros(3)})
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\)"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="unknown loss"):
        ReferenceSequenceModel(ReferenceRNN("tanh", 2, 3), 1, loss="hinge")
    with pytest.raises(ValueError, match="1 <= k1 <= k2"):
        tbptt_windows(10, 4, 2)
