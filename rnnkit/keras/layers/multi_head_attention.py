"""Keras's ``MultiHeadAttention(num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None)``
over sequences (attention over the time axis), with Keras's weights, masks and outputs:

    Q_h = x_q W^Q_h + b^Q_h,  K_h = x_k W^K_h + b^K_h,  V_h = x_v W^V_h + b^V_h          (h = 1 … H heads)
    A_h = softmax(Q_h K_hᵀ / sqrt(key_dim))   (masked entries −1e9, then 0)              (B, H, T, S) scores
    y = Σ_h (A_h V_h) W^O_h + b^O                                                         (B, T, d_out)

``layer(query, value, key=None, attention_mask=None, return_attention_scores=False, use_causal_mask=False)``, the
key defaulting to the value. The mask entry (t, s) is kept where every given mask allows it: the query's mask at t,
the value's (and key's) at s — in a model they come from ``Embedding(mask_zero=True)``/``Masking`` upstream, as in
Keras — the ``attention_mask`` and, with ``use_causal_mask``, s ≤ t. (Keras 3.15 takes the query's mask only from
upstream: a ``query_mask`` argument is ignored there, and here too, so the numbers agree.) Weights as Keras keeps
them: each projection a kernel (d_in, H, key_dim) and bias (H, key_dim), the output kernel (H, value_dim, d_out), in
Keras's order and h5 groups (query_dense, key_dense, value_dense, output_dense).
"""

from __future__ import annotations

import math

import torch

from rnnkit.keras import constraints, initializers, regularizers
from rnnkit.keras.backend import SeedStream
from rnnkit.keras.layers.activations import LARGE_NEGATIVE
from rnnkit.keras.layers.base import Layer


class _Projection(Layer):
    """One of the attention's dense maps (Keras's ``EinsumDense``): a kernel and an optional bias of given shapes."""

    def __init__(self, kernel_shape, bias_shape, owner: MultiHeadAttention, name: str):
        super().__init__(name=name)
        self.add_weight(kernel_shape, owner.kernel_initializer, name="kernel", regularizer=owner.kernel_regularizer,
                        constraint=owner.kernel_constraint)
        if owner.use_bias:
            self.add_weight(bias_shape, owner.bias_initializer, name="bias", regularizer=owner.bias_regularizer,
                            constraint=owner.bias_constraint)
        self.built = True


