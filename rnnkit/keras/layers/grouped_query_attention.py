"""Keras's ``GroupQueryAttention(head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
sliding_window=None, use_gate=False, ...)``: multi-head attention whose key and value heads are shared by groups of
query heads (Ainslie et al. 2023) — H query heads, G key/value heads, each repeated H/G times:

    Q_h = x_q W^Q_h + b^Q_h (h = 1 … H),  K_g, V_g likewise (g = 1 … G),  K_h = K_⌈h·G/H⌉, V_h = V_⌈h·G/H⌉
    A_h = softmax(Q_h K_hᵀ / sqrt(head_dim))    (masked entries −1e9: the query's, value's and key's masks, the
                                                 ``attention_mask``, ``use_causal_mask``, ``sliding_window`` |t − s| < w)
    y = Σ_h (A_h V_h ⊙ σ(x_q W^G_h + b^G_h)) W^O_h + b^O      (the sigmoid gate with ``use_gate``)

Weights as Keras keeps them (query, key, gate, value, attention_output; its h5 groups ``_query_dense`` …).
"""

from __future__ import annotations

import math

import torch

from rnnkit.keras import constraints, initializers, regularizers
from rnnkit.keras.layers.activations import LARGE_NEGATIVE
from rnnkit.keras.layers.multi_head_attention import MultiHeadAttention, _Projection


class GroupedQueryAttention(MultiHeadAttention):
    keras_name = "GroupQueryAttention"  # Keras's class is GroupedQueryAttention, exported (and saved) by this name
    groups = ("_query_dense", "_key_dense", "_gate_dense", "_value_dense", "_output_dense")

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
                 sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        if num_query_heads % num_key_value_heads:
            raise ValueError("`num_query_heads` must be divisible by `num_key_value_heads`.")
        if sliding_window is not None and (not isinstance(sliding_window, int) or sliding_window <= 0):
            raise ValueError(f"`sliding_window` must be `None` or a positive integer. Received: "
                             f"sliding_window={sliding_window}")
        super().__init__(num_query_heads, head_dim, dropout=dropout, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, seed=seed, **kwargs)
        self.head_dim, self.num_query_heads, self.num_key_value_heads = head_dim, num_query_heads, num_key_value_heads
        self.sliding_window, self.use_gate = sliding_window, use_gate

    def _sublayers(self):
        names = ("query_dense", "key_dense", "gate_dense", "value_dense", "output_dense")
        return [getattr(self, n) for n in names if n in self._modules]

    def h5_groups(self) -> list[tuple[str, object]]:
        """Keras's h5 groups of the sublayers (the gate's only with ``use_gate``)."""
        subs = {n: getattr(self, n, None) for n in ("query_dense", "key_dense", "gate_dense", "value_dense",
                                                     "output_dense")}
        return [(g, subs[g[1:]]) for g in self.groups if subs[g[1:]] is not None]

    def _build_for(self, query, value, key) -> None:
        h, g, d = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self.query_dense = _Projection((query.shape[-1], h, d), (h, d), self, "query")
        self.key_dense = _Projection((key.shape[-1], g, d), (g, d), self, "key")
        if self.use_gate:
            self.gate_dense = _Projection((query.shape[-1], h, d), (h, d), self, "gate")
        self.value_dense = _Projection((value.shape[-1], g, d), (g, d), self, "value")
        self.output_dense = _Projection((h, d, query.shape[-1]), (query.shape[-1],), self, "attention_output")
        self._built_for(query, value, key)

    @staticmethod
    def _project(x, p, use_bias):
        return torch.einsum("bsd,dhk->bshk", x, p.kernel) + (p.bias if use_bias else 0)

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores: bool = False, training: bool = False, use_causal_mask: bool = False, mask=None):
        key = value if key is None else key
        if self.shapes is None:
            self._build_for(query, value, key)
        query_mask = query_mask if query_mask is not None else mask  # (the query's own, from upstream)
        keep = self._mask(query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
        if self.sliding_window is not None:
            t = torch.arange(query.shape[1], device=query.device)
            s = torch.arange(value.shape[1], device=query.device)
            near = ((t[:, None] - s[None, :]).abs() < self.sliding_window).unsqueeze(0)
            keep = near if keep is None else keep & near
        repeats = self.num_query_heads // self.num_key_value_heads
        Q = self._project(query, self.query_dense, self.use_bias) * (1.0 / math.sqrt(self.head_dim))
        K = self._project(key, self.key_dense, self.use_bias).repeat_interleave(repeats, dim=2)
        V = self._project(value, self.value_dense, self.use_bias).repeat_interleave(repeats, dim=2)
        scores = torch.einsum("bthk,bshk->bhts", Q, K)
        if keep is not None:  # Keras's Softmax with a mask: −1e9 where it is False (a row all masked: uniform)
            scores = scores + (~keep).unsqueeze(1).to(scores.dtype) * LARGE_NEGATIVE
        A = torch.softmax(scores, -1)
        weights = A * self.seeds.dropout_mask(A.shape, self.dropout, A) if training and self.dropout > 0 else A
        out = torch.einsum("bhts,bshk->bthk", weights, V)
        if self.use_gate:
            out = out * torch.sigmoid(self._project(query, self.gate_dense, self.use_bias))
        o = self.output_dense
        y = torch.einsum("bthk,hko->bto", out, o.kernel) + (o.bias if self.use_bias else 0)
        return (y, A) if return_attention_scores else y

    def get_config(self):
        base = super().get_config()
        ser_i, ser_r, ser_c = (initializers.serialize_initializer, regularizers.serialize_regularizer,
                               constraints.serialize_constraint)
        return {"name": base["name"], "trainable": base["trainable"], "dtype": base["dtype"],
                "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads, "use_bias": self.use_bias, "use_gate": self.use_gate,
                "sliding_window": self.sliding_window, "dropout": self.dropout,
                "kernel_initializer": ser_i(self.kernel_initializer), "bias_initializer": ser_i(self.bias_initializer),
                "kernel_regularizer": ser_r(self.kernel_regularizer), "bias_regularizer": ser_r(self.bias_regularizer),
                "activity_regularizer": ser_r(self.activity_regularizer),
                "kernel_constraint": ser_c(self.kernel_constraint), "bias_constraint": ser_c(self.bias_constraint),
                "seed": self.seed}


GroupQueryAttention = GroupedQueryAttention

__all__ = ["GroupQueryAttention", "GroupedQueryAttention"]
