"""Keras's weights by variable path: where each weight of a model sits in a Keras ``.weights.h5`` file (Keras names a
list's items by class — ``layers/lstm/cell/vars/0`` — and groups a layer's sublayers' weights under them), and
reading and writing those files (``model.save_weights("m.weights.h5")``, ``load_weights``; inside ``.keras``
archives too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rnnkit.keras import layers as L
from rnnkit.keras.backend import snake
from rnnkit.keras.layers.base import Layer


def container_names(items) -> list[str]:
    """Keras names the items of a list in its weights file by class, not by layer name: dense, dense_1, lstm, ..."""
    from rnnkit.keras.models import Model, Sequential

    seen: dict[str, int] = {}
    names = []
    for item in items:
        base = snake(type(item).__name__)
        if isinstance(item, Model) and not isinstance(item, Sequential):
            base = "functional"  # Keras's class for a model built from Inputs
        n = seen.get(base, 0)
        seen[base] = n + 1
        names.append(base if n == 0 else f"{base}_{n}")
    return names


def _groups(layer) -> list[tuple[str, object]]:
    """The h5 groups Keras nests under ``layer``'s own: (path below it, the sublayer whose weights it holds — None for
    a group Keras writes empty), in Keras's order."""
    if not isinstance(layer, Layer):  # a model used as a layer: its layers under its own "layers" group
        return [(f"layers/{n}", sub) for sub, n in zip(layer.layers, container_names(layer.layers))]
    if isinstance(layer, L.Pipeline):  # its layers under a "layers" group, as a model's
        return [(f"layers/{n}", sub) for sub, n in zip(layer.layers, container_names(layer.layers))]
    if isinstance(layer, L.Bidirectional):
        return [("forward_layer", layer.forward_layer), ("backward_layer", layer.backward_layer)]
    if isinstance(layer, (L.RNN, L.ConvLSTM1D, L.ConvLSTM2D, L.ConvLSTM3D)):
        return [("cell", layer.cell)]
    if isinstance(layer, L.StackedRNNCells):
        return [(f"cells/{n}", c) for c, n in zip(layer.cells, container_names(layer.cells))]
    if isinstance(layer, (L.TimeDistributed, L.SpectralNormalization)):
        return [("layer", layer.layer)]
    if isinstance(layer, L.TextVectorization):  # Keras keeps its vocabulary in a StringLookup of its own
        return [("_lookup_layer", None)]
    if isinstance(layer, L.GroupQueryAttention):
        return [*layer.h5_groups(), ("_softmax", None), ("_dropout_layer", None)]
    if isinstance(layer, L.MultiHeadAttention):  # its softmax and dropout are (empty) layers of their own in Keras
        return [*zip(MHA_GROUPS, layer._sublayers()), ("_softmax", None), ("_dropout_layer", None)]
    return []


MHA_GROUPS = ("query_dense", "key_dense", "value_dense", "output_dense")  # Keras's h5 groups of its sublayers


def weight_paths(layer: Layer, prefix: str) -> list[tuple[str, torch.nn.Parameter]]:
    """(Keras h5 path, parameter) for every variable of ``layer``, in Keras's order."""
    if hasattr(layer, "h5_entries"):  # a wrapped torch module: its state_dict by key, as Keras's files hold it
        own = [(f"{prefix}/vars/{key}", t) for key, t in layer.h5_entries()]
    else:
        own = [(f"{prefix}/vars/{i}", w) for i, w in enumerate(layer._own_weights() if isinstance(layer, Layer)
                                                                 else [])]  # (a model used as a layer: none)
    return own + [p for name, sub in _groups(layer) if sub is not None for p in weight_paths(sub, f"{prefix}/{name}")]


def group_paths(layer: Layer, prefix: str) -> list[str]:
    """Every group Keras's loader visits for ``layer`` (each has a ``vars`` subgroup, possibly empty)."""
    return [prefix] + [p for name, sub in _groups(layer)
                       for p in (group_paths(sub, f"{prefix}/{name}") if sub is not None else [f"{prefix}/{name}"])]


def model_weights(model) -> dict[str, torch.nn.Parameter]:
    layers = model.layers
    return {path: p for layer, n in zip(layers, container_names(layers)) for path, p in weight_paths(layer, f"layers/{n}")}



def _lookups(model) -> list[tuple[str, object]]:
    """(Keras's path, layer) for each lookup layer (TextVectorization, StringLookup, IntegerLookup) holding a
    vocabulary — and for a TextVectorization its lookup sublayer's path too, where Keras writes the same again."""
    from rnnkit.keras.layers.lookup import IndexLookup

    out = []
    for layer, n in zip(model.layers, container_names(model.layers)):
        if isinstance(layer, IndexLookup) and layer.vocabulary_text() is not None:
            out.append((f"layers/{n}", layer))
            if isinstance(layer, L.TextVectorization):
                out.append((f"layers/{n}/_lookup_layer", layer))
    return out


def lookup_assets(model) -> dict[str, str]:
    """``assets/<path>/vocabulary.txt`` → the vocabulary, one token per line (special tokens first), as Keras saves
    it."""
    return {f"assets/{path}/vocabulary.txt": layer.vocabulary_text() for path, layer in _lookups(model)}


