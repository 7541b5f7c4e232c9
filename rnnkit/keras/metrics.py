"""Keras's metrics, by name (``metrics=["sparse_categorical_accuracy", "mae"]``) or as objects
(``rnnkit.keras.metrics.SparseTopKCategoricalAccuracy(k=2)``), logged under Keras's names (the string given, or the
object's ``name``; a repeated name gets ``_1``, ``_2`` as in Keras).

Each is a per-sample value m_i averaged over the epoch's samples (Σ w_i m_i / Σ w_i for ``weighted_metrics``) and then
``finish``-ed: the identity, except RootMeanSquaredError = sqrt(mean of the squared errors). "accuracy"/"acc" mean what
the loss implies, as in Keras: sparse categorical for sparse_categorical_crossentropy, categorical for
categorical_crossentropy, binary (threshold 0.5) for binary_crossentropy, exact equality otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from rnnkit.keras import losses as L
from rnnkit.keras.backend import EPSILON  # noqa: F401 (the metrics' fuzz factor, read from here)
from rnnkit.keras.metric_functions import (  # noqa: F401 (keras.metrics' names for the functions)
    ACCURACY_FOR,
    FUNCTIONS,
    _binary_crossentropy,
    _categorical_crossentropy,
    _identity,
    _per_sample,
    _sparse_categorical_crossentropy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    cosine_similarity,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)


def _tensor(x) -> torch.Tensor:
    return x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))


def _sample_weights(sample_weight, n: int) -> torch.Tensor:
    if sample_weight is None:
        return torch.ones(n)
    return _tensor(sample_weight).float().reshape(n, -1).mean(1) if _tensor(sample_weight).numel() > 1 else \
        _tensor(sample_weight).float().reshape(-1).expand(n)


class Metric:
    """A Keras metric object: its ``name``, the per-sample values (``per_sample``) and the epoch's ``finish`` — and
    Keras's stateful use outside ``fit`` (a custom loop, an evaluation script): ``update_state(y_true, y_pred,
    sample_weight=None)`` adds a batch, ``result()`` is the weighted mean so far (finished), ``reset_state()``
    empties it; calling the object updates and returns the result."""

    default_name = "metric"
    finish = staticmethod(_identity)

    def __init__(self, name: str | None = None, dtype=None) -> None:
        self.name = name or self.default_name
        self.reset_state()

    def per_sample(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = _tensor(y_pred)
        values = _tensor(self.per_sample(_tensor(y_true), y_pred)).float().reshape(len(y_pred), -1).mean(1)
        w = _sample_weights(sample_weight, len(values))
        self._total += float((values * w).sum())
        self._count += float(w.sum())

    def result(self) -> torch.Tensor:
        return torch.tensor(self.finish(self._total / self._count) if self._count else 0.0)

    def reset_state(self) -> None:
        self._total, self._count = 0.0, 0.0

    def __call__(self, *args, **kwargs) -> torch.Tensor:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": "float32"}

    @classmethod
    def from_config(cls, config: dict):
        """Keras's: the metric its ``get_config`` describes."""
        return cls(**config)


