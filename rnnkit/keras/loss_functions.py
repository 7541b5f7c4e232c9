"""Keras's loss functions, per sample (the mean over the last axis; the sum over the classes for cross-entropy), on
torch with Keras's conventions: probabilities clipped to [1e-7, 1 − 1e-7], ``from_logits`` through log-softmax /
log-sigmoid. ``losses.py`` reduces them (and makes Keras's loss classes of them)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from rnnkit.keras.backend import EPSILON as EPS


def _tensor(x) -> torch.Tensor:
    """Arrays and lists as tensors (float64 as Keras's float32), as Keras's losses take them."""
    x = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    return x.float() if x.dtype == torch.float64 else x


def _target(y_true, y_pred):
    return y_true.to(y_pred.dtype).reshape(y_pred.shape)


def mean_squared_error(y_true, y_pred):
    return torch.mean((y_pred - _target(y_true, y_pred)) ** 2, dim=-1)


def mean_absolute_error(y_true, y_pred):
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


def mean_absolute_percentage_error(y_true, y_pred):
    y = _target(y_true, y_pred)
    return 100 * torch.mean(torch.abs((y - y_pred) / torch.clamp(torch.abs(y), min=EPS)), dim=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    y = _target(y_true, y_pred)
    return torch.mean((torch.log1p(torch.clamp(y_pred, min=EPS)) - torch.log1p(torch.clamp(y, min=EPS))) ** 2, dim=-1)


def huber(y_true, y_pred, delta=1.0):
    e = y_pred - _target(y_true, y_pred)
    a = torch.abs(e)
    return torch.mean(torch.where(a <= delta, 0.5 * e ** 2, delta * a - 0.5 * delta ** 2), dim=-1)


def log_cosh(y_true, y_pred):
    e = y_pred - _target(y_true, y_pred)  # log cosh e = e + softplus(−2e) − log 2, stable for large |e|
    return torch.mean(e + F.softplus(-2 * e) - math.log(2.0), dim=-1)


def poisson(y_true, y_pred):
    y = _target(y_true, y_pred)
    return torch.mean(y_pred - y * torch.log(y_pred + EPS), dim=-1)


def kl_divergence(y_true, y_pred):
    y, p = _target(y_true, y_pred).clamp(EPS, 1), y_pred.clamp(EPS, 1)
    return torch.sum(y * torch.log(y / p), dim=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    def unit(v):
        return v * torch.rsqrt(torch.clamp(torch.sum(v * v, dim=axis, keepdim=True), min=1e-12))
    return -torch.sum(unit(_target(y_true, y_pred)) * unit(y_pred), dim=axis)


def _signs(y_true, y_pred):
    """Hinge targets: labels 0/1 become −1/+1 (as Keras converts them); −1/+1 stay."""
    y = _target(y_true, y_pred)
    return torch.where((y == 0) | (y == 1), 2 * y - 1, y) if bool(((y == 0) | (y == 1)).all()) else y


def hinge(y_true, y_pred):
    return torch.mean(torch.clamp(1 - _signs(y_true, y_pred) * y_pred, min=0), dim=-1)


def squared_hinge(y_true, y_pred):
    return torch.mean(torch.clamp(1 - _signs(y_true, y_pred) * y_pred, min=0) ** 2, dim=-1)


def categorical_hinge(y_true, y_pred):
    y = _target(y_true, y_pred)
    pos, neg = torch.sum(y * y_pred, dim=-1), torch.amax((1 - y) * y_pred, dim=-1)
    return torch.clamp(neg - pos + 1, min=0)


def ctc(y_true, y_pred):
    """Keras's ``losses.ctc``: y_true (batch, S) label ids with 0 the blank and the padding (its non-zero entries are
    each row's labels), y_pred (batch, T, classes) logits, every step of every row used."""
    from rnnkit.keras.ops.nn import ctc_loss

    y_true, y_pred = torch.as_tensor(y_true), torch.as_tensor(y_pred)
    if y_true.dim() != 2 or y_pred.dim() != 3:
        raise ValueError(f"CTC takes y_true of shape (batch_size, max_length) and y_pred logits of shape (batch_size, "
                         f"max_length, num_classes); got {tuple(y_true.shape)} and {tuple(y_pred.shape)}")
    lengths = torch.full((y_pred.shape[0],), y_pred.shape[1], dtype=torch.long, device=y_pred.device)
    return ctc_loss(y_true, y_pred, (y_true != 0).sum(-1), lengths, mask_index=0)
