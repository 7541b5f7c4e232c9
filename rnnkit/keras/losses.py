"""Keras's losses and metrics by name or as classes, on torch, with Keras's conventions: probabilities clipped to
[1e-7, 1 − 1e-7] (``from_logits=True``: the logits' log-softmax / log-sigmoid instead), each sample's loss the mean
over its last axis (the sum over classes for cross-entropy), and Keras's default reduction, ``sum_over_batch_size``:

    loss = Σ_i w_i · ℓ_i / N        (ℓ_i the per-sample losses, N how many there are, w_i the sample weights, 1 if none)
"""

from __future__ import annotations

import torch

from rnnkit.keras.loss_functions import (  # noqa: F401 (keras.losses' function names, and the helpers the loss modules read)
    _binary,
    _categorical,
    _log_probs,
    _signs,
    _sparse,
    _target,
    _tensor,
    categorical_hinge,
    cosine_similarity,
    ctc,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    squared_hinge,
)


def reduce(per_sample: torch.Tensor, sample_weight=None) -> torch.Tensor:
    """Keras's ``sum_over_batch_size``: Σ w·ℓ / the number of per-sample losses (the weights broadcast from the
    batch axis: one weight per sample, or per time step for a sequence output)."""
    if sample_weight is not None:
        w = torch.as_tensor(sample_weight, dtype=per_sample.dtype, device=per_sample.device)
        w = w.reshape(w.shape + (1,) * (per_sample.dim() - w.dim())) if w.dim() < per_sample.dim() else w
        per_sample = per_sample * w
    return per_sample.sum() / max(per_sample.numel(), 1)


class Loss:
    """A Keras loss object: ``loss(y_true, y_pred, sample_weight=None)`` reduces its ``call``'s per-sample losses;
    ``name``, ``get_config``. A user's loss subclasses it and writes ``call(y_true, y_pred)``, as in Keras."""

    per_sample = staticmethod(mean_squared_error)
    default_name = "loss"
    from_logits = False

    def __init__(self, name: str | None = None, reduction: str = "sum_over_batch_size", dtype=None):
        if reduction != "sum_over_batch_size":
            raise ValueError(f"{type(self).__name__}: only Keras's default reduction 'sum_over_batch_size' is "
                             f"supported, got {reduction!r}")
        self.name, self.reduction = name or self.default_name, reduction

    def call(self, y_true, y_pred) -> torch.Tensor:
        """The per-sample losses."""
        return self.per_sample(y_true, y_pred)

    def __call__(self, y_true, y_pred, sample_weight=None) -> torch.Tensor:
        return reduce(self.call(_tensor(y_true), _tensor(y_pred)), sample_weight)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


def _loss_class(name: str, fn, default_name: str):
    """A loss of one per-sample function ``fn(y_true, y_pred)`` (Keras's "LossFunctionWrapper" classes)."""
    def __init__(self, reduction: str = "sum_over_batch_size", name: str | None = None, dtype=None,
                 from_logits: bool = False):  # (rnnkit's files before session 30 wrote from_logits=False)
        if from_logits:
            raise TypeError(f"{type(self).__name__} takes no from_logits")
        Loss.__init__(self, name, reduction)

    return type(name, (Loss,), {"per_sample": staticmethod(fn), "default_name": default_name, "__init__": __init__,
                                "__doc__": f"Keras's ``{name}``."})


class OptionsLoss(Loss):
    """A Keras loss of one function with keyword options, which are its config: ``per_sample(y_true, y_pred,
    **options)``; ``options`` holds their defaults (unknown ones are refused)."""

    options: dict = {}

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None, **options):
        super().__init__(name, reduction)
        unknown = set(options) - set(self.options)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(unknown)}")
        self.settings = {**self.options, **options}
        self.from_logits = self.settings.get("from_logits", False)

    def call(self, y_true, y_pred):
        return self.per_sample(y_true, y_pred, **self.settings)

    def get_config(self) -> dict:
        return {**super().get_config(), **self.settings}


