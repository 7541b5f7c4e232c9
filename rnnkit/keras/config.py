"""``keras.config``: the global settings code reads — ``floatx()`` (rnnkit.keras computes in float32), ``epsilon()``
(the fuzz factor of losses and metrics, 1e-7), ``backend()`` ("torch"), ``image_data_format()`` and the debugging
caps on a run's epochs and steps (``limits``)."""

from __future__ import annotations

from rnnkit.keras.backend import epsilon
from rnnkit.keras.dtype_policies import dtype_policy, set_dtype_policy
from rnnkit.keras.io_utils import (
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from rnnkit.keras.limits import max_epochs, max_steps_per_epoch, set_max_epochs, set_max_steps_per_epoch


def floatx() -> str:
    return "float32"


def set_floatx(value: str) -> None:
    """Only float32: rnnkit.keras layers compute in float32 (other values are refused, not ignored)."""
    if value != "float32":
        raise ValueError(f"rnnkit.keras computes in float32 only; set_floatx({value!r}) is not supported")


def set_epsilon(value: float) -> None:
    """Only Keras's default, 1e-7: rnnkit.keras's losses and metrics are built with it (another value is refused, not
    ignored)."""
    if value != epsilon():
        raise ValueError(f"rnnkit.keras uses Keras's fuzz factor {epsilon()}; set_epsilon({value!r}) is not supported")


def enable_unsafe_deserialization() -> None:
    """Accepted for Keras code that calls it before loading a model with a ``Lambda``: rnnkit.keras loads no code
    from a file in either mode (a Lambda's function is never unpickled), so nothing changes."""


def backend() -> str:
    return "torch"


def image_data_format() -> str:
    return "channels_last"


def set_image_data_format(data_format: str) -> None:
    if data_format != "channels_last":
        raise ValueError(f"rnnkit.keras's layers take channels last; set_image_data_format({data_format!r}) is not "
                         "supported")


_SWITCHES = {"traceback_filtering": True, "flash_attention": None}


def enable_traceback_filtering() -> None:
    """Kept for Keras code: rnnkit.keras raises its own errors with short messages and does not edit tracebacks."""
    _SWITCHES["traceback_filtering"] = True


def disable_traceback_filtering() -> None:
    _SWITCHES["traceback_filtering"] = False


def is_traceback_filtering_enabled() -> bool:
    return _SWITCHES["traceback_filtering"]


def enable_flash_attention() -> None:
    """Kept for Keras code: attention runs through torch's scaled_dot_product_attention, which picks its fused kernel
    (flash attention where the device has one) itself."""
    _SWITCHES["flash_attention"] = True


def disable_flash_attention() -> None:
    _SWITCHES["flash_attention"] = False


def is_flash_attention_enabled():
    """None (Keras's "auto") until enabled or disabled."""
    return _SWITCHES["flash_attention"]


def is_nnx_enabled() -> bool:
    return False  # (a JAX backend feature)


def set_backend(backend_name: str) -> None:
    """rnnkit.keras runs on PyTorch only: "torch" is accepted, any other backend refused."""
    if backend_name != "torch":
        raise ValueError(f"rnnkit.keras runs on PyTorch; set_backend({backend_name!r}) is not supported")


__all__ = ["floatx", "set_floatx", "epsilon", "backend", "image_data_format", "set_image_data_format", "dtype_policy",
           "set_dtype_policy", "set_epsilon", "enable_unsafe_deserialization", "disable_interactive_logging",
           "enable_interactive_logging", "is_interactive_logging_enabled", "max_epochs", "max_steps_per_epoch",
           "set_max_epochs", "set_max_steps_per_epoch", "enable_traceback_filtering", "disable_traceback_filtering",
           "is_traceback_filtering_enabled", "enable_flash_attention", "disable_flash_attention",
           "is_flash_attention_enabled", "is_nnx_enabled", "set_backend"]
