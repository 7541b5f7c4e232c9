"""New series given to a trained forecaster (``Forecaster.history``): gaps and NaN in them are an error naming the
series, or filled as asked (``fill`` / ``--fill`` on forecast, backtest and evaluate) exactly as filling the file by
hand would fill them."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from rnnkit.cli import app
from rnnkit.tasks.forecast import ForecastOptions, forecast, train_forecaster
from rnnkit.tasks.forecast_evaluation import backtest, evaluate_forecaster
from tests.test_forecast import write_panel


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run_and_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fill")
    data = write_panel(folder / "panel.csv", n_series=3, noise=1.0)
    train_forecaster(ForecastOptions(data=str(data), max_steps=2, hidden_size=8, combine="theta", progress=False,
                                     checkpoint_every=0), folder / "run")
    full = pd.read_csv(data)
    gap = full.drop(index=full.index[(full["id"] == "s1") & (full["timestamp"] == "2014-05-01")])
    gap.to_csv(folder / "gap.csv", index=False)
    # the same month filled by hand: linear interpolation is the mean of its two neighbours; ffill the one before
    s1 = full[full["id"] == "s1"].reset_index(drop=True)
    k = s1.index[s1["timestamp"] == "2014-05-01"][0]
    by_hand = {}
    for fill, value in (("interpolate", (s1.loc[k - 1, "value"] + s1.loc[k + 1, "value"]) / 2),
                        ("ffill", s1.loc[k - 1, "value"])):
        filled = full.copy()
        filled.loc[(filled["id"] == "s1") & (filled["timestamp"] == "2014-05-01"), "value"] = value
        filled.to_csv(folder / f"{fill}.csv", index=False)
        by_hand[fill] = folder / f"{fill}.csv"
    return folder / "run", folder / "gap.csv", by_hand


def test_a_gap_is_an_error_naming_the_series_and_the_date_unless_a_fill_is_given(run_and_files):
    run, gap, _ = run_and_files
    with pytest.raises(ValueError, match=r"series 's1': 1 missing value.*2014-05-01.*--fill"):
        forecast(run, gap)


@pytest.mark.parametrize("fill", ["interpolate", "ffill"])
def test_a_gap_filled_on_request_forecasts_as_the_file_filled_by_hand(run_and_files, fill):
    run, gap, by_hand = run_and_files
    assert forecast(run, gap, fill=fill) == forecast(run, by_hand[fill])
    assert backtest(run, 2, gap, fill=fill) == backtest(run, 2, by_hand[fill])
    ours, theirs = evaluate_forecaster(run, data=gap, fill=fill), evaluate_forecaster(run, data=by_hand[fill])
    assert {k: v for k, v in ours.items() if k != "data"} == {k: v for k, v in theirs.items() if k != "data"}


def test_the_cli_verbs_take_fill_for_new_series(run_and_files, tmp_path):
    run, gap, by_hand = run_and_files
    refused = cli("forecast", run, "--data", gap, "--out", tmp_path / "x.csv")
    assert refused.exit_code != 0 and "--fill" in refused.output and "Traceback" not in refused.output
    assert cli("forecast", run, "--data", gap, "--fill", "interpolate", "--out", tmp_path / "a.csv").exit_code == 0
    assert cli("forecast", run, "--data", by_hand["interpolate"], "--out", tmp_path / "b.csv").exit_code == 0
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    ours = cli("backtest", run, "--data", gap, "--fill", "ffill", "--origins", "2")
    theirs = cli("backtest", run, "--data", by_hand["ffill"], "--origins", "2")
    assert ours.exit_code == 0 and ours.stdout == theirs.stdout
    scored = cli("evaluate", run, "--data", gap, "--fill", "ffill")
    assert scored.exit_code == 0 and "test_mase" in scored.stdout
    alone = cli("evaluate", run, "--fill", "ffill")
    assert alone.exit_code != 0 and "--fill needs --data" in alone.output
    bad = cli("forecast", run, "--data", gap, "--fill", "mean", "--out", tmp_path / "c.csv")
    assert bad.exit_code != 0 and "unknown fill 'mean'; expected one of error, ffill, interpolate, zero" in bad.output
