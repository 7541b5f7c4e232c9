"""Reading audio: WAV/FLAC/OGG/MP3 with ``soundfile``, mixed down to mono, resampled to the model's rate.

``read_audio(path, sample_rate)`` returns float32 samples in [-1, 1]: integer PCM is scaled by soundfile, several
channels are averaged, and another sample rate is converted with a polyphase filter (``scipy.signal.resample_poly``,
which keeps a tone's frequency and applies an anti-aliasing low-pass). A missing file, bytes that are not audio and a
file without samples are errors naming the file. ``espeak_samples`` reads the WAV ``espeak-ng --stdout`` writes, whose
header's length fields are bogus (it streams): the 16-bit samples after the 44-byte header.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling (``from_rate`` → ``to_rate`` Hz) of a mono float signal."""
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = gcd(int(from_rate), int(to_rate))
    return resample_poly(samples, int(to_rate) // g, int(from_rate) // g).astype(np.float32)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(N,) or (N, channels) → (N,) float32, channels averaged; integer PCM scaled to [-1, 1]."""
    x = np.asarray(samples)
    if np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / float(-np.iinfo(x.dtype).min)
    x = x.astype(np.float32, copy=False)
    return x.mean(axis=1) if x.ndim == 2 else x


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Mono float32 samples of an audio file at ``sample_rate`` Hz."""
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such audio file")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as e:
        raise ValueError(f"{path}: not readable audio (WAV, FLAC, OGG or MP3 expected): {e}") from None
    if data.shape[0] == 0:
        raise ValueError(f"{path}: the audio file holds no samples")
    return resample(to_mono(data), rate, sample_rate)


ESPEAK_RATE = 22050


def espeak_samples(wav: bytes) -> np.ndarray:
    """The float32 samples of ``espeak-ng --stdout`` output (22,050 Hz mono int16 after a 44-byte header)."""
    if len(wav) < 44 or wav[:4] != b"RIFF":
        raise ValueError("not a WAV stream from espeak-ng")
    body = wav[44:len(wav) - (len(wav) - 44) % 2]
    return to_mono(np.frombuffer(body, dtype="<i2"))


__all__ = ["read_audio", "resample", "to_mono", "espeak_samples", "ESPEAK_RATE"]
