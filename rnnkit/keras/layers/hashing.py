"""Keras's hashing of tokens into bins — the ``Hashing`` layer, and the OOV slots of ``StringLookup`` /
``IntegerLookup`` with ``num_oov_indices > 1`` — with TensorFlow's hash functions, so a token lands in Keras's bin:

    bin(t) = FarmHash Fingerprint64(s) mod B                 (TensorFlow's ``to_hash_bucket_fast``)
    bin(t) = SipHash-2-4_{k0, k1}(s) mod B   with a salt     (``to_hash_bucket_strong``; a single salt k is (k, k))

where s is the token's UTF-8 bytes — an integer's decimal digits (a float is truncated to an integer first, as
Keras casts it). ``Hashing(mask_value=m)`` keeps bin 0 for m and hashes the rest into 1 … B−1. The hash functions
are the ``pyfarmhash`` and ``siphash24`` packages (checked against TensorFlow 2.21 in the tests)."""

from __future__ import annotations

import struct

import numpy as np
import torch

from rnnkit.keras.layers.base import KerasTensor, Layer
from rnnkit.keras.layers.preprocessing import encode
from rnnkit.keras.layers.symbolic import symbolic_call

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


def salt_pair(salt, owner: str) -> list[int] | None:
    """Keras's salt: None, one integer k (the key (k, k)) or a pair of integers."""
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2:
        return [int(s) for s in salt]
    if isinstance(salt, (int, np.integer)) and not isinstance(salt, bool):
        return [int(salt), int(salt)]
    raise ValueError(f"The `salt` argument for `{owner}` can only be a tuple of size 2 integers, or a single integer. "
                     f"Received: salt={salt}.")


def token_bytes(token) -> bytes:
    """A token as TensorFlow hashes it: a string's UTF-8 bytes, an integer's decimal digits (floats truncated)."""
    if isinstance(token, bytes):
        return token
    if isinstance(token, (str, np.str_)):
        return str(token).encode("utf-8")
    if isinstance(token, (bool, np.bool_)):
        raise TypeError(f"hashing takes strings and numbers, got {token!r}")
    if isinstance(token, (float, np.floating)):
        token = int(token)  # Keras casts floats to int64 before hashing
    if isinstance(token, (int, np.integer)):
        return str(int(token)).encode("ascii")
    raise TypeError(f"hashing takes strings and numbers, got {type(token).__name__} {token!r}")


def hash_bucket(token, num_buckets: int, salt: list[int] | None = None) -> int:
    """The bin in [0, num_buckets) TensorFlow hashes the token to: FarmHash Fingerprint64, or SipHash-2-4 keyed by
    the salt."""
    data = token_bytes(token)
    if salt is None:
        import farmhash

        return farmhash.fingerprint64(data) % num_buckets
    import siphash24

    digest = siphash24.siphash24(data, key=struct.pack("<QQ", *(s % (1 << 64) for s in salt))).intdigest()
    return (digest % (1 << 64)) % num_buckets  # the package gives the 64 bits as a signed number


def _values(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x, dtype=object) if not isinstance(x, np.ndarray) else x


class Hashing(Layer):
    """Keras's ``Hashing(num_bins, mask_value=None, salt=None, output_mode="int")``: each input element — a string
    or a number — to its bin (module docstring); "one_hot", "multi_hot" and "count" encode the bins as
    ``CategoryEncoding`` does. Strings come as NumPy arrays or lists (after a string ``Input`` too)."""

    takes_strings = True

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode: str = "int", sparse: bool = False,
                 **kwargs):
        kwargs.pop("dtype", None)  # outputs are int64 ("int") or float32, as Keras's defaults
        super().__init__(**kwargs)
        if num_bins is None or num_bins <= 0:
            raise ValueError(f"The `num_bins` for `Hashing` cannot be `None` or non-positive values. Received: "
                             f"num_bins={num_bins}.")
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of {OUTPUT_MODES}. Received: "
                             f"output_mode={output_mode}")
        if sparse:
            raise ValueError("Hashing: sparse=True is not supported (torch tensors here are dense)")
        self.num_bins, self.mask_value, self.output_mode, self.sparse = num_bins, mask_value, output_mode, sparse
        self.salt = salt_pair(salt, "Hashing")
        self.built = True

    def _bin(self, value) -> int:
        if self.mask_value is not None and self.num_bins > 1:
            if _equal(value, self.mask_value):
                return 0
            return hash_bucket(value, self.num_bins - 1, self.salt) + 1
        return hash_bucket(value, self.num_bins, self.salt)

    def __call__(self, x, *args, **kwargs):
        if isinstance(x, KerasTensor):
            return symbolic_call(self, x, {})
        values = _values(x)
        bins = torch.tensor([self._bin(v) for v in values.reshape(-1).tolist()], dtype=torch.long)
        bins = bins.reshape(values.shape)
        return bins if self.output_mode == "int" else encode(bins, self.output_mode, self.num_bins)

    @property
    def output_dtype(self) -> torch.dtype:
        return torch.long if self.output_mode == "int" else torch.float32

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        if self.output_mode == "one_hot":
            return (*(shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape), self.num_bins)
        return (*shape[:-1], self.num_bins) if len(shape) else (self.num_bins,)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                "output_mode": self.output_mode, "sparse": self.sparse}


def _equal(value, mask) -> bool:
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return bool(value == mask) if isinstance(value, str) == isinstance(mask, str) else False


__all__ = ["Hashing", "hash_bucket", "salt_pair"]
