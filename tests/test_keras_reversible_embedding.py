"""``ReversibleEmbedding``: a language model whose output layer is its input embedding read backwards (tied, untied,
with a logit soft cap) gives Keras 3's predictions, trains to Keras's weights with padded (masked) sequences, and its
``.keras`` files load both ways; the reverse call by hand is h·Eᵀ."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways, predicts_and_trains_as_keras  # noqa: E402

RNG = np.random.default_rng(0)
IDS = RNG.integers(1, 20, (8, 6))
IDS[:, 4:] = 0  # padding, masked by mask_zero
NEXT = np.roll(IDS, -1, 1)


def language_model(lib, tie_weights, cap):
    ids = lib.Input((None,), dtype="int32")
    embedding = lib.layers.ReversibleEmbedding(20, 8, tie_weights=tie_weights, mask_zero=True, logit_soft_cap=cap)
    hidden = lib.layers.LSTM(8, return_sequences=True)(embedding(ids))
    m = lib.Model(ids, embedding(hidden, reverse=True))
    m.compile(lib.optimizers.Adam(0.01), lib.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


@pytest.mark.parametrize("tie_weights,cap", [(True, None), (False, None), (True, 5.0)])
def test_a_tied_language_model_is_keras(tmp_path, tie_weights, cap):
    km, rm = predicts_and_trains_as_keras(lambda lib: language_model(lib, tie_weights, cap), IDS, NEXT, RNG,
                                          atol=1e-5)
    assert rm.layers[1].get_config() == km.layers[1].get_config()
    assert_keras_files_move_both_ways(km, rm, IDS, tmp_path, atol=1e-6)


def test_reverse_by_hand():
    """E = [[1, 0], [0, 2], [1, 1]]: h = (1, 1) scores the three ids 1, 2, 2; capped at 1.5: 1.5·tanh(score/1.5)."""
    layer = rk.layers.ReversibleEmbedding(3, 2, logit_soft_cap=1.5)
    layer(np.array([[0]]))
    layer.set_weights([np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype="float32")])
    np.testing.assert_allclose(layer(np.array([[1.0, 1.0]], dtype="float32"), reverse=True).detach().numpy(),
                               1.5 * np.tanh(np.array([[1.0, 2.0, 2.0]]) / 1.5), rtol=1e-6)
    assert tuple(layer(np.array([[2, 0]])).shape) == (1, 2, 2)
    masking = rk.layers.ReversibleEmbedding(3, 2, mask_zero=True)
    assert masking.compute_mask(torch.tensor([[2, 0]]), None).tolist() == [[True, False]]
    assert masking.compute_mask(torch.ones(1, 2), None) is None  # the reverse call's vectors: no mask
