"""``Bidirectional(layer, merge_mode)``: a forward copy and a ``go_backwards`` copy of a recurrent layer, merged.

As in Keras: the backward layer's outputs are flipped back into forward time order before merging (when returning
sequences), both copies return zeros at masked steps when returning sequences, and ``merge_mode`` is ``concat``
(default), ``sum``, ``mul``, ``ave`` or ``None`` (a list of both). With ``return_state`` the forward states then the
backward states follow.

Like Keras, the wrapper builds its own two layers from the wrapped layer's config (``forward_<name>`` and
``backward_<name>`` with ``go_backwards=True``): the layer passed in is a template, not shared, so two wrappers of one
layer have separate weights.
"""

from __future__ import annotations

import torch

from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.cells import state_sizes
from rnnkit.keras.layers.recurrent import RNN
from rnnkit.keras.layers.serialize import deserialize_layer, serialize_layer

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    supports_masking = True

    def __init__(self, layer: RNN, merge_mode="concat", weights=None, backward_layer: RNN | None = None, **kwargs):
        if not isinstance(layer, RNN):
            raise TypeError(f"Bidirectional wraps a recurrent layer, got {type(layer).__name__}")
        if backward_layer is not None and not isinstance(backward_layer, RNN):
            raise TypeError(f"backward_layer must be a recurrent layer, got {type(backward_layer).__name__}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}")
        super().__init__(**kwargs)
        self.merge_mode = merge_mode
        self.forward_layer = self._copy(layer, "forward_", {})
        self.backward_layer = backward_layer if backward_layer is not None else \
            self._copy(layer, "backward_", {"go_backwards": True})
        for lyr in (self.forward_layer, self.backward_layer):
            if hasattr(layer, "use_cudnn"):  # LSTM, GRU (Keras's SimpleRNN has no such argument)
                lyr.use_cudnn = layer.use_cudnn
            lyr.zero_output_for_mask = lyr.return_sequences
        self.stateful = layer.stateful
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        self._initial_weights = list(weights) if weights else None

    @staticmethod
    def _copy(layer: RNN, prefix: str, changes: dict) -> RNN:
        """A new layer from ``layer``'s config (its own cell classes, a user's included, are known to the copy)."""
        d = serialize_layer(layer)
        base = layer.name.removeprefix(prefix)
        d["config"] = {**d["config"], **changes, "name": f"{prefix}{base}"}
        known = {type(m).__name__: type(m) for m in layer.modules()}
        known.update({type(c).__name__: type(c) for c in getattr(layer.cell, "cells", [layer.cell])})
        return deserialize_layer(d, known)

    def reset_states(self) -> None:
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    reset_state = reset_states

    @property
    def states(self):
        f, b = self.forward_layer.states, self.backward_layer.states
        return tuple(f + b) if f and b else None

    def _sublayers(self):
        return [self.forward_layer, self.backward_layer]

    def build(self, input_shape):
        for lyr in (self.forward_layer, self.backward_layer):
            if not lyr.built:
                lyr.build(tuple(input_shape))
                lyr.built = True
        if self._initial_weights:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, x, mask=None, training=False, initial_state=None):
        fs = bs = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fs, bs = initial_state[:half], initial_state[half:]
        f = self.forward_layer(x, mask=mask, training=training, initial_state=fs)
        b = self.backward_layer(x, mask=mask, training=training, initial_state=bs)
        if self.return_state:
            f, f_states = f[0], f[1:]
            b, b_states = b[0], b[1:]
        if self.return_sequences:
            b = b.flip(1)
        if self.merge_mode == "concat":
            out = torch.cat([f, b], dim=-1)
        elif self.merge_mode == "sum":
            out = f + b
        elif self.merge_mode == "mul":
            out = f * b
        elif self.merge_mode == "ave":
            out = (f + b) / 2
        else:
            out = [f, b]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + list(f_states) + list(b_states)
        return out

    def compute_mask(self, x, mask):
        out_mask = mask if self.return_sequences else None
        if self.merge_mode is None:
            out_mask = [out_mask, out_mask]
        if self.return_state:
            n = len(state_sizes(self.forward_layer.cell))
            return (out_mask if isinstance(out_mask, list) else [out_mask]) + [None] * (2 * n)
        return out_mask

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode, "layer": serialize_layer(self.forward_layer),
                "backward_layer": serialize_layer(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            backward = deserialize_layer(backward, custom_objects)
        return cls(layer, backward_layer=backward, **config)
