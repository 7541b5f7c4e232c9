"""Keras's losses and metrics by name or as classes, on torch, with Keras's conventions: probabilities clipped to
[1e-7, 1 − 1e-7] (``from_logits=True``: the logits' log-softmax / log-sigmoid instead), each sample's loss the mean
over its last axis (the sum over classes for cross-entropy), and Keras's default reduction, ``sum_over_batch_size``:

    loss = Σ_i w_i · ℓ_i / N        (ℓ_i the per-sample losses, N how many there are, w_i the sample weights, 1 if none)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from rnnkit.keras.backend import EPSILON as EPS


def _target(y_true, y_pred):
    return y_true.to(y_pred.dtype).reshape(y_pred.shape)


def _mse(y_true, y_pred, from_logits=False):
    return torch.mean((y_pred - _target(y_true, y_pred)) ** 2, dim=-1)


def _mae(y_true, y_pred, from_logits=False):
    return torch.mean(torch.abs(y_pred - _target(y_true, y_pred)), dim=-1)


def _binary(y_true, y_pred, from_logits=False):
    y = _target(y_true, y_pred)
    if from_logits:
        return torch.mean(F.binary_cross_entropy_with_logits(y_pred, y, reduction="none"), dim=-1)
    p = y_pred.clamp(EPS, 1 - EPS)
    return -torch.mean(y * torch.log(p) + (1 - y) * torch.log(1 - p), dim=-1)


def _log_probs(y_pred, from_logits):
    if from_logits:
        return torch.log_softmax(y_pred, dim=-1)
    return torch.log((y_pred / y_pred.sum(-1, keepdim=True)).clamp(EPS, 1 - EPS))


def _categorical(y_true, y_pred, from_logits=False):
    return -torch.sum(y_true.to(y_pred.dtype) * _log_probs(y_pred, from_logits), dim=-1)


def _sparse(y_true, y_pred, from_logits=False):
    idx = y_true.long().reshape(y_pred.shape[:-1]).unsqueeze(-1)
    return -_log_probs(y_pred, from_logits).gather(-1, idx).squeeze(-1)


def _mape(y_true, y_pred, from_logits=False):
    y = _target(y_true, y_pred)
    return 100 * torch.mean(torch.abs((y - y_pred) / torch.clamp(torch.abs(y), min=EPS)), dim=-1)


def _msle(y_true, y_pred, from_logits=False):
    y = _target(y_true, y_pred)
    return torch.mean((torch.log1p(torch.clamp(y_pred, min=EPS)) - torch.log1p(torch.clamp(y, min=EPS))) ** 2, dim=-1)


def _huber(y_true, y_pred, delta=1.0):
    e = y_pred - _target(y_true, y_pred)
    a = torch.abs(e)
    return torch.mean(torch.where(a <= delta, 0.5 * e ** 2, delta * a - 0.5 * delta ** 2), dim=-1)


def _log_cosh(y_true, y_pred, from_logits=False):
    e = y_pred - _target(y_true, y_pred)  # log cosh e = e + softplus(−2e) − log 2, stable for large |e|
    return torch.mean(e + F.softplus(-2 * e) - math.log(2.0), dim=-1)


def _poisson(y_true, y_pred, from_logits=False):
    y = _target(y_true, y_pred)
    return torch.mean(y_pred - y * torch.log(y_pred + EPS), dim=-1)


def _kl_divergence(y_true, y_pred, from_logits=False):
    y, p = _target(y_true, y_pred).clamp(EPS, 1), y_pred.clamp(EPS, 1)
    return torch.sum(y * torch.log(y / p), dim=-1)


def _cosine_similarity(y_true, y_pred, axis=-1):
    def unit(v):
        return v * torch.rsqrt(torch.clamp(torch.sum(v * v, dim=axis, keepdim=True), min=1e-12))
    return -torch.sum(unit(_target(y_true, y_pred)) * unit(y_pred), dim=axis)


def _signs(y_true, y_pred):
    """Hinge targets: labels 0/1 become −1/+1 (as Keras converts them); −1/+1 stay."""
    y = _target(y_true, y_pred)
    return torch.where((y == 0) | (y == 1), 2 * y - 1, y) if bool(((y == 0) | (y == 1)).all()) else y


def _hinge(y_true, y_pred, from_logits=False):
    return torch.mean(torch.clamp(1 - _signs(y_true, y_pred) * y_pred, min=0), dim=-1)


def _squared_hinge(y_true, y_pred, from_logits=False):
    return torch.mean(torch.clamp(1 - _signs(y_true, y_pred) * y_pred, min=0) ** 2, dim=-1)


def _categorical_hinge(y_true, y_pred, from_logits=False):
    y = _target(y_true, y_pred)
    pos, neg = torch.sum(y * y_pred, dim=-1), torch.amax((1 - y) * y_pred, dim=-1)
    return torch.clamp(neg - pos + 1, min=0)


def _ctc(y_true, y_pred, from_logits=False):
    """Keras's ``losses.ctc``: y_true (batch, S) label ids with 0 the blank and the padding (its non-zero entries are
    each row's labels), y_pred (batch, T, classes) logits, every step of every row used."""
    from rnnkit.keras.ops.nn import ctc_loss

    if y_true.dim() != 2 or y_pred.dim() != 3:
        raise ValueError(f"CTC takes y_true of shape (batch_size, max_length) and y_pred logits of shape (batch_size, "
                         f"max_length, num_classes); got {tuple(y_true.shape)} and {tuple(y_pred.shape)}")
    lengths = torch.full((y_pred.shape[0],), y_pred.shape[1], dtype=torch.long, device=y_pred.device)
    return ctc_loss(y_true, y_pred, (y_true != 0).sum(-1), lengths, mask_index=0)