def lookup_arrays(model) -> dict[str, np.ndarray]:
    """``<path>/vars/idf_weights`` → a tf-idf lookup's weights (the OOV slot's first), as Keras saves them."""
    return {f"{path}/vars/idf_weights": layer.idf_weights.numpy() for path, layer in _lookups(model)
            if layer.idf_weights is not None}


def restore_lookups(model, read_text, arrays: dict, source: str) -> None:
    """Give each lookup layer of a loaded model its saved vocabulary (``read_text(name)``: an asset's text or None) and
    idf weights."""
    from rnnkit.keras.layers.lookup import IndexLookup

    for layer, n in zip(model.layers, container_names(model.layers)):
        if not isinstance(layer, IndexLookup) or layer._tokens is not None:
            continue
        text = read_text(f"assets/layers/{n}/vocabulary.txt")
        if text is None:
            text = read_text(f"assets/layers/{n}/_lookup_layer/vocabulary.txt")
        if text is None:
            continue  # never adapted when saved: it still needs adapt() or a vocabulary
        idf = arrays.get(f"layers/{n}/vars/idf_weights", arrays.get(f"layers/{n}/_lookup_layer/vars/idf_weights"))
        try:
            layer.load_vocabulary(text, idf)
        except ValueError as e:
            raise ValueError(f"{source}: the vocabulary of layer {layer.name!r} does not load: {e}") from None


def write_h5(model, fileobj, optimizer_variables=()) -> None:
    """The model's weights — and, in a ``.keras`` archive, its optimizer's variables (``optimizer/vars/i``)."""
    import h5py

    params = model_weights(model)
    with h5py.File(fileobj, "w") as f:
        for i, arr in enumerate(optimizer_variables):
            f.create_dataset(f"optimizer/vars/{i}", data=arr)
        f.create_group("vars")
        f.create_group("layers")
        for layer, n in zip(model.layers, container_names(model.layers)):
            for g in group_paths(layer, f"layers/{n}"):
                f.require_group(g).require_group("vars")
        for path, p in params.items():
            f.create_dataset(path, data=p.detach().cpu().numpy())
        for path, arr in lookup_arrays(model).items():
            f.create_dataset(path, data=arr)


def read_lookup_arrays(fileobj) -> dict[str, np.ndarray]:
    """Every ``…/vars/idf_weights`` of a weights file (a tf-idf lookup's)."""
    import h5py

    found: dict[str, np.ndarray] = {}
    with h5py.File(fileobj, "r") as f:
        f.visititems(lambda name, obj: found.__setitem__(name, np.asarray(obj))
                     if name.endswith("/vars/idf_weights") and isinstance(obj, h5py.Dataset) else None)
    return found


def read_h5_into(model, fileobj, source: str) -> None:
    import h5py

    params = model_weights(model)
    with h5py.File(fileobj, "r") as f:
        for path, p in params.items():
            if path not in f:
                raise ValueError(f"{source}: no weights for {path} (layer names must match the saved model's)")
            arr = np.asarray(f[path])
            if tuple(arr.shape) != tuple(p.shape):
                raise ValueError(f"{source}: {path} has shape {arr.shape}, the model expects {tuple(p.shape)}")
            with torch.no_grad():
                p.copy_(torch.from_numpy(arr).to(p.dtype))


def read_optimizer_variables(fileobj) -> list[np.ndarray]:
    """``optimizer/vars/0``, ``1``, … of a Keras weights file, in order (empty when it has none)."""
    import h5py

    with h5py.File(fileobj, "r") as f:
        group = f.get("optimizer/vars")
        if group is None:
            return []
        return [np.asarray(group[k]) for k in sorted(group, key=int)]


def save_weights(model, filepath) -> None:
    """The weights — and a compiled model's optimizer variables, as Keras's ``save_weights`` writes them — written
    to a temporary file and then renamed over ``filepath`` (an interrupted write leaves the old file)."""
    from rnnkit.keras import optimizer_state
    from rnnkit.train.checkpoint import atomic_write

    if not str(filepath).endswith(".weights.h5"):
        raise ValueError(f"save_weights writes Keras's '.weights.h5' files; got {filepath}")
    extra = optimizer_state.keras_variables(model) if getattr(model, "compiled", False) else ()

    def write(path):
        with open(path, "wb") as f:
            write_h5(model, f, extra)
    atomic_write(Path(filepath), write)


def load_weights(model, filepath) -> None:
    """The weights, and — into a compiled model — the optimizer's state when the file holds it (Keras's files too)."""
    from rnnkit.keras import optimizer_state

    if not str(filepath).endswith(".weights.h5"):
        raise ValueError(f"load_weights reads Keras's '.weights.h5' files; got {filepath}")
    with open(filepath, "rb") as f:
        read_h5_into(model, f, str(filepath))
        f.seek(0)
        saved = read_optimizer_variables(f)
    if saved and getattr(model, "compiled", False):
        optimizer_state.restore(model, saved, str(filepath))
