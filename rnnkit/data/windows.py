"""Windows cut from a panel of series: L past values in, the next H values as the target.

A window of series s at cut c reads x[c−L : c] (left-padded with a mask where the series is shorter) and predicts
x[c : c+H] (masked where the series has no value). Which cuts a part may use is the whole point:

* ``train``: targets end before the validation part — every target position < n − h_val, where h_val is the
  series' own horizon (0 without validation), so no validation or test value is ever a training target or input
  past its own cut;
* ``validation``: one window per series, the last h values of its training part (c = n − h);
* ``forecast``: one window per series at its end (c = n), no target.

The test part of a data set (M3's official ``xx``) never enters a window: it is only compared with the forecasts.

Known features per step (``FeatureMaker``): the phase of the season from the timestamps (sin, cos of 2π·k/m for the
month of the year, quarter, week, weekday or hour; zeros for series without timestamps) and the covariates,
standardised with their training means and deviations. The future steps' covariates must be given (``Series.future``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import Dataset

from rnnkit.data.series import Series
from rnnkit.models.forecaster import FREQS

#: the frequencies whose season's phase comes from the timestamps (what the phase is)
PHASES = {"monthly": "the month", "quarterly": "the quarter", "weekly": "the ISO week", "daily": "the weekday",
          "hourly": "the hour"}


def _phase(stamps, freq: str) -> np.ndarray | None:
    if stamps is None:
        return None
    if freq == "monthly":
        k, m = stamps.month - 1, 12
    elif freq == "quarterly":
        k, m = stamps.quarter - 1, 4
    elif freq == "weekly":
        k, m = stamps.isocalendar().week.to_numpy() - 1, 52
    elif freq == "daily":
        k, m = stamps.dayofweek, 7
    elif freq == "hourly":
        k, m = stamps.hour, 24
    else:
        return None
    a = 2 * math.pi * np.asarray(k, dtype=np.float64) / m
    return np.stack([np.sin(a), np.cos(a)], 1)


def future_stamps(s: Series, steps: int):
    """The ``steps`` timestamps after the series' end (None for series without timestamps)."""
    import pandas as pd

    if s.timestamps is None:
        return None
    freq = s.timestamps.freq or pd.infer_freq(s.timestamps)
    return pd.date_range(s.timestamps[-1], periods=steps + 1, freq=freq)[1:]


class FeatureMaker:
    """Known features per step: season phase (2, with ``calendar``) and standardised covariates (in ``names`` order)."""

    def __init__(self, calendar: bool, names: list[str], mean: list[float], std: list[float]) -> None:
        self.calendar, self.names, self.mean, self.std = calendar, list(names), list(mean), list(std)

    @classmethod
    def fit(cls, series: list[Series], calendar: bool) -> FeatureMaker:
        names = sorted(set().union(*(s.covariates for s in series))) if series else []
        for s in series:
            missing = [n for n in names if n not in s.covariates]
            if missing:
                raise ValueError(f"series {s.id!r} lacks covariate(s) {missing} that other series have")
        mean, std = [], []
        for n in names:
            v = np.concatenate([s.covariates[n] for s in series])
            mean.append(float(v.mean()))
            std.append(float(v.std()) or 1.0)
        return cls(calendar and any(s.timestamps is not None for s in series), names, mean, std)

    @property
    def size(self) -> int:
        return 2 * self.calendar + len(self.names)

    def config(self) -> dict:
        return {"calendar": self.calendar, "covariates": self.names, "mean": self.mean, "std": self.std}

    def check_dates(self, s: Series) -> None:
        """Refuse to forecast a series without dates where the model reads its season's phase from them: zeros in
        the phase's place are inputs it never saw in training (on a daily-cycle series, forecasts off by the whole
        level)."""
        if self.calendar and s.timestamps is None and s.freq in PHASES:
            raise ValueError(f"series {s.id!r} has no dates, but this model reads the season's phase ({PHASES[s.freq]}) "
                             f"from them — it was trained on dated series: give its dates (a file's time column; for "
                             f"a list of numbers, \"start\": the first value's date, e.g. \"2024-01-01\"), or train "
                             "with calendar=false (--calendar false)")

    def of(self, s: Series, steps_after: int) -> np.ndarray:
        """Features (len(s) + steps_after, F) for the series and the steps after its end."""
        n = len(s) + steps_after
        cols = []
        if self.calendar:
            stamps = s.timestamps
            if stamps is not None and steps_after:
                stamps = stamps.append(future_stamps(s, steps_after))
            phase = _phase(stamps, s.freq)
            cols.append(phase if phase is not None else np.zeros((n, 2)))
        for name, mu, sd in zip(self.names, self.mean, self.std):
            if name not in s.covariates:
                raise ValueError(f"series {s.id!r} lacks covariate {name!r} the model was trained with")
            v = np.concatenate([s.covariates[name], s.future.get(name, np.zeros(0))])
            if len(v) < n:
                raise ValueError(f"series {s.id!r}: covariate {name!r} is known for {len(v) - len(s)} step(s) after "
                                 f"the end, the forecast needs {steps_after} (add rows with the future covariates)")
            cols.append(((v[:n] - mu) / sd)[:, None])
        return np.concatenate(cols, 1) if cols else np.zeros((n, 0))


