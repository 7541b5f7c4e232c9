"""``Bidirectional(layer, merge_mode)``: a forward copy and a ``go_backwards`` copy of a recurrent layer, merged.

As in Keras: the backward layer's outputs are flipped back into forward time order before merging (when returning
sequences), both copies return zeros at masked steps when returning sequences, and ``merge_mode`` is ``concat``
(default), ``sum``, ``mul``, ``ave`` or ``None`` (a list of both). With ``return_state`` the forward states then the
backward states follow.
"""

from __future__ import annotations

import copy

import torch

from rnnkit.keras.layers.base import Layer
from rnnkit.keras.layers.recurrent import RNN

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    supports_masking = True

    def __init__(self, layer: RNN, merge_mode="concat", backward_layer: RNN | None = None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, RNN):
            raise TypeError(f"Bidirectional wraps a recurrent layer, got {type(layer).__name__}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}")
        self.merge_mode = merge_mode
        self.forward_layer = layer
        base = layer.name
        layer.name = f"forward_{base}"
        if backward_layer is None:
            backward_layer = copy.deepcopy(layer)
            backward_layer.go_backwards = not layer.go_backwards
            backward_layer.name = f"backward_{base}"
            backward_layer.cell.name = layer.cell.name
        self.backward_layer = backward_layer
        for lyr in (self.forward_layer, self.backward_layer):
            lyr.zero_output_for_mask = lyr.return_sequences
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state

    def _sublayers(self):
        return [self.forward_layer, self.backward_layer]

    def build(self, input_shape):
        self.forward_layer._maybe_build(torch.zeros(input_shape[0] or 1, *input_shape[1:]))
        self.backward_layer._maybe_build(torch.zeros(input_shape[0] or 1, *input_shape[1:]))

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
            n = len(self.forward_layer.cell.state_size)
            return (out_mask if isinstance(out_mask, list) else [out_mask]) + [None] * (2 * n)
        return out_mask

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode, "layer": self.forward_layer}
