"""Keras's overlap losses for imbalanced labels, its noise-robust cross-entropy and its metric-learning Circle loss:

    Dice     ℓ = 1 − 2 Σ y·p / (Σ y + Σ p + ε)
    Tversky  ℓ = 1 − Σ y·p / (Σ y·p + α Σ y·(1 − p) + β Σ (1 − y)·p + ε)
             (sums over ``axis``: every value when None — one loss for the batch — or the axes given, one per sample)
    GCE      ℓ = (1 − p_y^q) / q       (p_y the predicted probability of the true class; q → 0: cross-entropy,
                                        q = 1: mean absolute error; Zhang & Sabuncu 2018)
    Circle   on L2-normalised embeddings, d_ij = max(1 − e_i·e_j, 0), positives P_i (same label, j ≠ i) and
             negatives N_i:  ℓ_i = softplus( logsumexp_{j∈P_i} −γ [m + d_ij]₊ (m − d_ij)
                                            + logsumexp_{j∈N_i} γ [1 + m − d_ij]₊ (1 − m − d_ij) )
             averaged over the samples whose loss is not zero (Sun et al. 2020; Keras masks the zeros)

— as Keras computes them (``backend.epsilon()`` = 1e-7).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rnnkit.keras.backend import EPSILON as EPS
from rnnkit.keras.losses import OptionsLoss, _tensor


def _axis(axis):
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _sum(x: torch.Tensor, axis) -> torch.Tensor:
    return x.sum() if axis is None else x.sum(dim=_axis(axis))


def dice(y_true, y_pred, axis=None):
    y_pred = _tensor(y_pred).float()
    y = _tensor(y_true).to(y_pred.dtype)
    return 1 - 2.0 * _sum(y * y_pred, axis) / (_sum(y, axis) + _sum(y_pred, axis) + EPS)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    y_pred = _tensor(y_pred).float()
    y = _tensor(y_true).to(y_pred.dtype)
    overlap = _sum(y * y_pred, axis)
    missed, extra = _sum((1 - y_pred) * y, axis), _sum(y_pred * (1 - y), axis)
    return 1 - overlap / (overlap + missed * alpha + extra * beta + EPS)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    y_pred = _tensor(y_pred).float()
    labels = _tensor(y_true).long().reshape(y_pred.shape[:-1])
    p = y_pred.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return (1 - p ** q) / q


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80, margin=0.4):
    e = _tensor(y_pred).float()
    labels = _tensor(y_true).long().reshape(-1, 1)
    ref = e if ref_embeddings is None else _tensor(ref_embeddings).float()
    ref_labels = labels if ref_labels is None else _tensor(ref_labels).long().reshape(-1, 1)
    d = (1 - e @ ref.T).clamp_min(0.0)
    positive = labels == ref_labels.T
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~torch.eye(len(labels), len(ref_labels), dtype=torch.bool, device=e.device)
    pos_w = ((margin + d) * positive).clamp_min(0.0)
    neg_w = ((1 + margin - d) * negative).clamp_min(0.0)
    pos = torch.where(positive, -gamma * pos_w * (margin - d), torch.full_like(d, -torch.inf))
    neg = torch.where(negative, gamma * neg_w * (1 - margin - d), torch.full_like(d, -torch.inf))
    return F.softplus(torch.logsumexp(pos, dim=1) + torch.logsumexp(neg, dim=1))


class Dice(OptionsLoss):
    """Keras's ``Dice(reduction, name="dice", axis=None)``."""

    per_sample, default_name, options = staticmethod(dice), "dice", {"axis": None}

    def __init__(self, reduction="sum_over_batch_size", name=None, axis=None, dtype=None):
        super().__init__(reduction, name, dtype, axis=axis)


class Tversky(OptionsLoss):
    """Keras's ``Tversky(alpha=0.5, beta=0.5, reduction, name="tversky", axis=None)``."""

    per_sample, default_name = staticmethod(tversky), "tversky"
    options = {"alpha": 0.5, "beta": 0.5, "axis": None}

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name=None, axis=None, dtype=None):
        super().__init__(reduction, name, dtype, alpha=alpha, beta=beta, axis=axis)


class CategoricalGeneralizedCrossEntropy(OptionsLoss):
    """Keras's ``CategoricalGeneralizedCrossEntropy(q=0.5)``: integer labels, predicted probabilities."""

    per_sample = staticmethod(categorical_generalized_cross_entropy)
    default_name, options = "categorical_generalized_cross_entropy", {"q": 0.5}

    def __init__(self, q=0.5, reduction="sum_over_batch_size", name=None, dtype=None):
        if not 0 < q < 1:
            raise ValueError(f"q must be in the interval (0, 1), got {q}")
        super().__init__(reduction, name, dtype, q=q)


class Circle(OptionsLoss):
    """Keras's ``Circle(gamma=80.0, margin=0.4, remove_diagonal=True)``: integer labels, L2-normalised embeddings
    (the batch is its own reference set); the mean over the samples with a non-zero loss."""

    per_sample, default_name = staticmethod(circle), "circle"
    options = {"gamma": 80.0, "margin": 0.4, "remove_diagonal": True}

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True, reduction="sum_over_batch_size", name=None,
                 dtype=None):
        super().__init__(reduction, name, dtype, gamma=gamma, margin=margin, remove_diagonal=remove_diagonal)

    def __call__(self, y_true, y_pred, sample_weight=None) -> torch.Tensor:
        losses = self.call(_tensor(y_true), _tensor(y_pred))
        valid = losses > 0  # Keras's mask: the zero losses are left out of the mean
        w = valid.to(losses.dtype)
        if sample_weight is not None:
            w = w * torch.as_tensor(sample_weight, dtype=losses.dtype, device=losses.device).reshape(-1)
        count = valid.sum()
        return (losses * w).sum() / count if count > 0 else (losses * w).sum() * 0.0


__all__ = ["Dice", "Tversky", "CategoricalGeneralizedCrossEntropy", "Circle", "dice", "tversky",
           "categorical_generalized_cross_entropy", "circle"]
