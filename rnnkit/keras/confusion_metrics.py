"""Keras's confusion-matrix metrics: ``Precision``, ``Recall`` and ``AUC`` (ROC or PR). They are ratios of counts over
the whole epoch, not means of per-batch values, so each gives its per-sample contributions to its counts (``parts``:
a (batch, P) tensor); the engine averages those over the epoch's samples like any metric, and ``from_parts`` turns
the epoch's averages into the value — a ratio of averages is the ratio of the sums.

A prediction is positive when it is above the threshold (Keras: 0.5 for Precision/Recall; AUC's ``num_thresholds``
evenly spaced in [0, 1], the ends moved out by ε). AUC sums the curve's segments as Keras does: the trapezoid
(``"interpolation"``) for ROC, Davis & Goadrich's interpolation for PR, or ``"minoring"``/``"majoring"``; with
``multi_label`` each label (the last axis) has its own curve and the areas are averaged (``label_weights``: weighted),
without it ``label_weights`` weighs each label's counts in the one curve.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from rnnkit.keras.metrics import EPSILON, Metric, RatioMetric, _tensor


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0  # Keras's divide_no_nan


def evenly_spaced(thresholds) -> bool:
    """Keras's test for its bucketed count (3 or more thresholds i/(n − 1)), which first clips the predictions to
    [0, 1] — a score above 1 is then not above a threshold of 1 (``counts(clip=True)``)."""
    t = [float(x) for x in thresholds]
    n = len(t)
    return n >= 3 and all(abs(x - i / (n - 1)) <= 1e-7 + 1e-5 * i / (n - 1) for i, x in enumerate(t))


def checked_thresholds(thresholds) -> list[float]:
    """A threshold or a list of them, each in [0, 1] (Keras's message otherwise)."""
    values = list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
    bad = [v for v in values if v is None or not 0.0 <= float(v) <= 1.0]
    if bad:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return [float(v) for v in values]


CELLS = ("true_positives", "false_positives", "true_negatives", "false_negatives")


class StateVariable(torch.Tensor):
    """A metric's state as Keras shows it: the values, and the variable's ``name``."""

    @property
    def name(self) -> str:
        return self.__dict__.get("_keras_name", "")


def state_variable(values: torch.Tensor, name: str) -> StateVariable:
    out = values.detach().clone().as_subclass(StateVariable)
    out._keras_name = name
    return out


class ConfusionMetric(RatioMetric):
    """A metric computed from confusion counts: ``parts`` per sample, ``from_parts`` at the end of the epoch. Used on
    its own (``update_state``), a sample weight may also give each entry its own weight (Keras's (batch, k) weights).
    ``variables`` are Keras's state: the counts in ``state_cells`` (per threshold), as sums."""

    state_cells: tuple[str, ...] = CELLS

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None) -> None:
        super().__init__(name, dtype)
        if thresholds is not None:
            checked_thresholds(thresholds)
        self.thresholds, self.top_k, self.class_id = thresholds, top_k, class_id

    def _scores(self, y_true, y_pred) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(labels, scores, entry weights or None), each (batch, k): a class column, or every entry; top_k keeps each
        row's k largest."""
        if self.class_id is not None and y_pred.dim() < 2:
            raise ValueError(f"When class_id is provided, y_pred must be a 2D array with shape (num_samples, "
                             f"num_classes), found shape: {tuple(y_pred.shape)}")
        y = y_true.reshape(y_pred.shape).float()
        p = y_pred.float()
        w = getattr(self, "_entry_weights", None)
        if w is not None:
            w = w.reshape(*w.shape, *[1] * (p.dim() - w.dim())).expand(p.shape)
        if self.top_k is not None:  # exactly k entries (ties by position, as torch's and Keras's top_k pick them)
            chosen = torch.zeros_like(p, dtype=torch.bool).scatter_(-1, p.topk(self.top_k, dim=-1).indices, True)
            p = torch.where(chosen, p, torch.full_like(p, -math.inf))
        if self.class_id is not None:
            y, p = y[..., self.class_id], p[..., self.class_id]
            w = None if w is None else w[..., self.class_id]
        return y.reshape(len(y), -1), p.reshape(len(p), -1), None if w is None else w.reshape(len(p), -1)

    def counts(self, y_true, y_pred, thresholds: torch.Tensor, clip: bool = False) -> torch.Tensor:
        """Per sample and threshold: (batch, 4, T) of TP, FP, TN, FN (``clip``: the scores clipped to [0, 1] first)."""
        y, p, w = self._scores(y_true, y_pred)
        p = p.clamp(0.0, 1.0) if clip else p
        above = p.unsqueeze(-1) > thresholds.to(p.device)  # (B, k, T)
        pos = (y != 0).unsqueeze(-1)  # Keras: a label is positive when it is not zero
        w = torch.ones_like(p, dtype=torch.float64) if w is None else w.double()
        w = w.unsqueeze(-1)
        return torch.stack([((above & pos) * w).sum(1), ((above & ~pos) * w).sum(1), ((~above & ~pos) * w).sum(1),
                            ((~above & pos) * w).sum(1)], dim=1)

    def weighted_parts(self, y_true, y_pred, sample_weight=None) -> torch.Tensor:
        """The counts with a weight per sample or per entry (``_scores`` reads it)."""
        if sample_weight is None:
            return self.parts(y_true, y_pred).double()
        self._entry_weights = _tensor(sample_weight).double()
        try:
            return self.parts(y_true, y_pred).double()
        finally:
            self._entry_weights = None

    @property
    def variables(self) -> list[torch.Tensor]:
        """Keras's state variables: the summed counts of ``state_cells``, one per threshold (and label)."""
        cells = self._cells()
        return [state_variable(cells[CELLS.index(name)], name) for name in self.state_cells]

    def _cells(self) -> torch.Tensor:
        """The four summed counts, (4, thresholds) — zeros before any update."""
        grid = self.__dict__.get("grid")
        n = len(grid if grid is not None else self.threshold())
        return torch.zeros(4, n) if self._parts is None else self._parts.reshape(4, n).float()

    def __getattr__(self, name: str):
        if name in CELLS and name in type(self).state_cells:  # Keras's variables by name (``m.true_positives``)
            return self.variables[type(self).state_cells.index(name)]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def threshold(self) -> torch.Tensor:
        """Keras's default: 0.5, or with ``top_k`` every one of the top k (a threshold of −∞)."""
        if self.thresholds is None:
            return torch.tensor([0.5 if self.top_k is None else -math.inf])
        return torch.tensor(checked_thresholds(self.thresholds))

    def parts(self, y_true, y_pred) -> torch.Tensor:
        return self.counts(y_true, y_pred, self.threshold()).reshape(len(y_pred), -1)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": "float32", "thresholds": self.thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


