"""``rnnkit.keras.models``, as ``keras.models``: ``Model``, ``Sequential``, ``load_model``, ``clone_model`` and
``model_from_json``."""

from __future__ import annotations

import json

from rnnkit.keras.model import Model
from rnnkit.keras.sequential import Sequential


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True):
    """A ``.keras`` archive written by real Keras (or by ``save``), or an rnnkit.keras model folder; a user's own
    layers and cells by ``custom_objects={"Name": cls}`` or registered with ``register_keras_serializable``; compiled
    as it was saved (``compile=False``: not). ``safe_mode`` is always on: a file's Lambda layers are refused."""
    from rnnkit.keras.saving import load_model as _load

    if not safe_mode:
        raise ValueError("load_model(safe_mode=False) is not supported: rnnkit.keras never runs code from a file")
    return _load(filepath, custom_objects, compile)


def model_from_json(json_string: str, custom_objects: dict | None = None):
    """The model ``model.to_json()`` describes (Keras's schema), with new weights."""
    from rnnkit.keras.saving import model_from_config

    return model_from_config(json.loads(json_string), custom_objects)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """Keras's ``clone_model``: the same architecture from the model's config, every layer new — its weights freshly
    initialized, not copied (``set_weights(model.get_weights())`` copies them)."""
    if input_tensors is not None or clone_function is not None or call_function is not None or kwargs:
        raise ValueError("clone_model: input_tensors, clone_function and call_function are not supported by "
                         "rnnkit.keras")
    return model_from_json(model.to_json())


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Keras's ``models.save_model``: ``model.save(filepath)``."""
    from rnnkit.keras.saving import save_model as save

    save(model, filepath)


__all__ = ["Model", "Sequential", "load_model", "clone_model", "model_from_json", "save_model"]
