"""``rnnkit.keras.initializers``: Keras 3's initializers, with its names, configs and — seeded — its numbers.

A seeded initializer draws from a ``torch.Generator`` seeded with ``seed`` at every call, exactly as Keras 3 does on
the PyTorch backend (``torch.rand``/``torch.normal`` with that generator), so ``GlorotUniform(seed=3)((4, 8))`` gives
the same array as ``keras.initializers.GlorotUniform(seed=3)((4, 8))`` and the same array at every call. Unseeded ones
draw from torch's global generator (``torch.manual_seed`` makes them repeatable).

Layers take an initializer as a name (``"glorot_uniform"``), an object from this module, a serialized config dict, a
real ``keras.initializers`` object, or any callable ``f(shape, dtype=None)`` returning an array.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from rnnkit.keras.serialization import lookup, snake_table
from rnnkit.keras.serialization import serialize as serialize_object


class Initializer:
    def __call__(self, shape, dtype=None) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class Constant(Initializer):
    """``value`` everywhere — a number, or an array broadcast to the shape (Keras multiplies it by ones: a pretrained
    embedding matrix as ``Embedding(..., embeddings_initializer=Constant(matrix))``)."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        value = torch.as_tensor(np.asarray(self.value, dtype=np.float32))
        try:
            return (value * torch.ones(tuple(shape))).reshape(tuple(shape))
        except RuntimeError:
            raise ValueError(f"Constant: a value of shape {tuple(value.shape)} does not fit the weight's shape "
                             f"{tuple(shape)}") from None

    def get_config(self):
        value = self.value
        return {"value": np.asarray(value).tolist() if np.ndim(value) else value}


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return torch.zeros(tuple(shape))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return torch.ones(tuple(shape))


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity initializer: expected a 2-D shape, got {tuple(shape)}")
        return self.gain * torch.eye(*shape)

    def get_config(self):
        return {"gain": self.gain}


class RandomInitializer(Initializer):
    def __init__(self, seed=None):
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"seed must be an integer or None, got {seed!r}")
        self.seed = seed

    def generator(self) -> torch.Generator | None:
        """A fresh generator at each call (seeded: the same numbers every time, as Keras 3), or None (global RNG)."""
        if self.seed is None:
            return None
        return torch.Generator().manual_seed(self.seed & 0xFFFFFFFF)

    def uniform(self, shape, low, high):
        return (high - low) * torch.rand(tuple(shape), generator=self.generator()) + low

    def normal(self, shape, mean, std, generator=None):
        return torch.normal(mean, std, size=tuple(shape), generator=generator or self.generator())

    def truncated_normal(self, shape, mean, std):
        """Keras 3's torch recipe: four normal draws per value, keep the first inside (-2, 2)."""
        x = self.normal((*shape, 4), 0.0, 1.0)
        first = ((x > -2) & (x < 2)).max(-1, keepdim=True)[1]
        return x.gather(-1, first).squeeze(-1) * std + mean

    def get_config(self):
        return {"seed": self.seed}


class RandomUniform(RandomInitializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval = minval, maxval
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return self.uniform(shape, self.minval, self.maxval)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class RandomNormal(RandomInitializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return self.normal(shape, self.mean, self.stddev)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomNormal):
    def __call__(self, shape, dtype=None):
        return self.truncated_normal(shape, self.mean, self.stddev)


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple[int, int]:
    """(fan_in, fan_out): the products of the named ``input_axes``/``output_axes`` of ``shape`` when both are given (an
    EinsumDense kernel), else Keras's convolution rule (the last two axes, times the receptive field)."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(RandomInitializer):
    """``scale / n`` variance with n = fan_in, fan_out or their mean; uniform, truncated or untruncated normal."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg, got {mode!r}")
        distribution = "truncated_normal" if distribution.lower() == "normal" else distribution.lower()
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"VarianceScaling: unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes, self.output_axes = input_axes, output_axes
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            return self.truncated_normal(shape, 0.0, math.sqrt(scale) / 0.87962566103423978)
        if self.distribution == "untruncated_normal":
            return self.normal(shape, 0.0, math.sqrt(scale))
        limit = math.sqrt(3.0 * scale)
        return self.uniform(shape, -limit, limit)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


