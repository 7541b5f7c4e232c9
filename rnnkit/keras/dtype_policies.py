"""Keras's dtype policies as far as rnnkit.keras goes: every layer computes and keeps its variables in float32, so
the one policy is "float32" — ``layer.dtype_policy``, ``layer.dtype`` / ``compute_dtype`` / ``variable_dtype``,
``keras.config.dtype_policy()``, ``keras.mixed_precision.global_policy()`` report it as Keras does, and asking for
another ("mixed_float16", "mixed_bfloat16", "float64", quantized) is refused with a ValueError naming it rather than
ignored (a float16 policy silently computing in float32 would mislead timings and memory)."""

from __future__ import annotations


class DTypePolicy:
    """Keras's ``DTypePolicy(name="float32")``: ``name``, ``compute_dtype``, ``variable_dtype``."""

    def __init__(self, name=None):
        name = "float32" if name is None else name
        name = name.name if isinstance(name, DTypePolicy) else name
        if name != "float32":
            raise ValueError(f"dtype policy {name!r} is not supported: rnnkit.keras layers compute in float32 (for "
                             "mixed precision, train with rnnkit's engine: train.precision='bf16')")
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    compute_dtype = variable_dtype = name
    quantization_mode = None

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self.name}">'

    def __eq__(self, other) -> bool:
        return isinstance(other, DTypePolicy) and other.name == self.name

    __hash__ = object.__hash__


FloatDTypePolicy = DTypePolicy
Policy = DTypePolicy  # keras.mixed_precision's older name
FLOAT32 = DTypePolicy()


def get(identifier) -> DTypePolicy:
    if identifier is None or isinstance(identifier, DTypePolicy):
        return identifier or FLOAT32
    if isinstance(identifier, dict):
        return DTypePolicy(**(identifier.get("config") or {}))
    return DTypePolicy(identifier)


def serialize(policy) -> dict:
    return {"module": "keras", "class_name": "DTypePolicy", "config": get(policy).get_config(),
            "registered_name": None}


def deserialize(config, custom_objects=None) -> DTypePolicy:
    return get(config)


def dtype_policy() -> DTypePolicy:
    """``keras.config.dtype_policy()`` / ``mixed_precision.global_policy()``: float32."""
    return FLOAT32


def set_dtype_policy(policy) -> None:
    """Only "float32" (another policy is refused — see the module docstring)."""
    get(policy)


global_policy, set_global_policy = dtype_policy, set_dtype_policy

__all__ = ["DTypePolicy", "FloatDTypePolicy", "Policy", "get", "serialize", "deserialize", "dtype_policy",
           "set_dtype_policy", "global_policy", "set_global_policy"]


def __getattr__(name: str):  # a Keras name rnnkit.keras does not provide: say why (not_provided.py)
    from rnnkit.keras.not_provided import missing

    raise missing("dtype_policies", name)
