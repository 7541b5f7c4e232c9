"""Keras's losses and metrics by name or as classes, on torch, with Keras's conventions: probabilities clipped to
[1e-7, 1 − 1e-7] (``from_logits=True``: the logits' log-softmax / log-sigmoid instead), each sample's loss the mean
over its last axis (the sum over classes for cross-entropy), and Keras's default reduction, ``sum_over_batch_size``:

    loss = Σ_i w_i · ℓ_i / N        (ℓ_i the per-sample losses, N how many there are, w_i the sample weights, 1 if none)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-7


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

    def __call__(self, y_true, y_pred, sample_weight=None) -> torch.Tensor:
        return reduce(self.per_sample(y_true, y_pred, self.from_logits), sample_weight)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction, "from_logits": self.from_logits}


def _loss_class(name: str, fn, default_name: str, logits: bool):
    def __init__(self, from_logits: bool = False, name: str | None = None, reduction: str = "sum_over_batch_size"):
        if from_logits and not logits:
            raise TypeError(f"{type(self).__name__} takes no from_logits")
        Loss.__init__(self, from_logits, name, reduction)

    return type(name, (Loss,), {"per_sample": staticmethod(fn), "default_name": default_name, "__init__": __init__,
                                "__doc__": f"Keras's ``{name}``."})


MeanSquaredError = _loss_class("MeanSquaredError", _mse, "mean_squared_error", False)
MeanAbsoluteError = _loss_class("MeanAbsoluteError", _mae, "mean_absolute_error", False)
BinaryCrossentropy = _loss_class("BinaryCrossentropy", _binary, "binary_crossentropy", True)
CategoricalCrossentropy = _loss_class("CategoricalCrossentropy", _categorical, "categorical_crossentropy", True)
SparseCategoricalCrossentropy = _loss_class("SparseCategoricalCrossentropy", _sparse,
                                            "sparse_categorical_crossentropy", True)


def mean_squared_error(y_true, y_pred):
    """Per-sample losses, as Keras's function forms return them (``compile`` reduces them with the weights)."""
    return _mse(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    return _mae(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return _binary(y_true, y_pred, from_logits)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return _categorical(y_true, y_pred, from_logits)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return _sparse(y_true, y_pred, from_logits)


LOSSES = {
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "binary_crossentropy": binary_crossentropy, "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}
_KIND = {MeanSquaredError: "mse", MeanAbsoluteError: "mae", BinaryCrossentropy: "binary_crossentropy",
         CategoricalCrossentropy: "categorical_crossentropy",
         SparseCategoricalCrossentropy: "sparse_categorical_crossentropy"}


CLASSES = {cls.__name__: cls for cls in _KIND}


def serialize_loss(loss):
    """A loss as Keras's compile_config writes it (a name, or a loss object's config); None for a user's function."""
    if isinstance(loss, str):
        return loss
    if type(loss) in _KIND:
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
    if config.pop("label_smoothing", 0.0) or config.pop("ignore_class", None) is not None:
        raise ValueError(f"the saved {d['class_name']} uses label_smoothing or ignore_class, which rnnkit.keras "
                         "does not support")
    config.pop("axis", None)
    config.pop("dtype", None)
    return CLASSES[d["class_name"]](**config)


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
