"""What a search returns, and the rules both searches share (length limits, tokens never generated)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class Hypothesis:
    tokens: list[int]  # the output ids, without <bos> and <eos>
    log_prob: float  # Σ log p(y_t | y_<t, x), <eos> included
    score: float  # what the search ranked by: log_prob / length penalty
    attention: Tensor | None = None  # (len(tokens), source length) — each row sums to 1 over the source
    finished: bool = True  # False: cut at the length limit without producing <eos>


def max_lengths(src_lengths: Tensor, max_len_a: float, max_len_b: int) -> Tensor:
    """Per sentence, the most output tokens (``<eos>`` included): ``a · source length + b`` (fairseq's rule)."""
    if max_len_a < 0 or max_len_b < 0 or (max_len_a == 0 and max_len_b < 1):
        raise ValueError(f"the length limit a·|x| + b needs a, b ≥ 0 and a positive result, got a={max_len_a}, "
                         f"b={max_len_b}")
    return (src_lengths.float() * max_len_a + max_len_b).floor().long().clamp(min=1)


def mask_step(log_probs: Tensor, model, steps_taken: int, limits: Tensor) -> Tensor:
    """``<pad>`` and ``<bos>`` are never generated; a row at its length limit may only end (``<eos>``)."""
    log_probs = log_probs.clone()
    log_probs[:, [model.pad, model.bos]] = float("-inf")
    at_limit = steps_taken + 1 >= limits
    if at_limit.any():
        eos_col = log_probs[at_limit, model.eos].clone()
        log_probs[at_limit] = float("-inf")
        log_probs[at_limit, model.eos] = eos_col
    return log_probs


def trim_attention(weights: Tensor | None, length: int) -> Tensor | None:
    return weights[:, :length].clone() if weights is not None else None


__all__ = ["Hypothesis", "max_lengths", "mask_step", "trim_attention"]