def freq_index(freq: str) -> int:
    return FREQS.index(freq) if freq in FREQS else FREQS.index("other")


class SeriesWindows(Dataset):
    """Windows of a panel: item k = (x (L,), mask (L,), freq index, features (L+H, F), y (H,), y mask (H,))."""

    def __init__(self, series: list[Series], input_size: int, horizon: int, features: FeatureMaker,
                 cuts: list[tuple[int, int, int]]) -> None:
        """``cuts``: (series index, cut c, target positions available: y[c : c + k] are real, k ≤ H)."""
        self.series, self.L, self.H, self.features, self.cuts = series, input_size, horizon, features, cuts
        self._feats = [features.of(s, horizon) for s in series]
        self._flat = None

    def _flatten(self):
        """Every series in one array, each after L empty steps and before H: series i's time t sits at
        start_i + L + t, so a window at cut c reads [start_i + c, start_i + c + L + H) — one slice per window."""
        L, H = self.L, self.H
        sizes = [L + len(s) + H for s in self.series]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        values = np.zeros(sum(sizes), dtype=np.float32)
        real = np.zeros(sum(sizes), dtype=bool)
        feats = np.zeros((sum(sizes), self.features.size), dtype=np.float32)
        for o, s, f in zip(starts, self.series, self._feats):
            values[o + L:o + L + len(s)] = s.values
            real[o + L:o + L + len(s)] = True
            feats[o + L:o + L + len(f)] = f
        cuts = np.asarray(self.cuts, dtype=np.int64).reshape(-1, 3)
        freqs = np.array([freq_index(s.freq) for s in self.series], dtype=np.int64)
        self._flat = (starts, values, real, feats, cuts, freqs)
        return self._flat

    def batch_of(self, indices):
        """The collated batch of windows ``indices`` — the same tensors as collating ``self[k]`` for each k, by
        slicing instead of one call per window."""
        starts, values, real, feats, cuts, freqs = self._flat or self._flatten()
        i, c, avail = cuts[np.asarray(indices, dtype=np.int64)].T
        pos = (starts[i] + c)[:, None] + np.arange(self.L + self.H)
        x, y = values[pos[:, :self.L]], values[pos[:, self.L:]]
        mask, y_mask = real[pos[:, :self.L]], real[pos[:, self.L:]] & (np.arange(self.H) < avail[:, None])
        return (torch.from_numpy(x), torch.from_numpy(mask), torch.from_numpy(freqs[i]), torch.from_numpy(feats[pos]),
                torch.from_numpy(np.where(y_mask, y, np.float32(0))), torch.from_numpy(y_mask))

    def __len__(self) -> int:
        return len(self.cuts)

    def lengths(self) -> list[int]:
        return [self.L] * len(self.cuts)

    def __getitem__(self, k: int):
        i, c, avail = self.cuts[k]
        s, L, H = self.series[i], self.L, self.H
        start = max(0, c - L)
        x = np.zeros(L, dtype=np.float32)
        mask = np.zeros(L, dtype=bool)
        x[L - (c - start):] = s.values[start:c]
        mask[L - (c - start):] = True
        y = np.zeros(H, dtype=np.float32)
        y_mask = np.zeros(H, dtype=bool)
        n_y = min(avail, H, len(s) - c)
        if n_y > 0:
            y[:n_y] = s.values[c:c + n_y]
            y_mask[:n_y] = True
        f = np.zeros((L + H, self.features.size), dtype=np.float32)
        fs = self._feats[i]
        f[L - (c - start):L + H] = fs[start:c + H] if c + H <= len(fs) else np.pad(
            fs[start:], ((0, c + H - len(fs)), (0, 0)))
        return (torch.from_numpy(x), torch.from_numpy(mask), freq_index(s.freq), torch.from_numpy(f),
                torch.from_numpy(y), torch.from_numpy(y_mask))


def train_cuts(series: list[Series], horizon: int, validation: bool, min_input: int = 1,
               max_windows: int = 0) -> list[tuple[int, int, int]]:
    """Every cut whose targets lie before each series' validation part (its last h values, with ``validation``);
    ``max_windows`` > 0 keeps each series' most recent ones."""
    cuts = []
    for i, s in enumerate(series):
        end = len(s) - (s.horizon if validation else 0)
        mine = [(i, c, end - c) for c in range(min_input, end)]
        cuts += mine[-max_windows:] if max_windows else mine
    return cuts


def validation_cuts(series: list[Series], min_input: int = 1) -> list[tuple[int, int, int]]:
    """One window per series: its last h values as the target."""
    return [(i, len(s) - s.horizon, s.horizon) for i, s in enumerate(series) if len(s) - s.horizon >= min_input]


def forecast_cuts(series: list[Series]) -> list[tuple[int, int, int]]:
    return [(i, len(s), 0) for i, s in enumerate(series)]


__all__ = ["SeriesWindows", "FeatureMaker", "train_cuts", "validation_cuts", "forecast_cuts", "freq_index",
           "future_stamps"]
