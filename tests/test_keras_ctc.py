"""CTC in the Keras front end — ``ops.ctc_loss``, ``ops.ctc_decode`` (greedy), ``losses.CTC`` — against real Keras 3
(PyTorch backend): the same logits give Keras's losses and decoded labels, and a recurrent CTC model trains to
Keras's weights."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(4, 12, 6)).astype("float32")
TARGET = np.array([[1, 2, 2, 3, 0], [4, 0, 0, 0, 0], [5, 5, 1, 0, 0], [2, 3, 4, 1, 2]])
TARGET_LENGTH, OUTPUT_LENGTH = np.array([4, 1, 3, 5]), np.array([12, 9, 12, 7])


def kn(t):
    return keras.ops.convert_to_numpy(t)


@pytest.mark.parametrize("mask_index", [0, 5])
def test_ctc_loss_gives_keras_per_sequence_losses(mask_index):
    target = np.where(TARGET == 5, 1, TARGET) if mask_index == 5 else TARGET  # labels must avoid the blank
    want = kn(keras.ops.ctc_loss(target, LOGITS, TARGET_LENGTH, OUTPUT_LENGTH, mask_index=mask_index))
    got = rk.ops.ctc_loss(target, LOGITS, TARGET_LENGTH, OUTPUT_LENGTH, mask_index=mask_index)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)


@pytest.mark.parametrize("merge_repeated", [True, False])
@pytest.mark.parametrize("mask_index", [0, None, 2])
def test_greedy_decoding_gives_keras_labels_and_scores(merge_repeated, mask_index):
    # repeats placed on purpose: a label held over steps, and the same label either side of a blank
    logits = LOGITS.copy()
    logits[0, 2:5, 3] += 10
    logits[1, 0, 4] += 10
    logits[1, 1, 0] += 10
    logits[1, 2, 4] += 10
    want_labels, want_scores = keras.ops.ctc_decode(logits, OUTPUT_LENGTH, merge_repeated=merge_repeated,
                                                    mask_index=mask_index)
    labels, scores = rk.ops.ctc_decode(logits, OUTPUT_LENGTH, merge_repeated=merge_repeated, mask_index=mask_index)
    assert labels.dtype == torch.int32
    np.testing.assert_array_equal(labels.numpy(), kn(want_labels))
    np.testing.assert_allclose(scores.numpy(), kn(want_scores), rtol=1e-6)


def test_beam_search_decoding_is_refused_naming_what_is_there():
    with pytest.raises(ValueError, match="only 'greedy'"):
        rk.ops.ctc_decode(LOGITS, OUTPUT_LENGTH, strategy="beam_search")


def test_the_ctc_loss_object_and_function_give_keras_values():
    assert float(rk.losses.CTC()(torch.tensor(TARGET), torch.tensor(LOGITS))) == pytest.approx(
        float(keras.losses.CTC()(TARGET, LOGITS)), rel=1e-6)
    np.testing.assert_allclose(rk.losses.ctc(TARGET, LOGITS).numpy(), kn(keras.losses.ctc(TARGET, LOGITS)), rtol=1e-6)
    assert rk.losses.CTC().get_config() == keras.losses.CTC().get_config()


def test_a_recurrent_ctc_model_trains_to_keras_weights():
    x = RNG.normal(size=(16, 10, 3)).astype("float32")
    y = RNG.integers(1, 5, size=(16, 4))
    y[::3, 3] = 0  # shorter label sequences, padded with the blank

    def build(lib):
        return lib.Sequential([lib.Input(shape=(10, 3)), lib.layers.GRU(8, return_sequences=True),
                               lib.layers.Dense(5)])

    theirs, ours = build(keras), build(rk)
    ours.set_weights(theirs.get_weights())
    theirs.compile(keras.optimizers.SGD(0.05), keras.losses.CTC())
    ours.compile(rk.optimizers.SGD(0.05), rk.losses.CTC())
    want = theirs.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]
    got = ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
