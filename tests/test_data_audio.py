"""Audio input and features: log-mel against librosa, resampling against the tone it carries, the input formats
against each other, and the errors for bad files."""

import shutil
import subprocess

import numpy as np
import pytest
import soundfile
import torch

from rnnkit.data.audio import ESPEAK_RATE, espeak_samples, read_audio, resample
from rnnkit.data.features import LogMel, mel_filterbank, normalize

librosa = pytest.importorskip("librosa")


def test_the_mel_filterbank_is_librosas():
    for sr, n_fft, n_mels, fmax in ((16000, 512, 80, None), (22050, 1024, 40, 8000.0), (8000, 256, 23, None)):
        ours = mel_filterbank(sr, n_fft, n_mels, 0.0, fmax).numpy()
        theirs = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmax=fmax, htk=False, norm="slaney")
        assert np.allclose(ours, theirs, atol=1e-7, rtol=1e-5)


def test_log_mel_equals_librosas_mel_spectrogram():
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    wave = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(16000)).astype(np.float32)
    feats, frames = LogMel(16000, n_mels=80)(torch.from_numpy(wave)[None])
    ref = librosa.feature.melspectrogram(y=wave, sr=16000, n_fft=512, hop_length=160, win_length=400, window="hann",
                                         center=True, pad_mode="constant", power=2.0, n_mels=80, htk=False,
                                         norm="slaney")
    assert feats.shape == (1, ref.shape[1], 80) and int(frames[0]) == ref.shape[1] == 1 + 16000 // 160
    # float32 STFTs: equal to 1e-4 in log units where the energy is not negligible
    assert np.allclose(feats[0].numpy().T, np.log(ref + 1e-6), atol=2e-3)


def test_a_padded_batch_gives_each_utterance_its_own_features():
    lm = LogMel(16000, n_mels=40)
    a, b = torch.randn(8000), torch.randn(5000)
    batch = torch.zeros(2, 8000)
    batch[0], batch[1, :5000] = a, b
    feats, frames = lm(batch, torch.tensor([8000, 5000]))
    alone, n = lm(b[None])
    assert int(frames[1]) == int(n[0]) == 1 + 5000 // 160
    # frames whose window lies inside the utterance are identical; the last ones see the batch's zero padding, as the
    # single utterance's see the STFT's own zero padding
    assert torch.allclose(feats[1, :int(n[0]) - 2], alone[0, :int(n[0]) - 2], atol=1e-4)
    z = normalize(feats, frames)
    valid = z[1, :int(frames[1])]
    assert torch.allclose(valid.mean(0), torch.zeros(40), atol=1e-4)
    assert torch.allclose(valid.std(0, unbiased=False), torch.ones(40), atol=1e-2)
    assert torch.all(z[1, int(frames[1]):] == 0)


def dominant_frequency(x, rate):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()]


def test_resampling_keeps_a_tones_frequency():
    for src, dst in ((44100, 16000), (8000, 16000), (22050, 16000)):
        t = np.arange(src) / src
        out = resample(np.sin(2 * np.pi * 1000 * t).astype(np.float32), src, dst)
        assert abs(len(out) - dst) <= 1
        assert abs(dominant_frequency(out, dst) - 1000) < 2


def test_stereo_int16_and_float_files_agree(tmp_path):
    t = np.arange(8000) / 8000
    mono = (0.4 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    soundfile.write(tmp_path / "f.wav", mono, 8000, subtype="FLOAT")
    soundfile.write(tmp_path / "i.wav", (mono * 32767).astype(np.int16), 8000, subtype="PCM_16")
    soundfile.write(tmp_path / "s.flac", np.stack([mono, mono], 1), 8000)
    soundfile.write(tmp_path / "h.wav", np.stack([mono * 2, np.zeros_like(mono)], 1), 8000, subtype="FLOAT")
    ref = read_audio(tmp_path / "f.wav", 16000)
    for name in ("i.wav", "s.flac", "h.wav"):
        assert np.allclose(read_audio(tmp_path / name, 16000), ref, atol=2e-4), name


def test_bad_audio_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        read_audio(tmp_path / "nope.wav", 16000)
    (tmp_path / "text.wav").write_text("not audio at all")
    with pytest.raises(ValueError, match="text.wav: not readable audio"):
        read_audio(tmp_path / "text.wav", 16000)
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(ValueError, match="empty.wav: the audio file holds no samples"):
        read_audio(tmp_path / "empty.wav", 16000)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="Debian's espeak-ng is not installed")
def test_espeak_output_is_read_despite_its_bogus_header():
    wav = subprocess.run(["espeak-ng", "-v", "en-us", "--stdout", "seven"], capture_output=True, check=True).stdout
    x = espeak_samples(wav)
    assert ESPEAK_RATE * 0.2 < len(x) < ESPEAK_RATE * 2 and np.abs(x).max() > 0.05


def encode_with_ffmpeg(path, tone, rate, container, codec):
    """The tone encoded by ffmpeg's own encoders (through PyAV) — what a phone (AAC in MP4) or a browser's
    MediaRecorder (Opus in WebM) writes."""
    import av

    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(tone[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)


def test_lossy_and_ffmpeg_only_files_hold_the_tone_they_were_made_from(tmp_path):
    # lossy formats — MP3 (libsndfile's mpg123), Ogg Vorbis, and, through ffmpeg, a phone's M4A (AAC) and a browser's
    # WebM (Opus) — read back as the tone written, at the model's rate; a file ffmpeg cannot read either is named
    t = np.arange(44100) / 44100
    tone = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    soundfile.write(tmp_path / "a.mp3", tone, 44100, format="MP3")
    soundfile.write(tmp_path / "a.ogg", tone, 44100, format="OGG", subtype="VORBIS")
    encode_with_ffmpeg(tmp_path / "a.m4a", tone, 44100, "mp4", "aac")
    t48 = np.arange(48000) / 48000
    encode_with_ffmpeg(tmp_path / "a.webm", (0.4 * np.sin(2 * np.pi * 440 * t48)).astype(np.float32), 48000, "webm",
                       "libopus")
    for name in ("a.mp3", "a.ogg", "a.m4a", "a.webm"):
        got = read_audio(tmp_path / name, 16000)
        assert abs(len(got) - 16000) < 1600, name  # the encoder's padding at most
        assert abs(dominant_frequency(got, 16000) - 440) < 2, name
        assert 0.25 < np.sqrt(2 * np.mean(got[2000:-2000] ** 2)) < 0.55, name  # the amplitude 0.4, give or take
    (tmp_path / "b.m4a").write_bytes(b"\x00\x00\x00\x18ftypM4A junk that is not a stream")
    with pytest.raises(ValueError, match=r"b.m4a: not readable audio \(WAV, FLAC, OGG, MP3, M4A/AAC, WebM/Opus"):
        read_audio(tmp_path / "b.m4a", 16000)
