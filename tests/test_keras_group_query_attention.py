"""``GroupQueryAttention``: Keras 3's outputs and attention scores (PyTorch backend) for shared key/value heads, the
sigmoid gate, a sliding window, causal and explicit masks, without biases; a GRU → GQA classifier over padded
(masked) token sequences trains to Keras's weights and its files load both ways; the key/value sharing by hand."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways, predicts_and_trains_as_keras  # noqa: E402

RNG = np.random.default_rng(0)
Q = RNG.standard_normal((2, 5, 8)).astype("float32")
V = RNG.standard_normal((2, 6, 8)).astype("float32")
MASK = RNG.random((2, 5, 6)) > 0.3
MASK[:, :, 0] = True

CASES = [({}, {}, V), ({"use_gate": True}, {}, V), ({"sliding_window": 2}, {}, Q),
         ({"use_bias": False, "num_key_value_heads": 4}, {}, V), ({}, {"use_causal_mask": True}, Q),
         ({}, {"attention_mask": MASK}, V), ({"num_key_value_heads": 1}, {"return_attention_scores": True}, V)]


@pytest.mark.parametrize("kwargs,call,value", CASES)
def test_outputs_scores_and_configs_are_keras(kwargs, call, value):
    settings = {"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2, **kwargs}
    ours, theirs = rk.layers.GroupQueryAttention(**settings), keras.layers.GroupQueryAttention(**settings)
    ours(Q, value)
    theirs(Q, value)
    assert [tuple(w.shape) for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    weights = [0.5 * RNG.standard_normal(w.shape).astype("float32") for w in theirs.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    got, want = ours(Q, value, **call), theirs(Q, value, **call)
    for a, b in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        np.testing.assert_allclose(a.detach().numpy(), keras.ops.convert_to_numpy(b), atol=1e-5)
    assert {**ours.get_config(), "name": None} == {**theirs.get_config(), "name": None}


def test_query_heads_share_their_groups_key_and_value():
    """Four query heads over two key/value heads: heads 0 and 1 read group 0, heads 2 and 3 group 1 — with equal query
    weights for heads 0 and 1 their attention scores are equal, and differ from head 2's."""
    layer = rk.layers.GroupQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=2, use_bias=False)
    layer(Q, V)
    with torch.no_grad():
        layer.query_dense.kernel[:, 1] = layer.query_dense.kernel[:, 0]
        layer.query_dense.kernel[:, 2] = layer.query_dense.kernel[:, 0]
    _, scores = layer(Q, V, return_attention_scores=True)
    np.testing.assert_allclose(scores[:, 0].detach().numpy(), scores[:, 1].detach().numpy(), atol=1e-6)
    assert not np.allclose(scores[:, 0].detach().numpy(), scores[:, 2].detach().numpy())
    with pytest.raises(ValueError, match="divisible"):
        rk.layers.GroupQueryAttention(head_dim=2, num_query_heads=3, num_key_value_heads=2)


def classifier(lib):
    ids = lib.Input((7,), dtype="int32")
    h = lib.layers.GRU(8, return_sequences=True)(lib.layers.Embedding(20, 8, mask_zero=True)(ids))
    attended = lib.layers.GroupQueryAttention(4, 4, 2, use_gate=True)(h, h)
    m = lib.Model(ids, lib.layers.Dense(2, activation="softmax")(lib.layers.GlobalAveragePooling1D()(attended)))
    m.compile(lib.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return m


def test_a_masked_classifier_trains_to_keras_weights_and_loads_both_ways(tmp_path):
    ids = RNG.integers(1, 20, (8, 7))
    ids[:, 5:] = 0
    y = RNG.integers(0, 2, 8)
    km, rm = predicts_and_trains_as_keras(classifier, ids, y, RNG, batch_size=4)
    assert_keras_files_move_both_ways(km, rm, ids, tmp_path)
