"""Temporal aggregation: a series of a finer frequency seen at a coarser one, as extra training data.

A group of few yearly series (the classic panel has six: sunspots, lynx, the Nile, …) gives a global model little
to learn from — cycles only, no growth — while the panel's monthly and quarterly series hold decades of yearly
behaviour. The aggregate of series x at k steps per coarser step is the mean of each complete block of k values:

    a_j = (1/k) · Σ_{i<k} x_{s + jk + i}        j = 0, 1, … while the block lies inside the series

with blocks starting on a calendar boundary where the series has timestamps (January for a year, the first month of a
quarter, midnight for a day, Monday for a week) and otherwise ending at the series' last value (so the most recent
values are always in the last block). The mean rather than the sum keeps the units; the forecaster's window scalings
(mean, last value, standardisation, each on its own window) make the two the same input. Covariates are averaged
per block too. Aggregates are built from the values a series trains on (never its test part) and only ever serve as
training windows (temporal hierarchies: Athanasopoulos et al. 2017; aggregated augmentation in M4 entries).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rnnkit.data.series import Series, season_period

# coarser frequency → (finer frequency, steps per coarser step)
SOURCES = {"quarterly": (("monthly", 3),), "yearly": (("quarterly", 4), ("monthly", 12)),
           "daily": (("hourly", 24),), "weekly": (("daily", 7),)}
MIN_LENGTH = 3  # values an aggregate needs to be worth a window (one input, one target, an inferable frequency)


def _block_start(s: Series, freq: str, k: int) -> int:
    """Index of the first value that starts a calendar block of the coarser frequency (the end-aligned start
    without timestamps)."""
    stamps = s.timestamps
    if stamps is None:
        return len(s) % k
    first = {"quarterly": (stamps.month - 1) % 3 == 0, "yearly": stamps.month == 1 if s.freq == "monthly"
             else stamps.quarter == 1, "daily": stamps.hour == 0, "weekly": stamps.dayofweek == 0}[freq]
    hits = np.flatnonzero(np.asarray(first)[:k])
    return int(hits[0]) if len(hits) else len(s)


def aggregate(s: Series, freq: str) -> Series | None:
    """Series ``s`` at the coarser frequency ``freq`` (block means; see the module), or None when ``freq`` is not
    made of whole blocks of ``s.freq`` or fewer than ``MIN_LENGTH`` blocks fit."""
    k = dict(SOURCES.get(freq, ())).get(s.freq)
    if k is None:
        return None
    start = _block_start(s, freq, k)
    n = (len(s) - start) // k
    if n < MIN_LENGTH:
        return None

    def blocks(v: np.ndarray) -> np.ndarray:
        return np.asarray(v[start:start + n * k], dtype=np.float64).reshape(n, k).mean(1)

    return replace(s, id=f"{s.id}@{freq}", values=blocks(s.values), freq=freq, period=season_period(freq),
                   timestamps=None if s.timestamps is None else s.timestamps[start:start + n * k:k],
                   covariates={name: blocks(v) for name, v in s.covariates.items()}, future={}, test=None,
                   source=f"{s.source} (aggregated)".strip())


def aggregates_for(series: list[Series], freqs: set[str]) -> list[Series]:
    """The aggregates of ``series`` at each of ``freqs`` (in series order, the coarser frequencies' order after)."""
    return [a for freq in sorted(freqs) for s in series if (a := aggregate(s, freq)) is not None]


__all__ = ["aggregate", "aggregates_for", "SOURCES"]
