"""A file series' time column read onto a regular grid: dates, or integer positions.

A time column of dates (``2024-01-31``, ``2024-01-31 13:00``, Parquet timestamps) is put on the grid of its pandas
frequency — given (``freq``) or inferred, from the most common step where there are gaps. A time column of **integers**
(statsforecast's ``ds`` with ``freq=1``, GluonTS's positions, a sensor's sample number) is read as positions: the grid
steps by ``freq`` when it is a number, else by the most common difference, and the forecast continues the integers.
Integers that all look like years (1000–2999, one apart, or ``freq`` a yearly alias) are years, as the text ``1990``
always was: a yearly series dated 1 January. With a pandas alias as ``freq`` (``h``, ``D``, ``MS`` …) integer
positions count in that frequency — its seasonal period and horizon — without dates (no calendar features).

Either way a missing step becomes NaN (the caller's fill policy decides) and every row keeps its line number, so an
error names the file's line; a duplicate or a value off the grid is refused.
"""

from __future__ import annotations

import numpy as np

YEARS = (1000, 2999)  # integers all in this range, one apart, read as years


def integer_positions(column, freq: str | None, path, lines: np.ndarray, time_col: str) -> np.ndarray | None:
    """The time column as int64 positions when it holds integers (numbers, or text of digits) that are not years;
    None otherwise (dates). A column of integers with something else among them (its first value an integer that is
    not a year) is an error naming the first line that is not."""
    import pandas as pd

    col = pd.Series(column)
    if pd.api.types.is_integer_dtype(col.dtype):
        pos = col.to_numpy(np.int64)
    elif col.dtype == object and len(col):
        text = col.astype(str).str.strip()
        whole = text.str.fullmatch(r"[+-]?\d{1,18}").to_numpy()
        if not whole.all():
            if whole[0] and not YEARS[0] <= int(text.iloc[0]) <= YEARS[1]:
                bad = int(np.flatnonzero(~whole)[0])
                raise ValueError(f"{path}:{lines[bad]}: {time_col}: {col.iloc[bad]!r} is not a timestamp (the column "
                                 "holds integer positions)")
            return None
        pos = text.astype(np.int64).to_numpy()
    else:
        return None
    if freq is not None and freq.strip().isdigit():
        return pos  # a number as freq: positions, whatever they look like
    yearly = freq is not None and freq.lstrip("0123456789")[:1] in ("Y", "A")
    steps = np.diff(np.unique(pos))
    if yearly or ((pos >= YEARS[0]).all() and (pos <= YEARS[1]).all() and (len(steps) == 0 or steps.min() == 1)):
        return None  # years
    return pos


def as_dates(column, path, lines: np.ndarray, time_col: str):
    """The time column as a DatetimeIndex-like Series (integers that are years → 1 January of each), or an error naming
    the first line that is not a timestamp."""
    import pandas as pd

    col = pd.Series(column)
    if pd.api.types.is_integer_dtype(col.dtype):  # years (integer_positions said so): not nanoseconds since 1970
        col = col.astype(str)
    try:
        stamps = pd.to_datetime(col, format="mixed") if col.dtype == object else pd.to_datetime(col)
    except (ValueError, TypeError) as e:
        bad = next((i for i, v in enumerate(col) if pd.isna(pd.to_datetime(v, errors="coerce"))), 0)
        raise ValueError(f"{path}:{lines[bad]}: {time_col}: {col.iloc[bad]!r} is not a timestamp ({e})") from None
    if stamps.isna().any():
        bad = int(np.flatnonzero(stamps.isna().values)[0])
        raise ValueError(f"{path}:{lines[bad]}: {time_col}: {col.iloc[bad]!r} is not a timestamp")
    return stamps


def regular(stamps, vals: dict[str, np.ndarray], lines: np.ndarray, freq: str | None, where: str):
    """(the grid — timestamps, or int64 positions —, values with NaN at the gaps, line numbers (-1 at gaps), the
    pandas freq (None for positions without an alias)) for one series' time stamps (dates or ``integer_positions``)."""
    if isinstance(stamps, np.ndarray):
        return _regular_positions(stamps, vals, lines, freq, where)
    return _regular_dates(stamps, vals, lines, freq, where)


