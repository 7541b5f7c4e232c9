"""Batched beam search: the ``beam_size`` best partial outputs per sentence, every sentence of a batch at once.

At each step every live hypothesis y_<t is extended by every token; of the ``beam_size × V`` extensions of a sentence
the best ``2 · beam_size`` by total log-probability are looked at in order: those ending in ``<eos>`` among the first
``beam_size`` are finished and scored, the first ``beam_size`` others stay alive (so the beam stays full). A sentence is
done when ``beam_size`` hypotheses have finished (fairseq's stopping rule) or at its length limit ``a · |x| + b``, and
leaves the batch. Finished hypotheses are ranked by ``log p(y | x) / lp(|y|)``, ``|y|`` counting ``<eos>``:

    none:  lp = 1
    wu:    lp = ((5 + |y|) / 6)^α           (GNMT, Wu et al. 2016; OpenNMT's "wu")
    avg:   lp = |y|                          (OpenNMT's "avg": the mean log-probability per token)

``no_repeat_ngram = n`` forbids any n-gram to occur twice in an output (a token that would complete a repeat gets
probability 0). With ``beam_size = 1`` the search is greedy search.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.decoding.hypothesis import Hypothesis, mask_step, max_lengths, trim_attention

LENGTH_PENALTIES = ("none", "wu", "avg")


def length_penalty(length: int, kind: str = "wu", alpha: float = 0.6) -> float:
    """``lp(|y|)``: 1 (none), ``((5 + |y|) / 6)^α`` (wu) or ``|y|`` (avg)."""
    if kind == "wu":
        return ((5 + length) / 6) ** alpha
    if kind == "avg":
        return float(length)
    if kind == "none":
        return 1.0
    raise ValueError(f"unknown length penalty {kind!r}; expected one of {', '.join(LENGTH_PENALTIES)}")


def ban_repeated_ngrams(log_probs: Tensor, history: list[list[int]], n: int) -> Tensor:
    """Set to -inf each token that would make the row's last n-gram one it already holds."""
    for row, h in enumerate(history):
        if len(h) < n - 1:
            continue
        prefix = tuple(h[len(h) - n + 1:]) if n > 1 else ()
        banned = {h[i + n - 1] for i in range(len(h) - n + 1) if tuple(h[i:i + n - 1]) == prefix}
        if banned:
            log_probs[row, list(banned)] = float("-inf")
    return log_probs


@torch.no_grad()
def beam_search(model, src: Tensor, src_lengths: Tensor, beam_size: int = 5, n_best: int = 1,
                length_penalty_kind: str = "wu", alpha: float = 0.6, max_len_a: float = 1.5, max_len_b: int = 10,
                no_repeat_ngram: int = 0) -> list[list[Hypothesis]]:
    """Per sentence of ``src`` (B, S), its ``n_best`` finished hypotheses, best first."""
    if beam_size < 1 or not 1 <= n_best <= beam_size:
        raise ValueError(f"need beam_size ≥ 1 and 1 ≤ n_best ≤ beam_size, got beam_size={beam_size}, n_best={n_best}")
    if no_repeat_ngram < 0:
        raise ValueError(f"no_repeat_ngram must be ≥ 0 (0: off), got {no_repeat_ngram}")
    length_penalty(1, length_penalty_kind, alpha)  # checks the kind
    B, K, device = src.shape[0], beam_size, src.device
    limits = max_lengths(src_lengths, max_len_a, max_len_b).to(device)
    memory, state = model.start(src, src_lengths)
    rows = torch.arange(B, device=device).repeat_interleave(K)
    memory, state = model.reorder_memory(memory, rows), model.reorder_state(state, rows)
    active = list(range(B))  # the original sentence of each block of K rows
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0  # at first only one hypothesis per sentence is alive (the others would be copies)
    history = torch.zeros((B * K, 0), dtype=torch.long, device=device)
    att_history: Tensor | None = None
    tokens = torch.full((B * K,), model.bos, dtype=torch.long, device=device)
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    for t in range(int(limits.max())):
        A = len(active)
        logp, state, weights = model.step(tokens, state, memory)
        logp = mask_step(logp, model, t, limits.repeat_interleave(K))
        if no_repeat_ngram:
            logp = ban_repeated_ngrams(logp, history.tolist(), no_repeat_ngram)
        V = logp.shape[-1]
        candidates = (scores.view(-1, 1) + logp).view(A, K * V)
        top_scores, top = candidates.topk(min(2 * K, K * V), dim=1)
        parent = torch.arange(A, device=device)[:, None] * K + top // V  # the row each candidate extends
        token = top % V
        alive = torch.isfinite(top_scores)
        ends = (token == model.eos) & alive
        for a, j in ends[:, :K].nonzero().tolist():
            r = int(parent[a, j])
            att = att_history[r] if att_history is not None else None
            lp = float(top_scores[a, j])
            finished[active[a]].append(Hypothesis(history[r].tolist(), lp,
                                                  lp / length_penalty(t + 1, length_penalty_kind, alpha), att))
        keep = alive & ~ends
        keep = keep & (keep.cumsum(1) <= K)
        order = torch.sort((~keep).to(torch.int8), dim=1, stable=True).indices[:, :K]  # kept candidates first
        scores = top_scores.gather(1, order).masked_fill(~keep.gather(1, order), float("-inf"))
        chosen = parent.gather(1, order).view(-1)
        tokens = token.gather(1, order).view(-1)
        history = torch.cat([history[chosen], tokens[:, None]], 1)
        if weights is not None:
            step_att = weights[chosen][:, None]
            att_history = step_att if att_history is None else torch.cat([att_history[chosen], step_att], 1)
        state = model.reorder_state(state, chosen)
        still = [a for a in range(A) if len(finished[active[a]]) < K and bool(torch.isfinite(scores[a]).any())
                 and t + 1 < int(limits[a])]
        if not still:
            break
        if len(still) < A:  # done sentences leave the batch
            idx = (torch.tensor(still, device=device)[:, None] * K + torch.arange(K, device=device)).view(-1)
            memory, state = model.reorder_memory(memory, idx), model.reorder_state(state, idx)
            history, tokens, scores = history[idx], tokens[idx], scores[still]
            att_history = att_history[idx] if att_history is not None else None
            limits, active = limits[still], [active[a] for a in still]
    lengths = src_lengths.tolist()
    results = []
    for b in range(B):
        best = sorted(finished[b], key=lambda h: -h.score)[:n_best]
        for h in best:
            h.attention = trim_attention(h.attention, lengths[b])
        results.append(best)
    return results


__all__ = ["beam_search", "length_penalty", "LENGTH_PENALTIES", "ban_repeated_ngrams"]
