"""``STFTSpectrogram`` and ``initializers.STFT``: every mode of Keras 3's layer (PyTorch backend) — log, magnitude,
psd, real, imag, angle, stft; windows, scalings, padding, channels first, expand_dims — with its weights and configs;
the transform is NumPy's windowed rFFT of each frame; an audio GRU on top trains to Keras's weights and loads both
ways."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.signal import get_window  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from tests.helpers import assert_keras_files_move_both_ways, predicts_and_trains_as_keras  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 300, 2)).astype("float32")
X_FIRST = np.ascontiguousarray(np.transpose(X, (0, 2, 1)))

CASES = [({}, X), ({"mode": "magnitude", "frame_length": 64, "frame_step": 16}, X),
         ({"mode": "psd", "frame_length": 50, "fft_length": 64, "padding": "same"}, X),
         ({"mode": "real", "frame_length": 32, "window": "hamming", "scaling": "spectrum"}, X),
         ({"mode": "imag", "frame_length": 32, "periodic": True}, X),
         ({"mode": "angle", "frame_length": 32, "window": None}, X),
         ({"mode": "stft", "frame_length": 32, "expand_dims": True}, X),
         ({"mode": "log", "frame_length": 40, "data_format": "channels_first", "padding": "same"}, X_FIRST),
         ({"mode": "stft", "frame_length": 32, "data_format": "channels_first", "expand_dims": True}, X_FIRST)]


@pytest.mark.parametrize("kwargs,x", CASES)
def test_every_mode_is_keras(kwargs, x):
    ours, theirs = rk.layers.STFTSpectrogram(**kwargs), keras.layers.STFTSpectrogram(**kwargs)
    np.testing.assert_allclose(ours(x).detach().numpy(), keras.ops.convert_to_numpy(theirs(x)), atol=1e-5)
    assert [tuple(w.shape) for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert {**ours.get_config(), "name": None} == {**theirs.get_config(), "name": None}


@pytest.mark.parametrize("kwargs", [{}, {"side": "imag"}, {"window": "hamming", "scaling": "spectrum",
                                                          "periodic": True}, {"window": None},
                                    {"scaling": None, "window": "blackman"}])
def test_the_initializer_is_keras(kwargs):
    np.testing.assert_allclose(rk.initializers.STFT(**kwargs)((16, 1, 9)).numpy(),
                               keras.ops.convert_to_numpy(keras.initializers.STFT(**kwargs)((16, 1, 9))), atol=1e-7)
    assert rk.initializers.STFT(**kwargs).get_config() == keras.initializers.STFT(**kwargs).get_config()
    with pytest.raises(ValueError, match="side"):
        rk.initializers.STFT(side="both")


def test_the_transform_is_numpys_windowed_rfft():
    """Frame t of 64 samples every 16, Hann window w, density scaling s = sqrt(Σ w²): Re + i·Im = rfft(x·w) / s."""
    signal = X[:1, :, :1]
    out = rk.layers.STFTSpectrogram(mode="stft", frame_length=64, frame_step=16)(signal).detach().numpy()[0]
    w = get_window("hann", 64, fftbins=False)
    frames = np.stack([signal[0, t * 16:t * 16 + 64, 0] for t in range(out.shape[0])])
    expected = np.fft.rfft(frames * w, 64) / np.sqrt((w ** 2).sum())
    np.testing.assert_allclose(out[:, :33], expected.real, atol=1e-5)
    np.testing.assert_allclose(out[:, 33:], expected.imag, atol=1e-5)


def audio_model(lib):
    audio = lib.Input((400, 1))
    spectrum = lib.layers.STFTSpectrogram(frame_length=64, frame_step=32, trainable=False)(audio)
    m = lib.Model(audio, lib.layers.Dense(2, activation="softmax")(lib.layers.GRU(8)(spectrum)))
    m.compile(lib.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return m


def test_an_audio_gru_trains_to_keras_weights_and_loads_both_ways(tmp_path):
    t = np.arange(400) / 8000
    x = np.stack([np.sin(2 * np.pi * f * t) for f in (300, 1200) * 4])[..., None].astype("float32")
    y = np.array([0, 1] * 4)
    theirs, ours = predicts_and_trains_as_keras(audio_model, x, y, RNG, batch_size=4, atol=1e-5)
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)  # (the frozen STFT kernels: not trained)
    assert_keras_files_move_both_ways(theirs, ours, x, tmp_path)
