"""Decoding CTC outputs (Graves et al. 2006): best-path (greedy) collapse and prefix beam search with optional shallow
fusion of a language model (Hannun et al. 2014).

A CTC model gives, per frame t, log-probabilities ``log y_t(k)`` over the labels and a blank. A labelling ``ℓ`` is read
from a frame path by removing repeats and then blanks (``B(a a - b - b) = a b b``); its probability sums over every
path that collapses to it. Greedy decoding takes the best label per frame and collapses that one path. Prefix beam
search keeps, per prefix ``ℓ``, the probability of the paths ending in a blank, ``p_b(ℓ)``, and in a label,
``p_nb(ℓ)``, and extends the ``beam`` best prefixes frame by frame::

    blank:                p_b'(ℓ)    += (p_b(ℓ) + p_nb(ℓ)) · y_t(-)
    the last label again: p_nb'(ℓ)   += p_nb(ℓ) · y_t(c)              (a repeat collapses)
                          p_nb'(ℓc)  += p_b(ℓ) · y_t(c) · F(c | ℓ)     (a blank in between makes it a new label)
    another label c:      p_nb'(ℓc)  += (p_b(ℓ) + p_nb(ℓ)) · y_t(c) · F(c | ℓ)

With a language model, ``F(c | ℓ) = p_LM(c | ℓ)^α · e^β`` (shallow fusion: weight α, insertion bonus β per label);
without one, ``F = 1``. Everything is computed in log space.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

NEG_INF = float("-inf")


class PrefixScorer(Protocol):
    """A language model over the CTC labels, queried once per distinct prefix: ``log p(next label | prefix)``.

    A scorer may also offer ``advance_batch(states, labels) -> states``: the search then advances every new prefix of
    a frame in one call (one batched model step instead of one per prefix). States are computed lazily, only for the
    prefixes that survive a frame's pruning.
    """

    def initial(self):  # the state before any label
        ...

    def log_probs(self, state) -> np.ndarray:  # (V,) log p(c | prefix) for every label id c (blank's entry ignored)
        ...

    def advance(self, state, label: int):  # the state after appending ``label``
        ...


def _logaddexp(*xs: float) -> float:
    m = max(xs)
    if m == NEG_INF:
        return NEG_INF
    return m + math.log(sum(math.exp(x - m) for x in xs))


def ctc_greedy(log_probs, blank: int = 0) -> list[int]:
    """The best label per frame, repeats merged, blanks removed."""
    best = np.asarray(log_probs).argmax(-1).tolist()
    out, prev = [], None
    for k in best:
        if k != prev and k != blank:
            out.append(k)
        prev = k
    return out


@dataclass
class CTCHypothesis:
    labels: list[int]
    score: float  # log (p_b + p_nb) of the prefix, plus the fused LM terms
    frames: list[int]  # the frame at which each label was first emitted (for timestamps)


def ctc_prefix_beam_search(log_probs, beam: int = 16, blank: int = 0, lm: PrefixScorer | None = None,
                           alpha: float = 0.5, beta: float = 0.0, prune: float = -12.0, n_best: int = 1
                           ) -> list[CTCHypothesis]:
    """The ``n_best`` labellings of one utterance's ``log_probs`` (T, V), best first. Labels whose frame log-probability
    is below ``prune`` are not tried at that frame (the best label always is)."""
    lp = np.asarray(log_probs, dtype=np.float64)
    if lp.ndim != 2:
        raise ValueError(f"log_probs must be (frames, labels), got shape {lp.shape}")
    if beam < 1 or not 1 <= n_best <= beam:
        raise ValueError(f"need beam ≥ 1 and 1 ≤ n_best ≤ beam, got beam={beam}, n_best={n_best}")
    # prefix -> [log p_b, log p_nb]; fused LM terms ride inside p_nb's paths; frames of first emission per prefix
    beams: dict[tuple[int, ...], list[float]] = {(): [0.0, NEG_INF]}
    frames: dict[tuple[int, ...], list[int]] = {(): []}
    lm_state: dict = {(): lm.initial()} if lm is not None else {}  # prefix -> the scorer's state after it
    pending: dict[tuple[int, ...], tuple] = {}  # a new prefix -> (its parent's state, its last label), not yet run
    lm_cache: dict[tuple[int, ...], np.ndarray] = {}

    def resolve(prefixes) -> None:  # the scorer's states of the surviving new prefixes, in one batch when it can
        todo = [p for p in prefixes if p not in lm_state]
        if not todo:
            return
        parents, labels = [pending[p][0] for p in todo], [pending[p][1] for p in todo]
        batch = getattr(lm, "advance_batch", None)
        states = batch(parents, labels) if batch else [lm.advance(s, c) for s, c in zip(parents, labels)]
        lm_state.update(zip(todo, states))

    def fusion(prefix, c) -> float:
        if lm is None:
            return 0.0
        if prefix not in lm_cache:
            lm_cache[prefix] = np.asarray(lm.log_probs(lm_state[prefix]), dtype=np.float64)
        return alpha * float(lm_cache[prefix][c]) + beta

    for t in range(lp.shape[0]):
        if lm is not None:
            resolve(beams)
        row = lp[t]
        labels = [c for c in np.flatnonzero(row >= prune).tolist() if c != blank]
        best = int(row.argmax())
        if best != blank and best not in labels:
            labels.append(best)
        nxt: dict[tuple[int, ...], list[float]] = {}

        def add(prefix, k, value):
            slot = nxt.setdefault(prefix, [NEG_INF, NEG_INF])
            slot[k] = _logaddexp(slot[k], value)

        for prefix, (pb, pnb) in beams.items():
            add(prefix, 0, _logaddexp(pb, pnb) + row[blank])
            last = prefix[-1] if prefix else None
            for c in labels:
                p = row[c]
                new = prefix + (c,)
                if new not in frames:
                    frames[new] = frames[prefix] + [t]
                if lm is not None and new not in lm_state and new not in pending:
                    pending[new] = (lm_state[prefix], c)
                if c == last:
                    add(prefix, 1, pnb + p)
                    add(new, 1, pb + p + fusion(prefix, c))
                else:
                    add(new, 1, _logaddexp(pb, pnb) + p + fusion(prefix, c))
        ranked = sorted(nxt.items(), key=lambda kv: -_logaddexp(*kv[1]))
        beams = dict(ranked[:beam])
        frames = {p: frames[p] for p in beams}  # only live prefixes are extended
        if lm is not None:
            lm_state = {p: lm_state[p] for p in beams if p in lm_state}
            pending = {p: pending[p] for p in beams if p in pending}
            lm_cache = {p: v for p, v in lm_cache.items() if p in beams}
    ranked = sorted(beams.items(), key=lambda kv: -_logaddexp(*kv[1]))[:n_best]
    return [CTCHypothesis(list(p), _logaddexp(*s), frames[p]) for p, s in ranked]


__all__ = ["ctc_greedy", "ctc_prefix_beam_search", "CTCHypothesis", "PrefixScorer"]
