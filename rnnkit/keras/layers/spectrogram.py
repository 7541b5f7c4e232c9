"""Keras's ``MelSpectrogram``: raw audio (batch, samples) to a (batch, num_mel_bins, frames) mel spectrogram, as
Keras 3 computes it — a speech model's front end inside the Keras model.

    S[t, k] = |STFT(x)[t, k]|^p                          (``ops.stft``, centred frames; p = ``mag_exp``)
    M[t, m] = Σ_k S[t, k] · A[k, m]                      (A: HTK triangles on mel(f) = 1127 ln(1 + f/700), peak 1,
                                                          from ``min_freq`` to ``max_freq``; the DC bin weighs 0)
    D = max(10 log10(max(M, p_min)) − 10 log10(max(|p_ref|, p_min)), max(D) − top_db)   (``power_to_db``; the max
                                                          over the whole batch, as Keras takes it)
"""

from __future__ import annotations

import math

import torch

from rnnkit.keras.layers.base import Layer


def _mel(hz: torch.Tensor) -> torch.Tensor:
    return 1127.0 * torch.log(1.0 + hz / 700.0)


def mel_weight_matrix(num_mel_bins: int, num_spectrogram_bins: int, sampling_rate: float, lower_edge_hertz: float,
                      upper_edge_hertz: float) -> torch.Tensor:
    """A: (num_spectrogram_bins, num_mel_bins) triangular filters, evenly spaced on the mel scale (HTK)."""
    hz = torch.linspace(0.0, sampling_rate / 2, num_spectrogram_bins, dtype=torch.float64)[1:]
    bins = _mel(hz)[:, None]
    edges = torch.linspace(float(_mel(torch.tensor(float(lower_edge_hertz), dtype=torch.float64))),
                           float(_mel(torch.tensor(float(upper_edge_hertz), dtype=torch.float64))), num_mel_bins + 2,
                           dtype=torch.float64)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising, falling = (bins - lower) / (center - lower), (upper - bins) / (upper - center)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    return torch.cat([torch.zeros(1, num_mel_bins, dtype=torch.float64), weights]).float()


class MelSpectrogram(Layer):
    def __init__(self, fft_length: int = 2048, sequence_stride: int = 512, sequence_length=None, window="hann",
                 sampling_rate: int = 16000, num_mel_bins: int = 128, min_freq: float = 20.0, max_freq=None,
                 power_to_db: bool = True, top_db: float = 80.0, mag_exp: float = 2.0, min_power: float = 1e-10,
                 ref_power: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.fft_length, self.sequence_stride = fft_length, sequence_stride
        self.sequence_length = sequence_length or fft_length
        self.window, self.sampling_rate, self.num_mel_bins = window, sampling_rate, num_mel_bins
        self.min_freq, self.max_freq = min_freq, max_freq or int(sampling_rate / 2)
        self.power_to_db, self.top_db, self.mag_exp = power_to_db, top_db, mag_exp
        self.min_power, self.ref_power = min_power, ref_power
        self._matrix = mel_weight_matrix(num_mel_bins, fft_length // 2 + 1, sampling_rate, min_freq, self.max_freq)

    def call(self, x, mask=None, training=False):
        from rnnkit.keras.ops.spectral import stft  # (ops build on the layers: imported when first used)

        real, imag = stft(x.float(), self.sequence_length, self.sequence_stride, self.fft_length, self.window, True)
        power = torch.sqrt(real * real + imag * imag) ** self.mag_exp
        mel = power @ self._matrix.to(power.device)
        if self.power_to_db:
            db = 10.0 * torch.log10(torch.clamp(mel, min=self.min_power))
            db = db - 10.0 * math.log10(max(abs(self.ref_power), self.min_power))
            mel = torch.maximum(db, db.max() - self.top_db)
        return mel.transpose(-1, -2)

    def get_config(self):
        return {**super().get_config(), "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": self.window, "sampling_rate": self.sampling_rate,
                "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq, "max_freq": self.max_freq,
                "power_to_db": self.power_to_db, "top_db": self.top_db, "mag_exp": self.mag_exp,
                "min_power": self.min_power, "ref_power": self.ref_power}


__all__ = ["MelSpectrogram", "mel_weight_matrix"]
