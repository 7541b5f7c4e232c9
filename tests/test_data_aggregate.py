"""Temporal aggregation (rnnkit.data.aggregate): block means on calendar boundaries, computed by hand here."""

import numpy as np
import pandas as pd

from rnnkit.data.aggregate import aggregate, aggregates_for
from rnnkit.data.series import Series


def monthly(start: str, n: int, **kw) -> Series:
    return Series("m", np.arange(n, dtype=np.float64), "monthly", 12, pd.date_range(start, periods=n, freq="MS"), **kw)


def test_a_monthly_series_averages_to_calendar_years_and_quarters():
    # March 2000 .. June 2003 (40 months): the complete years are 2001 and 2002 (values 10..21 and 22..33)
    s = monthly("2000-03-01", 40)
    y = aggregate(s, "yearly")
    assert y is None  # two complete years are too few (MIN_LENGTH = 3)
    s = monthly("2000-03-01", 52)  # .. June 2004: 2001, 2002, 2003
    y = aggregate(s, "yearly")
    assert (y.id, y.freq, y.period) == ("m@yearly", "yearly", 1)
    np.testing.assert_allclose(y.values, [np.mean(range(10, 22)), np.mean(range(22, 34)), np.mean(range(34, 46))])
    assert list(y.timestamps.year) == [2001, 2002, 2003] and all(y.timestamps.month == 1)
    q = aggregate(s, "quarterly")  # from April 2000 (value 1): Q2 2000 = 1,2,3; … ; the last whole quarter Q2 2004
    np.testing.assert_allclose(q.values[:2], [2.0, 5.0])
    assert len(q) == 17 and list(q.timestamps.quarter[:2]) == [2, 3] and q.period == 4


def test_without_timestamps_the_blocks_end_at_the_last_value():
    s = Series("q", np.arange(10, dtype=np.float64) ** 2, "quarterly", 4, None)
    y = aggregate(s, "yearly")  # 10 quarters: the first 2 dropped, then 2..5 and 6..9
    assert y is None
    s = Series("q", np.arange(14, dtype=np.float64), "quarterly", 4, None)
    np.testing.assert_allclose(aggregate(s, "yearly").values, [3.5, 7.5, 11.5])  # (2+3+4+5)/4, …, (10+…+13)/4


def test_covariates_are_averaged_and_the_test_part_never_enters():
    s = monthly("2001-01-01", 36, covariates={"price": np.repeat([1.0, 2.0, 3.0], 12)}, test=np.full(18, 1e9))
    y = aggregate(s, "yearly")
    np.testing.assert_allclose(y.covariates["price"], [1.0, 2.0, 3.0])
    assert y.test is None and y.values.max() < 36


def test_only_finer_series_are_aggregated_to_the_frequencies_asked():
    yearly = Series("y", np.arange(30.0), "yearly", 1, None)
    quarterly = Series("q", np.arange(16.0), "quarterly", 4, None)
    s = monthly("2001-01-01", 48)
    out = aggregates_for([yearly, quarterly, s], {"yearly", "other"})
    assert [a.id for a in out] == ["q@yearly", "m@yearly"]
    assert [a.id for a in aggregates_for([yearly, quarterly, s], {"quarterly"})] == ["m@quarterly"]
    assert aggregate(s, "weekly") is None and aggregate(yearly, "yearly") is None


def test_hours_make_days_and_business_days_make_no_weeks():
    stamps = pd.date_range("2024-01-01 18:00", periods=24 * 4, freq="h")  # 6 hours of Jan 1, Jan 2-4, 18 hours of Jan 5
    s = Series("h", np.arange(96.0), "hourly", 24, stamps)
    d = aggregate(s, "daily")
    np.testing.assert_allclose(d.values, [6 + 11.5, 30 + 11.5, 54 + 11.5])  # the means of hours 6..29, 30..53, 54..77
    assert [str(x.date()) for x in d.timestamps] == ["2024-01-02", "2024-01-03", "2024-01-04"]
    business = Series("b", np.arange(60.0), "daily", 7, pd.bdate_range("2024-01-01", periods=60))
    assert aggregate(business, "weekly") is None  # 5 values a week, not 7: no whole weeks to average
    daily = Series("d", np.arange(60.0), "daily", 7, pd.date_range("2024-01-03", periods=60))  # a Wednesday
    w = aggregate(daily, "weekly")  # from Monday Jan 8 (value 5): 7 whole weeks
    assert len(w) == 7 and w.values[0] == np.mean(range(5, 12)) and all(w.timestamps.dayofweek == 0)
