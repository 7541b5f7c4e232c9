"""Cases from Keras's own layer tests (``keras/src/layers/rnn/*_test.py``), run on rnnkit.keras: given what Keras's
tests give a layer, expect what they expect — or what real Keras 3 (PyTorch backend) does with the same input."""

from __future__ import annotations

import copy
import io
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402


def constant(value):
    return {"kernel_initializer": keras.initializers.Constant(value[0]),
            "recurrent_initializer": keras.initializers.Constant(value[1]),
            "bias_initializer": keras.initializers.Constant(value[2])}


def test_a_legacy_implementation_0_in_a_config_runs_as_keras_runs_it():
    """gru_test: a config carrying Keras 2's ``implementation=0`` loads and gives Keras 3's outputs."""
    x = np.arange(72).reshape((3, 6, 4)).astype("float32")
    config = rk.layers.GRU(3, **constant((0.01, 0.02, 0.03))).get_config()
    config["implementation"] = 0
    ours = rk.layers.GRU.from_config(config)
    theirs = keras.layers.GRU(3, **constant((0.01, 0.02, 0.03)), implementation=0)
    np.testing.assert_allclose(ours(x).detach().numpy(), keras.ops.convert_to_numpy(theirs(x)), atol=1e-5)
    with pytest.raises(ValueError, match="implementation must be 1 or 2"):
        rk.layers.GRU(3, implementation=3)


@pytest.mark.parametrize("bad", [(4, 6), (1, 5), (5,)])
def test_time_distributed_refuses_a_mask_of_another_shape_in_keras_words(bad):
    """time_distributed_test: a mask whose (batch, time) differ from the input's is a ValueError, Keras's message."""
    x = np.zeros((4, 5, 3), "float32")
    layer = rk.layers.TimeDistributed(rk.layers.Dense(5))
    assert tuple(layer(x, mask=np.ones((4, 5), bool)).shape) == (4, 5, 5)
    with pytest.raises(ValueError, match=r"The `mask` passed to the `TimeDistributed` layer has a shape") as ours:
        layer(x, mask=np.ones(bad, bool))
    with pytest.raises(ValueError) as theirs:
        keras.layers.TimeDistributed(keras.layers.Dense(5))(x, mask=np.ones(bad, bool))
    assert "TimeDistributed" in str(theirs.value) and "mask" in str(ours.value)


def test_a_user_wrapper_masks_per_step_inside_time_distributed():
    """time_distributed_test.test_masking: a ``Wrapper`` subclass whose call zeroes masked steps; Keras's expected
    numbers (Dense(1) with kernel 0.01, no bias, on arange(24): 0.01 × the sum of each step's four values)."""

    class MaskedDense(rk.layers.Wrapper):
        def __init__(self, units, **kwargs):
            super().__init__(rk.layers.Dense(units, kernel_initializer=keras.initializers.Constant(0.01),
                                             use_bias=False), **kwargs)
            self.supports_masking = True

        def call(self, inputs, training=False, mask=None):
            unmasked = self.layer.call(inputs)
            return unmasked if mask is None else unmasked * mask.to(inputs.dtype).unsqueeze(-1)

    x = np.arange(24).reshape((3, 2, 4)).astype("float32")
    mask = np.array([[False, True], [True, False], [True, True]])
    out = rk.layers.TimeDistributed(MaskedDense(1))(x, mask=mask)
    np.testing.assert_allclose(out.detach().numpy(), [[[0], [0.22]], [[0.38], [0]], [[0.7], [0.86]]], atol=1e-6)
    layer = rk.layers.TimeDistributed(rk.layers.Dense(2))
    layer(x)
    again = rk.layers.TimeDistributed.from_config(layer.get_config())
    assert again.layer.get_config()["units"] == 2


def test_keras_3_variable_lists_name_the_weights():
    """Keras 3's ``variables``/``trainable_variables``/``non_trainable_variables`` (what custom training loops read)
    are the same lists as the ``*_weights`` ones, for layers and models, frozen or not."""
    layer = rk.layers.LSTM(3)
    layer(np.zeros((2, 4, 5), "float32"))
    assert [tuple(w.shape) for w in layer.trainable_variables] == [(5, 12), (3, 12), (12,)]
    assert layer.variables == layer.weights and layer.non_trainable_variables == []
    model = rk.models.Sequential([rk.layers.Input((4, 5)), layer, rk.layers.Dense(1)])
    assert len(model.trainable_variables) == 5 and model.variables == model.weights
    layer.trainable = False
    assert len(model.trainable_variables) == 2 and len(model.non_trainable_variables) == 3
    real = keras.Sequential([keras.Input((4, 5)), keras.layers.LSTM(3), keras.layers.Dense(1)])
    real.layers[0].trainable = False
    assert [len(m.trainable_variables) for m in (model, real)] == [2, 2]
    assert torch.is_tensor(model.trainable_variables[0])