def _per_threshold(v, a: int, b: int):
    """cell a / (cell a + cell b) at each threshold: a number for one threshold, a float32 array for several."""
    counts = np.asarray(v, dtype=np.float64).reshape(4, -1)
    values = [_ratio(x, x + y) for x, y in zip(counts[a], counts[b])]
    return values[0] if len(values) == 1 else np.asarray(values, dtype=np.float32)


class Precision(ConfusionMetric):
    """TP / (TP + FP) at each threshold."""

    default_name, state_cells = "precision", ("true_positives", "false_positives")

    def from_parts(self, v, samples=None):
        return _per_threshold(v, 0, 1)


class Recall(ConfusionMetric):
    """TP / (TP + FN) at each threshold."""

    default_name, state_cells = "recall", ("true_positives", "false_negatives")

    def from_parts(self, v, samples=None):
        return _per_threshold(v, 0, 3)


class AUC(ConfusionMetric):
    """The area under the ROC (recall against false-positive rate) or PR (precision against recall) curve, from
    counts at ``num_thresholds`` thresholds."""

    default_name = "auc"

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name=None, dtype=None, thresholds=None, multi_label: bool = False, num_labels=None,
                 label_weights=None, from_logits: bool = False) -> None:
        Metric.__init__(self, name, dtype)
        if curve not in ("ROC", "PR"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["ROC", "PR"] (rnnkit.keras '
                             'has no PRGAIN)')
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". Expected values are '
                             '["interpolation", "majoring", "minoring"]')
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.label_weights = None if label_weights is None else [float(w) for w in label_weights]
        if num_thresholds < 2 and thresholds is None:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                             f"num_thresholds={num_thresholds}")
        inner = sorted(float(t) for t in thresholds) if thresholds is not None else \
            [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.grid = torch.tensor([0.0 - EPSILON, *inner, 1.0 + EPSILON], dtype=torch.float64)
        self.num_thresholds, self.curve, self.summation_method = len(self.grid), curve, summation_method
        self.from_logits, self.top_k, self.class_id = from_logits, None, None
        self.custom_thresholds = thresholds
        self.clip = thresholds is None or evenly_spaced([0.0, *inner, 1.0])  # Keras's bucketed count

    def parts(self, y_true, y_pred) -> torch.Tensor:
        p = torch.sigmoid(y_pred) if self.from_logits else y_pred
        if not self.multi_label and self.label_weights is None:
            return self.counts(y_true, p.double(), self.grid, self.clip).reshape(len(y_pred), -1)
        # per label (the last axis): (batch, 4, labels, thresholds) — each label's own curve, or weighted counts
        y, s = y_true.reshape(p.shape).double(), p.double()
        w = self.__dict__.get("_entry_weights")
        w = torch.ones_like(s) if w is None else w.reshape(*w.shape, *[1] * (s.dim() - w.dim())).expand(s.shape)
        y, s, w = (t.reshape(len(s), -1, s.shape[-1]) for t in (y, s, w))
        s = s.clamp(0.0, 1.0) if self.clip else s
        above = s.unsqueeze(-1) > self.grid.to(s.device)  # (B, n, L, T)
        pos = (y != 0).unsqueeze(-1)  # Keras: a label is positive when it is not zero
        w = w.unsqueeze(-1)
        counts = torch.stack([((above & pos) * w).sum(1), ((above & ~pos) * w).sum(1), ((~above & ~pos) * w).sum(1),
                              ((~above & pos) * w).sum(1)], dim=1).double()
        return counts.reshape(len(s), -1)

    @property
    def thresholds(self) -> list[float]:
        """Keras's thresholds: the grid, its ends at −ε and 1 + ε."""
        return self.grid.tolist()

    def _cells(self) -> torch.Tensor:
        """(4, thresholds), or (4, thresholds, labels) per label — Keras's variable layout."""
        if self._parts is None or (not self.multi_label and self.label_weights is None):
            cells = super()._cells()
            return cells if not self.multi_label else torch.zeros(4, self.num_thresholds, self.num_labels or 0)
        return self._parts.reshape(4, -1, self.num_thresholds).transpose(1, 2).float()

    def from_parts(self, v, samples=None) -> float:
        v = torch.as_tensor(v, dtype=torch.float64)
        if not self.multi_label and self.label_weights is None:
            return self._area(*v.reshape(4, -1))
        counts = v.reshape(4, -1, self.num_thresholds)  # (4, labels, thresholds)
        w = torch.ones(counts.shape[1], dtype=torch.float64) if self.label_weights is None else \
            torch.tensor(self.label_weights, dtype=torch.float64)
        if not self.multi_label:  # one curve of the label-weighted counts, as Keras's label_weights
            return self._area(*(counts * w.reshape(1, -1, 1)).sum(1))
        areas = torch.tensor([self._area(*counts[:, k]) for k in range(counts.shape[1])], dtype=torch.float64)
        return float((areas * w).sum() / w.sum())  # Keras: the labels' areas, averaged (weighted)

    def _area(self, tp, fp, tn, fn) -> float:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr(tp, fp, fn)

        def div(a, b):
            return torch.where(b > 0, a / torch.where(b > 0, b, torch.ones_like(b)), torch.zeros_like(a))
        recall = div(tp, tp + fn)
        x, y = (div(fp, fp + tn), recall) if self.curve == "ROC" else (recall, div(tp, tp + fp))
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return float(((x[:-1] - x[1:]) * heights).sum())

    @staticmethod
    def _interpolated_pr(tp, fp, fn) -> float:
        """Davis & Goadrich (2006): between two thresholds TP and the predicted positives P move linearly, and the
        precision's integral over recall has a closed form."""
        p = tp + fp
        dtp, dp = tp[:-1] - tp[1:], p[:-1] - p[1:]
        slope = torch.where(dp > 0, dtp / torch.where(dp > 0, dp, torch.ones_like(dp)), torch.zeros_like(dp))
        intercept = tp[1:] - slope * p[1:]
        ratio = torch.where((p[:-1] > 0) & (p[1:] > 0), p[:-1] / torch.where(p[1:] > 0, p[1:], torch.ones_like(p)[1:]),
                            torch.ones_like(p[1:]))
        positives = tp[1:] + fn[1:]
        terms = slope * (dtp + intercept * torch.log(ratio))
        return float(torch.where(positives > 0, terms / torch.where(positives > 0, positives,
                                                                       torch.ones_like(positives)),
                                 torch.zeros_like(terms)).sum())

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": "float32", "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "multi_label": self.multi_label,
                "num_labels": self.num_labels, "label_weights": self.label_weights, "from_logits": self.from_logits}


BY_NAME = {"precision": Precision, "recall": Recall, "auc": AUC}
