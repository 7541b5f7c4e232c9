"""Greedy search: at every step the most likely token, ``y_t = argmax_y p(y | y_<t, x)``, all sentences together."""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.decoding.hypothesis import Hypothesis, mask_step, max_lengths, trim_attention


@torch.no_grad()
def greedy_search(model, src: Tensor, src_lengths: Tensor, max_len_a: float = 1.5, max_len_b: int = 10
                  ) -> list[Hypothesis]:
    """One hypothesis per sentence of the batch ``src`` (B, S); output lengths at most ``a · |x| + b`` tokens."""
    B = src.shape[0]
    limits = max_lengths(src_lengths, max_len_a, max_len_b).to(src.device)
    memory, state = model.start(src, src_lengths)
    tokens = torch.full((B,), model.bos, dtype=torch.long, device=src.device)
    out: list[list[int]] = [[] for _ in range(B)]
    log_prob = [0.0] * B
    attention: list[list[Tensor]] = [[] for _ in range(B)]
    done = [False] * B
    for t in range(int(limits.max())):
        logp, state, weights = model.step(tokens, state, memory)
        logp = mask_step(logp, model, t, limits)
        best, tokens = logp.max(-1)
        for b in range(B):
            if done[b]:
                continue
            log_prob[b] += float(best[b])
            if int(tokens[b]) == model.eos:
                done[b] = True
                continue
            out[b].append(int(tokens[b]))
            if weights is not None:
                attention[b].append(weights[b])
        if all(done):
            break
    lengths = src_lengths.tolist()
    return [Hypothesis(out[b], log_prob[b], log_prob[b],
                       trim_attention(torch.stack(attention[b]) if attention[b] else None, lengths[b]), done[b])
            for b in range(B)]


__all__ = ["greedy_search"]
