"""Where Keras's messages go (Keras's ``io_utils``): the callbacks' notes, the progress bars, the summary, the dataset
helpers' counts — to standard output while interactive logging is on (the default), to Python's ``logging`` (logger
"rnnkit.keras", level INFO) once ``keras.config.disable_interactive_logging()`` / ``keras.utils.
disable_interactive_logging()`` turns it off, as Keras sends them to absl's log."""

from __future__ import annotations

import logging
import sys

_INTERACTIVE = {"enabled": True}
LOGGER = logging.getLogger("rnnkit.keras")


def enable_interactive_logging() -> None:
    _INTERACTIVE["enabled"] = True


def disable_interactive_logging() -> None:
    _INTERACTIVE["enabled"] = False


def is_interactive_logging_enabled() -> bool:
    return _INTERACTIVE["enabled"]


def print_msg(message: str, line_break: bool = True) -> None:
    """A message to standard output (interactive logging) or to the log."""
    if _INTERACTIVE["enabled"]:
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        LOGGER.info(message)


__all__ = ["enable_interactive_logging", "disable_interactive_logging", "is_interactive_logging_enabled", "print_msg"]
