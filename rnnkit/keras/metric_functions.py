"""Keras's metric functions — a per-sample value each (accuracies, errors, the cross-entropies and the other loss
functions Keras also offers as metrics) — and the tables ``compile`` reads them by name from (``FUNCTIONS``, and
``ACCURACY_FOR``: what "accuracy" means after a given loss)."""

from __future__ import annotations

import torch

from rnnkit.keras import losses as L
from rnnkit.keras.backend import EPSILON


def _identity(value: float) -> float:
    return value


def sparse_categorical_accuracy(y_true, y_pred):
    return (y_pred.argmax(-1) == y_true.long().reshape(y_pred.shape[:-1])).float()


def categorical_accuracy(y_true, y_pred):
    return (y_pred.argmax(-1) == y_true.argmax(-1)).float()


def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    return ((y_pred > threshold).float() == y_true.float().reshape(y_pred.shape)).float().mean(-1)


def accuracy(y_true, y_pred):
    """Keras's ``Accuracy``: the share of exactly equal entries."""
    return (y_pred == y_true.reshape(y_pred.shape)).float().reshape(len(y_pred), -1).mean(-1)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices
    return (top == y_true.argmax(-1, keepdim=True)).any(-1).float()


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices
    return (top == y_true.long().reshape(*y_pred.shape[:-1], 1)).any(-1).float()


def _per_sample(values: torch.Tensor) -> torch.Tensor:
    return values.reshape(len(values), -1).mean(-1)


def mean_squared_error(y_true, y_pred):
    return _per_sample((y_pred - y_true.reshape(y_pred.shape).float()) ** 2)


def mean_absolute_error(y_true, y_pred):
    return _per_sample((y_pred - y_true.reshape(y_pred.shape).float()).abs())


def mean_absolute_percentage_error(y_true, y_pred):
    y = y_true.reshape(y_pred.shape).float()
    return 100.0 * _per_sample((y - y_pred).abs() / y.abs().clamp_min(EPSILON))


def cosine_similarity(y_true, y_pred, axis=-1):
    """The cosine of the angle between y and ŷ (the loss is its negative)."""
    return -L.cosine_similarity(y_true, y_pred, axis)


def _binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    return L.BinaryCrossentropy(from_logits, label_smoothing).call(y_true, y_pred)


def _categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    return L.CategoricalCrossentropy(from_logits, label_smoothing, axis).call(y_true, y_pred)


def _sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1, ignore_class=None):
    return L.SparseCategoricalCrossentropy(from_logits, ignore_class).call(y_true, y_pred)


FUNCTIONS = {
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "mape": mean_absolute_percentage_error, "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "msle": L.mean_squared_logarithmic_error, "mean_squared_logarithmic_error": L.mean_squared_logarithmic_error,
    "logcosh": L.log_cosh, "log_cosh": L.log_cosh, "poisson": L.poisson, "kld": L.kl_divergence,
    "kl_divergence": L.kl_divergence, "cosine_similarity": cosine_similarity, "hinge": L.hinge,
    "squared_hinge": L.squared_hinge, "categorical_hinge": L.categorical_hinge,
    "binary_crossentropy": _binary_crossentropy, "categorical_crossentropy": _categorical_crossentropy,
    "sparse_categorical_crossentropy": _sparse_categorical_crossentropy,
}
ACCURACY_FOR = {"sparse_categorical_crossentropy": sparse_categorical_accuracy,
                "categorical_crossentropy": categorical_accuracy, "binary_crossentropy": binary_accuracy}
