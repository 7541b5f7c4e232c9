"""``rnnkit.keras.ops``: Keras 3's backend-neutral operations (``keras.ops``) on torch — what a custom layer or cell
written for Keras calls (``ops.matmul``, ``ops.einsum``, ``ops.sigmoid``, ``ops.concatenate``, ``ops.mean``, …) — with
NumPy's signatures and Keras's defaults, arrays/numbers/tensors in and tensors out. On a functional model's
``KerasTensor`` they (and ``x[...]``, ``x + y``, …) record Keras's operation nodes (``operation.py``).
``ops.nn``, ``ops.numpy``, ``ops.core``, ``ops.linalg``, ``ops.math`` (the Fourier transforms, ``spectral.py``) and
``ops.image`` (``resize``) are Keras's sub-namespaces; the math lives in ``numpy.py`` and ``elementwise.py``, shapes
and new arrays in ``arrays.py`` and ``stacking.py``."""

from rnnkit.keras.ops import (
    arrays,
    convolution,
    core,
    elementwise,
    image,  # noqa: E402, F401 (keras.ops.image: its operations stay in the namespace)
    linalg,
    nn,
    numpy,
    spectral,
    stacking,
    statistics,
    transforms,
)

math = spectral  # Keras's name for the namespace

# every operation at the top, as keras.ops has them (names Python's builtins share — sum, max, abs — included)
for _module in (core, numpy, elementwise, arrays, stacking, nn, linalg, spectral, statistics, convolution, transforms):
    for _name, _value in vars(_module).items():
        if callable(_value) and not _name.startswith("_") and not isinstance(_value, type) and getattr(
                _value, "__module__", "").startswith("rnnkit.keras.ops") and _name not in ("operation", "torch_dtype"):
            globals()[_name] = _value
del _module, _name, _value
