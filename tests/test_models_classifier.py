"""SequenceClassifier: the tutorial's model (recurrent layer + linear head on the last valid step)."""

from __future__ import annotations

import pytest
import torch

from rnnkit.layers import make_layer
from rnnkit.models import SequenceClassifier


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "feedback"])
def test_head_reads_the_last_valid_step(cell):
    """With lengths, logits equal the head applied to each sequence run alone (no padding) at its last step."""
    m = SequenceClassifier(cell, 3, 5, num_classes=4, num_layers=2)
    x = torch.randn(3, 6, 3)
    lengths = torch.tensor([6, 2, 4])
    logits = m(x, lengths)
    for b, n in enumerate(lengths.tolist()):
        y, _ = m.rnn(x[b:b + 1, :n])
        torch.testing.assert_close(logits[b], m.fc(y[0, -1]), atol=1e-6, rtol=0)


def test_make_layer_names():
    assert make_layer("relu", 2, 3).nonlinearity == "relu"
    assert make_layer("feedback-lstm", 2, 3, 2).cell == "lstm"
    assert make_layer("gru", 2, 3, bidirectional=True).bidirectional
    with pytest.raises(ValueError, match="unknown cell 'transformer'"):
        make_layer("transformer", 2, 3)
