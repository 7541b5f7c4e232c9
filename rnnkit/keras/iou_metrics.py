"""Keras's intersection-over-union metrics, from a confusion matrix summed over the epoch (``RatioMetric``):

    IoU_c = TP_c / (TP_c + FP_c + FN_c)        (class c; from the (true, predicted) counts)
    value = Σ_{c ∈ targets} IoU_c / |{c ∈ targets : TP_c + FP_c + FN_c > 0}|

``IoU(num_classes, target_class_ids)`` over integer labels and predictions (``sparse_y_true``/``sparse_y_pred``
False: the argmax of one-hot or scored vectors along ``axis``), ``MeanIoU`` over every class, ``BinaryIoU`` with the
prediction thresholded (class 1 from ``threshold`` up), ``OneHotIoU``/``OneHotMeanIoU`` with one-hot labels. Every
element counts (a tagger's steps, a segmentation's pixels); labels or predictions outside [0, num_classes) and the
``ignore_class`` are left out. As Keras 3.15, the matrix holds integers unless ``dtype`` is a float type: a sample
weight is truncated to an integer (with Keras's warning).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from rnnkit.keras.metrics import RatioMetric, _tensor


class _IoUBase(RatioMetric):
    needs_samples = True

    def __init__(self, num_classes, target_class_ids=None, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name, dtype)
        self.num_classes, self.ignore_class, self.axis = int(num_classes), ignore_class, axis
        self.sparse_y_true, self.sparse_y_pred = sparse_y_true, sparse_y_pred
        ids = range(self.num_classes) if target_class_ids is None else target_class_ids
        self.target_class_ids = [int(c) for c in ids]
        if max(self.target_class_ids) >= self.num_classes:
            raise ValueError(f"Target class id {max(self.target_class_ids)} is out of range, which is "
                             f"[0, {self.num_classes}).")
        self.dtype = dtype or "int32"
        self.integer = "int" in str(self.dtype)

    def _ids(self, y_true, y_pred) -> tuple[torch.Tensor, torch.Tensor]:
        t = y_true.argmax(self.axis) if not self.sparse_y_true else y_true
        p = y_pred.argmax(self.axis) if not self.sparse_y_pred else y_pred
        return t.reshape(len(y_pred), -1).long(), p.reshape(len(y_pred), -1).long()  # (a float id is truncated)

    def _counts(self, y_true, y_pred, weights=None) -> torch.Tensor:
        """Per sample: its (true, predicted) counts — each element weighted (``weights``: one per element, or None) —
        flattened (batch, C²)."""
        t, p = self._ids(y_true, y_pred)
        C = self.num_classes
        valid = (t >= 0) & (t < C) & (p >= 0) & (p < C)
        if self.ignore_class is not None:
            valid &= t != self.ignore_class
        cell = torch.where(valid, t * C + p, torch.zeros_like(t))
        w = valid.double() if weights is None else valid.double() * weights.double()
        return torch.zeros(len(t), C * C, dtype=torch.float64, device=t.device).scatter_add_(1, cell, w)

    def parts(self, y_true, y_pred) -> torch.Tensor:
        return self._counts(y_true, y_pred)

    def weighted_parts(self, y_true, y_pred, sample_weight=None) -> torch.Tensor:
        """The counts with ``sample_weight`` one per sample or one per element (0 leaves an element out)."""
        weights = None
        if sample_weight is not None:
            n = self._ids(y_true, y_pred)[0].shape[1]
            w = _tensor(sample_weight)
            if self.integer and w.is_floating_point():
                warnings.warn("You are passing weight as `float`, but dtype is `int`. This may result in an incorrect "
                              "weight due to type casting Consider using integer weights.", stacklevel=2)
                w = w.trunc()  # Keras's integer confusion matrix
            weights = w.double().reshape(len(y_pred), -1).expand(len(y_pred), n) if w.dim() else \
                w.double().expand(len(y_pred), n)
        return self._counts(y_true, y_pred, weights)

    def from_parts(self, v, samples=None) -> float:
        cm = np.asarray(v, dtype=np.float64).reshape(self.num_classes, self.num_classes) * samples
        tp = np.diag(cm)
        denominator = (cm.sum(0) + cm.sum(1) - tp)[self.target_class_ids]
        tp = tp[self.target_class_ids]
        valid = denominator > 1e-9
        iou = np.where(valid, tp / (denominator + 1e-7), 0.0)
        return float(iou.sum() / (valid.sum() + 1e-7))

    def result(self) -> torch.Tensor:
        return torch.as_tensor(0.0) if self._parts is None else super().result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class IoU(_IoUBase):
    default_name = "io_u"

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, target_class_ids, name, dtype, ignore_class, sparse_y_true, sparse_y_pred, axis)


class MeanIoU(_IoUBase):
    default_name = "mean_io_u"

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True, sparse_y_pred=True,
                 axis=-1):
        super().__init__(num_classes, None, name, dtype, ignore_class, sparse_y_true, sparse_y_pred, axis)

    def get_config(self) -> dict:
        return {k: v for k, v in super().get_config().items() if k != "target_class_ids"}


class BinaryIoU(_IoUBase):
    default_name = "binary_io_u"

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name, dtype)
        self.threshold = threshold

    def _ids(self, y_true, y_pred):
        return super()._ids(y_true, (y_pred.float() >= self.threshold).long())

    def get_config(self) -> dict:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class OneHotIoU(_IoUBase):
    default_name = "one_hot_io_u"

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_pred=False,
                 axis=-1):
        super().__init__(num_classes, target_class_ids, name, dtype, ignore_class, False, sparse_y_pred, axis)

    def get_config(self) -> dict:
        return {k: v for k, v in super().get_config().items() if k != "sparse_y_true"}


class OneHotMeanIoU(_IoUBase):
    default_name = "one_hot_mean_io_u"

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, None, name, dtype, ignore_class, False, sparse_y_pred, axis)

    def get_config(self) -> dict:
        return {k: v for k, v in super().get_config().items() if k not in ("sparse_y_true", "target_class_ids")}


__all__ = ["IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU"]
