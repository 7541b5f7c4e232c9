"""Keras 3's automatic config: a layer whose class writes no ``get_config`` is described by the arguments it was
constructed with, when they are plain JSON values (strings, numbers, booleans, None, and lists/dicts of them) — so a
user's own cell (``class MyCell(Layer): def __init__(self, units, **kwargs)``) round-trips through
``get_config``/``from_config`` and inside an ``RNN``'s config with no code of its own, as in Keras
(``keras.src.ops.operation.Operation.__new__``). With any other argument (a layer, an array) there is none.
"""

from __future__ import annotations

import inspect

PLAIN = (str, int, float, bool, type(None))


def is_plain(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return isinstance(value, PLAIN)


def constructor_config(cls, args: tuple, kwargs: dict) -> dict | None:
    """The arguments of ``cls(*args, **kwargs)`` by name, or None when one is not a plain JSON value (or has no
    name: a ``*args`` beyond the named parameters)."""
    names = inspect.getfullargspec(cls.__init__).args[1:]
    if len(args) > len(names):
        return None
    config = {**dict(zip(names, args)), **kwargs}
    return config if is_plain(config) else None
