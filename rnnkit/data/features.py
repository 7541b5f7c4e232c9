"""Log-mel filterbank features in torch — batched, on the model's device — equal to librosa's defaults.

For a waveform x sampled at ``sample_rate`` Hz, with a Hann window w of ``win_length`` samples (zero-padded to
``n_fft``), hop ``hop_length`` and frames centred on ``m · hop`` (the signal zero-padded by ``n_fft / 2`` each side)::

    X(m, k) = Σ_n w(n) x(m·hop + n − n_fft/2) e^{−2πi k n / n_fft}        short-time Fourier transform
    P(m, k) = |X(m, k)|²                                                   power spectrum
    M(m, j) = Σ_k F(j, k) P(m, k)                                          mel filterbank
    L(m, j) = log(M(m, j) + ε)                                             log-mel

F holds ``n_mels`` triangles whose corners are equally spaced on the Slaney mel scale (linear below 1 kHz:
``mel = 3f/200``; logarithmic above: ``mel = 15 + 27 · ln(f/1000) / ln 6.4``), each scaled to unit area
(``2 / (f_{j+2} − f_j)``) — librosa's ``htk=False, norm="slaney"``. A padded batch gives each utterance
``1 + length // hop`` valid frames; ``normalize`` standardises each mel band over an utterance's valid frames.

Vocal tract length perturbation (VTLP; Jaitly & Hinton 2013), an augmentation: the filterbank reads the spectrum
through a piecewise-linear warp of the frequency axis by a factor α (a longer or shorter vocal tract moves every
formant by about the same factor), ``F_α(j, k) = F(j, φ_α(f_k))`` with, for a boundary ``f_b = f_hi · min(α, 1) / α``
(``f_hi`` = 4,800 Hz, at most 0.6 of the Nyquist frequency) and Nyquist frequency ``S/2``::

    φ_α(f) = α f                                                  f ≤ f_b
    φ_α(f) = S/2 − (S/2 − α f_b) (S/2 − f) / (S/2 − f_b)          f > f_b     (S/2 stays S/2)

so a tone at f (below f_b) lands in the bands of a tone at α f. ``LogMel(waves, lengths, warps)`` takes one α per
utterance (1: none).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

_F_SP = 200.0 / 3  # Hz per mel below 1 kHz (Slaney)
_MIN_LOG_HZ, _MIN_LOG_MEL, _LOG_STEP = 1000.0, 15.0, math.log(6.4) / 27.0


def hz_to_mel(f: Tensor) -> Tensor:
    f = torch.as_tensor(f, dtype=torch.float64)
    return torch.where(f >= _MIN_LOG_HZ, _MIN_LOG_MEL + torch.log(f.clamp(min=1e-10) / _MIN_LOG_HZ) / _LOG_STEP,
                       f / _F_SP)


def mel_to_hz(m: Tensor) -> Tensor:
    m = torch.as_tensor(m, dtype=torch.float64)
    return torch.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * torch.exp(_LOG_STEP * (m - _MIN_LOG_MEL)), m * _F_SP)


VTLP_F_HI = 4800.0  # Hz: Jaitly & Hinton's boundary frequency (the warp is linear below about it)


def vtlp_warp(f: Tensor, alpha: float, sample_rate: int, f_hi: float = VTLP_F_HI) -> Tensor:
    """φ_α(f): frequencies (Hz) warped by ``alpha`` below the boundary, linearly back to Nyquist above it."""
    f = torch.as_tensor(f, dtype=torch.float64)
    nyquist = sample_rate / 2
    f_hi = min(f_hi, 0.6 * nyquist)  # 4,800 Hz is 0.6 of 16 kHz audio's Nyquist frequency: kept below it at any rate
    boundary = f_hi * min(alpha, 1.0) / alpha
    upper = nyquist - (nyquist - alpha * boundary) * (nyquist - f) / (nyquist - boundary)
    return torch.where(f <= boundary, alpha * f, upper)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0, f_max: float | None = None,
                   alpha: float = 1.0) -> Tensor:
    """F (n_mels, n_fft // 2 + 1): Slaney-scale triangles, area-normalised; ``alpha`` ≠ 1 reads the spectrum through
    the VTLP warp φ_α."""
    f_max = sample_rate / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= sample_rate / 2:
        raise ValueError(f"need 0 ≤ f_min < f_max ≤ sample_rate / 2, got f_min={f_min}, f_max={f_max}, "
                         f"sample_rate={sample_rate}")
    if alpha <= 0:
        raise ValueError(f"the VTLP warp factor must be positive, got {alpha}")
    fft_freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    if alpha != 1.0:
        fft_freqs = vtlp_warp(fft_freqs, alpha, sample_rate)
    mel_f = mel_to_hz(torch.linspace(float(hz_to_mel(f_min)), float(hz_to_mel(f_max)), n_mels + 2,
                                     dtype=torch.float64))
    f_diff = mel_f[1:] - mel_f[:-1]
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / f_diff[:-1, None]
    upper = ramps[2:] / f_diff[1:, None]
    weights = torch.clamp(torch.minimum(lower, upper), min=0)
    return weights * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]


class LogMel(nn.Module):
    """Waveforms (B, N) with their lengths in samples → log-mel features (B, T, n_mels) and frame counts (B,)."""

    def __init__(self, sample_rate: int = 16000, n_mels: int = 80, win_ms: float = 25.0, hop_ms: float = 10.0,
                 n_fft: int | None = None, f_min: float = 0.0, f_max: float | None = None, eps: float = 1e-6) -> None:
        super().__init__()
        self.sample_rate, self.n_mels, self.eps, self.f_min, self.f_max = sample_rate, n_mels, eps, f_min, f_max
        self.win_length = round(sample_rate * win_ms / 1000)
        self.hop_length = round(sample_rate * hop_ms / 1000)
        self.n_fft = n_fft or 2 ** math.ceil(math.log2(self.win_length))
        if self.n_fft < self.win_length or self.hop_length < 1:
            raise ValueError(f"need n_fft ≥ the window ({self.win_length} samples) and a hop of at least one sample")
        self.register_buffer("window", torch.hann_window(self.win_length, periodic=True), persistent=False)
        self.register_buffer("filters", mel_filterbank(sample_rate, self.n_fft, n_mels, f_min, f_max).float(),
                             persistent=False)

    def frames(self, lengths: Tensor) -> Tensor:
        return 1 + torch.as_tensor(lengths) // self.hop_length

    def forward(self, waves: Tensor, lengths: Tensor | None = None, warps: list[float] | None = None
                ) -> tuple[Tensor, Tensor]:
        """Log-mel features and frame counts; ``warps``: a VTLP factor α per utterance (augmentation), or None."""
        if waves.dim() == 1:
            waves = waves[None]
        if lengths is None:
            lengths = torch.full((waves.shape[0],), waves.shape[1], dtype=torch.long)
        spec = torch.stft(waves.float(), self.n_fft, self.hop_length, self.win_length, self.window, center=True,
                          pad_mode="constant", return_complex=True)
        power = spec.real ** 2 + spec.imag ** 2  # (B, F, T)
        filters = self.filters
        if warps is not None:
            if len(warps) != waves.shape[0]:
                raise ValueError(f"{len(warps)} VTLP factors for {waves.shape[0]} waveforms")
            filters = torch.stack([self.filters if a == 1.0 else mel_filterbank(
                self.sample_rate, self.n_fft, self.n_mels, self.f_min, self.f_max, a).to(self.filters)
                for a in warps])
        mel = torch.matmul(filters, power)  # (B, n_mels, T)
        frames = self.frames(lengths).to(waves.device)
        return torch.log(mel + self.eps).transpose(1, 2), frames


def normalize(features: Tensor, frames: Tensor, eps: float = 1e-5) -> Tensor:
    """Each utterance's mel bands standardised over its valid frames (padding frames set to 0)."""
    T = features.shape[1]
    valid = (torch.arange(T, device=features.device)[None, :] < frames.to(features.device)[:, None])[..., None]
    n = valid.sum(1, keepdim=True).clamp(min=1)
    mean = (features * valid).sum(1, keepdim=True) / n
    var = (((features - mean) * valid) ** 2).sum(1, keepdim=True) / n
    return ((features - mean) / torch.sqrt(var + eps)) * valid





class StreamingLogMel:
    """``LogMel`` over audio that arrives in pieces: ``push(samples)`` returns the frames now complete, ``finish()``
    the rest; together they are exactly the frames ``LogMel`` computes on the whole signal (its centred frames: the
    signal zero-padded by n_fft/2 each side, frame m on padded samples [m·hop, m·hop + n_fft))."""

    def __init__(self, logmel: LogMel) -> None:
        self.m = logmel
        self.buffer = torch.zeros(logmel.n_fft // 2)
        self.start = 0  # absolute index (in the padded signal) of buffer[0]
        self.emitted = 0  # frames returned so far
        self.samples = 0

    def _frames_until(self, available: int) -> Tensor:
        m, hop, n_fft = self.m, self.m.hop_length, self.m.n_fft
        last = (available - n_fft) // hop  # the last frame whose window is complete
        if last < self.emitted:
            return torch.zeros(0, m.n_mels)
        seg = self.buffer[self.emitted * hop - self.start: last * hop + n_fft - self.start]
        spec = torch.stft(seg, n_fft, hop, m.win_length, m.window, center=False, return_complex=True)
        mel = torch.matmul(m.filters, spec.real ** 2 + spec.imag ** 2)
        self.emitted = last + 1
        drop = self.emitted * hop - self.start  # samples no later frame needs
        self.buffer, self.start = self.buffer[drop:], self.start + drop
        return torch.log(mel + m.eps).T

    def push(self, samples) -> Tensor:
        x = torch.as_tensor(samples, dtype=torch.float32).reshape(-1)
        self.samples += len(x)
        self.buffer = torch.cat([self.buffer, x])
        return self._frames_until(self.start + len(self.buffer))

    def finish(self) -> Tensor:
        total = 1 + self.samples // self.m.hop_length  # LogMel's frame count for the whole signal
        self.buffer = torch.cat([self.buffer, torch.zeros(self.m.n_fft // 2 + self.m.hop_length)])
        frames = self._frames_until(self.start + len(self.buffer))
        return frames[:max(0, total - (self.emitted - len(frames)))]

__all__ = ["LogMel", "StreamingLogMel", "mel_filterbank", "hz_to_mel", "mel_to_hz", "normalize", "vtlp_warp", "VTLP_F_HI"]
