"""``keras.utils.Config``: a dict of settings read and written as attributes (``config.learning_rate = 1e-3``) or
items, that can be frozen against changes (``freeze()``/``unfreeze()``) — Keras's experiment-settings object."""

from __future__ import annotations

import copy
import difflib
import json

_OWN = frozenset({"_config", "_frozen"})


class Config:
    def __init__(self, **kwargs):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        object.__setattr__(self, "_frozen", False)

    def _check(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self) -> dict:
        return copy.copy(self._config)

    def to_json(self) -> str:
        return json.dumps(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def pop(self, *args):
        self._check()
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._check()
        return self._config.update(*args, **kwargs)

    def get(self, key, value=None):
        return self._config.get(key, value)

    def __setattr__(self, name, value):
        if name in _OWN or name in type(self).__dict__:
            return object.__setattr__(self, name, value)
        self._check()
        self._config[name] = value

    def __getattr__(self, name):
        config = object.__getattribute__(self, "_config")
        if name in config:
            return config[name]
        message = f"Unknown attribute: '{name}'."
        close = difflib.get_close_matches(name, config.keys(), n=1, cutoff=0.7)
        raise AttributeError(message + (f" Did you mean '{close[0]}'?" if close else ""))

    def __setitem__(self, key, value):
        self._check()
        self._config[key] = value

    def __getitem__(self, key):
        return self._config[key]

    def __delitem__(self, key):
        self._check()
        del self._config[key]

    def __contains__(self, key) -> bool:
        return key in self._config

    def __iter__(self):
        return iter(sorted(self._config))

    def __len__(self) -> int:
        return len(self._config)

    def __repr__(self) -> str:
        return f"<Config {self._config}>"


__all__ = ["Config"]
