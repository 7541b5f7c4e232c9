"""Reading audio: WAV/FLAC/OGG/MP3 with ``soundfile``, anything else ffmpeg decodes (a phone's M4A/AAC, a browser's
WebM/Opus, MP4 video's sound track) with PyAV, mixed down to mono, resampled to the model's rate.

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


READABLE = "WAV, FLAC, OGG, MP3, M4A/AAC, WebM/Opus or any other format ffmpeg decodes"


class EmptyAudio(ValueError):
    """Audio that decodes to no samples (readable, but nothing to transcribe)."""


def _decode_with_ffmpeg(source) -> tuple[np.ndarray, int]:
    """(samples (N, 1) float32, rate) of the first audio stream of a file or file object, decoded by ffmpeg's
    libraries through PyAV and mixed down to mono by its resampler; ValueError when there is none."""
    import av

    try:
        with av.open(source) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise ValueError("no audio stream")
            mono = av.AudioResampler(format="flt", layout="mono", rate=stream.rate)
            chunks = [f.to_ndarray().reshape(-1) for frame in container.decode(stream) for f in mono.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in mono.resample(None)]
            rate = stream.rate
    except av.FFmpegError as e:
        raise ValueError(str(e)) from None
    data = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return data.astype(np.float32)[:, None], int(rate)


def decode_audio(source, name: str) -> tuple[np.ndarray, int]:
    """(samples (N, channels) float32, rate) of audio bytes in a file (a path) or a file object: soundfile where
    libsndfile reads the format, else ffmpeg (``_decode_with_ffmpeg``). ``name`` is what errors call it."""
    import soundfile

    try:
        data, rate = soundfile.read(source, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as first:
        if hasattr(source, "seek"):
            source.seek(0)
        try:
            data, rate = _decode_with_ffmpeg(source)
        except ValueError:
            raise ValueError(f"{name}: not readable audio ({READABLE} expected): {first}") from None
    if data.shape[0] == 0:
        raise EmptyAudio(f"{name}: the audio {'file ' if isinstance(source, str) else ''}holds no samples")
    return data, rate


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Mono float32 samples of an audio file at ``sample_rate`` Hz."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such audio file")
    data, rate = decode_audio(str(path), str(path))
    return resample(to_mono(data), rate, sample_rate)


ESPEAK_RATE = 22050


def espeak_samples(wav: bytes) -> np.ndarray:
    """The float32 samples of ``espeak-ng --stdout`` output (22,050 Hz mono int16 after a 44-byte header)."""
    if len(wav) < 44 or wav[:4] != b"RIFF":
        raise ValueError("not a WAV stream from espeak-ng")
    body = wav[44:len(wav) - (len(wav) - 44) % 2]
    return to_mono(np.frombuffer(body, dtype="<i2"))


__all__ = ["EmptyAudio", "decode_audio", "read_audio", "resample", "to_mono", "espeak_samples", "ESPEAK_RATE", "READABLE"]
