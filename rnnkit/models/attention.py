"""Attention over the encoder's outputs (Luong, Pham & Manning 2015; the additive score of Bahdanau, Cho & Bengio 2015).

For a decoder state ``h_t`` (the query) and the encoder outputs ``h̄_s`` (s = 1..S, padding masked out)::

    score(h_t, h̄_s) = h_tᵀ h̄_s                          dot
                    = h_tᵀ W_a h̄_s                       general
                    = v_aᵀ tanh(W_q h_t + W_k h̄_s + b)    additive (Bahdanau's; OpenNMT calls it "mlp")
    a_t(s) = exp(score(h_t, h̄_s)) / Σ_{s' valid} exp(score(h_t, h̄_s'))      — exactly 0 on padding
    c_t    = Σ_s a_t(s) h̄_s

The source-side half of each score (``W_a h̄_s``, ``W_k h̄_s + b``) is computed once per sentence (``keys``) and reused at
every decoder step.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

ATTENTIONS = ("none", "dot", "general", "additive")


class Attention(nn.Module):
    def __init__(self, kind: str, hidden_size: int) -> None:
        super().__init__()
        if kind not in ATTENTIONS[1:]:
            raise ValueError(f"unknown attention {kind!r}; expected one of {', '.join(ATTENTIONS[1:])}")
        self.kind = kind
        H = hidden_size
        if kind == "general":
            self.W_a = nn.Linear(H, H, bias=False)
        elif kind == "additive":
            self.W_q = nn.Linear(H, H, bias=False)
            self.W_k = nn.Linear(H, H, bias=True)
            self.v_a = nn.Linear(H, 1, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        """The source half of the score, once per sentence: ``h̄_s`` (dot), ``W_a h̄_s`` (general), ``W_k h̄_s + b``."""
        if self.kind == "general":
            return self.W_a(memory)
        if self.kind == "additive":
            return self.W_k(memory)
        return memory

    def forward(self, query: Tensor, memory: Tensor, keys: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """query (B, T, H), memory and keys (B, S, H), mask (B, S) True on valid positions →
        context c_t (B, T, H), weights a_t (B, T, S)."""
        if self.kind == "additive":
            scores = self.v_a(torch.tanh(self.W_q(query)[:, :, None, :] + keys[:, None, :, :])).squeeze(-1)
        else:
            scores = query @ keys.transpose(1, 2)
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return weights @ memory, weights


__all__ = ["Attention", "ATTENTIONS"]
