"""Task options: dataclasses whose fields carry their help text and valid range.

One description serves both doors: the Python API checks an options object when it is made (``check``, called from
``__post_init__``), and the command line builds one ``--option`` per field from the same metadata, with the help text,
so ``rnnkit train classify --help`` lists every option and a bad value names the option the user typed and the range::

    @dataclass
    class MyOptions:
        data: str = option(None, "a built-in corpus name or a file", required=True)
        epochs: int = option(10, "passes over the training data", min=1)
        lr: float = option(1e-3, "learning rate", min=0, min_open=True)

        def __post_init__(self):
            check(self)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from rnnkit.train import PRECISIONS
from rnnkit.train.distributed import resolve_device


class OptionError(ValueError):
    """A bad option value; ``field`` is the dataclass field's name (the command line shows it as ``--field-name``)."""

    def __init__(self, field: str, problem: str, message: str | None = None) -> None:
        self.field, self.problem = field, problem
        super().__init__(message or f"{field} {problem}")


def option(default: Any, help: str, *, min: float | None = None, max: float | None = None, min_open: bool = False,
           max_open: bool = False, choices: tuple[str, ...] | None = None, required: bool = False,
           validate: Callable[[Any], object] | None = None):
    """A dataclass field with its help text, numeric range (closed unless ``*_open``) or allowed values; ``validate``
    checks what those cannot (it raises ``ValueError`` saying what is wrong)."""
    meta = {"help": help, "min": min, "max": max, "min_open": min_open, "max_open": max_open, "choices": choices,
            "required": required, "validate": validate}
    return dataclasses.field(default=default, metadata=meta)


REGULARIZER_HELP = {
    "variational_dropout": "locked dropout: one mask per sequence on each recurrent layer's input and output",
    "recurrent_dropout": "one dropout mask per sequence on h(t-1) inside each step",
    "zoneout": "each unit keeps its previous state with this probability at every step",
    "weight_drop": "DropConnect on the recurrent weights W_hh (AWD-LSTM's weight drop)",
}


def regularizer_option(name: str):
    """One of the recurrent layers' regularisers (``rnnkit.layers.regularizers``) as a task option, 0 = off."""
    return option(0.0, REGULARIZER_HELP[name], min=0, max=1, max_open=name != "zoneout")


def precision_option():
    """The Trainer's ``train.precision`` as a task option (the same choices, float32 by default)."""
    return option("32", "32: float32; bf16: mixed precision (bfloat16 forward under torch.autocast, float32 weights) — "
                  "faster on GPUs and CPUs with AVX-512 BF16, slower on other CPUs", choices=tuple(PRECISIONS))


def device_option():
    """The Trainer's ``train.device`` as a task option; a device this machine lacks is refused with the options."""
    return option("auto", "where to train: auto (the GPU when torch sees one, else the CPU), cpu, cuda, cuda:N",
                  validate=lambda name: resolve_device(name, "device"))


def regularizers_of(opts) -> dict[str, float]:
    """The regularisers an options object turns on, as the recurrent layer's keyword arguments."""
    return {k: getattr(opts, k) for k in REGULARIZER_HELP if getattr(opts, k, 0)}


def base_type(f: dataclasses.Field) -> tuple[str, bool]:
    """(``"bool"``/``"int"``/``"float"``/``"str"``, whether None is allowed) from the field's annotation."""
    t = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    optional = "None" in t
    return t.replace("| None", "").replace("None |", "").strip(), optional


def range_text(meta: dict) -> str:
    """The valid range in words: ``greater than 0``, ``at least 1``, ``in (0, 1)``, ``in [0, 1)``."""
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        return f"in {'(' if meta['min_open'] else '['}{lo:g}, {hi:g}{')' if meta['max_open'] else ']'}"
    if lo is not None:
        return f"{'greater than' if meta['min_open'] else 'at least'} {lo:g}"
    if hi is not None:
        return f"{'less than' if meta['max_open'] else 'at most'} {hi:g}"
    return ""


def _shown(value: Any) -> str:
    """A wrong value as an error shows it: its repr, or only its type when the repr is long (a whole data frame)."""
    text = repr(value)
    return text if len(text) <= 80 and "\n" not in text else f"a {type(value).__module__}.{type(value).__qualname__}"


def check_value(f: dataclasses.Field, value: Any) -> None:
    meta, (kind, optional) = f.metadata, base_type(f)
    if value is None:
        if optional and not meta.get("required"):
            return
        raise OptionError(f.name, "is required" if meta.get("required") else "may not be None")
    expected = {"bool": (bool,), "int": (int,), "float": (int, float), "str": (str,)}.get(kind)
    if expected is not None and (not isinstance(value, expected) or (kind != "bool" and isinstance(value, bool))):
        raise OptionError(f.name, f"must be {'an' if kind == 'int' else 'a'} "
                                  f"{ {'bool': 'boolean', 'int': 'integer', 'float': 'number', 'str': 'string'}[kind]}, "
                                  f"got {_shown(value)}")
    if kind in ("int", "float"):
        lo, hi = meta.get("min"), meta.get("max")
        bad = (not math.isfinite(value)
               or (lo is not None and (value <= lo if meta.get("min_open") else value < lo))
               or (hi is not None and (value >= hi if meta.get("max_open") else value > hi)))
        if bad:
            raise OptionError(f.name, f"must be {range_text(meta) or 'finite'}, got {value!r}")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        problem = f"unknown {f.name.replace('_', ' ')} {value!r}; expected one of {', '.join(choices)}"
        raise OptionError(f.name, problem, problem)
    if meta.get("validate") is not None:
        try:
            meta["validate"](value)
        except ValueError as e:
            raise OptionError(f.name, str(e), str(e)) from None


def check(obj) -> None:
    """Check every field of an options dataclass against its metadata; raise ``OptionError`` naming the first bad one."""
    for f in dataclasses.fields(obj):
        if "help" in f.metadata:
            check_value(f, getattr(obj, f.name))


def run_options(cls, options, run_dir, **overrides):
    """The options ``cls`` a run was trained with — ``options``, its config.json's ``"options"`` — with
    ``overrides`` (a None value overrides nothing). An option this rnnkit does not know (a run written by a newer
    version) or a value it refuses is reported with the file it came from, as a ``CheckpointError``."""
    from rnnkit import __version__
    from rnnkit.train.checkpoint import CheckpointError

    where = f"{run_dir}/config.json"
    if not isinstance(options, dict):
        raise CheckpointError(f"{where}: expected an \"options\" object (the options the run was trained with)")
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise CheckpointError(f"{where}: option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                              f"unknown to this rnnkit ({__version__}) — was the run made by a newer version?")
    try:
        return cls(**{**options, **{k: v for k, v in overrides.items() if v is not None}})
    except (ValueError, TypeError) as e:  # OptionError (a ValueError) names the option; a wrong type can be a TypeError
        raise CheckpointError(f"{where}: {e}") from None


def documented_fields(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]


__all__ = ["option", "regularizer_option", "regularizers_of", "check", "check_value", "OptionError", "range_text",
           "base_type", "documented_fields", "run_options"]
