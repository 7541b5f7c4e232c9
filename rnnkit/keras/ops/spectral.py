"""``keras.ops.math``'s Fourier transforms — ``fft``, ``fft2``, ``ifft2``, ``rfft``, ``irfft``, ``stft``, ``istft`` —
on ``torch.fft``/``torch.stft`` with Keras's conventions: complex values travel as (real, imaginary) pairs of float
tensors, transforms run over the last axis (the last two for ``fft2``), and ``stft`` returns (…, frames, fft_length
// 2 + 1) — frames before frequency bins — windowed by a periodic Hann or Hamming window (or one given) of
``sequence_length`` samples, centred on padded frames (``center``):

    X[t, k] = Σ_n w[n] x[t·stride + n − c] e^{−2πi k n / N}      (N = fft_length, c = N/2 when centred)
"""

from __future__ import annotations

import torch

from rnnkit.keras.ops.core import convert_to_tensor as _t
from rnnkit.keras.ops.operation import operation


def _complex(x) -> torch.Tensor:
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"Input `x` should be a tuple of two tensors - real and imaginary. Received: x={x}")
    real, imag = _t(x[0]), _t(x[1])
    if real.shape != imag.shape:
        raise ValueError("Both the real and imaginary parts should have the same shape. Received: "
                         f"x[0].shape = {tuple(real.shape)}, x[1].shape = {tuple(imag.shape)}")
    if not (real.is_floating_point() and imag.is_floating_point()):
        raise ValueError(f"At least one tensor in input `x` is not of type float. Received: x={x}.")
    return torch.complex(real, imag)


def _pair(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return z.real, z.imag


@operation("FFT", module="math")
def fft(x):
    return _pair(torch.fft.fft(_complex(x)))


@operation("FFT2", module="math")
def fft2(x):
    return _pair(torch.fft.fft2(_complex(x)))


@operation("IFFT2", module="math")
def ifft2(x):
    return _pair(torch.fft.ifft2(_complex(x)))


@operation("RFFT", static=("fft_length",), module="math")
def rfft(x, fft_length=None):
    return _pair(torch.fft.rfft(_t(x), n=fft_length, dim=-1))


@operation("IRFFT", static=("fft_length",), module="math")
def irfft(x, fft_length=None):
    return torch.fft.irfft(_complex(x), n=fft_length, dim=-1)


def _window(window, length: int, dtype) -> torch.Tensor | None:
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f'If a string is passed to `window`, it must be one of `"hann"`, `"hamming"`. '
                             f"Received: window={window}")
        make = torch.hann_window if window == "hann" else torch.hamming_window
        return make(length, periodic=True, dtype=dtype)
    w = _t(window).to(dtype)
    if w.dim() != 1 or w.shape[-1] != length:
        raise ValueError(f"The shape of `window` must be equal to [sequence_length]. Received: window shape="
                         f"{tuple(w.shape)}")
    return w


@operation("STFT", static=("sequence_length", "sequence_stride", "fft_length", "window", "center"), module="math")
def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    x = _t(x)
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"Invalid input type. Expected `float32` or `float64`. Received: input type={x.dtype}")
    if fft_length < sequence_length:
        raise ValueError("`fft_length` must equal or larger than `sequence_length`. Received: sequence_length="
                         f"{sequence_length}, fft_length={fft_length}")
    w = _window(window, sequence_length, x.dtype)
    w = torch.ones(sequence_length, dtype=x.dtype) if w is None else w
    *batch, samples = x.shape
    z = torch.stft(x.reshape(-1, samples), n_fft=fft_length, hop_length=sequence_stride, win_length=sequence_length,
                   window=w.to(x.device), center=center, return_complex=True)
    return _pair(z.reshape(*batch, *z.shape[-2:]).transpose(-2, -1))


@operation("ISTFT", static=("sequence_length", "sequence_stride", "fft_length", "length", "window", "center"),
           module="math")
def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """The inverse of ``stft`` by overlap-add (torch's ``istft``): for ``sequence_length == fft_length``, centred
    frames and a window — the settings it inverts exactly."""
    z = _complex(x)
    w = _window(window, sequence_length, z.real.dtype)
    if not (sequence_length == fft_length and center and w is not None):
        raise ValueError("istft: rnnkit.keras inverts centred frames of sequence_length == fft_length with a window; "
                         f"got sequence_length={sequence_length}, fft_length={fft_length}, center={center}, "
                         f"window={window!r}")
    *batch, frames, bins = z.shape
    out = torch.istft(z.reshape(-1, frames, bins).transpose(-2, -1), n_fft=fft_length, hop_length=sequence_stride,
                      win_length=sequence_length, window=w.to(z.device), center=True, length=length)
    return out.reshape(*batch, out.shape[-1])


# --- NumPy's windows (symmetric, length x) -------------------------------------------------------------------------
def _window_op(class_name: str, fn):
    @operation(class_name)
    def op(x):
        return fn(int(x), periodic=False, dtype=torch.float32)
    op.__doc__ = f"NumPy's ``{class_name.lower()}`` window of ``x`` points."
    return op


bartlett = _window_op("Bartlett", torch.bartlett_window)
blackman = _window_op("Blackman", torch.blackman_window)
hamming = _window_op("Hamming", torch.hamming_window)
hanning = _window_op("Hanning", torch.hann_window)


@operation("Kaiser", static=("beta",))
def kaiser(x, beta):
    return torch.kaiser_window(int(x), periodic=False, beta=float(beta), dtype=torch.float32)


@operation("ExtractSequences", static=("sequence_length", "sequence_stride"), module="math")
def extract_sequences(x, sequence_length, sequence_stride):
    """The frames of the last axis: (..., n) → (..., 1 + (n − L) // S, L), frame k the values kS … kS + L − 1
    (audio framing, as Keras's ``extract_sequences``)."""
    return _t(x).unfold(-1, sequence_length, sequence_stride)


@operation("Polar", module="nn")
def polar(abs_, angle):
    """The complex numbers abs · e^{i·angle} (a complex tensor)."""
    a = _t(abs_)
    a = a if a.is_floating_point() else a.float()
    return torch.polar(a, _t(angle).to(a.dtype))


@operation("ViewAsReal", module="math")
def view_as_real(x):
    """A complex tensor as (..., 2) real and imaginary parts."""
    return torch.view_as_real(_t(x))


@operation("ViewAsComplex", module="math")
def view_as_complex(x):
    """(..., 2) real and imaginary parts as a complex tensor."""
    x = _t(x)
    return torch.view_as_complex((x if x.is_floating_point() else x.float()).contiguous())
