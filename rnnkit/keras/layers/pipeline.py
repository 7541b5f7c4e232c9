"""Keras's ``Pipeline(layers)``: layers applied one after another — a preprocessing chain (``Normalization`` then a
``Dense``, a ``Rescaling`` then a ``Resizing``…) usable as one layer, its masks passed along; Keras's config (the
layers, serialized) and h5 layout (``layers/<name>`` under the pipeline's group)."""

from __future__ import annotations

from torch import nn

from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.serialize import deserialize_layer, serialize_layer


class Pipeline(Layer):
    supports_masking = True

    def __init__(self, layers, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        bad = [type(layer).__name__ for layer in layers if not isinstance(layer, Layer)]
        if bad:
            raise ValueError(f"Pipeline takes rnnkit.keras layers, got {bad[0]}")
        self.pipeline_layers = nn.ModuleList(layers)
        self._mask_out = None

    @property
    def layers(self) -> list[Layer]:
        return list(self.pipeline_layers)

    def call(self, x, mask=None, training=True):
        for layer in self.pipeline_layers:
            out = layer(x, mask=mask, training=training)
            mask = layer.compute_mask(x, mask)
            x = out
        self._mask_out = mask
        return x

    def compute_mask(self, x, mask):
        return self._mask_out

    def get_config(self):
        return {"layers": [serialize_layer(layer) for layer in self.pipeline_layers], "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(f"`Pipeline` config must contain a `layers` key mapping to a list of serialized layers. "
                             f"Received config with layers={layers}.")
        return cls([deserialize_layer(d, custom_objects) for d in layers],
                   **{k: v for k, v in config.items() if k != "layers"})


__all__ = ["Pipeline"]