class MultiHeadAttention(Layer):
    supports_masking = True
    argument_masks = ("value_mask", "key_mask")  # in a model, the value's (and key's) upstream masks reach call

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, seed=None, use_gate: bool = False,
                 sliding_window=None, flash_attention=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if attention_axes not in (None, 1, [1], (1,)):
            raise ValueError(f"MultiHeadAttention: rnnkit.keras attends over the time axis only (attention_axes=(1,)), "
                             f"got {attention_axes!r}")
        if use_gate or sliding_window is not None:
            raise ValueError("MultiHeadAttention: use_gate and sliding_window are not supported by rnnkit.keras")
        if output_shape is not None and not isinstance(output_shape, int) and len(tuple(output_shape)) != 1:
            raise ValueError(f"MultiHeadAttention: output_shape must be one size, got {output_shape!r}")
        self.num_heads, self.key_dim = num_heads, key_dim
        self.value_dim = value_dim if value_dim is not None else key_dim
        self.dropout, self.use_bias, self.seed = dropout, use_bias, seed
        self.output_shape = output_shape if output_shape is None or isinstance(output_shape, int) else \
            int(tuple(output_shape)[0])
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer, self.bias_regularizer = (regularizers.get(kernel_regularizer),
                                                          regularizers.get(bias_regularizer))
        self.kernel_constraint, self.bias_constraint = (constraints.get(kernel_constraint),
                                                        constraints.get(bias_constraint))
        self.seeds = SeedStream(seed)
        self.shapes: dict | None = None

    def _sublayers(self):
        return [getattr(self, n) for n in ("query_dense", "key_dense", "value_dense", "output_dense")
                if n in self._modules]

    def _maybe_build(self, x) -> None:  # built in call, once the query's, value's and key's sizes are all known
        pass

    def _build_for(self, query: torch.Tensor, value: torch.Tensor, key: torch.Tensor) -> None:
        h, k, v = self.num_heads, self.key_dim, self.value_dim
        d_out = self.output_shape or query.shape[-1]
        self.query_dense = _Projection((query.shape[-1], h, k), (h, k), self, "query")
        self.key_dense = _Projection((key.shape[-1], h, k), (h, k), self, "key")
        self.value_dense = _Projection((value.shape[-1], h, v), (h, v), self, "value")
        self.output_dense = _Projection((h, v, d_out), (d_out,), self, "attention_output")
        self._built_for(query, value, key)

    def _built_for(self, query, value, key) -> None:
        """The shapes Keras's files record (``build_config``), and the layer marked built (frozen if it is)."""
        self.shapes = {"query_shape": [None, *query.shape[1:]], "value_shape": [None, *value.shape[1:]]}
        if key is not value:
            self.shapes["key_shape"] = [None, *key.shape[1:]]
        self.built = True
        if not self.trainable:
            self.trainable = False

    def build(self, input_shape=None, value_shape=None, key_shape=None, query_shape=None) -> None:
        """Keras's ``build(query_shape, value_shape, key_shape=None)`` (its files' ``shapes_dict``)."""
        query_shape = query_shape or input_shape
        if query_shape is None or value_shape is None:
            return  # built on the first call
        value = torch.zeros((1, *[1 if d is None else d for d in value_shape[1:]]))
        key = value if key_shape is None else torch.zeros((1, *[1 if d is None else d for d in key_shape[1:]]))
        self._build_for(torch.zeros((1, *[1 if d is None else d for d in query_shape[1:]])), value, key)

    def build_config(self) -> dict:
        return {"shapes_dict": self.shapes}

    def _mask(self, query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask):
        """The (B, T, S) entries attention may use, or None: Keras's ``_compute_attention_mask``."""
        mask = None
        for m, axis in ((query_mask, -1), (value_mask, -2), (key_mask, -2)):
            if m is not None:
                m = m.bool().unsqueeze(axis)
                mask = m if mask is None else mask & m
        if use_causal_mask:
            t, s = query.shape[1], value.shape[1]
            causal = torch.ones(t, s, dtype=torch.bool, device=query.device).tril().unsqueeze(0)
            mask = causal if mask is None else mask & causal
        if attention_mask is not None:
            mask = attention_mask.bool() if mask is None else mask & attention_mask.bool()
        return mask

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores: bool = False, training: bool = False, use_causal_mask: bool = False, mask=None):
        key = value if key is None else key
        if self.shapes is None:
            self._build_for(query, value, key)
        query_mask = mask  # as Keras 3.15: the query's own mask (from upstream), an explicit query_mask ignored
        mask = self._mask(query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
        q, k_, v_ = self.query_dense, self.key_dense, self.value_dense
        Q = torch.einsum("btd,dhk->bthk", query, q.kernel) + (q.bias if self.use_bias else 0)
        K = torch.einsum("bsd,dhk->bshk", key, k_.kernel) + (k_.bias if self.use_bias else 0)
        V = torch.einsum("bsd,dhv->bshv", value, v_.kernel) + (v_.bias if self.use_bias else 0)
        scores = torch.einsum("bshk,bthk->bhts", K, Q * (1.0 / math.sqrt(self.key_dim)))
        if mask is not None:
            keep = mask.unsqueeze(1)  # the same entries for every head
            scores = torch.where(keep, scores, torch.full_like(scores, LARGE_NEGATIVE))
            A = torch.where(keep, torch.softmax(scores, -1), torch.zeros_like(scores))
        else:
            A = torch.softmax(scores, -1)
        weights = A
        if training and self.dropout > 0:
            weights = A * self.seeds.dropout_mask(A.shape, self.dropout, A)
        out = torch.einsum("bhts,bshv->bthv", weights, V)
        o = self.output_dense
        y = torch.einsum("bthv,hvo->bto", out, o.kernel) + (o.bias if self.use_bias else 0)
        return (y, A) if return_attention_scores else y

    def compute_mask(self, x, mask):
        return mask

    def get_config(self):
        ser_i, ser_r, ser_c = (initializers.serialize_initializer, regularizers.serialize_regularizer,
                               constraints.serialize_constraint)
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": self.output_shape, "attention_axes": [1], "use_gate": False, "sliding_window": None,
                "kernel_initializer": ser_i(self.kernel_initializer), "bias_initializer": ser_i(self.bias_initializer),
                "kernel_regularizer": ser_r(self.kernel_regularizer), "bias_regularizer": ser_r(self.bias_regularizer),
                "kernel_constraint": ser_c(self.kernel_constraint), "bias_constraint": ser_c(self.bias_constraint),
                "seed": self.seed}


__all__ = ["MultiHeadAttention"]
