"""``Sequential``: a stack of layers, each reading the one before — a functional ``Model`` whose graph is rebuilt
when a layer is added (from its first layer's ``input_shape``, an ``Input``, a built model, or the first data)."""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.keras.backend import unique_name
from rnnkit.keras.layers.base import Input, KerasTensor, Layer, inbound_nodes
from rnnkit.keras.model import Model


class Sequential(Model):
    """``Sequential([layers])`` or ``.add(layer)``; the first layer may carry ``input_shape=`` or be an ``Input``."""

    def __init__(self, layers=None, name: str | None = None) -> None:
        super().__init__(name=name or unique_name("sequential"))
        self._pending: list[Layer] = []
        self._input: KerasTensor | None = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        if isinstance(layer, KerasTensor):
            if self._pending:
                raise ValueError("an Input must come first in a Sequential model")
            self._input = layer
            return
        if not isinstance(layer, (Layer, Model)):
            raise TypeError(f"Sequential.add expects a rnnkit.keras layer or model, got {type(layer).__name__}")
        self._pending.append(layer)
        if hasattr(self, "graph_inputs"):
            del self.graph_inputs
        if self._input is None and len(self._pending) == 1:
            if isinstance(layer, Model) and "graph_inputs" in layer.__dict__:  # a built model: its Input's shape
                first = layer.graph_inputs[0]
                self._input = Input(first.feature_shape, batch_size=first.batch_size,
                                    dtype="float32" if first.dtype.is_floating_point else "int64")
            elif getattr(layer, "input_shape_arg", None) is not None:
                self._input = Input(layer.input_shape_arg, batch_size=layer.batch_size_arg)
        if self._input is not None:
            self._build_graph()

    def _build_graph(self):
        for node in self.__dict__.get("nodes", ()):  # the last build's calls: each layer's output is this build's
            inbound_nodes(node.layer).remove(node)
        t = self._input
        for layer in self._pending:
            t = layer(t)
            if isinstance(t, list):
                raise ValueError(f"layer {layer.name!r} returns several tensors; Sequential needs one per layer "
                                 "(use the functional Model)")
        self._init_graph([self._input], t)

    _config_class = "Sequential"

    def build(self, input_shape=None) -> None:
        """Keras's ``model.build((batch, *shape))``: the graph from that input shape (the batch size may be None)."""
        if input_shape is None:
            if "graph_inputs" in self.__dict__:
                return
            raise ValueError("You must provide an `input_shape` argument.")
        shape = tuple(input_shape)
        self._input = Input(shape[1:], batch_size=shape[0])
        self._build_graph()

    def _build_on(self, xs: list[torch.Tensor]) -> None:
        self.build_from(xs[0])

    def build_from(self, x: torch.Tensor) -> None:
        if isinstance(x, np.ndarray):  # texts: a string Input (a TextVectorization first reads them)
            self._input = Input(tuple(x.shape[1:]), batch_size=x.shape[0], dtype="string")
            self._build_graph()
            return
        dtype = "float32" if x.is_floating_point() else "int64"
        self._input = Input(tuple(x.shape[1:]), batch_size=x.shape[0], dtype=dtype)  # Keras builds on the data's shape
        self._build_graph()

    @property
    def layers(self):
        return list(self._pending)

    def call(self, inputs, training=False):
        if not hasattr(self, "graph_inputs"):
            self.build_from(inputs)
        return super().call(inputs, training=training)