class RatioMetric(Metric):
    """A metric that is a function of sums over the epoch, not a mean of per-sample values (Precision, AUC, R², F1):
    ``parts`` gives each sample's contributions (batch, P), the engine averages them over the epoch's samples like
    any metric (weighted), and ``from_parts`` turns those averages into the value — a ratio of averages is the ratio
    of the sums."""

    needs_samples = False  # True: ``from_parts(v, samples)`` also gets the number of samples (counts, adjusted R²)

    def parts(self, y_true, y_pred) -> torch.Tensor:
        raise NotImplementedError

    def from_parts(self, v, samples=None):
        raise NotImplementedError

    def per_sample(self, y_true, y_pred):
        raise TypeError(f"{type(self).__name__} is computed over the epoch: it has no per-sample value")

    def weighted_parts(self, y_true, y_pred, sample_weight=None) -> torch.Tensor:
        """Each sample's parts (batch, P) times its weight (a metric counting entries may weigh each entry)."""
        parts = self.parts(y_true, y_pred).double()
        return parts * _sample_weights(sample_weight, len(parts)).double().reshape(-1, 1)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Keras's stateful use: add a batch's (weighted) sums."""
        y_pred = _tensor(y_pred)
        if y_pred.is_meta:  # a shape-only pass (Keras building a model around the metric): nothing to count
            return
        parts = self.weighted_parts(_tensor(y_true), y_pred, sample_weight)
        self._samples += len(parts)
        self._parts = parts.sum(0) if self._parts is None else self._parts + parts.sum(0)

    def result(self) -> torch.Tensor:
        if self._parts is None:
            return torch.as_tensor(0.0)
        if self.needs_samples:  # the engine's form: per-sample means and their number
            return torch.as_tensor(self.from_parts((self._parts / self._samples).tolist(), self._samples),
                                   dtype=torch.float32)
        return torch.as_tensor(self.from_parts(self._parts.tolist()), dtype=torch.float32)

    def reset_state(self) -> None:
        self._parts, self._samples = None, 0


class Parts:
    """A ratio metric as the engine calls it: (y_true, y_pred) → its per-sample parts, (batch, P)."""

    def __init__(self, metric: RatioMetric) -> None:
        self.metric = metric

    def __call__(self, y_true, y_pred) -> torch.Tensor:
        return self.metric.parts(y_true, y_pred)


class Mean(Metric):
    """Keras's ``Mean``: the (weighted) mean of every value given to ``update_state(values, sample_weight=None)`` —
    a custom loop's loss tracker."""

    default_name = "mean"

    def update_state(self, values, sample_weight=None) -> None:
        v = _tensor(values).float().reshape(-1)
        w = torch.ones_like(v) if sample_weight is None else torch.broadcast_to(
            _tensor(sample_weight).float().reshape(_tensor(values).shape if _tensor(sample_weight).dim() else ()),
            _tensor(values).shape).reshape(-1)
        self._total += float((v * w).sum())
        self._count += float(w.sum())


class Sum(Mean):
    """Keras's ``Sum``: the (weighted) sum of every value given."""

    default_name = "sum"

    def result(self) -> torch.Tensor:
        return torch.tensor(self._total)


def _metric_class(class_name: str, fn, default_name: str, **options):
    def __init__(self, name=None, dtype=None, **kwargs):
        Metric.__init__(self, name, dtype)
        unknown = set(kwargs) - set(options)
        if unknown:
            raise TypeError(f"{class_name}: unexpected argument(s) {sorted(unknown)}")
        self.options = {**options, **kwargs}

    def per_sample(self, y_true, y_pred):
        return fn(y_true, y_pred, **self.options)

    def get_config(self):
        return {"name": self.name, "dtype": "float32", **self.options}

    return type(class_name, (Metric,), {"__init__": __init__, "per_sample": per_sample, "get_config": get_config,
                                        "default_name": default_name, "__doc__": f"Keras's ``{class_name}``."})