class _CrossEntropy(Loss):
    """Keras's cross-entropies on probabilities or logits (``from_logits``), with label smoothing: targets pulled
    towards the uniform distribution first, y ← y·(1 − ε) + ε/K (K classes; K = 2 for a binary target)."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "sum_over_batch_size", name: str | None = None, dtype=None):
        super().__init__(name, reduction)
        if not 0 <= label_smoothing <= 1:
            raise ValueError(f"{type(self).__name__}: label_smoothing must be in [0, 1], got {label_smoothing}")
        if axis != -1:
            raise ValueError(f"{type(self).__name__}: only axis=-1 (the classes last) is supported, got {axis}")
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)

    def call(self, y_true, y_pred):
        if self.label_smoothing:
            k = 2 if isinstance(self, BinaryCrossentropy) else y_pred.shape[-1]
            y_true = _target(y_true, y_pred) * (1 - self.label_smoothing) + self.label_smoothing / k
        return self.per_sample(y_true, y_pred, self.from_logits)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": -1}


class BinaryCrossentropy(_CrossEntropy):
    """Keras's ``BinaryCrossentropy``."""

    per_sample, default_name = staticmethod(_binary), "binary_crossentropy"


class CategoricalCrossentropy(_CrossEntropy):
    """Keras's ``CategoricalCrossentropy``."""

    per_sample, default_name = staticmethod(_categorical), "categorical_crossentropy"


MeanSquaredError = _loss_class("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _loss_class("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                          "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _loss_class("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                          "mean_squared_logarithmic_error")
LogCosh = _loss_class("LogCosh", log_cosh, "log_cosh")
Poisson = _loss_class("Poisson", poisson, "poisson")
KLDivergence = _loss_class("KLDivergence", kl_divergence, "kl_divergence")
Hinge = _loss_class("Hinge", hinge, "hinge")
SquaredHinge = _loss_class("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _loss_class("CategoricalHinge", categorical_hinge, "categorical_hinge")
CTC = _loss_class("CTC", ctc, "ctc")


class SparseCategoricalCrossentropy(Loss):
    """Keras's ``SparseCategoricalCrossentropy``."""

    per_sample = staticmethod(_sparse)
    default_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, ignore_class=None, reduction: str = "sum_over_batch_size",
                 name: str | None = None, dtype=None):
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy: ignore_class is not supported by rnnkit.keras (give "
                             "those targets sample weight 0)")
        super().__init__(name, reduction)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return _sparse(y_true, y_pred, self.from_logits)

    def get_config(self) -> dict:
        return {**super().get_config(), "from_logits": self.from_logits}


class Huber(Loss):
    """Keras's ``Huber(delta=1.0)``: ½e² where |e| ≤ δ, δ|e| − ½δ² beyond (e = ŷ − y), averaged over the last axis."""

    default_name = "huber_loss"

    def __init__(self, delta: float = 1.0, reduction: str = "sum_over_batch_size", name: str | None = None,
                 dtype=None):
        super().__init__(name, reduction)
        self.delta = float(delta)

    def call(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction, "delta": self.delta}


