"""Keras's ``InputLayer``: a functional model lists one per ``Input`` among its layers, as Keras does (no weights;
``output`` is the Input's symbolic tensor), so ``model.layers[i]`` is the same layer in Keras and in rnnkit."""

from __future__ import annotations

from rnnkit.keras.layers.base import KerasTensor, Layer, Node, inbound_nodes


class InputLayer(Layer):
    def __init__(self, tensor: KerasTensor) -> None:
        super().__init__(name=tensor.name)
        node = Node(self, [], {})  # as Keras's: no inputs (``input`` is []), the Input's tensor its output
        node.outputs.append(tensor)
        inbound_nodes(self).append(node)
        self.batch_shape = tensor.shape
        self.built = True

    def call(self, x, mask=None, training=False):
        return x

    @property
    def dtype(self) -> str:
        """The Input's dtype ("float32", "int64", "string"), as Keras's InputLayer reports it."""
        from rnnkit.keras.keras_objects import standardize_dtype

        return standardize_dtype(inbound_nodes(self)[0].outputs[0].dtype)


__all__ = ["InputLayer"]
