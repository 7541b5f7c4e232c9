"""A task's options dataclass as command-line options: one ``--option`` per documented field, with its help text,
default and valid range, parsed and checked before anything runs (``rnnkit.tasks.options`` holds the rules, so the
Python API and the command line refuse the same values with the same words)."""

from __future__ import annotations

import dataclasses
import inspect

import typer

from rnnkit.tasks.options import OptionError, base_type, check_value, documented_fields, range_text

TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def _parser(f: dataclasses.Field):
    kind, _ = base_type(f)

    def parse(text):
        if not isinstance(text, str):
            value = text
        elif kind == "bool":
            if text.lower() not in TRUE + FALSE:
                raise typer.BadParameter(f"expected true or false, got {text!r}")
            value = text.lower() in TRUE
        elif kind in ("int", "float"):
            try:
                value = int(text) if kind == "int" else float(text)
            except ValueError:
                raise typer.BadParameter(f"expected {'an integer' if kind == 'int' else 'a number'}, got {text!r}"
                                         + (f" ({range_text(f.metadata)})" if range_text(f.metadata) else "")) from None
        else:
            value = text
        try:
            check_value(f, value)
        except OptionError as e:
            raise typer.BadParameter(e.problem) from None
        return value

    return parse


def _help(f: dataclasses.Field) -> str:
    meta = f.metadata
    extra = range_text(meta) or (f"one of: {', '.join(meta['choices'])}" if meta.get("choices") else "")
    return meta["help"] + (f" ({extra})" if extra else "")  # not [...]: rich would read it as markup


def task_command(options_cls, run, extra: list[inspect.Parameter] = ()):
    """A function typer turns into a command: the options' fields, then ``extra`` parameters; it calls
    ``run(options, **extra_values)``."""
    params = []
    for f in documented_fields(options_cls):
        kind, _ = base_type(f)
        required = f.metadata.get("required")
        metavar = {"bool": "BOOL", "int": "INT", "float": "NUMBER"}.get(kind, "TEXT")
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=str, default=typer.Option(
            ... if required else f.default, "--" + f.name.replace("_", "-"), help=_help(f), parser=_parser(f),
            metavar=metavar, show_default=not required and f.default is not None)))
    names = [p.name for p in params]

    def command(**values):
        extra_values = {k: values.pop(k) for k in list(values) if k not in names}
        try:  # options that do not go together (each alone was checked as it was parsed)
            opts = options_cls(**values)
        except OptionError as e:
            raise typer.BadParameter(e.problem, param_hint="--" + e.field.replace("_", "-")) from None
        except ValueError as e:
            raise typer.BadParameter(str(e)) from None
        return run(opts, **extra_values)

    command.__signature__ = inspect.Signature(params + list(extra))
    return command


def keyword(name: str, default, annotation=str, **option_kwargs) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                             default=typer.Option(default, **option_kwargs))