def test_weights_answer_keras_variable_methods():
    """bidirectional_test copies weights with ``variable.assign(other.value)``; tutorials print ``kernel.numpy()``:
    the same calls on rnnkit's weights and on real Keras's give the same arrays and, after ``assign``, the same
    outputs; optimizers, copies and pickles keep working on them."""
    x = np.random.default_rng(0).standard_normal((2, 4, 5)).astype("float32")
    ours, theirs = rk.layers.GRU(3), keras.layers.GRU(3)
    ours(x), theirs(x)
    for o, t in zip(ours.weights, theirs.weights):
        o.assign(t.value.detach().cpu())  # a tensor
    np.testing.assert_allclose(ours(x).detach().numpy(), keras.ops.convert_to_numpy(theirs(x)), atol=1e-5)
    kernel = ours.weights[0]
    kernel.assign(np.ones(kernel.shape))
    theirs.weights[0].assign(np.ones(kernel.shape))
    kernel.assign_add(0.5), theirs.weights[0].assign_add(0.5)
    kernel.assign_sub(0.25), theirs.weights[0].assign_sub(0.25)
    np.testing.assert_allclose(kernel.numpy(), theirs.weights[0].numpy())
    np.testing.assert_allclose(ours(x).detach().numpy(), keras.ops.convert_to_numpy(theirs(x)), atol=1e-5)
    with pytest.raises(ValueError, match=r"shape \(2, 2\) into a variable of shape \(5, 9\)"):
        kernel.assign(np.zeros((2, 2)))
    buffer = io.BytesIO()
    torch.save(ours, buffer)
    buffer.seek(0)
    for copied in (copy.deepcopy(ours), torch.load(buffer, weights_only=False)):
        np.testing.assert_allclose(copied.weights[0].numpy(), kernel.numpy())
    ours(x).sum().backward()
    torch.optim.SGD(ours.parameters(), lr=0.1).step()
    assert not np.allclose(kernel.numpy(), 1.25)


def one_state_cell(base):
    """rnn_test's OneStateRNNCell, written against ``base`` (Keras's Layer or rnnkit.keras's): no get_config of its
    own, all-ones weights, h_t = x_t·1 + h_{t−1}·1."""

    class OneStateRNNCell(base):
        def __init__(self, units, state_size=None, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = state_size if state_size else units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="ones",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            output = keras.ops.matmul(inputs, self.kernel) + keras.ops.matmul(states[0], self.recurrent_kernel)
            return output, [output]

    return OneStateRNNCell


OneStateRNNCell = one_state_cell(rk.layers.Layer)  # a module-level name, as a user's class has
KerasCell = one_state_cell(keras.layers.Layer)


def test_a_cell_without_get_config_is_configured_by_its_arguments_as_in_keras():
    """rnn_test.test_serialization: a user's cell that writes no get_config round-trips inside an RNN's config; its
    config holds the arguments it was made with, as Keras 3's does."""
    ours, theirs = OneStateRNNCell(5, state_size=5).get_config(), KerasCell(5, state_size=5).get_config()
    assert {k: ours[k] for k in ("units", "state_size", "trainable")} == \
        {k: theirs[k] for k in ("units", "state_size", "trainable")}
    assert "units" not in rk.layers.Layer(name="plain").get_config()  # no arguments of its own, none in its config
    layer = rk.layers.RNN(OneStateRNNCell(2), return_sequences=True)
    revived = rk.layers.RNN.from_config(layer.get_config())  # the cell's class found by its (imported) module
    assert type(revived.cell) is OneStateRNNCell and revived.cell.units == 2 and revived.return_sequences
    x = np.arange(24).reshape((2, 3, 4)).astype("float32")
    np.testing.assert_allclose(revived(x).detach().numpy(), keras.ops.convert_to_numpy(
        keras.layers.RNN(KerasCell(2), return_sequences=True)(x)))


def test_keras_own_cells_run_in_a_stack_with_the_numbers_keras_tests_expect():
    """stacked_rnn_cells_test.test_correctness_single_state_stack, with Keras's own cells in rnnkit's RNN: the RNN
    builds them (Keras's ``if not cell.built: cell.build(shape)``) and gives the numbers Keras's test expects."""
    x = np.arange(24).reshape((2, 3, 4)).astype("float32")
    out = rk.layers.RNN([KerasCell(3), KerasCell(2)], return_sequences=True)(x)
    np.testing.assert_allclose(out.detach().numpy(), [[[18, 18], [156, 156], [786, 786]],
                                                     [[162, 162], [1020, 1020], [4386, 4386]]])
    out, state_1, state_2 = rk.layers.RNN([OneStateRNNCell(3), OneStateRNNCell(2)], return_state=True)(x)
    np.testing.assert_allclose(state_1.detach().numpy(), [[158, 158, 158], [782, 782, 782]])
    np.testing.assert_allclose(out.detach().numpy(), [[786, 786], [4386, 4386]])


def test_a_config_cannot_name_any_loaded_class_but_a_layer():
    """Found by module only when it is a layer class: a config naming another loaded class (here collections'
    OrderedDict, in an imported module) is refused, not constructed."""
    config = rk.layers.RNN(OneStateRNNCell(2)).get_config()
    config["cell"] = {**config["cell"], "module": "collections", "class_name": "OrderedDict"}
    with pytest.raises(ValueError, match="'OrderedDict' is not known to rnnkit.keras"):
        rk.layers.RNN.from_config(config)


def test_bidirectional_keeps_use_cudnn_only_where_keras_layers_have_it():
    """bidirectional_test.test_keeps_use_cudnn: LSTM and GRU pass use_cudnn to both directions; SimpleRNN, which has
    no such argument in Keras, gets no such attribute."""
    for cls in (rk.layers.GRU, rk.layers.LSTM):
        for use_cudnn in (True, False, "auto"):
            bidi = rk.layers.Bidirectional(cls(1, use_cudnn=use_cudnn))
            assert bidi.forward_layer.use_cudnn == use_cudnn and bidi.backward_layer.use_cudnn == use_cudnn
    bidi = rk.layers.Bidirectional(rk.layers.SimpleRNN(1))
    assert not hasattr(bidi.forward_layer, "use_cudnn") and not hasattr(bidi.backward_layer, "use_cudnn")
    assert not hasattr(keras.layers.SimpleRNN(1), "use_cudnn")
