"""The series of a forecasting run and its groups: the panel with its test parts, which group each series trains in,
its horizon, whether the group models logs, and the training-only series a group also learns from (``augment``:
aggregates of the panel's finer series, series from the prior). Shared by training, forecasting and evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rnnkit.data.aggregate import aggregates_for
from rnnkit.data.readers import missing_data
from rnnkit.data.series import FREQUENCIES, Series, read_series, split_at
from rnnkit.data.series_prior import prior_series

if TYPE_CHECKING:
    from rnnkit.tasks.forecast import ForecastOptions

AUGMENTS = ("aggregate", "synthetic")


def parse_augment(text: str) -> tuple[str, ...]:
    """'aggregate,synthetic' → ('aggregate', 'synthetic'); 'none' → ()."""
    names = tuple(dict.fromkeys(v.strip() for v in str(text).split(",") if v.strip() and v.strip() != "none"))
    unknown = [v for v in names if v not in AUGMENTS]
    if unknown:
        raise ValueError(f"augment: unknown {', '.join(map(repr, unknown))}; expected none or a comma-separated list "
                         f"of {', '.join(AUGMENTS)}")
    return names


def load_panel_data(opts: ForecastOptions) -> list[Series]:
    """The run's series with their test parts (``Series.test``): built-in, or read from the file and split."""
    from rnnkit.data.series_builtin import PANELS, load_panel

    if opts.data in PANELS:
        if opts.horizon is not None:
            raise ValueError(f"the {opts.data!r} panel has fixed test horizons; leave horizon unset")
        return load_panel(opts.data)
    if not Path(opts.data).exists():
        raise missing_data(opts.data, list(PANELS))
    series = read_series(opts.data, id_col=opts.id_col, time_col=opts.time_col, value_col=opts.value_col,
                         freq=opts.freq, fill=opts.fill)
    out = []
    for s in series:
        h = opts.horizon or FREQUENCIES[s.freq][1]
        if opts.test:
            if len(s) <= h + 2:
                raise ValueError(f"{opts.data}: series {s.id!r} has {len(s)} values: too few to hold out a test part "
                                 f"of {h} (pass test=false / --test false, or a smaller horizon)")
            s = split_at(s, len(s) - h)
        out.append(s)
    return out


def series_horizon(s: Series, opts_horizon: int | None) -> int:
    return len(s.test) if s.test is not None else (opts_horizon or FREQUENCIES[s.freq][1])


def group_key(s: Series, groups: str) -> str:
    if groups == "global":
        return "all"
    if groups == "frequency":
        return s.freq
    return f"period{s.period}"


def use_log(opts: ForecastOptions, series: list[Series]) -> bool:
    positive = all((s.values > 0).all() for s in series)
    if opts.log == "true" and not positive:
        bad = next(s for s in series if not (s.values > 0).all())
        raise ValueError(f"log=true needs positive values, but series {bad.id!r} has {bad.values.min():g}; pass "
                         "log=auto or false")
    return opts.log == "true" or (opts.log == "auto" and positive)


def group_extras(opts: ForecastOptions, series: list[Series], group_series: list[Series], log: bool) -> list[Series]:
    """The training-only series a group's members also learn from: with ``augment`` naming ``aggregate``, the panel's
    finer series averaged to the group's frequencies (positive ones only when the group models logs; not for one
    global group); naming ``synthetic``, ``opts.synthetic`` series from the prior where the group is non-seasonal
    (seeded by the run's seed)."""
    augment = parse_augment(opts.augment)
    extra = []
    if "aggregate" in augment and opts.groups != "global":
        extra += [a for a in aggregates_for(series, {s.freq for s in group_series}) if not log or (a.values > 0).all()]
    if "synthetic" in augment and all(s.period == 1 for s in group_series):
        freqs = sorted({s.freq for s in group_series})
        extra += prior_series(opts.synthetic, opts.seed, freqs[0] if len(freqs) == 1 else "yearly")
    return extra


__all__ = ["load_panel_data", "series_horizon", "group_key", "use_log", "group_extras", "parse_augment", "AUGMENTS"]
