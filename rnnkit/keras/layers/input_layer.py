"""Keras's ``InputLayer``: a functional model lists one per ``Input`` among its layers, as Keras does (no weights;
``output`` is the Input's symbolic tensor), so ``model.layers[i]`` is the same layer in Keras and in rnnkit."""

from __future__ import annotations

from rnnkit.keras.layers.base import KerasTensor, Layer


class InputLayer(Layer):
    def __init__(self, tensor: KerasTensor) -> None:
        super().__init__(name=tensor.name)
        self.output = tensor
        self.batch_shape = (tensor.batch_size, *tensor.shape)
        self.built = True

    def call(self, x, mask=None, training=False):
        return x


__all__ = ["InputLayer"]
