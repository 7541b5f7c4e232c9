"""Keras's focal cross-entropies (Lin et al. 2017): the cross-entropy of each class scaled down where the model is
already confident, so that the many easy examples of an imbalanced problem do not drown the few hard ones.

Binary (per element, then the mean over the last axis; p the predicted probability, clipped to [ε, 1 − ε]):

    p_t = y·p + (1 − y)·(1 − p),   ℓ = (1 − p_t)^γ · BCE(y, p)          × (y·α + (1 − y)(1 − α)) with class balancing

Categorical (per class, then the sum over the classes; p normalised to sum to 1 and clipped):

    ℓ = Σ_k α · (1 − p_k)^γ · (−y_k log p_k)

``from_logits`` applies the sigmoid / softmax first; ``label_smoothing`` pulls the targets towards ½ (binary) or 1/K
first — all as Keras computes them.
"""

from __future__ import annotations

import torch

from rnnkit.keras.backend import EPSILON as EPS
from rnnkit.keras.losses import OptionsLoss, _target


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                              label_smoothing=0.0, axis=-1):
    y = _target(y_true, y_pred)
    if label_smoothing:
        y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    p = torch.sigmoid(y_pred) if from_logits else y_pred
    pc = p.clamp(EPS, 1 - EPS)
    bce = -(y * torch.log(pc) + (1 - y) * torch.log(1 - pc))
    p_t = y * p + (1 - y) * (1 - p)
    focal = (1.0 - p_t) ** gamma * bce
    if apply_class_balancing:
        focal = (y * alpha + (1 - y) * (1 - alpha)) * focal
    return torch.mean(focal, dim=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                                   axis=-1):
    y = y_true.to(y_pred.dtype)
    if label_smoothing:
        y = y * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    p = torch.softmax(y_pred, dim=axis) if from_logits else y_pred
    p = (p / p.sum(dim=axis, keepdim=True)).clamp(EPS, 1 - EPS)
    return torch.sum(alpha * (1.0 - p) ** gamma * (-y * torch.log(p)), dim=axis)


class _Focal(OptionsLoss):
    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None, **options):
        super().__init__(reduction, name, dtype, **options)
        if self.settings["axis"] != -1:
            raise ValueError(f"{type(self).__name__}: only axis=-1 (the classes last) is supported")


class BinaryFocalCrossentropy(_Focal):
    """Keras's ``BinaryFocalCrossentropy(apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
    label_smoothing=0.0, axis=-1)``."""

    per_sample, default_name = staticmethod(binary_focal_crossentropy), "binary_focal_crossentropy"
    options = {"apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0, "from_logits": False,
               "label_smoothing": 0.0, "axis": -1}

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                 axis=-1, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(reduction, name, dtype, apply_class_balancing=apply_class_balancing, alpha=alpha,
                         gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalFocalCrossentropy(_Focal):
    """Keras's ``CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
    axis=-1)``."""

    per_sample, default_name = staticmethod(categorical_focal_crossentropy), "categorical_focal_crossentropy"
    options = {"alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.0, "axis": -1}

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(reduction, name, dtype, alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


__all__ = ["BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "binary_focal_crossentropy",
           "categorical_focal_crossentropy"]
