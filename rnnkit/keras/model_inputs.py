"""What a model's inputs are made of: NumPy arrays become tensors of their ``Input``'s dtype (``model_inputs``), with
Keras's rank adjustment (``adjust_rank``); texts go through a string ``Input``, where the layer right after it (a
``TextVectorization`` or ``StringLookup``, no weights) is applied to the whole data once, before batching — so ``fit``
trains the rest of the model on tensors (the engine's batches hold no strings), and ``predict``/``evaluate`` batch
tensors too. The model, given those tensors in place of the texts, skips that layer (``prefill``); called on texts
directly, it runs it."""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.keras.layers.base import KerasTensor, as_tensors, weights_device
from rnnkit.keras.layers.symbolic import STRING


def model_inputs(model, inputs):
    """NumPy in, as Keras takes it: each array becomes a tensor of its ``Input``'s dtype (integer ids for an integer
    ``Input``, float32 otherwise); a Sequential model converts as its first layer would."""
    if isinstance(inputs, KerasTensor) or (isinstance(inputs, (list, tuple)) and inputs
                                           and isinstance(inputs[0], KerasTensor)):
        return inputs
    graph_inputs, dev = getattr(model, "graph_inputs", None), weights_device(model)

    def convert(x, t):  # a string Input's data stay a NumPy array of str
        if t.dtype == STRING:
            return np.asarray(x, dtype=object)
        return as_tensors(x, ids=not t.dtype.is_floating_point, device=dev)
    if graph_inputs and isinstance(inputs, (list, tuple)) and len(inputs) == len(graph_inputs) and not (
            len(graph_inputs) == 1 and graph_inputs[0].dtype == STRING):
        return type(inputs)(convert(x, t) for x, t in zip(inputs, graph_inputs))
    if graph_inputs and len(graph_inputs) == 1:
        return convert(inputs, graph_inputs[0])
    if texts(inputs):  # not built yet, on texts: a string Input to come
        return np.asarray(inputs, dtype=object)
    layers = getattr(model, "layers", None) or [None]
    return as_tensors(inputs, ids=bool(getattr(layers[0], "reads_ids", False)), device=dev)


def texts(x) -> bool:
    """Whether ``x`` is texts: a str, or a list / NumPy array of them."""
    if isinstance(x, (str, bytes)):
        return True
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "US" or (x.dtype == object and x.size > 0 and isinstance(x.reshape(-1)[0], (str, bytes)))
    return isinstance(x, (list, tuple)) and bool(x) and all(isinstance(v, (str, bytes)) for v in x)


def adjust_rank(x, kt: KerasTensor):
    """Keras's rank adjustment: a last axis of size 1 added where the Input has one and the data lack it (texts
    (batch,) for ``Input(shape=(1,), dtype="string")``), or dropped where the data have one more."""
    if x.ndim == kt.ndim - 1 and kt.feature_shape and kt.feature_shape[-1] == 1:
        return x[..., None]
    if x.ndim == kt.ndim + 1 and x.shape[-1] == 1:
        return x[..., 0]
    return x


def preprocessor(model, kt):
    """The node reading string Input ``kt``: the one node whose input it is, a string-taking layer's; else None."""
    readers = [n for n in getattr(model, "nodes", []) if n.inputs is kt]
    if len(readers) == 1 and getattr(readers[0].layer, "takes_strings", False) and len(readers[0].outputs) == 1:
        return readers[0]
    return None


def vectorize(model, xs: list) -> list:
    """Each string input's data (a NumPy array of str) replaced by its preprocessor's output."""
    out = []
    for kt, x in zip(getattr(model, "graph_inputs", []), xs):
        node = preprocessor(model, kt) if kt.dtype == STRING and isinstance(x, np.ndarray) else None
        out.append(x if node is None else node.layer(x))
    return out + list(xs[len(out):])


def prefill(model, kt, x, env: dict) -> bool:
    """Given ``x``, already the preprocessor's output for string Input ``kt``, record it as that node's output (the
    node is then skipped); False when ``x`` is the texts themselves."""
    node = preprocessor(model, kt) if kt.dtype == STRING and isinstance(x, torch.Tensor) else None
    if node is None:
        return False
    env[id(kt)] = env[id(node.outputs[0])] = (x, None)
    return True
