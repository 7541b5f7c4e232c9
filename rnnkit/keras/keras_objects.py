"""Keras's ``saving.serialize_keras_object`` / ``deserialize_keras_object`` — what a custom layer's ``get_config`` /
``from_config`` call for the objects it holds (a sublayer, an initializer, a regularizer, a constraint, an
activation, a loss, an optimizer) — and the small ``keras.utils`` / ``keras.backend`` helpers Keras code reads:
``is_keras_tensor``, ``get_source_inputs``, ``standardize_dtype``, ``is_float_dtype``, ``is_int_dtype``,
``get_uid``.

A serialized object is Keras's ``{"module", "class_name", "config", "registered_name"}`` and goes back through the
module that made it; numbers, strings, None and lists/tuples/dicts of them are themselves."""

from __future__ import annotations

import numpy as np

from rnnkit.keras.layers.symbolic import KerasTensor


def serialize_keras_object(obj):
    """Keras's serialized form of ``obj`` (module docstring); plain values as they are."""
    from rnnkit.keras import activations, constraints, initializers, losses, optimizers, regularizers
    from rnnkit.keras.layers.base import Layer
    from rnnkit.keras.layers.serialize import serialize_layer

    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, (np.ndarray, np.generic)):
        return obj.tolist()
    if isinstance(obj, Layer):
        return serialize_layer(obj)
    for kind, module in ((initializers.Initializer, initializers), (regularizers.Regularizer, regularizers),
                         (constraints.Constraint, constraints), (losses.Loss, losses),
                         (optimizers.Optimizer, optimizers)):
        if isinstance(obj, kind):
            return module.serialize(obj)
    if callable(obj):
        try:  # a function Keras names, as Keras writes one
            return {"module": "builtins", "class_name": "function", "config": activations.serialize(obj),
                    "registered_name": "function"}
        except ValueError:
            pass
    raise ValueError(f"cannot serialize {obj!r} ({type(obj).__name__}): give it a get_config and register its class "
                     "with @rnnkit.keras.saving.register_keras_serializable()")


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object a ``serialize_keras_object`` dict (or Keras's) describes; plain values as they are."""
    from rnnkit.keras import activations, constraints, initializers, losses, optimizers, regularizers
    from rnnkit.keras.layers.serialize import deserialize_layer

    if isinstance(config, list):
        return [deserialize_keras_object(v, custom_objects) for v in config]
    if not isinstance(config, dict) or "class_name" not in config:
        return config
    module = str(config.get("module") or "")
    by_module = {"keras.initializers": initializers, "keras.regularizers": regularizers,
                 "keras.constraints": constraints}
    if module in by_module:
        return by_module[module].deserialize(config, custom_objects)
    if module.startswith("keras.") and "optimizers" in module:  # Keras writes its backend's module for these
        return optimizers.deserialize(config)
    if module == "keras.losses":
        return losses.deserialize(config, custom_objects)
    if module == "keras.activations" or config["class_name"] == "function":
        return activations.deserialize(config.get("config", config["class_name"]), custom_objects)
    return deserialize_layer(config, custom_objects)


def is_keras_tensor(x) -> bool:
    """Whether ``x`` is a symbolic tensor of a functional model (an Input, or a layer's output on one)."""
    return isinstance(x, KerasTensor)


def get_source_inputs(tensor) -> list:
    """The Input tensors ``tensor`` was computed from (itself, if it is one), in the order first met."""
    out, seen, stack = [], set(), list(tensor) if isinstance(tensor, (list, tuple)) else [tensor]
    while stack:
        t = stack.pop(0)
        if id(t) in seen or not isinstance(t, KerasTensor):
            continue
        seen.add(id(t))
        if t.node is None:
            out.append(t)
        else:
            stack.extend(t.node.input_tensors)
    return out


def standardize_dtype(dtype) -> str:
    """A dtype's Keras name: "float32", "int64", "bool", "string" — from a name, a Python, NumPy or torch type
    (Python's float is Keras's float32, int its int32)."""
    import torch

    if dtype is None:
        return "float32"
    if isinstance(dtype, torch.dtype):
        return str(dtype).replace("torch.", "")
    name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
    name = {"float": "float32", "int": "int32", "str": "string", "double": "float64", "object": "string"}.get(name, name)
    if name != "string":
        name = np.dtype(name).name
    return name


def is_float_dtype(dtype) -> bool:
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype) -> bool:
    return standardize_dtype(dtype).startswith(("int", "uint"))


def get_uid(prefix: str = "") -> int:
    """Keras's per-prefix counter: 1 on the first call for a prefix, then 2, 3, …"""
    _UIDS[prefix] = _UIDS.get(prefix, 0) + 1
    return _UIDS[prefix]


_UIDS: dict[str, int] = {}

__all__ = ["serialize_keras_object", "deserialize_keras_object", "is_keras_tensor", "get_source_inputs",
           "standardize_dtype", "is_float_dtype", "is_int_dtype", "get_uid"]
