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
