"""Temporal aggregation: a series of a finer frequency seen at a coarser one, as extra training data.

A group of few yearly series (the classic panel has six: sunspots, lynx, the Nile, …) gives a global model little
to learn from — cycles only, no growth — while the panel's monthly and quarterly series hold decades of yearly
behaviour. The aggregate of series x at k steps per coarser step is the mean of each complete block of k values:

    a_j = (1/k) · Σ_{i<k} x_{s + jk + i}        j = 0, 1, … while the block lies inside the series

with blocks that are whole calendar periods where the series has timestamps (a year of 12 months or 4 quarters, a
quarter of 3 months, a day of 24 hours, an ISO week of 7 days: the incomplete first and last periods are left out, and
steps that do not make whole periods, such as business days into weeks, give no aggregate) and otherwise blocks that
end at the series' last value (so its most recent values are always in the last block). The mean rather than the sum
keeps the units; the forecaster's window scalings (mean, last value, standardisation, each on its own window) make the
two the same input. Covariates are averaged per block too. Aggregates are built from the values a series trains on
(never its test part) and only ever serve as training windows (the aggregation levels of temporal hierarchies,
Athanasopoulos et al. 2017, used here as data rather than as forecasts to reconcile).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rnnkit.data.series import Series, season_period

# coarser frequency → (finer frequency, steps per coarser step)
SOURCES = {"quarterly": (("monthly", 3),), "yearly": (("quarterly", 4), ("monthly", 12)),
           "daily": (("hourly", 24),), "weekly": (("daily", 7),)}
MIN_LENGTH = 3  # values an aggregate needs to be worth a window (one input, one target, an inferable frequency)


def _period_keys(stamps, freq: str) -> np.ndarray:
    """The coarser period each timestamp falls in (a year, a quarter, a day, an ISO week) as one integer."""
    if freq == "yearly":
        return np.asarray(stamps.year)
    if freq == "quarterly":
        return np.asarray(stamps.year * 4 + stamps.quarter)
    if freq == "daily":
        return np.asarray(stamps.normalize().asi8)
    iso = stamps.isocalendar()
    return np.asarray(iso.year * 100 + iso.week)


def _blocks(s: Series, freq: str, k: int) -> tuple[int, int]:
    """(start, number of blocks): whole calendar periods of k values each where the series has timestamps (none when
    its steps do not make whole periods, e.g. business days into weeks), else the blocks that end at its last value."""
    if s.timestamps is None:
        return len(s) % k, len(s) // k
    keys = _period_keys(s.timestamps, freq)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    whole = starts[sizes == k]
    if len(whole) == 0:
        return 0, 0
    start, n = int(whole[0]), len(whole)
    if not np.array_equal(whole, start + k * np.arange(n)):  # a short period in between: not regular blocks
        return 0, 0
    return start, n


def aggregate(s: Series, freq: str) -> Series | None:
    """Series ``s`` at the coarser frequency ``freq`` (block means; see the module), or None when ``freq`` is not
    made of whole blocks of ``s.freq`` or fewer than ``MIN_LENGTH`` blocks fit."""
    k = dict(SOURCES.get(freq, ())).get(s.freq)
    if k is None:
        return None
    start, n = _blocks(s, freq, k)
    if n < MIN_LENGTH:
        return None

    def blocks(v: np.ndarray) -> np.ndarray:
        return np.asarray(v[start:start + n * k], dtype=np.float64).reshape(n, k).mean(1)

    return replace(s, id=f"{s.id}@{freq}", values=blocks(s.values), freq=freq, period=season_period(freq),
                   timestamps=None if s.timestamps is None else s.timestamps[start:start + n * k:k],
                   covariates={name: blocks(v) for name, v in s.covariates.items()}, future={}, test=None,
                   source=f"{s.source} (aggregated)".strip())


def aggregates_for(series: list[Series], freqs: set[str]) -> list[Series]:
    """The aggregates of ``series`` at each of ``freqs`` that can have them: frequency by frequency (sorted by
    name), in the order of ``series`` within each."""
    return [a for freq in sorted(freqs) for s in series if (a := aggregate(s, freq)) is not None]


__all__ = ["aggregate", "aggregates_for", "SOURCES"]
