"""Length-based sentence alignment (Gale & Church 1993): which sentences of a text and of its translation say the same.

A translation's sentences are about as long as the original's, up to a ratio c: for a source piece of l₁ characters
and a target piece of l₂, ``δ = (l₂ − c l₁) / √(s² (l₁ + l₂ / c) / 2)`` is about standard normal when the pieces
are translations of each other. An alignment is a sequence of *beads* — 1-1, 1-0, 0-1, 2-1, 1-2 sentences — and
its cost is Σ −log P(bead) − log P(|δ| ≥ |δ_bead|), ``P(|δ| ≥ x) = 2 (1 − Φ(x))``, with Gale and Church's priors
(1-1: 0.89; 2-1 and 1-2: 0.0445 each; 1-0 and 0-1: 0.00495 each). Dynamic programming finds the cheapest one
within a band around the diagonal. The Bible corpus uses it per book: where two modules number verses differently
(KJV's Jonah 1:17 is the Reina-Valera's 2:1), the verse slots pair sentences that are not translations.
"""

from __future__ import annotations

import math

PRIORS = {(1, 1): 0.89, (2, 1): 0.0445, (1, 2): 0.0445, (1, 0): 0.00495, (0, 1): 0.00495}
S2 = 6.8  # Gale and Church's variance of l₂ per character of l₁


def _tail(x: float) -> float:
    """P(|δ| ≥ x) for a standard normal δ: 2 (1 − Φ(x))."""
    return math.erfc(abs(x) / math.sqrt(2))


def bead_cost(l1: int, l2: int, c: float, bead: tuple[int, int]) -> float:
    mean = max((l1 + l2 / c) / 2, 1.0)
    delta = (l2 - c * l1) / math.sqrt(S2 * mean)
    return -math.log(PRIORS[bead]) - math.log(max(_tail(delta), 1e-300))


def align(source: list[int], target: list[int], c: float | None = None, band: int = 12
          ) -> list[tuple[list[int], list[int]]]:
    """The cheapest beads for sentences of these lengths (characters): ``[(source indices, target indices)]`` in
    order, covering both lists once. ``c``: the target/source length ratio (default: the totals' ratio); ``band``:
    how far from the diagonal (scaled to the two lengths) a path may stray."""
    n, m = len(source), len(target)
    if c is None:
        c = (sum(target) / sum(source)) if sum(source) and sum(target) else 1.0
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        centre = i * m / n if n else 0
        for j in range(max(0, int(centre) - band), min(m, int(centre) + band) + 1):
            if i == 0 and j == 0:
                continue
            best, arg = inf, None
            for di, dj in PRIORS:
                if i < di or j < dj or cost[i - di][j - dj] == inf:
                    continue
                total = cost[i - di][j - dj] + bead_cost(sum(source[i - di:i]), sum(target[j - dj:j]), c, (di, dj))
                if total < best:
                    best, arg = total, (di, dj)
            cost[i][j], back[i][j] = best, arg
    if cost[n][m] == inf:
        raise ValueError(f"no alignment of {n} and {m} sentences within a band of {band}")
    beads, i, j = [], n, m
    while i or j:
        di, dj = back[i][j]
        beads.append((list(range(i - di, i)), list(range(j - dj, j))))
        i, j = i - di, j - dj
    return beads[::-1]


__all__ = ["align", "bead_cost", "PRIORS", "S2"]
