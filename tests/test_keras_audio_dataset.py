"""``keras.utils.audio_dataset_from_directory`` without TensorFlow: .wav recordings filed one folder per class are
indexed and split in Keras's order (Keras 3.15's own ``dataset_utils.index_directory``, which needs no TensorFlow),
read as ``tf.audio.decode_wav`` reads 16-bit PCM (sample / 32768), padded per batch or cut to
``output_sequence_length``, resampled to ``sampling_rate``; a GRU learns two tones from such a folder."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile  # noqa: E402
from keras.src.utils import dataset_utils  # noqa: E402

import rnnkit.keras as rk  # noqa: E402

RATE = 8000


def tone(freq: float, n: int, rate: int = RATE) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(n) / rate) * 32767).astype(np.int16)


@pytest.fixture()
def folder(tmp_path):
    """Two classes, low (300 Hz) and high (1500 Hz): 12 recordings each of 400–800 samples, 16-bit PCM."""
    rng = np.random.default_rng(0)
    for name, freq in (("low", 300), ("high", 1500)):
        (tmp_path / name).mkdir()
        for i in range(12):
            soundfile.write(tmp_path / name / f"{i:02d}.wav", tone(freq, int(rng.integers(400, 800))), RATE,
                            subtype="PCM_16")
    (tmp_path / "high" / "notes.txt").write_text("not audio")  # skipped: only .wav files count
    return tmp_path


def test_files_labels_and_split_are_keras(folder):
    paths, labels, names = dataset_utils.index_directory(str(folder), "inferred", formats=(".wav",), shuffle=True,
                                                         seed=5, verbose=False)
    train, val = rk.utils.audio_dataset_from_directory(folder, batch_size=8, validation_split=0.25, subset="both",
                                                       seed=5, verbose=False)
    n_val = int(0.25 * len(paths))
    assert train.file_paths == paths[:-n_val] and val.file_paths == paths[-n_val:]
    assert train.class_names == names == ["high", "low"]
    audio, y = val[0]
    assert y.tolist() == labels[-n_val:][:8].tolist()
    longest = max(soundfile.info(p).frames for p in val.file_paths[:8])
    assert audio.dtype == np.float32 and audio.shape == (len(y), longest, 1)


def test_samples_are_decode_wavs_and_batches_are_zero_padded(folder):
    """A 16-bit sample s reads as s / 32768; a shorter recording's tail is zeros up to the batch's longest."""
    data = rk.utils.audio_dataset_from_directory(folder, batch_size=4, shuffle=False, verbose=False)
    audio, y = data[0]
    for row, path in zip(audio, data.file_paths[:4]):
        raw, _ = soundfile.read(path, dtype="int16")
        np.testing.assert_array_equal(row[:len(raw), 0], raw / 32768.0)
        assert not row[len(raw):].any()
    cut = rk.utils.audio_dataset_from_directory(folder, batch_size=4, shuffle=False, output_sequence_length=500,
                                                label_mode="categorical", verbose=False)
    audio, y = cut[0]
    assert audio.shape == (4, 500, 1) and y.shape == (4, 2) and y.sum() == 4


def test_resampling_keeps_the_pitch(folder):
    """Resampled from 8 kHz to 4 kHz, a 300 Hz tone keeps its 300 Hz peak in half the samples."""
    data = rk.utils.audio_dataset_from_directory(folder, batch_size=1, shuffle=False, sampling_rate=4000,
                                                 verbose=False, output_sequence_length=200)
    low = data.class_names.index("low")
    audio, y = next(data[i] for i in range(len(data)) if data[i][1][0] == low)
    spectrum = np.abs(np.fft.rfft(audio[0, :, 0]))
    assert audio.shape == (1, 200, 1) and abs(np.argmax(spectrum) * 4000 / 200 - 300) <= 20


def test_refusals(folder):
    with pytest.raises(ValueError, match="ragged"):
        rk.utils.audio_dataset_from_directory(folder, ragged=True)
    with pytest.raises(ValueError, match="sampling_rate"):
        rk.utils.audio_dataset_from_directory(folder, sampling_rate=8000.5)
    with pytest.raises(ValueError, match="seed"):
        rk.utils.audio_dataset_from_directory(folder, validation_split=0.2, subset="training")
    (folder / "hum").mkdir()
    soundfile.write(folder / "hum" / "a.wav", tone(50, 400), RATE)
    with pytest.raises(ValueError, match="exactly 2 class_names"):
        rk.utils.audio_dataset_from_directory(folder, label_mode="binary", verbose=False)


def test_a_gru_learns_two_tones_from_the_folder(folder):
    rk.utils.set_random_seed(0)
    data = rk.utils.audio_dataset_from_directory(folder, batch_size=6, seed=1, output_sequence_length=400,
                                                 verbose=False)
    m = rk.Sequential([rk.Input((400, 1)), rk.layers.STFTSpectrogram(frame_length=64, frame_step=32,
                                                                     trainable=False),
                       rk.layers.GRU(8), rk.layers.Dense(2, activation="softmax")])
    m.compile(rk.optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = m.fit(data, epochs=15, verbose=0)
    assert history.history["accuracy"][-1] >= 0.9  # (two tones apart: near every clip right)