def reduce(per_sample: torch.Tensor, sample_weight=None) -> torch.Tensor:
    """Keras's ``sum_over_batch_size``: Σ w·ℓ / the number of per-sample losses (the weights broadcast from the
    batch axis: one weight per sample, or per time step for a sequence output)."""
    if sample_weight is not None:
        w = torch.as_tensor(sample_weight, dtype=per_sample.dtype, device=per_sample.device)
        w = w.reshape(w.shape + (1,) * (per_sample.dim() - w.dim())) if w.dim() < per_sample.dim() else w
        per_sample = per_sample * w
    return per_sample.sum() / max(per_sample.numel(), 1)


class Loss:
    """A Keras loss object: ``loss(y_true, y_pred, sample_weight=None)``, its ``name`` and ``get_config``."""

    per_sample = staticmethod(_mse)
    default_name = "loss"

    def __init__(self, from_logits: bool = False, name: str | None = None, reduction: str = "sum_over_batch_size"):
        if reduction != "sum_over_batch_size":
            raise ValueError(f"{type(self).__name__}: only Keras's default reduction 'sum_over_batch_size' is "
                             f"supported, got {reduction!r}")
        self.from_logits, self.name, self.reduction = bool(from_logits), name or self.default_name, reduction

    def losses(self, y_true, y_pred) -> torch.Tensor:
        """The per-sample losses."""
        return self.per_sample(y_true, y_pred, self.from_logits)

    def __call__(self, y_true, y_pred, sample_weight=None) -> torch.Tensor:
        return reduce(self.losses(y_true, y_pred), sample_weight)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction, "from_logits": self.from_logits}


def _loss_class(name: str, fn, default_name: str, logits: bool):
    if logits:
        def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                     reduction: str = "sum_over_batch_size", name: str | None = None, dtype=None):
            Loss.__init__(self, from_logits, name, reduction)
            if not 0 <= label_smoothing <= 1:
                raise ValueError(f"{type(self).__name__}: label_smoothing must be in [0, 1], got {label_smoothing}")
            if axis != -1:
                raise ValueError(f"{type(self).__name__}: only axis=-1 (the classes last) is supported, got {axis}")
            self.label_smoothing = float(label_smoothing)
    else:
        def __init__(self, reduction: str = "sum_over_batch_size", name: str | None = None, dtype=None,
                     from_logits: bool = False):  # (rnnkit's files before session 30 wrote from_logits=False)
            if from_logits:
                raise TypeError(f"{type(self).__name__} takes no from_logits")
            Loss.__init__(self, False, name, reduction)

        def get_config(self) -> dict:
            return {"name": self.name, "reduction": self.reduction}

        return type(name, (Loss,), {"per_sample": staticmethod(fn), "default_name": default_name,
                                    "__init__": __init__, "get_config": get_config, "__doc__": f"Keras's ``{name}``."})

    return type(name, (Loss,), {"per_sample": staticmethod(fn), "default_name": default_name, "__init__": __init__,
                                "__doc__": f"Keras's ``{name}``."})