class CosineSimilarity(Loss):
    """Keras's ``CosineSimilarity(axis=-1)``: minus the cosine of the angle between y and ŷ (−1 when they align)."""

    default_name = "cosine_similarity"

    def __init__(self, axis: int = -1, reduction: str = "sum_over_batch_size", name: str | None = None, dtype=None):
        super().__init__(name, reduction)
        self.axis = axis

    def call(self, y_true, y_pred):
        return cosine_similarity(y_true, y_pred, self.axis)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction, "axis": self.axis}


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    return BinaryCrossentropy(from_logits, label_smoothing).call(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    return CategoricalCrossentropy(from_logits, label_smoothing).call(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return _sparse(y_true, y_pred, from_logits)


LOSSES = {
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "mape": mean_absolute_percentage_error, "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "binary_crossentropy": binary_crossentropy, "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy, "huber": huber, "log_cosh": log_cosh,
    "logcosh": log_cosh, "poisson": poisson, "kl_divergence": kl_divergence, "kld": kl_divergence,
    "cosine_similarity": cosine_similarity, "hinge": hinge, "squared_hinge": squared_hinge,
    "categorical_hinge": categorical_hinge, "ctc": ctc,
}
_KIND = {MeanSquaredError: "mse", MeanAbsoluteError: "mae", BinaryCrossentropy: "binary_crossentropy",
         CategoricalCrossentropy: "categorical_crossentropy",
         SparseCategoricalCrossentropy: "sparse_categorical_crossentropy"}
_OTHERS = (MeanAbsolutePercentageError, MeanSquaredLogarithmicError, LogCosh, Poisson, KLDivergence, Hinge,
           SquaredHinge, CategoricalHinge, Huber, CosineSimilarity, CTC)


CLASSES = {cls.__name__: cls for cls in (*_KIND, *_OTHERS)}


def serialize_loss(loss):
    """A loss as Keras's compile_config writes it (a name, or a loss object's config); None for a user's function."""
    if isinstance(loss, str):
        return loss
    if type(loss) in CLASSES.values():
        return {"module": "keras.losses", "class_name": type(loss).__name__, "config": loss.get_config(),
                "registered_name": None}
    return next((name for name, fn in LOSSES.items() if fn is loss), None)


def deserialize_loss(d):
    """What ``serialize_loss`` (or Keras) wrote back as a loss; Keras options rnnkit does not have are refused."""
    if isinstance(d, str) or d is None:
        return d
    if not isinstance(d, dict) or d.get("class_name") not in CLASSES:
        raise ValueError(f"unsupported loss in the saved compile config: {d!r}")
    config = dict(d.get("config", {}))
    if config.get("ignore_class") is None:
        config.pop("ignore_class", None)
    try:
        return CLASSES[d["class_name"]](**config)
    except (TypeError, ValueError) as e:
        raise ValueError(f"the saved {d['class_name']} cannot be rebuilt by rnnkit.keras: {e}") from None


def get_loss(loss):
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {sorted(LOSSES)}, a keras loss object or a "
                         "callable(y_true, y_pred)")
    return LOSSES[loss]


def loss_kind(loss) -> str | None:
    """The loss's name as Keras's 'accuracy' reads it (a loss object's by its class), or None."""
    return loss if isinstance(loss, str) else _KIND.get(type(loss))


def get(identifier):
    """``keras.losses.get``: a loss function by name (``"mse"``, ``"binary_crossentropy"``), a serialized loss object,
    or a callable as it is."""
    if isinstance(identifier, dict):
        return deserialize_loss(identifier)
    return None if identifier is None else get_loss(identifier)


def serialize(loss):
    """``keras.losses.serialize``: Keras's dict for a loss object (a loss function: its name)."""
    return serialize_loss(loss)


def deserialize(config, custom_objects=None):
    """``keras.losses.deserialize``: the loss object (or function) a serialized loss describes."""
    if isinstance(config, dict) and config.get("class_name") in (custom_objects or {}):
        return custom_objects[config["class_name"]].from_config(config.get("config") or {})
    return LOSSES[config] if isinstance(config, str) and config in LOSSES else deserialize_loss(config)


# the focal cross-entropies subclass Loss: imported once it exists, registered with the others
from rnnkit.keras.focal_losses import (  # noqa: E402
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
)
from rnnkit.keras.overlap_losses import (  # noqa: E402
    CategoricalGeneralizedCrossEntropy,
    Circle,
    Dice,
    Tversky,
    categorical_generalized_cross_entropy,  # noqa: F401 (keras.losses' name; it takes q, so not a loss by name)
    circle,
    dice,
    tversky,
)

LOSSES.update({"binary_focal_crossentropy": binary_focal_crossentropy,
               "categorical_focal_crossentropy": categorical_focal_crossentropy, "dice": dice, "tversky": tversky,
               "circle": circle})
CLASSES.update({"BinaryFocalCrossentropy": BinaryFocalCrossentropy,
                "CategoricalFocalCrossentropy": CategoricalFocalCrossentropy, "Dice": Dice, "Tversky": Tversky,
                "CategoricalGeneralizedCrossEntropy": CategoricalGeneralizedCrossEntropy, "Circle": Circle})
