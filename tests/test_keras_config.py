"""Configs that round-trip: every layer, cell and wrapper's ``get_config()`` is plain JSON in Keras 3's schema — real
Keras rebuilds the layer from it, and rnnkit.keras rebuilds a layer from real Keras's config — and ``Bidirectional``
builds its own copies of the layer it wraps, as Keras does. ``keras.utils.Config`` and ``keras.config``'s switches
behave as Keras's."""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

X = np.random.default_rng(1).standard_normal((2, 5, 3)).astype("float32")


def cases(lib):
    """The same layers, with non-default arguments, built by either library."""
    I, R, C = lib.initializers, lib.regularizers, lib.constraints
    return [
        lib.layers.SimpleRNN(4, activation="relu", use_bias=False, dropout=0.1, seed=3, return_sequences=True),
        lib.layers.LSTM(4, kernel_initializer=I.GlorotNormal(seed=2), recurrent_regularizer=R.L2(0.01),
                        bias_constraint=C.MaxNorm(2.0), unit_forget_bias=False, recurrent_dropout=0.2,
                        return_state=True, go_backwards=True),
        lib.layers.GRU(4, reset_after=False, kernel_regularizer=R.L1L2(l1=0.01, l2=0.02), stateful=False,
                       activity_regularizer=R.L1(0.05), bias_initializer=I.Constant(0.3)),
        lib.layers.SimpleRNNCell(3, kernel_constraint=C.NonNeg()),
        lib.layers.LSTMCell(3, recurrent_initializer=I.Orthogonal(gain=0.5, seed=1), seed=9),
        lib.layers.GRUCell(3, recurrent_activation="hard_sigmoid", dropout=0.3),
        lib.layers.RNN(lib.layers.GRUCell(3), return_sequences=True, unroll=True),
        lib.layers.RNN([lib.layers.LSTMCell(3), lib.layers.SimpleRNNCell(2)], zero_output_for_mask=True),
        lib.layers.StackedRNNCells([lib.layers.GRUCell(3, seed=1), lib.layers.LSTMCell(2, dropout=0.1)]),
        lib.layers.Bidirectional(lib.layers.LSTM(3, return_sequences=True), merge_mode="ave"),
        lib.layers.TimeDistributed(lib.layers.Dense(2, kernel_regularizer=R.L2(0.1))),
        lib.layers.Dense(5, activation="tanh", kernel_initializer=I.HeUniform(seed=1),
                         kernel_constraint=C.MinMaxNorm(0.1, 0.9, rate=0.5, axis=1)),
        lib.layers.Embedding(20, 4, mask_zero=True, embeddings_regularizer=R.L2(0.001),
                             embeddings_constraint=C.UnitNorm(axis=1)),
        lib.layers.Dropout(0.3, noise_shape=(None, 1, 3), seed=4),
        lib.layers.Masking(mask_value=-1.0),
        lib.layers.RepeatVector(3),
        lib.layers.Activation("softmax"),
    ]


def normalise(cfg):
    """Configs compared as JSON, without layer names (each library numbers its own layers); numbers to 7 digits (Keras
    stores some factors through float32)."""
    if isinstance(cfg, dict):
        return {k: normalise(v) for k, v in cfg.items() if k != "name"}
    if isinstance(cfg, (list, tuple)):
        return [normalise(v) for v in cfg]
    return float(f"{cfg:.7g}") if isinstance(cfg, (int, float)) and not isinstance(cfg, bool) else cfg


@pytest.mark.parametrize("index", range(len(cases(rk))))
def test_configs_are_json_and_equal_keras(index):
    r, k = cases(rk)[index], cases(keras)[index]
    rcfg, kcfg = json.loads(json.dumps(r.get_config())), k.get_config()  # no live objects
    if isinstance(r, rk.layers.SimpleRNN):  # Keras 3's SimpleRNN leaves its seed out of its config; rnnkit keeps it
        assert rcfg.pop("seed") == 3 and "seed" not in kcfg
    assert normalise(rcfg) == normalise(kcfg)


@pytest.mark.parametrize("index", range(len(cases(rk))))
def test_configs_round_trip_both_ways(index):
    r, k = cases(rk)[index], cases(keras)[index]
    # real Keras rebuilds rnnkit's config, rnnkit rebuilds Keras's, rnnkit rebuilds its own: the same config each time
    from_r = type(k).from_config(json.loads(json.dumps(r.get_config())))
    from_k = type(r).from_config(k.get_config())
    again = type(r).from_config(r.get_config())
    rcfg, kcfg = r.get_config(), k.get_config()
    if isinstance(r, rk.layers.SimpleRNN):  # the seed Keras's SimpleRNN config drops
        rcfg = {**rcfg, "seed": None}
    assert normalise(from_r.get_config()) == normalise(kcfg)
    assert normalise(from_k.get_config()) == normalise(rcfg)
    assert normalise(again.get_config()) == normalise(r.get_config())


