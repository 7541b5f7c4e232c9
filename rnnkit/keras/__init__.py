"""``rnnkit.keras``: the Keras front end (``Sequential``, ``compile``, ``fit``, ``predict``) over rnnkit's engine.

Mirrors the ``keras`` namespace for recurrent models: ``from rnnkit.keras.models import Sequential``,
``from rnnkit.keras.layers import SimpleRNN, Dense`` — the tutorial's Keras code runs with its imports changed, with
Keras 3's numbers (same weights → same outputs, tested against real Keras) and rnnkit's speed.
"""

from rnnkit.keras import callbacks, layers, models, optimizers
from rnnkit.keras.layers import Input
from rnnkit.keras.models import Model, Sequential, load_model

__all__ = ["layers", "callbacks", "optimizers", "models", "Input", "Model", "Sequential", "load_model"]
