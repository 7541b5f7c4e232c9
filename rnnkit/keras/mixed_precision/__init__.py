"""``keras.mixed_precision``: the policy names Keras code reads and sets — float32 only in rnnkit.keras (another
policy is refused; ``rnnkit.keras.dtype_policies``)."""

from rnnkit.keras.dtype_policies import (
    DTypePolicy,
    Policy,
    dtype_policy,
    global_policy,
    set_dtype_policy,
    set_global_policy,
)

__all__ = ["DTypePolicy", "Policy", "dtype_policy", "global_policy", "set_dtype_policy", "set_global_policy"]


def __getattr__(name: str):  # a Keras name rnnkit.keras does not provide: say why (not_provided.py)
    from rnnkit.keras.not_provided import missing

    raise missing("mixed_precision", name)
