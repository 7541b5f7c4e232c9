"""Keras's ``R2Score`` and ``FBetaScore``/``F1Score``: functions of sums over the epoch (``RatioMetric``).

    R²_j   = 1 − Σ_i w_i (y_ij − ŷ_ij)² / (Σ_i w_i y_ij² − (Σ_i w_i y_ij)² / Σ_i w_i)      (output column j)
             aggregated as their mean ("uniform_average"), weighted by each column's total sum of squares
             ("variance_weighted_average"), or one per column (None); with p = ``num_regressors`` > 0 the adjusted
             R²_adj = 1 − (1 − R²)(n − 1)/(n − p − 1) over the n values seen (samples × columns)
    F_β,c  = (1 + β²) P_c R_c / (β² P_c + R_c),  P_c = TP_c / (TP_c + FP_c + ε),  R_c = TP_c / (TP_c + FN_c + ε)
             (class c; ŷ positive above ``threshold``, or — None — each row's largest), averaged over the classes
             ("macro"), weighted by their true counts ("weighted"), from the pooled counts ("micro"), or per class
"""

from __future__ import annotations

import warnings

import torch

from rnnkit.keras.backend import EPSILON
from rnnkit.keras.metrics import RatioMetric

AGGREGATIONS = ("uniform_average", "variance_weighted_average", None)
AVERAGES = (None, "micro", "macro", "weighted")


class R2Score(RatioMetric):
    default_name = "r2_score"

    def __init__(self, class_aggregation="uniform_average", num_regressors: int = 0, name="r2_score", dtype=None):
        super().__init__(name, dtype)
        if class_aggregation not in AGGREGATIONS:
            raise ValueError(f"Invalid value for argument `class_aggregation`. Expected one of {AGGREGATIONS}. "
                             f"Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError(f"Invalid value for argument `num_regressors`. Expected a value >= 0. Received: "
                             f"num_regressors={num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors

    @property
    def needs_samples(self) -> bool:  # the adjusted R² needs n, the number of values (samples × outputs)
        return bool(self.num_regressors)

    def parts(self, y_true, y_pred):
        y = y_true.reshape(y_pred.shape).double().reshape(len(y_pred), -1)
        p = y_pred.double().reshape(len(y_pred), -1)
        return torch.cat([y, y * y, (y - p) ** 2, torch.ones_like(y)], dim=1)

    def from_parts(self, v, samples=None):
        total_y, total_sq, residual, count = torch.as_tensor(v, dtype=torch.float64).reshape(4, -1)
        total = total_sq - total_y * total_y / count
        raw = 1 - residual / total
        raw = torch.where(torch.isinf(raw), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            r2 = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            r2 = (total * raw).sum() / total.sum()
        else:
            r2 = raw
        if self.num_regressors:
            r2 = self._adjusted(r2, samples * len(raw))
        return float(r2) if r2.dim() == 0 else r2.float().numpy()

    def _adjusted(self, r2, n: int):
        """Keras's adjusted R² over n values and p = ``num_regressors``: 1 − (1 − R²)(n − 1)/(n − p − 1), the plain R²
        (with a warning) where n − 1 ≤ p."""
        p = self.num_regressors
        if p >= n - 1:
            warnings.warn("More independent predictors than datapoints in adjusted R2 score. Falling back to standard "
                          "R2 score." if p > n - 1 else "Division by zero in Adjusted R2 score. Falling back to "
                          "standard R2 score.", stacklevel=3)
            return r2
        return 1 - (1 - r2) * (n - 1) / (n - p - 1)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": "float32", "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


class FBetaScore(RatioMetric):
    default_name = "fbeta_score"

    def __init__(self, average=None, beta: float = 1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name, dtype)
        if average not in AVERAGES:
            raise ValueError(f"Invalid `average` argument value. Expected one of: {AVERAGES}. Received: "
                             f"average={average}")
        if not beta > 0:
            raise ValueError(f"`beta` value should be greater than zero. Received: beta={beta}")
        if threshold is not None and not 0 < threshold <= 1:
            raise ValueError(f"`threshold` should be between 0 and 1. Received: threshold={threshold}")
        self.average, self.beta, self.threshold = average, float(beta), threshold

    def parts(self, y_true, y_pred):
        p = y_pred.double().reshape(len(y_pred), -1)
        y = y_true.double().reshape(p.shape)
        if self.threshold is None:
            predicted = (p >= p.max(dim=-1, keepdim=True).values).double()
        else:
            predicted = (p > self.threshold).double()
        return torch.cat([predicted * y, predicted * (1 - y), (1 - predicted) * y], dim=1)

    def from_parts(self, v, samples=None):
        tp, fp, fn = torch.as_tensor(v, dtype=torch.float64).reshape(3, -1)
        support = tp + fn
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        precision, recall = tp / (tp + fp + EPSILON), tp / (tp + fn + EPSILON)
        b2 = self.beta ** 2
        f = (1 + b2) * precision * recall / (b2 * precision + recall + EPSILON)
        if self.average == "weighted":
            return float((f * support / support.sum()).sum())
        if self.average in ("micro", "macro"):
            return float(f.mean())
        return f.float().numpy()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": "float32", "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    default_name = "f1_score"

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average, 1.0, threshold, name, dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config


__all__ = ["R2Score", "FBetaScore", "F1Score"]
