"""Keras's correlation metrics, per sample along ``axis`` (then averaged over the samples like any metric):

    pearson_correlation      r = mean(ỹ · p̃),  ỹ = (y − ȳ) / σ_y,  p̃ = (p − p̄) / σ_p     (population σ)
    concordance_correlation  ρ_c = mean(2 (y − p̄)(p − p̄) / (σ²_y + σ²_p + (ȳ − p̄)² + ε))  (Lin 1989: agreement,
                                                                                      not only correlation)
"""

from __future__ import annotations

import torch

from rnnkit.keras.backend import EPSILON as EPS
from rnnkit.keras.losses import _target


def pearson_correlation(y_true, y_pred, axis=-1):
    y = _target(y_true, y_pred)
    yn, pn = y - y.mean(axis, keepdim=True), y_pred - y_pred.mean(axis, keepdim=True)
    yn = yn / yn.std(axis, keepdim=True, unbiased=False)
    pn = pn / pn.std(axis, keepdim=True, unbiased=False)
    return torch.mean(yn * pn, dim=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    y = _target(y_true, y_pred)
    y_mean, p_mean = y.mean(axis, keepdim=True), y_pred.mean(axis, keepdim=True)
    y_var = (y - y_mean).var(axis, keepdim=True, unbiased=False)
    p_var = (y_pred - p_mean).var(axis, keepdim=True, unbiased=False)
    norm = y_var + p_var + (y_mean - p_mean) ** 2
    return torch.mean(2 * (y - p_mean) * (y_pred - p_mean) / (norm + EPS), dim=axis)


__all__ = ["pearson_correlation", "concordance_correlation"]
