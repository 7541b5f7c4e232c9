"""Keras's ``Attention`` (Luong's dot-product, or ``score_mode="concat"``) and ``AdditiveAttention`` (Bahdanau's)
layers, called on ``[query, value]`` or ``[query, value, key]`` — the attention of a Keras seq2seq model between its
decoder's and encoder's outputs:

    scores_ij = s · q_i·k_j                       (Attention, "dot"; s = ``scale`` if use_scale, else 1)
    scores_ij = c · Σ_d tanh(s · (q_id + k_jd))   (Attention, "concat"; c = ``concat_score_weight``)
    scores_ij = Σ_d s_d · tanh(q_id + k_jd)       (AdditiveAttention; s a learnt vector if use_scale, else 1)
    a_i = softmax_j(scores_ij − 10⁹·[v_j masked or j > i with use_causal_mask]),  out_i = Σ_j a_ij v_j

The output is zero where the query is masked, and keeps the query's mask; ``return_attention_scores=True`` returns
(out, a) as Keras does.
"""

from __future__ import annotations

import torch

from rnnkit.keras.backend import SeedStream
from rnnkit.keras.layers.base import Layer


class Attention(Layer):
    supports_masking = True
    merges_masks = True  # the model hands it [query mask, value mask]

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Invalid value for argument score_mode. Expected one of {{'dot', 'concat'}}. "
                             f"Received: score_mode={score_mode}")
        self.use_scale, self.score_mode, self.dropout, self.seed = use_scale, score_mode, float(dropout), seed
        self.seeds = SeedStream(seed)

    def build(self, input_shape):
        if self.use_scale:
            self.add_weight((), "ones", name="scale")
        if self.score_mode == "concat":
            self.add_weight((), "ones", name="concat_score_weight")

    def _scores(self, q, k):
        s = self.scale if self.use_scale else 1.0
        if self.score_mode == "dot":
            return (q @ k.transpose(-2, -1)) * s
        return self.concat_score_weight * torch.tanh(s * (q.unsqueeze(-2) + k.unsqueeze(-3))).sum(-1)

    @staticmethod
    def _check(inputs, mask, name):
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ValueError(f"{name} layer must be called on a list of inputs, namely [query, value] or [query, "
                             f"value, key]. Received: {type(inputs).__name__} of "
                             f"{len(inputs) if isinstance(inputs, (list, tuple)) else 1}")
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f"{name} layer mask must be a list, namely [query_mask, value_mask]. Received: {mask}")

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        self._check(inputs, mask, type(self).__name__)
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask, v_mask = (mask[0], mask[1]) if mask is not None else (None, None)
        scores = self._scores(q, k)
        valid = None if v_mask is None else v_mask.bool().unsqueeze(-2)  # (B, 1, Tv)
        if use_causal_mask:
            Tq, Tv = scores.shape[-2:]
            causal = torch.ones(Tq, Tv, dtype=torch.bool, device=scores.device).tril().unsqueeze(0)
            valid = causal if valid is None else valid & causal
        if valid is not None:
            scores = torch.where(valid, scores, scores - 1e9)
        weights = torch.softmax(scores, dim=-1)
        if training and self.dropout > 0:
            weights = weights * self.seeds.dropout_mask(weights.shape, self.dropout, weights)
        out = weights @ v
        if q_mask is not None:
            out = torch.where(q_mask.bool().unsqueeze(-1), out, torch.zeros_like(out))
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        return None if mask is None or mask[0] is None else mask[0]

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs):
        kwargs.pop("score_mode", None)
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        if self.use_scale:
            self.add_weight((input_shape[-1],), "glorot_uniform", name="scale")

    def _scores(self, q, k):
        s = self.scale if self.use_scale else 1.0
        return (s * torch.tanh(q.unsqueeze(-2) + k.unsqueeze(-3))).sum(-1)

    def get_config(self):
        cfg = super().get_config()
        del cfg["score_mode"]
        return cfg


__all__ = ["Attention", "AdditiveAttention"]
