"""rnnkit.keras layers against real Keras 3 (PyTorch backend): same weights → same outputs within 1e-5."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 7, 3)).astype("float32")
XM = X.copy()
XM[1, 4:] = 0.0  # padding at the end
XM[2, 2:4] = 0.0  # a hole in the middle
ATOL = 1e-5


def kn(t):
    return keras.ops.convert_to_numpy(t)


def outputs(lib_layer, x, **kw):
    out = lib_layer(x, **kw)
    out = out if isinstance(out, (list, tuple)) else [out]
    return [kn(o) if not isinstance(o, torch.Tensor) else o.detach().numpy() for o in out]


def pair(name, **kw):
    k = getattr(keras.layers, name)(5, **kw)
    k(X)
    r = getattr(rk.layers, name)(5, **kw)
    r(torch.from_numpy(X))
    r.set_weights(k.get_weights())
    return k, r


def assert_same(a, b):
    assert len(a) == len(b)
    for p, q in zip(a, b):
        np.testing.assert_allclose(q, p, atol=ATOL, rtol=0)


FLAGS = [{}, {"return_sequences": True}, {"return_state": True}, {"go_backwards": True, "return_sequences": True},
         {"use_bias": False}, {"activation": "relu"}, {"dropout": 0.3, "recurrent_dropout": 0.3},
         {"return_sequences": True, "return_state": True, "go_backwards": True}]


@pytest.mark.parametrize("name,extra", [("SimpleRNN", {}), ("LSTM", {}), ("LSTM", {"recurrent_activation": "hard_sigmoid"}),
                                        ("GRU", {}), ("GRU", {"reset_after": False})])
@pytest.mark.parametrize("flags", FLAGS)
def test_layer_matches_keras(name, extra, flags):
    if name == "SimpleRNN" and "recurrent_activation" in extra:
        pytest.skip("SimpleRNN has no recurrent activation")
    k, r = pair(name, **extra, **flags)
    assert [w.shape for w in r.get_weights()] == [w.shape for w in k.get_weights()]
    assert_same(outputs(k, X), outputs(r, torch.from_numpy(X)))  # inference: dropout off on both sides


@pytest.mark.parametrize("name,extra", [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False})])
@pytest.mark.parametrize("flags", [{}, {"return_sequences": True}, {"go_backwards": True, "return_sequences": True},
                                   {"return_state": True, "zero_output_for_mask": True, "return_sequences": True}])
def test_masking_matches_keras(name, extra, flags):
    """Masked steps keep the state and repeat the previous output (or zeros); the last output is the last valid one."""
    k, r = pair(name, **extra, **flags)
    mask = np.any(XM != 0, axis=-1)
    assert_same(outputs(k, XM, mask=mask), outputs(r, torch.from_numpy(XM), mask=torch.from_numpy(mask)))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("inner", ["LSTM", "GRU"])
def test_bidirectional_with_masking_matches_keras(merge_mode, inner):
    def build(lib):
        inp = keras.Input((7, 3)) if lib is keras else rk.Input((7, 3))
        h = lib.layers.Masking(0.0)(inp)
        out = lib.layers.Bidirectional(getattr(lib.layers, inner)(4, return_sequences=True, return_state=True),
                                       merge_mode=merge_mode)(h)
        return keras.Model(inp, out) if lib is keras else rk.Model(inp, out)

    k, r = build(keras), build(rk)
    r.set_weights(k.get_weights())
    assert_same([kn(o) for o in k(XM)], r.predict(XM))


def test_stateful_matches_keras():
    k, r = pair("LSTM", stateful=True, return_sequences=True)
    k.reset_states()
    r.reset_states()
    a1, a2 = kn(k(X)), kn(k(X))
    b1, b2 = r(torch.from_numpy(X)).detach().numpy(), r(torch.from_numpy(X)).detach().numpy()
    np.testing.assert_allclose(b1, a1, atol=ATOL)
    np.testing.assert_allclose(b2, a2, atol=ATOL)
    assert np.abs(a2 - a1).max() > 1e-3  # the second call really started from the first call's state
    r.reset_states()
    np.testing.assert_allclose(r(torch.from_numpy(X)).detach().numpy(), a1, atol=ATOL)
    with pytest.raises(ValueError, match="Expected batch size: 4"):  # Keras's message; reset keeps the batch size
        r(torch.from_numpy(X[:2]))
    r.reset_states()
    with pytest.raises(ValueError, match="Received batch size: 2"):
        r(torch.from_numpy(X[:2]))


def test_initial_state_stacked_cells_embedding_and_friends():
    ids = RNG.integers(0, 9, (4, 6))
    ids[0, 4:] = 0

    def build(lib):
        inp = keras.Input((6,), dtype="int32") if lib is keras else rk.Input((6,), dtype="int64")
        e = lib.layers.Embedding(9, 3, mask_zero=True)(inp)
        seq, h, c = lib.layers.LSTM(4, return_sequences=True, return_state=True)(e)
        y = lib.layers.RNN([lib.layers.GRUCell(3), lib.layers.SimpleRNNCell(2)], return_sequences=True)(seq)
        y = lib.layers.TimeDistributed(lib.layers.Dense(2))(y)
        z = lib.layers.GRU(4)(y, initial_state=[h])
        z = lib.layers.Dense(3, activation="softmax")(lib.layers.Dropout(0.5)(z))
        r = lib.layers.RepeatVector(2)(z)
        return keras.Model(inp, [z, r]) if lib is keras else rk.Model(inp, [z, r])

    k, r = build(keras), build(rk)
    r.set_weights(k.get_weights())
    assert_same([kn(o) for o in k(ids)], r.predict(ids))


def test_training_dropout_uses_one_mask_per_sequence():
    cell = rk.layers.GRUCell(4, recurrent_dropout=0.5, dropout=0.25)
    cell._maybe_build(torch.zeros(1, 3))
    dp, rdp = cell.dropout_masks(torch.zeros(5, 3), torch.zeros(5, 4), training=True)
    assert len(dp) == len(rdp) == 3  # Keras's implementation 1: one mask per gate
    for m, p in [(dp[0], 0.25), (rdp[1], 0.5)]:
        values = torch.unique(m)
        assert torch.all((values == 0) | torch.isclose(values, torch.tensor(1 / (1 - p))))
    assert cell.dropout_masks(torch.zeros(5, 3), torch.zeros(5, 4), training=False) == (None, None)
    layer = rk.layers.LSTM(4, recurrent_dropout=0.5, return_sequences=True)
    x = torch.from_numpy(X)
    eval_out = layer(x)
    torch.manual_seed(0)
    t1 = layer(x, training=True)
    torch.manual_seed(0)
    t2 = layer(x, training=True)
    assert torch.equal(t1, t2) and not torch.allclose(t1, eval_out)


@pytest.mark.parametrize("name,extra", [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False})])
@pytest.mark.parametrize("zero_output", [False, True])
def test_masked_gradients_match_keras(name, extra, zero_output):
    """With a mask (padding at the end, a hole in the middle, masked first steps) and a non-zero initial state, the
    outputs and the gradients of the input, the initial state and every weight equal real Keras's (torch backend)."""
    mask = np.any(XM != 0, axis=-1)
    mask[3, :2] = False  # the first two steps of sequence 3 are masked: outputs are zeros there, the state is kept
    k, r = pair(name, **extra, return_sequences=True, return_state=True, zero_output_for_mask=zero_output)
    h0 = RNG.standard_normal((4, 5)).astype("float32")
    results = []
    for layer, weights in ((k, [w.value for w in k.trainable_weights]), (r, list(r.weights))):
        x, init = torch.tensor(XM, requires_grad=True), torch.tensor(h0, requires_grad=True)
        states = [init, init * 0.5] if name == "LSTM" else [init]
        y, *fin = layer(x, mask=torch.from_numpy(mask), initial_state=states)
        probe = torch.linspace(-1, 1, y.numel()).view_as(y)
        loss = (y * probe).sum() + sum((f ** 2).sum() for f in fin)
        results.append([y, *fin, *torch.autograd.grad(loss, [x, init, *weights])])
    for a, b in zip(*results):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().cpu().numpy(), atol=ATOL, rtol=1e-5)


def test_shape_errors_name_the_layer():
    layer = rk.layers.LSTM(3, name="encoder")
    with pytest.raises(ValueError, match=r"'encoder'.*\(batch, time, features\).*\(4, 3\)"):
        layer(torch.zeros(4, 3))
    dense = rk.layers.Dense(2, name="head")
    dense(torch.zeros(1, 5))
    with pytest.raises(ValueError, match=r"Dense 'head': input has last dimension 4 .*expected 5"):
        dense(torch.zeros(1, 4))