def _preset(name: str, scale: float, mode: str, distribution: str):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}

    doc = f"``VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})``."
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc,
                                           "__module__": __name__})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """QR of a normal matrix, signs fixed by R's diagonal, times ``gain``."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer: expected at least 2 dimensions, got shape {tuple(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self.normal((max(rows, cols), min(rows, cols)), 0.0, 1.0)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.t()
        return self.gain * q.reshape(tuple(shape)).contiguous()

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


class STFT(Initializer):
    """Keras's ``STFT(side="real", window="hann", scaling="density", periodic=False)``: a (frame_length, channels,
    bins) kernel whose convolution with a signal is the real (cos) or imaginary (−sin) part of its short-time Fourier
    transform — K[t, ·, k] = cos(−2π t k / n) · w[t] / s (``side="imag"``: sin), n = 2(bins − 1), w the window
    (scipy's, by name, or an array), s = sqrt(Σ w²) for ``scaling="density"``, Σ |w| for ``"spectrum"``, 1 for None.
    ``STFTSpectrogram``'s kernels."""

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(f"Scaling is invalid, it must be `None`, 'density' or 'spectrum'. Received "
                             f"scaling={scaling}")
        if isinstance(window, str):
            _window(window, 1, periodic)  # an unknown window name is refused now, as Keras does
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype=None):
        frame_length, _, bins = shape  # (computed in float32, in Keras's order: its rounding, e.g. at the Nyquist bin)
        t = torch.arange(frame_length, dtype=torch.float32).reshape(-1, 1, 1)
        freq = torch.arange(bins, dtype=torch.float32).reshape(1, 1, -1) / (2 * (bins - 1))
        angle = (-2 * t) * freq * torch.arccos(torch.tensor(-1.0))
        kernel = torch.cos(angle) if self.side == "real" else torch.sin(angle)
        if self.window is not None:
            w = torch.as_tensor(_window(self.window, frame_length, self.periodic) if isinstance(self.window, str)
                                else np.asarray(self.window), dtype=torch.float32)
            if w.shape != (frame_length,):
                raise ValueError(f"The shape of `window` must be equal to [frame_length]. Received: window shape="
                                 f"{tuple(w.shape)}")
            w = w.reshape(-1, 1, 1)
            scale = {"density": w.square().sum().sqrt(), "spectrum": w.abs().sum(), None: 1.0}[self.scaling]
            kernel = kernel * w / scale
        return kernel.float().expand(tuple(shape)).clone()

    def get_config(self):
        return {"side": self.side, "window": self.window, "periodic": self.periodic, "scaling": self.scaling}


def _window(name: str, length: int, periodic: bool) -> np.ndarray:
    from scipy.signal import get_window

    return get_window(name, length, fftbins=periodic)


CLASSES = (Constant, Zeros, Ones, Identity, RandomUniform, RandomNormal, TruncatedNormal, VarianceScaling, GlorotUniform,
           GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal, STFT)
TABLE = {**snake_table(CLASSES), "uniform": RandomUniform, "normal": RandomNormal, "zero": Zeros, "one": Ones,
         "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal, "STFTInitializer": STFT}


class _Foreign(Initializer):
    """Any other callable ``f(shape, dtype=None)`` (a real Keras initializer, a user's function): its array as torch."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, shape, dtype=None):
        out = self.fn(tuple(shape), dtype="float32")
        out = out.detach().cpu() if isinstance(out, torch.Tensor) else torch.from_numpy(np.asarray(out))
        return out.float().reshape(tuple(shape))

    def get_config(self):
        cfg = getattr(self.fn, "get_config", None)
        return cfg() if cfg is not None else {}


def get(identifier) -> Initializer:
    """``keras.initializers.get``: a name, a config dict, one of these objects, or any callable — as an Initializer."""
    obj = lookup(identifier, TABLE, "initializer")
    if obj is not None and not isinstance(obj, Initializer):
        obj = _Foreign(obj)
    return obj


def serialize_initializer(init) -> dict:
    """The config Keras writes; a real Keras initializer serializes under its own class name."""
    if isinstance(init, _Foreign):
        return {"module": "keras.initializers", "class_name": type(init.fn).__name__, "config": init.get_config(),
                "registered_name": None}
    return serialize_object(init, "keras.initializers")


def serialize(initializer) -> dict:
    """``keras.initializers.serialize``: Keras's {"module", "class_name", "config", "registered_name"}."""
    return serialize_initializer(initializer)


def deserialize(config, custom_objects=None) -> Initializer:
    """``keras.initializers.deserialize``: the initializer a serialized dict describes."""
    obj = lookup(config, {**TABLE, **(custom_objects or {})}, "initializer")
    return obj if isinstance(obj, Initializer) else _Foreign(obj)


# Keras's other names for the same classes: initializers.he_normal(seed=1), initializers.OrthogonalInitializer
(constant, zeros, ones, identity, random_uniform, random_normal, truncated_normal, variance_scaling, glorot_uniform,
 glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal, orthogonal, stft) = CLASSES
IdentityInitializer, OrthogonalInitializer, STFTInitializer = Identity, Orthogonal, STFT

__all__ = [c.__name__ for c in CLASSES] + ["Initializer", "get", "compute_fans", "serialize", "deserialize",
                                           "IdentityInitializer", "OrthogonalInitializer", "constant", "zeros", "ones",
                                           "identity", "random_uniform", "random_normal", "truncated_normal",
                                           "variance_scaling", "glorot_uniform", "glorot_normal", "he_uniform",
                                           "he_normal", "lecun_uniform", "lecun_normal", "orthogonal", "stft",
                                           "STFTInitializer"]
