"""Keras's serialized form of an object: ``{"module", "class_name", "config", "registered_name"}`` — plain JSON.

``serialize(obj, module)`` writes it for anything with ``get_config()``; ``deserialize(d, table, kind)`` reads it back
through a table of the classes a module offers (a dict, a string name, or an instance pass through ``get``-style
lookups in each module). One place, so initializers, regularizers, constraints and layers write the same shape as
Keras 3's ``serialize_keras_object`` and read what real Keras writes.
"""

from __future__ import annotations


def serialize(obj, module: str) -> dict | None:
    if obj is None:
        return None
    return {"module": module, "class_name": type(obj).__name__, "config": obj.get_config(), "registered_name": None}


def deserialize(d: dict, table: dict, kind: str):
    """An object from its serialized dict; a class rnnkit does not offer is named with the ones it does."""
    name = d.get("class_name")
    cls = table.get(name)
    if cls is None:
        offered = ", ".join(sorted(k for k in table if k[0].isupper()))
        raise ValueError(f"unknown {kind} {name!r}; rnnkit.keras offers {offered}")
    config = d.get("config") or {}
    from_config = getattr(cls, "from_config", None)
    return from_config(config) if from_config is not None else cls(**config)


def lookup(identifier, table: dict, kind: str, default_args: dict | None = None):
    """``keras.<module>.get``: None, a name (``"l2"``, ``"GlorotUniform"``), a serialized dict, a class or an object."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier, table, kind)
    if isinstance(identifier, str):
        cls = table.get(identifier)
        if cls is None:
            raise ValueError(f"unknown {kind} {identifier!r}; expected one of {', '.join(sorted(table))}")
        return cls(**(default_args or {}).get(identifier, {}))
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"could not interpret {kind} {identifier!r}: expected a name, a config dict or a callable")


def snake_table(classes) -> dict:
    """Keras's lookup table: each class by its name and by its snake_case alias (``GlorotUniform``, ``glorot_uniform``)."""
    from rnnkit.keras.backend import snake

    table = {}
    for cls in classes:
        table[cls.__name__] = cls
        table[snake(cls.__name__)] = cls
    return table


def module_functions(table: dict, kind: str, module: str):
    """A Keras module's ``serialize(obj)`` and ``deserialize(config, custom_objects=None)`` over its class table
    (``keras.regularizers``, ``keras.constraints``)."""
    def serialize_(obj):
        return serialize(obj, module)

    def deserialize_(config, custom_objects=None):
        return lookup(config, {**table, **(custom_objects or {})}, kind)

    serialize_.__doc__ = f"``{module}.serialize``: Keras's {{\"module\", \"class_name\", \"config\", \"registered_name\"}}."
    deserialize_.__doc__ = f"``{module}.deserialize``: the {kind} a serialized dict describes."
    return serialize_, deserialize_
