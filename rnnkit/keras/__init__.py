"""``rnnkit.keras``: the Keras front end (``Sequential``, ``compile``, ``fit``, ``predict``) over rnnkit's engine.

Mirrors the ``keras`` namespace for recurrent models: ``from rnnkit.keras.models import Sequential``,
``from rnnkit.keras.layers import SimpleRNN, Dense`` — the tutorial's Keras code runs with its imports changed, with
Keras 3's numbers (same weights → same outputs, tested against real Keras) and rnnkit's speed. ``initializers``,
``regularizers``, ``constraints``, ``utils.pad_sequences``/``to_categorical`` and
``saving.register_keras_serializable`` are there under Keras's names too, and ``ops`` (Keras's ``keras.ops``, for a
custom layer or cell, and on a functional model's symbolic tensors) and ``tree`` (Keras's nested-structure
functions: a cell's states, a model's several inputs).
"""

from rnnkit.keras import (
    activations,
    backend,
    callbacks,
    config,
    constraints,
    datasets,
    dtype_policies,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    regularizers,
    saving,
    tree,
    utils,
)
from rnnkit.keras.layers import Input, KerasTensor, Layer
from rnnkit.keras.models import Model, Sequential, load_model

__all__ = ["activations", "backend", "config", "losses", "preprocessing", "Layer", "KerasTensor",
           "random", "layers", "callbacks", "ops", "optimizers", "metrics", "models",
           "initializers", "regularizers", "constraints", "saving", "utils", "Input", "Model", "Sequential",
           "load_model", "dtype_policies", "mixed_precision", "datasets", "tree"]
