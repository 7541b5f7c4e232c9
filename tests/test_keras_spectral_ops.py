"""``keras.ops``' Fourier transforms (``ops.math``: fft, fft2, ifft2, rfft, irfft, stft, istft) give real Keras 3's
(PyTorch backend) outputs: (real, imaginary) pairs, frames before frequency bins, Keras's windows and centring."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RNG = np.random.default_rng(0)
SIGNAL = RNG.normal(size=(2, 3, 400)).astype("float32")
PAIR = (RNG.normal(size=(2, 8)).astype("float32"), RNG.normal(size=(2, 8)).astype("float32"))


def same(ours, theirs):
    ours, theirs = (ours if isinstance(ours, tuple) else (ours,)), (theirs if isinstance(theirs, tuple) else (theirs,))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a), keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, args", [("fft", (PAIR,)), ("fft2", (PAIR,)), ("ifft2", (PAIR,)),
                                        ("rfft", (SIGNAL, 64)), ("rfft", (SIGNAL,)), ("irfft", (PAIR, 14))])
def test_fourier_transforms_are_keras_s(name, args):
    same(getattr(rk.ops, name)(*args), getattr(keras.ops, name)(*args))
    assert getattr(rk.ops.math, name) is getattr(rk.ops, name)


@pytest.mark.parametrize("kwargs", [{}, {"window": "hamming", "center": False}, {"window": None},
                                    {"window": np.linspace(0, 1, 100).astype("float32")}])
def test_stft_frames_and_windows_are_keras_s(kwargs):
    same(rk.ops.stft(SIGNAL, 100, 40, 128, **kwargs), keras.ops.stft(SIGNAL, 100, 40, 128, **kwargs))


def test_istft_inverts_stft_as_keras_does():
    spectrum = rk.ops.stft(SIGNAL, 128, 32, 128)
    back = rk.ops.istft(spectrum, 128, 32, 128, length=400)
    same(back, keras.ops.istft(keras.ops.stft(SIGNAL, 128, 32, 128), 128, 32, 128, length=400))
    np.testing.assert_allclose(back.numpy(), SIGNAL, atol=1e-4)
    with pytest.raises(ValueError, match="sequence_length == fft_length"):
        rk.ops.istft(spectrum, 100, 32, 128)


@pytest.mark.parametrize("kwargs", [{}, {"fft_length": 512, "sequence_stride": 160, "sequence_length": 400,
                                         "num_mel_bins": 40, "max_freq": 7600},
                                    {"power_to_db": False, "mag_exp": 1.0, "window": "hamming"}])
def test_mel_spectrogram_layer_is_keras_s(kwargs):
    audio = RNG.normal(size=(2, 8000)).astype("float32")
    want = keras.ops.convert_to_numpy(keras.layers.MelSpectrogram(**kwargs)(audio))
    got = rk.layers.MelSpectrogram(**kwargs)(audio).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * np.abs(want).max())
    config = {k: v for k, v in rk.layers.MelSpectrogram(**kwargs).get_config().items() if k != "name"}
    assert config == {k: v for k, v in keras.layers.MelSpectrogram(**kwargs).get_config().items() if k != "name"}


def test_a_recurrent_model_on_raw_audio_saves_and_reloads(tmp_path):
    model = rk.Sequential([rk.Input((8000,)), rk.layers.MelSpectrogram(fft_length=512, sequence_stride=256,
                                                                    num_mel_bins=20),
                           rk.layers.Permute((2, 1)), rk.layers.GRU(4), rk.layers.Dense(2)])
    audio = RNG.normal(size=(3, 8000)).astype("float32")
    model.save(tmp_path / "asr.keras")
    back = rk.models.load_model(tmp_path / "asr.keras")
    np.testing.assert_allclose(back.predict(audio, verbose=0), model.predict(audio, verbose=0), rtol=1e-6)
    theirs = keras.saving.load_model(tmp_path / "asr.keras")  # Keras reads it and computes the same
    np.testing.assert_allclose(keras.ops.convert_to_numpy(theirs(audio)), model.predict(audio, verbose=0),
                               rtol=1e-4, atol=1e-5)
