"""Keras's confusion counts and the metrics read off a curve of them at a fixed operating point:

    TruePositives, FalsePositives, TrueNegatives, FalseNegatives    — Σ_i w_i · [condition at threshold t], one
                                                                       number per threshold (0.5 when not given)
    SensitivityAtSpecificity(s)  = max { TP/(TP+FN) at t : TN/(TN+FP) at t ≥ s }
    SpecificityAtSensitivity(s)  = max { TN/(TN+FP) at t : TP/(TP+FN) at t ≥ s }
    PrecisionAtRecall(r)         = max { TP/(TP+FP) at t : TP/(TP+FN) at t ≥ r }
    RecallAtPrecision(p)         = max { TP/(TP+FN) at t : TP/(TP+FP) at t ≥ p }
                                   (0 where no threshold meets the constraint; a ratio with a zero denominator is 0)

over Keras's thresholds t: ``num_thresholds`` evenly spaced in [0, 1] (0.5 for one). A prediction is positive when
it is above t, a label when it is not zero. A count is a sum over the epoch, not a mean: the engine averages every
metric's per-sample parts, so these take the number of samples as well (``needs_samples``).
"""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.keras.confusion_metrics import ConfusionMetric, checked_thresholds, evenly_spaced, state_variable
from rnnkit.keras.metrics import Metric

TP, FP, TN, FN = range(4)


class _Count(ConfusionMetric):
    """One cell of the confusion matrix, summed over the samples, at each threshold."""

    cell = TP
    needs_samples = True

    def __init__(self, thresholds=None, name=None, dtype=None) -> None:
        Metric.__init__(self, name, dtype)
        self.init_thresholds = thresholds
        self.grid = torch.tensor(checked_thresholds(0.5 if thresholds is None else thresholds), dtype=torch.float64)
        self.thresholds, self.top_k, self.class_id = thresholds, None, None

    def parts(self, y_true, y_pred) -> torch.Tensor:
        return self.counts(y_true, y_pred.double(), self.grid, evenly_spaced(self.grid))[:, self.cell]

    def from_parts(self, v, samples=None):
        totals = (np.asarray(v, dtype=np.float64) * samples).astype(np.float32)  # (Keras's float32 accumulators)
        return float(totals[0]) if len(totals) == 1 else totals  # Keras: a number for one threshold

    @property
    def variables(self) -> list[torch.Tensor]:
        """Keras's one variable: the count at each threshold."""
        return [state_variable(torch.zeros(len(self.grid)) if self._parts is None else self._parts.float(),
                               "accumulator")]

    def result(self) -> torch.Tensor:
        if self._parts is None:  # nothing counted yet: zero at each threshold
            return torch.zeros(()) if len(self.grid) == 1 else torch.zeros(len(self.grid))
        return super().result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": "float32", "thresholds": self.init_thresholds}


class TruePositives(_Count):
    default_name, cell = "true_positives", TP


class FalsePositives(_Count):
    default_name, cell = "false_positives", FP


class TrueNegatives(_Count):
    default_name, cell = "true_negatives", TN


class FalseNegatives(_Count):
    default_name, cell = "false_negatives", FN


class _AtOperatingPoint(ConfusionMetric):
    """The best of one rate over the thresholds where another rate meets ``value`` (``_rates``: (constrained,
    dependent))."""

    argument = "value"
    needs_samples = True  # the counts themselves: a constraint met exactly (3/5 ≥ 0.6) must be met as in Keras

    def __init__(self, value, num_thresholds: int = 200, class_id=None, name=None, dtype=None) -> None:
        Metric.__init__(self, name, dtype)
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"Argument `{self.argument}` must be in the range [0, 1]. Received: "
                             f"{self.argument}={value}")
        if int(num_thresholds) <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. Received: "
                             f"num_thresholds={num_thresholds}")
        self.value, self.num_thresholds = float(value), int(num_thresholds)
        setattr(self, self.argument, value)  # Keras's own name for it: ``m.specificity``, ``m.recall``, …
        n = self.num_thresholds
        self.grid = torch.tensor([0.5] if n == 1 else [0.0, *[(i + 1) / (n - 1) for i in range(n - 2)], 1.0],
                                 dtype=torch.float64)
        self.thresholds, self.top_k, self.class_id = None, None, class_id

    def parts(self, y_true, y_pred) -> torch.Tensor:
        return self.counts(y_true, y_pred.double(), self.grid, evenly_spaced(self.grid)).reshape(len(y_pred), -1)

    def from_parts(self, v, samples=None) -> float:
        # the epoch's counts in float32, rates and the comparison in float32, as Keras computes them
        tp, fp, tn, fn = (np.asarray(v, dtype=np.float64) * samples).astype(np.float32).reshape(4, -1)
        constrained, dependent = self._rates(tp, fp, tn, fn)
        feasible = constrained >= np.float32(self.value)
        return float(np.max(np.where(feasible, dependent, np.float32(0.0)), initial=0.0))

    @staticmethod
    def _rates(tp, fp, tn, fn):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": "float32", "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self.argument: self.value}


def _rate(a, b):
    """a / b where b > 0, else 0 (Keras's divide_no_nan), in a's precision."""
    return np.where(b > 0, a / np.where(b > 0, b, 1), 0).astype(a.dtype)


class SensitivityAtSpecificity(_AtOperatingPoint):
    default_name, argument = "sensitivity_at_specificity", "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None) -> None:
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    @staticmethod
    def _rates(tp, fp, tn, fn):
        return _rate(tn, tn + fp), _rate(tp, tp + fn)


class SpecificityAtSensitivity(_AtOperatingPoint):
    default_name, argument = "specificity_at_sensitivity", "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None) -> None:
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    @staticmethod
    def _rates(tp, fp, tn, fn):
        return _rate(tp, tp + fn), _rate(tn, tn + fp)


class PrecisionAtRecall(_AtOperatingPoint):
    default_name, argument = "precision_at_recall", "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None) -> None:
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    @staticmethod
    def _rates(tp, fp, tn, fn):
        return _rate(tp, tp + fn), _rate(tp, tp + fp)


class RecallAtPrecision(_AtOperatingPoint):
    default_name, argument = "recall_at_precision", "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None) -> None:
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    @staticmethod
    def _rates(tp, fp, tn, fn):
        return _rate(tp, tp + fp), _rate(tp, tp + fn)


BY_NAME = {"true_positives": TruePositives, "false_positives": FalsePositives, "true_negatives": TrueNegatives,
           "false_negatives": FalseNegatives}
