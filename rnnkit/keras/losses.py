"""Keras's losses and metrics by name, on torch, with Keras's conventions (probabilities clipped to [1e-7, 1 - 1e-7])."""

from __future__ import annotations

import torch

EPS = 1e-7


def mean_squared_error(y_true, y_pred):
    return torch.mean((y_pred - y_true.to(y_pred.dtype).reshape(y_pred.shape)) ** 2)


def mean_absolute_error(y_true, y_pred):
    return torch.mean(torch.abs(y_pred - y_true.to(y_pred.dtype).reshape(y_pred.shape)))


def binary_crossentropy(y_true, y_pred):
    p = y_pred.clamp(EPS, 1 - EPS)
    y = y_true.to(p.dtype).reshape(p.shape)
    return -torch.mean(y * torch.log(p) + (1 - y) * torch.log(1 - p))


def categorical_crossentropy(y_true, y_pred):
    p = (y_pred / y_pred.sum(-1, keepdim=True)).clamp(EPS, 1 - EPS)
    return -torch.mean(torch.sum(y_true.to(p.dtype) * torch.log(p), dim=-1))


def sparse_categorical_crossentropy(y_true, y_pred):
    p = (y_pred / y_pred.sum(-1, keepdim=True)).clamp(EPS, 1 - EPS)
    idx = y_true.long().reshape(p.shape[:-1]).unsqueeze(-1)
    return -torch.mean(torch.log(p.gather(-1, idx)))


LOSSES = {
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "binary_crossentropy": binary_crossentropy, "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
}


def get_loss(loss):
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {sorted(LOSSES)} or a callable(y_true, y_pred)")
    return LOSSES[loss]


def accuracy_for(loss_name):
    """Keras's 'accuracy' means what the loss implies."""
    def sparse(y_true, y_pred):
        return (y_pred.argmax(-1) == y_true.long().reshape(y_pred.shape[:-1])).float().mean()

    def categorical(y_true, y_pred):
        return (y_pred.argmax(-1) == y_true.argmax(-1)).float().mean()

    def binary(y_true, y_pred):
        return ((y_pred > 0.5).float() == y_true.float().reshape(y_pred.shape)).float().mean()

    def exact(y_true, y_pred):
        return (y_pred == y_true.reshape(y_pred.shape)).float().mean()

    return {"sparse_categorical_crossentropy": sparse, "categorical_crossentropy": categorical,
            "binary_crossentropy": binary}.get(loss_name, exact)


def get_metric(name, loss_name):
    if callable(name):
        return getattr(name, "__name__", "metric"), name
    if name in ("accuracy", "acc"):
        return "accuracy", accuracy_for(loss_name)
    if name in ("mae", "mean_absolute_error"):
        return "mae", mean_absolute_error
    if name in ("mse", "mean_squared_error"):
        return "mse", mean_squared_error
    raise ValueError(f"unknown metric {name!r}; expected accuracy, mae, mse or a callable")