class _Smoothed(Loss):
    """Keras's label smoothing: targets pulled towards the uniform distribution before the cross-entropy,
    y ← y·(1 − ε) + ε/K (K classes; K = 2 for a binary target)."""

    def losses(self, y_true, y_pred):
        if self.label_smoothing:
            k = 2 if type(self).__name__ == "BinaryCrossentropy" else y_pred.shape[-1]
            y_true = _target(y_true, y_pred) * (1 - self.label_smoothing) + self.label_smoothing / k
        return self.per_sample(y_true, y_pred, self.from_logits)

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "axis": -1}


MeanSquaredError = _loss_class("MeanSquaredError", _mse, "mean_squared_error", False)
MeanAbsoluteError = _loss_class("MeanAbsoluteError", _mae, "mean_absolute_error", False)
MeanAbsolutePercentageError = _loss_class("MeanAbsolutePercentageError", _mape, "mean_absolute_percentage_error",
                                          False)
MeanSquaredLogarithmicError = _loss_class("MeanSquaredLogarithmicError", _msle, "mean_squared_logarithmic_error",
                                          False)
LogCosh = _loss_class("LogCosh", _log_cosh, "log_cosh", False)
Poisson = _loss_class("Poisson", _poisson, "poisson", False)
KLDivergence = _loss_class("KLDivergence", _kl_divergence, "kl_divergence", False)
Hinge = _loss_class("Hinge", _hinge, "hinge", False)
SquaredHinge = _loss_class("SquaredHinge", _squared_hinge, "squared_hinge", False)
CategoricalHinge = _loss_class("CategoricalHinge", _categorical_hinge, "categorical_hinge", False)
CTC = _loss_class("CTC", _ctc, "ctc", False)
BinaryCrossentropy = type("BinaryCrossentropy", (_Smoothed, _loss_class("_B", _binary, "binary_crossentropy", True)),
                          {"__doc__": "Keras's ``BinaryCrossentropy``."})
CategoricalCrossentropy = type("CategoricalCrossentropy",
                               (_Smoothed, _loss_class("_C", _categorical, "categorical_crossentropy", True)),
                               {"__doc__": "Keras's ``CategoricalCrossentropy``."})


class SparseCategoricalCrossentropy(Loss):
    """Keras's ``SparseCategoricalCrossentropy``."""

    per_sample = staticmethod(_sparse)
    default_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, ignore_class=None, reduction: str = "sum_over_batch_size",
                 name: str | None = None, dtype=None):
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy: ignore_class is not supported by rnnkit.keras (give "
                             "those targets sample weight 0)")
        super().__init__(from_logits, name, reduction)


class Huber(Loss):
    """Keras's ``Huber(delta=1.0)``: ½e² where |e| ≤ δ, δ|e| − ½δ² beyond (e = ŷ − y), averaged over the last axis."""

    default_name = "huber_loss"

    def __init__(self, delta: float = 1.0, reduction: str = "sum_over_batch_size", name: str | None = None,
                 dtype=None):
        super().__init__(False, name, reduction)
        self.delta = float(delta)

    def losses(self, y_true, y_pred):
        return _huber(y_true, y_pred, self.delta)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction, "delta": self.delta}


class CosineSimilarity(Loss):
    """Keras's ``CosineSimilarity(axis=-1)``: minus the cosine of the angle between y and ŷ (−1 when they align)."""

    default_name = "cosine_similarity"

    def __init__(self, axis: int = -1, reduction: str = "sum_over_batch_size", name: str | None = None, dtype=None):
        super().__init__(False, name, reduction)
        self.axis = axis

    def losses(self, y_true, y_pred):
        return _cosine_similarity(y_true, y_pred, self.axis)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction, "axis": self.axis}