def _spread(pos: np.ndarray, vals: dict, lines: np.ndarray, size: int):
    out_lines = np.full(size, -1)
    out_lines[pos] = lines
    out = {}
    for k, v in vals.items():
        full = np.full(size, np.nan)
        full[pos] = v
        out[k] = full
    return out, out_lines


def _regular_positions(pos: np.ndarray, vals: dict, lines: np.ndarray, freq: str | None, where: str):
    order = np.argsort(pos, kind="stable")
    pos, lines = pos[order], lines[order]
    vals = {k: v[order] for k, v in vals.items()}
    same = np.flatnonzero(np.diff(pos) == 0)
    if len(same):
        i = int(same[0]) + 1
        raise ValueError(f"{where}: duplicate timestamp {pos[i]} at lines {lines[i - 1]} and {lines[i]}")
    if freq is not None and freq.strip().isdigit():
        step = int(freq)
        if step < 1:
            raise ValueError(f"{where}: freq {freq!r}: the step between integer timestamps must be at least 1")
    elif len(pos) > 1:
        diffs, counts = np.unique(np.diff(pos), return_counts=True)
        step = int(diffs[counts.argmax()])
    else:
        step = 1
    off = np.flatnonzero((pos - pos[0]) % step)
    if len(off):
        raise ValueError(f"{where}: timestamp {pos[off[0]]} (line {lines[off[0]]}) is not on the grid of step {step} "
                         f"that starts at the first timestamp {pos[0]}; pass freq (--freq) as the step")
    grid = np.arange(pos[0], pos[-1] + 1, step, dtype=np.int64)
    out, out_lines = _spread((pos - pos[0]) // step, vals, lines, len(grid))
    alias = None if freq is None or freq.strip().isdigit() else freq
    return grid, out, out_lines, alias


def _regular_dates(stamps, vals: dict[str, np.ndarray], lines: np.ndarray, freq: str | None, where: str):
    """(timestamps on a regular grid, values with NaN at the gaps, line numbers (-1 at gaps), pandas freq)."""
    import pandas as pd

    order = np.argsort(stamps.values, kind="stable")
    stamps, lines = stamps[order], lines[order]
    vals = {k: v[order] for k, v in vals.items()}
    dup = stamps.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(stamps == stamps[i])[0])
        raise ValueError(f"{where}: duplicate timestamp {stamps[i]} at lines {lines[first]} and {lines[i]}")
    if freq is None:
        if len(stamps) < 3:
            raise ValueError(f"{where}: {len(stamps)} timestamps are too few to infer the frequency; pass freq (--freq)")
        freq = pd.infer_freq(stamps)
        if freq is None:  # gaps: infer from the most common step
            step = pd.Series(stamps[1:] - stamps[:-1]).mode()[0]
            days = step / pd.Timedelta(days=1)
            freq = ("D" if abs(days - 1) < 1e-9 else "W" if abs(days - 7) < 1e-9 else "h" if abs(days * 24 - 1) < 1e-9
                    else "MS" if 28 <= days <= 31 else "QS" if 89 <= days <= 92 else "YS" if 365 <= days <= 366
                    else None)
            if freq is None:
                raise ValueError(f"{where}: cannot infer the frequency of the timestamps (most common step {step}); "
                                 "pass freq (--freq), e.g. 'MS', 'D', 'h'")
            if freq in ("MS", "QS", "YS") and stamps[0].day != 1:
                freq = {"MS": "ME", "QS": "QE", "YS": "YE"}[freq]
    grid = pd.date_range(stamps[0], stamps[-1], freq=freq)
    if len(grid) == 0 or grid[0] != stamps[0] or not stamps.isin(grid).all():
        off = stamps[~stamps.isin(grid)]
        raise ValueError(f"{where}: timestamp {off[0] if len(off) else stamps[0]} is not on the {freq!r} grid "
                         "that starts at the first timestamp")
    out, out_lines = _spread(grid.get_indexer(stamps), vals, lines, len(grid))
    return grid, out, out_lines, freq
