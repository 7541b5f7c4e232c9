"""Keras's operations in the functional graph: ``keras.ops.mean(x, axis=1)``, ``x[:, -1]`` or ``x + y`` on a
``KerasTensor`` records an ``Operation`` node, as Keras 3 does — the model runs it like a layer, ``summary`` lists it,
and a saved model writes it as Keras writes it (``{"module": "keras.src.ops.numpy", "class_name": "Mean", "config":
{"name": "mean", "axis": 1, "keepdims": false}}``, the tensors and other call arguments in its inbound node).

``@operation("Mean", static=("axis", "keepdims"))`` makes an eager function (tensors in, tensors out) symbolic too:
the ``static`` arguments are the operation's config (Keras's ``__init__`` arguments), the rest its call arguments.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np
import torch

from rnnkit.keras.backend import snake, unique_name
from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.symbolic import KerasTensor, symbolic_call

OPERATIONS: dict[str, tuple] = {}  # Keras class name → (eager function, static argument names, Keras module)


def _symbolic(v) -> bool:
    if isinstance(v, KerasTensor):
        return True
    if isinstance(v, (list, tuple)):
        return any(_symbolic(x) for x in v)
    return isinstance(v, dict) and any(_symbolic(x) for x in v.values())


class Operation(Layer):
    """One Keras operation in a functional model: no weights, its ``config`` (the static arguments) fixed, its call
    arguments (tensors, constants, an index) given at each call. Masks pass no further, as in Keras."""

    keras_operation = True

    def __init__(self, class_name: str, config: dict | None = None, name: str | None = None) -> None:
        if class_name not in OPERATIONS:
            raise ValueError(f"unknown Keras operation {class_name!r}")
        super().__init__(name=name or unique_name(snake(class_name)))
        self.class_name = class_name  # the function is looked up by it (so a model with operations pickles)
        config = config or {}
        self.config = {k: config[k] if k in config else self._default(k) for k in self.static}

    @property
    def fn(self):
        return OPERATIONS[self.class_name][0]

    @property
    def static(self) -> tuple:
        return OPERATIONS[self.class_name][1]

    @property
    def module(self) -> str:
        return OPERATIONS[self.class_name][2]

    def _default(self, arg: str):
        p = inspect.signature(self.fn).parameters[arg]
        if p.default is inspect.Parameter.empty:
            raise ValueError(f"operation {self.class_name}: its config lacks {arg!r}")
        return p.default

    def __call__(self, *args, mask=None, training=False, **kwargs):
        if _symbolic(args) or _symbolic(kwargs):
            return symbolic_call(self, args[0], kwargs, args[1:])
        return self.fn(*args, **kwargs, **self.config)

    def get_config(self) -> dict:
        """The name and the static arguments as JSON values (tuples and NumPy values as lists and numbers)."""
        def plain(v):
            if isinstance(v, (tuple, list)):
                return [plain(x) for x in v]
            return v.tolist() if hasattr(v, "tolist") and not isinstance(v, str) else v
        return {"name": self.name, **{k: plain(v) for k, v in self.config.items()}}

    def serialize(self) -> dict:
        return {"module": self.module, "class_name": self.class_name, "config": self.get_config(),
                "registered_name": self.class_name}

    def extra_repr(self) -> str:
        return f"{self.name}: {self.class_name}"


def operation(class_name: str, static: tuple = (), module: str = "numpy"):
    """Register an eager function as Keras's operation ``class_name`` and return it symbolic-aware."""
    def wrap(fn):
        sig = inspect.signature(fn)
        OPERATIONS[class_name] = (fn, tuple(static), f"keras.src.ops.{module}")

        @functools.wraps(fn)
        def op(*args, **kwargs):
            if not (_symbolic(args) or _symbolic(kwargs)):
                return fn(*args, **kwargs)
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            call_args = []
            for name, p in sig.parameters.items():
                if name in static:
                    continue
                value = bound.arguments[name]
                call_args += list(value) if p.kind is p.VAR_POSITIONAL else [value]
            return Operation(class_name, {k: bound.arguments[k] for k in static})(*call_args)
        op.keras_operation = class_name
        if op.__name__ == "op":  # made by a table (``_unary("Exp", torch.exp)``): named as Keras names it
            op.__name__ = op.__qualname__ = snake(class_name)
        return op
    return wrap


# --- call arguments as Keras writes them: slices and ``...`` of an index ---------------------------------------------
def encode_argument(v):
    if isinstance(v, slice):
        return {"class_name": "__slice__", "config": {"start": v.start, "stop": v.stop, "step": v.step}}
    if v is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(v, (torch.Tensor, np.ndarray)):  # a constant operand (x * ops.logspace(0, 1, 4)), as Keras writes it
        from rnnkit.keras.keras_objects import standardize_dtype

        a = v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v
        return {"class_name": "__tensor__", "config": {"value": a.tolist(), "dtype": standardize_dtype(a.dtype)}}
    return v


def decode_argument(v):
    if isinstance(v, dict) and v.get("class_name") == "__slice__":
        c = v.get("config", {})
        return slice(c.get("start"), c.get("stop"), c.get("step"))
    if isinstance(v, dict) and v.get("class_name") == "__ellipsis__":
        return Ellipsis
    if isinstance(v, dict) and v.get("class_name") in ("__tensor__", "__numpy__"):
        c = v.get("config", {})
        return torch.as_tensor(np.asarray(c.get("value"), dtype=c.get("dtype") or None))
    return v


def from_config(d: dict) -> Operation:
    """An operation entry of a saved functional model (Keras's or rnnkit's)."""
    cfg = dict(d.get("config") or {})
    return Operation(d["class_name"], cfg, name=cfg.get("name") or d.get("name"))