def mean_squared_error(y_true, y_pred):
    """Per-sample losses, as Keras's function forms return them (``compile`` reduces them with the weights)."""
    return _mse(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    return _mae(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    return BinaryCrossentropy(from_logits, label_smoothing).losses(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    return CategoricalCrossentropy(from_logits, label_smoothing).losses(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return _sparse(y_true, y_pred, from_logits)


def mean_absolute_percentage_error(y_true, y_pred):
    return _mape(y_true, y_pred)


def mean_squared_logarithmic_error(y_true, y_pred):
    return _msle(y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    return _huber(y_true, y_pred, delta)


def log_cosh(y_true, y_pred):
    return _log_cosh(y_true, y_pred)


def poisson(y_true, y_pred):
    return _poisson(y_true, y_pred)


def kl_divergence(y_true, y_pred):
    return _kl_divergence(y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    return _cosine_similarity(y_true, y_pred, axis)


def hinge(y_true, y_pred):
    return _hinge(y_true, y_pred)


def squared_hinge(y_true, y_pred):
    return _squared_hinge(y_true, y_pred)


def categorical_hinge(y_true, y_pred):
    return _categorical_hinge(y_true, y_pred)


def ctc(y_true, y_pred):
    return _ctc(torch.as_tensor(y_true), torch.as_tensor(y_pred))


LOSSES = {
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "mape": mean_absolute_percentage_error, "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "binary_crossentropy": binary_crossentropy, "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy, "huber": huber, "log_cosh": log_cosh,
    "logcosh": log_cosh, "poisson": poisson, "kl_divergence": kl_divergence, "kld": kl_divergence,
    "cosine_similarity": cosine_similarity, "hinge": hinge, "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge, "ctc": ctc,
}
_KIND = {MeanSquaredError: "mse", MeanAbsoluteError: "mae", BinaryCrossentropy: "binary_crossentropy",
         CategoricalCrossentropy: "categorical_crossentropy",
         SparseCategoricalCrossentropy: "sparse_categorical_crossentropy"}
_OTHERS = (MeanAbsolutePercentageError, MeanSquaredLogarithmicError, LogCosh, Poisson, KLDivergence, Hinge,
           SquaredHinge, CategoricalHinge, Huber, CosineSimilarity, CTC)


CLASSES = {cls.__name__: cls for cls in (*_KIND, *_OTHERS)}


def serialize_loss(loss):
    """A loss as Keras's compile_config writes it (a name, or a loss object's config); None for a user's function."""
    if isinstance(loss, str):
        return loss
    if type(loss) in CLASSES.values():
        return {"module": "keras.losses", "class_name": type(loss).__name__, "config": loss.get_config(),
                "registered_name": None}
    return next((name for name, fn in LOSSES.items() if fn is loss), None)


def deserialize_loss(d):
    """What ``serialize_loss`` (or Keras) wrote back as a loss; Keras options rnnkit does not have are refused."""
    if isinstance(d, str) or d is None:
        return d
    if not isinstance(d, dict) or d.get("class_name") not in CLASSES:
        raise ValueError(f"unsupported loss in the saved compile config: {d!r}")
    config = dict(d.get("config", {}))
    if config.get("ignore_class") is None:
        config.pop("ignore_class", None)
    try:
        return CLASSES[d["class_name"]](**config)
    except (TypeError, ValueError) as e:
        raise ValueError(f"the saved {d['class_name']} cannot be rebuilt by rnnkit.keras: {e}") from None


def get_loss(loss):
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {sorted(LOSSES)}, a keras loss object or a "
                         "callable(y_true, y_pred)")
    return LOSSES[loss]


def loss_kind(loss) -> str | None:
    """The loss's name as Keras's 'accuracy' reads it (a loss object's by its class), or None."""
    return loss if isinstance(loss, str) else _KIND.get(type(loss))