Accuracy = _metric_class("Accuracy", accuracy, "accuracy")
BinaryAccuracy = _metric_class("BinaryAccuracy", binary_accuracy, "binary_accuracy", threshold=0.5)
CategoricalAccuracy = _metric_class("CategoricalAccuracy", categorical_accuracy, "categorical_accuracy")
SparseCategoricalAccuracy = _metric_class("SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                          "sparse_categorical_accuracy")
TopKCategoricalAccuracy = _metric_class("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                        "top_k_categorical_accuracy", k=5)
SparseTopKCategoricalAccuracy = _metric_class("SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy,
                                              "sparse_top_k_categorical_accuracy", k=5)
MeanSquaredError = _metric_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _metric_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _metric_class("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                            "mean_absolute_percentage_error")


MeanSquaredLogarithmicError = _metric_class("MeanSquaredLogarithmicError", L.mean_squared_logarithmic_error,
                                            "mean_squared_logarithmic_error")
LogCoshError = _metric_class("LogCoshError", L.log_cosh, "logcosh")
Poisson = _metric_class("Poisson", L.poisson, "poisson")
KLDivergence = _metric_class("KLDivergence", L.kl_divergence, "kl_divergence")
CosineSimilarity = _metric_class("CosineSimilarity", cosine_similarity, "cosine_similarity", axis=-1)
Hinge = _metric_class("Hinge", L.hinge, "hinge")
SquaredHinge = _metric_class("SquaredHinge", L.squared_hinge, "squared_hinge")
CategoricalHinge = _metric_class("CategoricalHinge", L.categorical_hinge, "categorical_hinge")
BinaryCrossentropy = _metric_class("BinaryCrossentropy", _binary_crossentropy, "binary_crossentropy",
                                   from_logits=False, label_smoothing=0.0)
CategoricalCrossentropy = _metric_class("CategoricalCrossentropy", _categorical_crossentropy,
                                        "categorical_crossentropy", from_logits=False, label_smoothing=0.0, axis=-1)
SparseCategoricalCrossentropy = _metric_class("SparseCategoricalCrossentropy", _sparse_categorical_crossentropy,
                                              "sparse_categorical_crossentropy", from_logits=False,
                                              ignore_class=None, axis=-1)


class MeanMetricWrapper(Metric):
    """Keras's ``MeanMetricWrapper(fn, name=None, dtype=None, **kwargs)``: the mean of ``fn(y_true, y_pred,
    **kwargs)`` over the samples — any per-sample function as a metric object."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype)
        self.fn, self.options = fn, kwargs

    def per_sample(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.options)

    def get_config(self):
        return {"name": self.name, "dtype": "float32", **self.options}


RootMeanSquaredError = _metric_class("RootMeanSquaredError", mean_squared_error, "root_mean_squared_error")
RootMeanSquaredError.finish = staticmethod(math.sqrt)  # sqrt of the epoch's mean squared error, not a mean of roots


def get(metric, loss_kind: str | None):
    """(log name, per-sample function, finish) for a metric given to ``compile``; a ratio metric (Precision, Recall,
    AUC, R2Score, F1Score) gives its per-sample parts (``Parts``) and its ``from_parts``."""
    if isinstance(metric, RatioMetric):
        return metric.name, Parts(metric), metric.from_parts
    if isinstance(metric, Metric):
        return metric.name, metric.per_sample, metric.finish
    if isinstance(metric, str):
        if metric in ("accuracy", "acc"):
            return metric, ACCURACY_FOR.get(loss_kind, accuracy), _identity
        if metric in FUNCTIONS:
            return metric, FUNCTIONS[metric], _identity
        if metric in CONFUSION:
            confusion = CONFUSION[metric]()
            return metric, Parts(confusion), confusion.from_parts
    elif type(metric).__module__.startswith("keras"):  # a Keras metric object keeps state across calls: not ours
        raise ValueError(f"{type(metric).__name__} is a Keras metric object; use rnnkit.keras.metrics."
                         f"{type(metric).__name__} (or its name) with rnnkit.keras models")
    elif callable(metric):
        return getattr(metric, "__name__", "metric"), metric, _identity
    raise ValueError(f"unknown metric {metric!r}; expected one of {sorted(['accuracy', 'acc', *FUNCTIONS, *CONFUSION])}, a "
                     "rnnkit.keras.metrics object or a callable(y_true, y_pred)")


def map_metrics(spec, fn):
    """``spec`` (a compile argument: a metric, a list, a list of lists, a dict by output) with ``fn`` applied to each
    metric."""
    if isinstance(spec, dict) and "class_name" not in spec:  # by output (a serialized metric is one metric)
        return {k: map_metrics(v, fn) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [map_metrics(v, fn) for v in spec]
    return None if spec is None else fn(spec)


def serialize(metric):
    """A metric as Keras's compile_config writes it: a name stays a name, an object becomes
    ``{"module": "keras.metrics", "class_name", "config"}``; None for a user's function (a file cannot hold it)."""
    if isinstance(metric, str):
        return metric
    if isinstance(metric, Metric) and type(metric).__name__ in __all__:
        return {"module": "keras.metrics", "class_name": type(metric).__name__, "config": metric.get_config(),
                "registered_name": None}
    return None


def deserialize(d):
    """A metric from Keras's compile_config (a name, or a serialized Keras metric rnnkit has)."""
    if isinstance(d, dict):
        name = d.get("class_name")
        cls = globals().get(name) if name in __all__ else None
        if not (isinstance(cls, type) and issubclass(cls, Metric)):
            raise ValueError(f"metric {name!r} is not supported by rnnkit.keras")
        config = {k: v for k, v in (d.get("config") or {}).items() if k != "dtype"}
        return cls(**config)
    return d


# the correlations, and the loss functions Keras also offers as metrics (keras.metrics.binary_crossentropy, …)
from rnnkit.keras.correlation_metrics import concordance_correlation, pearson_correlation  # noqa: E402
from rnnkit.keras.losses import (  # noqa: E402
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)

PearsonCorrelation = _metric_class("PearsonCorrelation", pearson_correlation, "pearson_correlation", axis=-1)
ConcordanceCorrelation = _metric_class("ConcordanceCorrelation", concordance_correlation, "concordance_correlation",
                                       axis=-1)
FUNCTIONS.update({"pearson_correlation": pearson_correlation, "concordance_correlation": concordance_correlation})

# the confusion metrics subclass Metric: imported once it exists
from rnnkit.keras.confusion_metrics import AUC, Precision, Recall  # noqa: E402
from rnnkit.keras.confusion_metrics import BY_NAME as _RATIOS  # noqa: E402
from rnnkit.keras.iou_metrics import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU  # noqa: E402
from rnnkit.keras.threshold_metrics import BY_NAME as _COUNTS  # noqa: E402
from rnnkit.keras.threshold_metrics import (  # noqa: E402
    FalseNegatives,
    FalsePositives,
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)

CONFUSION = {**_RATIOS, **_COUNTS}  # the metrics compile takes by name that are computed from confusion counts
from rnnkit.keras.score_metrics import F1Score, FBetaScore, R2Score  # noqa: E402

__all__ = ["Metric", "RatioMetric", "Mean", "Sum", "Precision", "Recall", "AUC", "R2Score", "FBetaScore", "F1Score",
           "MeanSquaredLogarithmicError", "LogCoshError", "Poisson", "KLDivergence", "CosineSimilarity", "Hinge",
           "SquaredHinge", "CategoricalHinge", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy",
           "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError",
           "MeanAbsolutePercentageError", "RootMeanSquaredError", "get", "accuracy", "binary_accuracy",
           "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
           "sparse_top_k_categorical_accuracy", "mean_squared_error", "mean_absolute_error",
           "mean_absolute_percentage_error", "MeanMetricWrapper", "PearsonCorrelation", "ConcordanceCorrelation",
           "pearson_correlation", "concordance_correlation", "binary_crossentropy", "binary_focal_crossentropy",
           "categorical_crossentropy",
           "categorical_focal_crossentropy", "categorical_hinge", "hinge", "huber", "kl_divergence", "log_cosh",
           "mean_squared_logarithmic_error", "poisson", "sparse_categorical_crossentropy", "squared_hinge",
           "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "SensitivityAtSpecificity",
           "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision", "IoU", "MeanIoU", "BinaryIoU",
           "OneHotIoU", "OneHotMeanIoU"]
