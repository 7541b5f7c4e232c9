"""``keras.activations``: the activation functions by Keras's names (``relu``, ``gelu``, ``softmax(x, axis=-1)``, …;
the same functions as ``rnnkit.keras.ops``' and Keras's defaults) and ``get``/``serialize``/``deserialize`` — a name,
a function or None (``linear``)."""

from __future__ import annotations

from rnnkit.keras.ops.nn import (  # noqa: F401 (the namespace)
    celu,
    elu,
    glu,
    hard_shrink,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    mish,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_shrink,
    softmax,
    softplus,
    softsign,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
    squareplus,
    swish,
    tanh_shrink,
    threshold,
)
from rnnkit.keras.ops.nn import gelu as _gelu
from rnnkit.keras.ops.nn import relu as _relu
from rnnkit.keras.ops.numpy import exp as _exp
from rnnkit.keras.ops.numpy import tanh  # noqa: F401


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's ``activations.relu``: ``max(x, threshold)`` (below it ``negative_slope · (x − threshold)``), capped
    at ``max_value``."""
    import torch

    from rnnkit.keras.ops.core import convert_to_tensor

    x = convert_to_tensor(x)
    x = x if x.is_floating_point() else x.float()
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return _relu(x)
    out = torch.where(x >= threshold, x, negative_slope * (x - threshold))
    return out if max_value is None else torch.clamp(out, max=max_value)


def gelu(x, approximate=False):
    """Keras's ``activations.gelu``: exact by default (``ops.gelu``'s default is the tanh approximation)."""
    return _gelu(x, approximate=approximate)


def linear(x):
    return x


def exponential(x):
    return _exp(x)


_BY_NAME = {f.__name__: f for f in (relu, celu, elu, gelu, glu, hard_sigmoid, hard_silu, leaky_relu, log_sigmoid,
                                     log_softmax, mish, relu6, selu, sigmoid, silu, softmax, softplus, softsign,
                                     tanh_shrink, tanh, exponential, linear, hard_shrink, hard_tanh, soft_shrink,
                                     sparse_plus, sparse_sigmoid, sparsemax, squareplus, threshold)}
_BY_NAME.update({"swish": silu, "hard_swish": hard_silu})


def get(identifier):
    """A name, a serialized dict or a function as the function; None as ``linear``."""
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        identifier = identifier.get("config", identifier.get("class_name"))
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"Could not interpret activation function identifier: {identifier!r} (known: "
                             f"{', '.join(sorted(_BY_NAME))})")
        return _BY_NAME[identifier]
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(activation) -> str:
    for name, f in _BY_NAME.items():
        if f is activation:
            return name
    name = getattr(activation, "__name__", None)
    if name in _BY_NAME:
        return name
    raise ValueError(f"activation {activation!r} has no Keras name")


def deserialize(config, custom_objects=None):
    if isinstance(config, str) and custom_objects and config in custom_objects:
        return custom_objects[config]
    return get(config)
