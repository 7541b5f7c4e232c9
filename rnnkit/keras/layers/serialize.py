"""Layers to and from Keras's serialized form (``{"module", "class_name", "config", "registered_name"}``).

Built-in layers are found by class name; a user's own layer or cell by ``custom_objects={"MyCell": MyCell}``, by
registering it once with ``@rnnkit.keras.saving.register_keras_serializable(package="my")`` — as in Keras — or, when its
module is already imported (a layer serialized and rebuilt in the same program), by its module and class name.
"""

from __future__ import annotations

REGISTRY: dict[str, type] = {}  # Keras's global custom objects: registered classes ("package>name") and user entries


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """``keras.saving.register_keras_serializable``: file a class under ``"package>name"`` for ``from_config``/loading."""
    def register(cls):
        key = f"{package}>{name or cls.__name__}"
        REGISTRY[key] = cls
        cls._registered_name = key
        return cls
    return register


def get_custom_objects() -> dict:
    """``keras.saving.get_custom_objects()``: the global dict every load consults (``get_custom_objects()["MyLayer"] =
    MyLayer``), registered classes included."""
    return REGISTRY


class CustomObjectScope:
    """``with keras.saving.custom_object_scope({"MyLayer": MyLayer}):`` — those names resolve inside the block."""

    def __init__(self, custom_objects: dict | None = None) -> None:
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self):
        self._before = dict(REGISTRY)
        REGISTRY.update(self.custom_objects)
        return self

    def __exit__(self, *exc) -> None:
        REGISTRY.clear()
        REGISTRY.update(self._before)


custom_object_scope = CustomObjectScope


def get_registered_name(obj) -> str:
    return getattr(obj, "_registered_name", None) or getattr(obj, "__name__", type(obj).__name__)


def get_registered_object(name: str, custom_objects: dict | None = None, module_objects: dict | None = None):
    """``keras.saving.get_registered_object``: ``name`` looked up in ``custom_objects``, the global custom objects, then
    ``module_objects``; None if nowhere."""
    for table in (custom_objects or {}, REGISTRY, module_objects or {}):
        if name in table:
            return table[name]
    return None


def builtin_layers() -> dict[str, type]:
    from rnnkit.keras import layers as L

    return {name: getattr(L, name) for name in L.__all__ if isinstance(getattr(L, name), type)
            and issubclass(getattr(L, name), L.Layer) and name != "Layer"}


def serialize_layer(layer) -> dict:
    registered = getattr(type(layer), "_registered_name", None)
    name = type(layer).__dict__.get("keras_name", type(layer).__name__)  # (Keras's exported name, where it differs)
    builtin = builtin_layers().get(name) is type(layer)
    return {"module": "keras.layers" if builtin else type(layer).__module__, "class_name": name,
            "config": layer.get_config(), "registered_name": registered}


def deserialize_layer(d: dict, custom_objects: dict | None = None):
    if not isinstance(d, dict) or "class_name" not in d:
        raise ValueError(f"expected a serialized layer (a dict with class_name and config), got {d!r}")
    custom = custom_objects or {}
    name, registered = d["class_name"], d.get("registered_name")
    cls = (custom.get(registered) or custom.get(name) or REGISTRY.get(registered) or REGISTRY.get(name)
           or builtin_layers().get(name) or _loaded_class(d.get("module"), name))
    if cls is None and str(d.get("module", "")).startswith("keras"):
        raise ValueError(f"layer {d.get('config', {}).get('name')!r} of type {name!r} is not supported by rnnkit.keras "
                         f"(supported: {', '.join(sorted(builtin_layers()))})")
    if cls is None:
        raise ValueError(f"layer {d.get('config', {}).get('name')!r} of type {name!r} is not known to rnnkit.keras: "
                         f"pass custom_objects={{{name!r}: {name}}} or register the class with "
                         "@rnnkit.keras.saving.register_keras_serializable()")
    config = dict(d.get("config") or {})
    try:
        return cls.from_config(config, custom_objects) if _takes_custom(cls) else cls.from_config(config)
    except TypeError as e:
        raise ValueError(f"cannot rebuild layer {config.get('name')!r} ({name}) from its config: {e}") from None


def _loaded_class(module, name: str):
    """The layer class ``name`` of an already imported module (a user's layer serialized from the same program, as
    Keras finds its own classes by module) — never importing anything a file names, only a subclass of rnnkit.keras's
    ``Layer`` or of Keras's own (a Keras cell), and never from Keras's built-in namespace, whose layers rnnkit.keras
    either has (found by name) or does not support."""
    import sys

    from rnnkit.keras.layers.base import Layer

    if not isinstance(module, str) or module == "keras.layers" or module not in sys.modules:
        return None
    cls = getattr(sys.modules[module], name, None)
    keras = sys.modules.get("keras")
    bases = (Layer,) + ((keras.Layer,) if isinstance(getattr(keras, "Layer", None), type) else ())
    return cls if isinstance(cls, type) and issubclass(cls, bases) else None


def _takes_custom(cls) -> bool:
    import inspect

    return "custom_objects" in inspect.signature(cls.from_config).parameters
