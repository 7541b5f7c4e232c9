"""On-the-fly augmentation for speech, every draw from a ``torch.Generator`` the caller seeds (per utterance and epoch:
repeatable, and a resumed run draws what the uninterrupted one drew).

* speed perturbation (Ko et al. 2015): the waveform is resampled as if it had been recorded at ``factor × rate``, so it
  plays ``factor`` times faster (tempo and pitch change together); factors 0.9 / 1.0 / 1.1;
* additive noise at a signal-to-noise ratio drawn in ``[lo, hi]`` dB: ``x + g·n`` with ``g`` chosen so that
  ``10 log10(P_x / (g² P_n)) = SNR`` (P = mean square); the noise is white, brown (integrated white: a low rumble) or
  another utterance;
* SpecAugment (Park et al. 2019): ``freq_masks`` bands of up to ``freq_width`` mel channels and ``time_masks`` spans of
  up to ``time_width`` frames set to 0 — the mean, on normalised features.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rnnkit.data.audio import resample

SPEED_FACTORS = (0.9, 1.0, 1.1)


def speed_perturb(x: np.ndarray, rate: int, factor: float) -> np.ndarray:
    return resample(x, int(round(rate * factor)), rate) if factor != 1.0 else x


def add_noise(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``x`` plus ``noise`` (tiled or cut to x's length) scaled to the given SNR."""
    if len(noise) < len(x):
        noise = np.tile(noise, int(np.ceil(len(x) / max(len(noise), 1))))
    noise = noise[:len(x)]
    p_x, p_n = float(np.mean(x ** 2)), float(np.mean(noise ** 2))
    if p_x == 0 or p_n == 0:
        return x
    gain = np.sqrt(p_x / (p_n * 10 ** (snr_db / 10)))
    return (x + gain * noise).astype(np.float32)


def synthetic_noise(n: int, g: torch.Generator) -> np.ndarray:
    white = torch.randn(n, generator=g).numpy()
    if torch.rand(1, generator=g).item() < 0.5:
        return white.astype(np.float32)
    brown = np.cumsum(white)
    brown -= np.convolve(brown, np.ones(400) / 400, mode="same")  # remove the drift, keep the rumble
    return brown.astype(np.float32)


def spec_augment(features: Tensor, g: torch.Generator, freq_masks: int = 2, freq_width: int = 15,
                 time_masks: int = 2, time_width: int = 20) -> Tensor:
    """(T, F) features with masked bands and spans (a copy)."""
    out = features.clone()
    T, Fdim = out.shape
    for _ in range(freq_masks):
        w = int(torch.randint(0, freq_width + 1, (1,), generator=g))
        f0 = int(torch.randint(0, max(1, Fdim - w + 1), (1,), generator=g))
        out[:, f0:f0 + w] = 0
    for _ in range(time_masks):
        w = int(torch.randint(0, min(time_width, max(T // 5, 1)) + 1, (1,), generator=g))
        t0 = int(torch.randint(0, max(1, T - w + 1), (1,), generator=g))
        out[t0:t0 + w] = 0
    return out


__all__ = ["speed_perturb", "add_noise", "synthetic_noise", "spec_augment", "SPEED_FACTORS"]