def test_a_rebuilt_layer_computes_what_the_original_does():
    r = rk.layers.LSTM(4, return_sequences=True)
    r(X)
    copy = rk.layers.LSTM.from_config(r.get_config())
    copy(X)
    copy.set_weights(r.get_weights())
    np.testing.assert_allclose(copy(X).detach().numpy(), r(X).detach().numpy(), atol=1e-7)


def test_bidirectional_builds_its_own_copies_as_keras():
    base = rk.layers.GRU(3, name="gru_base")
    a, b = rk.layers.Bidirectional(base), rk.layers.Bidirectional(base)
    a(X)
    b(X)
    assert not base.built and base.name == "gru_base"  # the layer passed in is a template, left as it was
    assert a.forward_layer is not base and a.forward_layer is not b.forward_layer
    assert (a.forward_layer.name, a.backward_layer.name) == ("forward_gru_base", "backward_gru_base")
    assert a.backward_layer.go_backwards is True
    assert all(wa is not wb for wa, wb in zip(a.weights, b.weights))
    assert not np.allclose(a.get_weights()[0], b.get_weights()[0])  # separately initialised
    k = keras.layers.Bidirectional(keras.layers.GRU(3, name="gru_base"))
    k(X)
    assert [w.shape for w in a.get_weights()] == [tuple(w.shape) for w in k.get_weights()]


def test_bidirectional_reset_states_as_keras():
    stateful = rk.layers.Bidirectional(rk.layers.LSTM(3, stateful=True))
    y1 = stateful(X).detach().numpy()
    assert not np.allclose(stateful(X).detach().numpy(), y1)  # carried over
    stateful.reset_states()
    np.testing.assert_allclose(stateful(X).detach().numpy(), y1, atol=1e-6)
    assert len(stateful.states) == 4
    with pytest.raises(AttributeError, match="stateful"):
        rk.layers.Bidirectional(rk.layers.LSTM(3)).reset_states()
    with pytest.raises(AttributeError, match="stateful"):
        keras.layers.Bidirectional(keras.layers.LSTM(3)).reset_states()


def test_a_model_with_regularizers_and_seeded_initializers_loads_in_real_keras(tmp_path):
    inp = rk.Input((5, 3))
    h = rk.layers.LSTM(4, kernel_regularizer="l2", kernel_initializer=rk.initializers.GlorotUniform(seed=5))(inp)
    out = rk.layers.Dense(1, kernel_constraint=rk.constraints.NonNeg())(h)
    model = rk.Model(inp, out)
    model.save(tmp_path / "m.keras")
    k = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(k(X)), model.predict(X), atol=1e-5)
    assert isinstance(k.layers[1].cell.kernel_regularizer, keras.regularizers.L2)
    assert isinstance(k.layers[2].kernel_constraint, keras.constraints.NonNeg)
    back = rk.models.load_model(tmp_path / "m.keras")
    assert isinstance(back.layers[1].cell.kernel_regularizer, rk.regularizers.L2)  # layers[0]: InputLayer, as Keras


def config_story(lib) -> list:
    c = lib.utils.Config(lr=0.1, batch_size=32)
    c.epochs = 3
    c["model"] = "gru"
    out = [repr(c), list(c), len(c), "lr" in c, c.as_dict(), c.to_json(), c.get("x", 5)]
    try:
        getattr(c, "lrr")  # noqa: B009 (the attribute access is the point)
    except AttributeError as e:
        out.append(str(e))
    c.freeze()
    out.append(c.frozen)
    try:
        c.lr = 1
    except ValueError as e:
        out.append(str(e))
    c.unfreeze()
    c.lr = 1
    del c["model"]
    return out + [c.as_dict()]


def test_utils_config_behaves_as_keras():
    """Attributes and items, sorted iteration, a close-name hint for a typo, freezing refuses changes."""
    assert config_story(rk) == config_story(keras)


def test_keras_switches_are_kept():
    for lib in (rk, keras):
        assert lib.config.is_flash_attention_enabled() is None and lib.config.is_traceback_filtering_enabled()
        assert lib.config.is_nnx_enabled() is False
    rk.config.disable_traceback_filtering()
    rk.config.enable_flash_attention()
    try:
        assert not rk.config.is_traceback_filtering_enabled() and rk.config.is_flash_attention_enabled()
    finally:
        rk.config.enable_traceback_filtering()
        rk.config._SWITCHES["flash_attention"] = None
    rk.config.set_backend("torch")
    with pytest.raises(ValueError, match="PyTorch"):
        rk.config.set_backend("jax")
