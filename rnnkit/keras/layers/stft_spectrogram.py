"""Keras's ``STFTSpectrogram``: a (batch, samples, channels) signal to its short-time Fourier transform, computed as
Keras 3 computes it — a strided convolution with two kernels (``initializers.STFT``: the windowed cos and −sin of each
bin's frequency), so the transform is a layer with weights (trainable, as Keras's; freeze them with
``trainable=False``):

    Re[t, k] = Σ_τ x[t·h + τ] · w[τ] cos(2π τ k / n) / s,   Im[t, k] = −Σ_τ x[t·h + τ] · w[τ] sin(2π τ k / n) / s
    (frames of ``frame_length`` samples every h = ``frame_step`` (half a frame by default), n = ``fft_length`` (the
    next power of two), k = 0…n/2, s the window's ``scaling``)

``mode``: "log" log(max(|X|, ε)), "magnitude" |X| (ε-floored), "psd" |X|² with the bins but the first and last
doubled, "real", "imag", "angle" atan2(Im, Re), "stft" Re and Im side by side. Each channel is transformed on its
own; the output is (batch, frames, channels · bins), or (batch, frames, bins, channels) with ``expand_dims`` — a
recurrent speech model's input.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch.nn import functional as F

from rnnkit.keras import initializers
from rnnkit.keras.backend import EPSILON
from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.convolutional_nd import _format

MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


class STFTSpectrogram(Layer):
    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None, window="hann", periodic=False,
                 scaling="density", padding="valid", expand_dims=False, data_format=None, **kwargs):
        if frame_step is not None and not 1 <= frame_step <= frame_length:
            raise ValueError(f"`frame_step` should be a positive integer not greater than `frame_length`. Received "
                             f"frame_step={frame_step}, frame_length={frame_length}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(f"`fft_length` should be not less than `frame_length`. Received fft_length={fft_length}, "
                             f"frame_length={frame_length}")
        if fft_length is not None and (fft_length & -fft_length) != fft_length:
            warnings.warn(f"`fft_length` is recommended to be a power of two. Received fft_length={fft_length}",
                          stacklevel=2)
        if mode not in MODES:
            raise ValueError(f"Output mode is invalid, it must be one of {', '.join(MODES)}. Received: mode={mode}")
        if padding not in ("valid", "same"):
            raise ValueError(f"Padding is invalid, it should be 'valid', 'same'. Received: padding={padding}")
        initializers.STFT("real", window, scaling, periodic)  # the window and scaling checked now
        super().__init__(**kwargs)
        self.mode, self.frame_length, self.frame_step, self.fft_length = mode, frame_length, frame_step, fft_length
        self.step = frame_step or frame_length // 2
        self.n_fft = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window, self.periodic, self.scaling, self.padding = window, periodic, scaling, padding
        self.expand_dims, self.data_format = expand_dims, _format(data_format)

    def build(self, input_shape):
        shape = (self.frame_length, 1, self.n_fft // 2 + 1)
        for side in ("real", "imag"):
            if self.mode != {"real": "imag", "imag": "real"}[side]:
                self.add_weight(shape, initializers.STFT(side, self.window, self.scaling, self.periodic),
                                name=f"{side}_kernel")

    def _frames(self, x, kernel) -> torch.Tensor:
        """(batch, channels, bins, frames): each channel convolved on its own."""
        z = x.transpose(1, 2) if self.data_format == "channels_last" else x
        batch, channels, length = z.shape
        z = z.reshape(batch * channels, 1, length)
        if self.padding == "same":
            out = -(-length // self.step)
            total = max((out - 1) * self.step + self.frame_length - length, 0)
            z = F.pad(z, (total // 2, total - total // 2))
        y = F.conv1d(z, kernel.permute(2, 1, 0), stride=self.step)  # (batch · channels, bins, frames)
        return y.reshape(batch, channels, y.shape[1], y.shape[2])

    def _arranged(self, y) -> torch.Tensor:
        batch, channels, bins, frames = y.shape
        if self.expand_dims:
            return y.permute(0, 3, 2, 1) if self.data_format == "channels_last" else y.permute(0, 1, 3, 2)
        y = y.reshape(batch, channels * bins, frames)
        return y.transpose(1, 2) if self.data_format == "channels_last" else y

    def call(self, x, mask=None, training=False):
        if x.dim() != 3 or not x.is_floating_point():
            raise ValueError(f"STFTSpectrogram {self.name!r}: expected a float (batch, samples, channels) signal, got "
                             f"{tuple(x.shape)} of {x.dtype}")
        re = self._frames(x, self.real_kernel) if self.mode != "imag" else None
        im = self._frames(x, self.imag_kernel) if self.mode != "real" else None
        if self.mode in ("real", "imag"):
            return self._arranged(re if self.mode == "real" else im)
        if self.mode == "angle":
            return self._arranged(torch.atan2(im, re))
        if self.mode == "stft":
            return self._arranged(torch.cat([re, im], dim=2))
        power = re.square() + im.square()
        if self.mode == "psd":
            return self._arranged(power + F.pad(power[:, :, 1:-1], (0, 0, 1, 1)))
        magnitude = self._arranged(power.clamp_min(EPSILON).sqrt())
        return magnitude if self.mode == "magnitude" else magnitude.clamp_min(EPSILON).log()

    def compute_mask(self, x, mask):
        return None

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length, "window": self.window,
                "periodic": self.periodic, "scaling": self.scaling, "padding": self.padding,
                "data_format": self.data_format, "expand_dims": self.expand_dims}


__all__ = ["STFTSpectrogram"]
