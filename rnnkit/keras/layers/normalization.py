"""Keras's normalization layers: ``LayerNormalization`` (each step over its features) and ``BatchNormalization``
(each feature over the batch — and the time steps — with moving statistics for inference), as Keras 3 computes them.

BatchNormalization, for a feature j, with γ (``gamma``), β (``beta``) learnt and μ̂, σ̂² (``moving_mean``,
``moving_variance``) kept but not trained:

    training (``fit``):  μ_j = mean of x_·j over the batch (and steps),  σ²_j = the mean of (x_·j − μ_j)² (biased)
                         y = γ_j · (x − μ_j) / sqrt(σ²_j + ε) + β_j
                         μ̂_j ← m · μ̂_j + (1 − m) · μ_j,  σ̂²_j ← m · σ̂²_j + (1 − m) · σ²_j    (m = ``momentum``)
    inference (``predict``, ``evaluate``; and a frozen layer, ``trainable=False``, even in ``fit``):
                         y = γ_j · (x − μ̂_j) / sqrt(σ̂²_j + ε) + β_j

With a mask (after ``Embedding(mask_zero=True)`` or ``Masking``) the batch moments count only the unmasked steps, their
sums divided by (count + 1e-7) as Keras's.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from rnnkit.keras import constraints, initializers, regularizers
from rnnkit.keras.backend import EPSILON  # added to the masked moments' counts, Normalization's floor on √σ²
from rnnkit.keras.data_adapters import Batches, is_stream, unpack
from rnnkit.keras.layers.base import Layer


def _refuse_penalties(owner: str, kwargs: dict) -> None:
    for key in ("beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"):
        if kwargs.pop(key, None) is not None:
            raise ValueError(f"{owner}: {key} is not supported by rnnkit.keras")


class LayerNormalization(Layer):
    """y = γ · (x − mean) / sqrt(var + ε) + β over the last axis (``axis=-1``), γ (``gamma``) and β (``beta``) learnt,
    as Keras (ε = 1e-3 by default)."""

    supports_masking = True

    def __init__(self, axis=-1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 rms_scaling: bool = False, beta_initializer="zeros", gamma_initializer="ones", **kwargs):
        _refuse_penalties("LayerNormalization", kwargs)
        super().__init__(**kwargs)
        if axis not in (-1, [-1], (-1,)):
            raise ValueError(f"LayerNormalization: only axis=-1 is supported by rnnkit.keras, got {axis!r}")
        if rms_scaling:
            raise ValueError("LayerNormalization: rms_scaling is not supported by rnnkit.keras")
        self.axis, self.epsilon, self.center, self.scale = -1, float(epsilon), center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def build(self, input_shape):
        if self.scale:
            self.add_weight((input_shape[-1],), self.gamma_initializer, name="gamma")
        if self.center:
            self.add_weight((input_shape[-1],), self.beta_initializer, name="beta")

    def call(self, x, mask=None, training=False):
        return F.layer_norm(x, x.shape[-1:], self.gamma if self.scale else None, self.beta if self.center else None,
                            self.epsilon)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale,
                "beta_initializer": initializers.serialize_initializer(self.beta_initializer),
                "gamma_initializer": initializers.serialize_initializer(self.gamma_initializer)}


class BatchNormalization(Layer):
    """Keras's ``BatchNormalization(axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, ...)`` — the
    equations above; weights in Keras's order (gamma, beta, moving_mean, moving_variance: the last two non-trainable).
    Batch renormalization (``renorm``) and ``synchronized`` (TensorFlow only in Keras too) are refused."""

    supports_masking = True

    def __init__(self, axis=-1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, renorm: bool = False,
                 renorm_clipping=None, renorm_momentum: float = 0.99, synchronized: bool = False, **kwargs):
        super().__init__(**kwargs)
        if renorm:
            raise ValueError("BatchNormalization: renorm=True (batch renormalization) is not supported by rnnkit.keras")
        if synchronized:
            raise ValueError("BatchNormalization: synchronized=True is only supported with Keras's TensorFlow backend")
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        self.center, self.scale = center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer, self.gamma_regularizer = regularizers.get(beta_regularizer), regularizers.get(
            gamma_regularizer)
        self.beta_constraint, self.gamma_constraint = constraints.get(beta_constraint), constraints.get(
            gamma_constraint)

    def build(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape):
            raise ValueError(f"Axis {self.axis} is out of bounds for input shape {tuple(input_shape)}. "
                             f"Received: axis={self.axis}")
        shape = (input_shape[self.axis],)
        if self.scale:
            self.add_weight(shape, self.gamma_initializer, name="gamma", regularizer=self.gamma_regularizer,
                            constraint=self.gamma_constraint)
        if self.center:
            self.add_weight(shape, self.beta_initializer, name="beta", regularizer=self.beta_regularizer,
                            constraint=self.beta_constraint)
        self.add_weight(shape, self.moving_mean_initializer, name="moving_mean", trainable=False)
        self.add_weight(shape, self.moving_variance_initializer, name="moving_variance", trainable=False)

    def _moments(self, x: torch.Tensor, mask, axes: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        if mask is None:
            return x.mean(axes), x.var(axes, unbiased=False)
        w = mask.unsqueeze(-1).expand_as(x).to(x.dtype)
        count = w.sum(axes, keepdim=True) + EPSILON
        mean = (x * w).sum(axes, keepdim=True) / count
        var = (((x - mean) * w) ** 2).sum(axes, keepdim=True) / count
        return mean.flatten(), var.flatten()

    def call(self, x, mask=None, training=False):
        if mask is not None and mask.dim() != x.dim() - 1:
            raise ValueError("The mask provided should be one dimension less than the inputs. Received: "
                             f"mask.shape={tuple(mask.shape)}, inputs.shape={tuple(x.shape)}")
        axis = self.axis % x.dim()
        axes = [d for d in range(x.dim()) if d != axis]
        if training and self.trainable:
            mean, var = self._moments(x, mask, axes)
            with torch.no_grad():
                m = self.momentum
                self.moving_mean.copy_(self.moving_mean * m + mean.detach() * (1 - m))
                self.moving_variance.copy_(self.moving_variance * m + var.detach() * (1 - m))
        else:
            mean, var = self.moving_mean, self.moving_variance
        shape = [1] * x.dim()
        shape[axis] = -1
        y = (x - mean.reshape(shape)) * torch.rsqrt(var.reshape(shape) + self.epsilon)
        if self.scale:
            y = y * self.gamma.reshape(shape)
        if self.center:
            y = y + self.beta.reshape(shape)
        return y

    def get_config(self):
        ser_i, ser_r, ser_c = (initializers.serialize_initializer, regularizers.serialize_regularizer,
                               constraints.serialize_constraint)
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": ser_i(self.beta_initializer), "gamma_initializer": ser_i(self.gamma_initializer),
                "moving_mean_initializer": ser_i(self.moving_mean_initializer),
                "moving_variance_initializer": ser_i(self.moving_variance_initializer),
                "beta_regularizer": ser_r(self.beta_regularizer), "gamma_regularizer": ser_r(self.gamma_regularizer),
                "beta_constraint": ser_c(self.beta_constraint), "gamma_constraint": ser_c(self.gamma_constraint),
                "synchronized": False, "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99}


class GroupNormalization(Layer):
    """Keras's ``GroupNormalization(groups=32)``: the channels (last axis) split into G groups; each sample's group
    standardized over its channels and every other axis (time), y = γ_c (x − μ_g) / sqrt(σ²_g + ε) + β_c (Wu & He
    2018; ``groups=1`` is layer normalization over time and channels, ``groups=C`` instance normalization)."""

    supports_masking = True

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones", **kwargs):
        _refuse_penalties("GroupNormalization", kwargs)
        super().__init__(**kwargs)
        if axis not in (-1,):
            raise ValueError(f"GroupNormalization: only axis=-1 (channels last) is supported, got {axis!r}")
        self.groups, self.axis, self.epsilon, self.center, self.scale = groups, axis, float(epsilon), center, scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError("Axis -1 of input tensor should have a defined dimension but the layer received an input "
                             f"with shape {tuple(input_shape)}.")
        if self.groups > channels:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the number of channels "
                             f"({channels}).")
        if channels % self.groups:
            raise ValueError(f"Number of groups ({self.groups}) must be a multiple of the number of channels "
                             f"({channels}).")
        if self.scale:
            self.add_weight((channels,), self.gamma_initializer, name="gamma")
        if self.center:
            self.add_weight((channels,), self.beta_initializer, name="beta")

    def call(self, x, mask=None, training=False):
        shape = x.shape
        grouped = x.reshape(*shape[:-1], self.groups, shape[-1] // self.groups)
        axes = tuple(range(1, grouped.dim() - 2)) + (grouped.dim() - 1,)  # all but the batch and the group axes
        var, mean = torch.var_mean(grouped, dim=axes, correction=0, keepdim=True)
        y = ((grouped - mean) * torch.rsqrt(var + self.epsilon)).reshape(shape)
        if self.scale:
            y = y * self.gamma
        return y + self.beta if self.center else y

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize_initializer(self.beta_initializer),
                "gamma_initializer": initializers.serialize_initializer(self.gamma_initializer),
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None}


class RMSNormalization(Layer):
    """Keras's ``RMSNormalization``: y = x / sqrt(mean(x²) + ε) · s over the last axis, s (``scale``) learnt (Zhang &
    Sennrich 2019: layer normalization without the centring)."""

    supports_masking = True

    def __init__(self, axis: int = -1, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1, [-1], (-1,)):
            raise ValueError(f"RMSNormalization: only axis=-1 is supported by rnnkit.keras, got {axis!r}")
        self.axis, self.epsilon = [-1], float(epsilon)  # Keras keeps its axes as a list

    def build(self, input_shape):
        self.add_weight((input_shape[-1],), "ones", name="scale")

    def call(self, x, mask=None, training=False):
        return x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + self.epsilon) * self.scale

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


class UnitNormalization(Layer):
    """Keras's ``UnitNormalization(axis=-1)``: each vector scaled to length 1 along ``axis`` — x · min(1 / ‖x‖, 1e12)."""

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis

    def call(self, x, mask=None, training=False):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        return x * torch.clamp(torch.rsqrt((x * x).sum(axes, keepdim=True)), max=1e12)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Normalization(Layer):
    """Keras's ``Normalization(axis=-1, mean=None, variance=None, invert=False)``: each feature of the kept ``axis``
    standardized, y = (x − μ) / max(√σ², 1e-7), or — ``invert`` — put back, x · max(√σ², 1e-7) + μ. μ and σ² are
    given, or learnt from data by ``adapt(data)`` (an array, a tensor, or an iterable of batches — a list, a generator,
    a DataLoader or PyDataset, whose ``(x, y)`` batches give their x — merged batch by batch as Keras merges them,
    biased variance). The learnt μ, σ² (and a count Keras keeps at 0 for old files) are its weights, not trained."""

    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.axis = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set. Received: "
                             f"mean={mean} and variance={variance}")
        if mean is not None and np.shape(mean) != np.shape(variance):
            raise ValueError(f"When setting values directly, `mean` and `variance` must have the same shape. "
                             f"Received: mean shape {np.shape(mean)} and variance shape {np.shape(variance)}")
        self.input_mean, self.input_variance, self.invert = mean, variance, invert

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                             f"ndim={ndim}, while axis={self.axis}")
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        self._reduce = tuple(d for d in range(ndim) if d not in self._keep)
        self._broadcast = [input_shape[d] if d in self._keep else 1 for d in range(ndim)]
        if self.input_mean is None:
            shape = tuple(input_shape[d] for d in self._keep)
            self.add_weight(shape, "zeros", name="mean", trainable=False)
            self.add_weight(shape, "ones", name="variance", trainable=False)
            self.add_weight((), "zeros", name="count", trainable=False)

    @torch.no_grad()
    def adapt(self, data) -> None:
        if isinstance(data, (np.ndarray, torch.Tensor)):  # as Keras: an array is the data; any other iterable, batches
            batches = [torch.as_tensor(np.asarray(data), dtype=torch.float32)]
        else:
            batches = [torch.as_tensor(np.asarray(unpack(b)[0]), dtype=torch.float32) for b in
                       (Batches(data).epoch() if is_stream(data) else data)]
        if not batches:
            raise ValueError("adapt() received an empty iterable (no batches)")
        if not self.built:
            self.build(tuple(batches[0].shape))
            self.built = True
        mean = var = None
        seen = 0
        for b in batches:  # Keras's running merge of the batches' moments
            b_mean, b_var = b.mean(self._reduce), b.var(self._reduce, unbiased=False)
            n = int(np.prod([b.shape[d] for d in self._reduce])) if self._reduce else 1
            seen += n
            w = n / seen
            if mean is None:
                mean, var = b_mean, b_var
                continue
            new_mean = mean * (1 - w) + b_mean * w
            var = (var + (mean - new_mean) ** 2) * (1 - w) + (b_var + (b_mean - new_mean) ** 2) * w
            mean = new_mean
        self.mean.copy_(mean.reshape(self.mean.shape))
        self.variance.copy_(var.reshape(self.variance.shape))  # count stays 0: Keras keeps it for old files only

    def _moments(self, x: torch.Tensor):
        if self.input_mean is None:
            return self.mean.reshape(self._broadcast), self.variance.reshape(self._broadcast)
        mean, var = (torch.as_tensor(np.asarray(v), dtype=x.dtype) for v in (self.input_mean, self.input_variance))
        if mean.dim() > 0:  # aligned with the kept axes from the right, as Keras
            shape = [1] * x.dim()
            for i in range(1, mean.dim() + 1):
                shape[self._keep[-i]] = mean.shape[-i]
            mean, var = mean.reshape(shape), var.reshape(shape)
        return mean, var

    def call(self, x, mask=None, training=False):
        mean, var = self._moments(x)
        scale = torch.clamp(torch.sqrt(var), min=EPSILON)
        return mean + x * scale if self.invert else (x - mean) / scale

    def get_config(self):
        def plain(v):
            return np.array(v).tolist() if v is not None else None
        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": plain(self.input_mean), "variance": plain(self.input_variance)}


__all__ = ["LayerNormalization", "BatchNormalization", "UnitNormalization", "Normalization", "GroupNormalization",
           "RMSNormalization"]
