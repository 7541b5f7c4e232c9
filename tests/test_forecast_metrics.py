"""Forecast metrics against hand-computed cases and statsforecast's own metric library (utilsforecast)."""

import math

import numpy as np
import pandas as pd
import pytest

from rnnkit.tasks.forecast_metrics import coverage, mae, mase, panel_scores, quantile_loss, rmse, series_scores, smape


def test_mase_with_m_1_divides_by_the_naive_forecasts_in_sample_error():
    # in-sample naive errors |2-1|, |4-2|, |7-4| = 1, 2, 3 → scale 2; forecast errors 1, 1 → MAE 1
    assert mase([8, 10], [9, 9], [1, 2, 4, 7], m=1) == pytest.approx(0.5)


def test_mase_with_m_12_divides_by_the_seasonal_naive_error():
    history = np.array([t % 12 + 12 * (t // 12) + (t % 3) for t in range(36)], dtype=float)  # seasonal diffs all 12
    assert mase([40.0, 41.0], [46.0, 35.0], history, m=12) == pytest.approx(6 / 12)


def test_mase_falls_back_to_m_1_on_a_history_no_longer_than_a_season_and_is_nan_without_scale():
    assert mase([3.0], [4.0], [1, 2, 3], m=12) == pytest.approx(1.0)
    assert math.isnan(mase([3.0], [4.0], [5, 5, 5, 5], m=1))


def test_smape_counts_a_zero_over_zero_term_as_zero():
    # terms: 0/0 → 0, 200·|0−1|/(0+1) = 200, 200·0/2 = 0
    assert smape([0, 0, 1], [0, 1, 1]) == pytest.approx(200 / 3)


def test_pinball_loss_and_coverage_by_hand():
    # y = 1 against q_0.1 = 0 (d = 1: 0.1) and q_0.9 = 2 (d = −1: −0.9·−1 = 0.1)
    assert quantile_loss([1.0], [[0.0, 2.0]], [0.1, 0.9]) == pytest.approx(0.1)
    assert coverage([1, 5, 3, 10], [0, 0, 3, 0], [2, 4, 4, 20]) == pytest.approx(0.75)
    assert mae([1, 2], [2, 4]) == pytest.approx(1.5) and rmse([1, 2], [2, 4]) == pytest.approx(math.sqrt(2.5))


def test_mase_and_smape_agree_with_utilsforecast():
    losses = pytest.importorskip("utilsforecast.losses")
    rng = np.random.default_rng(0)
    rows, train, ours = [], [], {"mase": [], "smape": []}
    for k in range(4):
        hist = 50 + 10 * np.sin(np.arange(40) * 2 * np.pi / 12) + rng.normal(0, 2, 40)
        y, f = 50 + rng.normal(0, 5, 6), 50 + rng.normal(0, 5, 6)
        train.append(pd.DataFrame({"unique_id": k, "ds": np.arange(40), "y": hist}))
        rows.append(pd.DataFrame({"unique_id": k, "ds": np.arange(40, 46), "y": y, "model": f}))
        ours["mase"].append(mase(y, f, hist, 12))
        ours["smape"].append(smape(y, f))
    df, train_df = pd.concat(rows), pd.concat(train)
    theirs_mase = losses.mase(df, ["model"], 12, train_df).sort_values("unique_id")["model"].to_numpy()
    theirs_smape = losses.smape(df, ["model"]).sort_values("unique_id")["model"].to_numpy()
    np.testing.assert_allclose(ours["mase"], theirs_mase, rtol=1e-9)
    np.testing.assert_allclose(ours["smape"], 200 * theirs_smape, rtol=1e-9)  # utilsforecast: mean |e|/(|y|+|f|)


def test_series_scores_use_the_median_and_panel_scores_average_leaving_nan_out():
    taus = [0.1, 0.5, 0.9]
    q = np.array([[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]])
    s = series_scores([2.0, 6.0], q, taus, [1, 2, 3, 4], 1)
    assert s["mae"] == pytest.approx(1.5) and s["mase"] == pytest.approx(1.5) and s["coverage_80"] == 0.5
    assert s["crps"] == pytest.approx(2 * s["quantile_loss"])
    p = panel_scores([{"mase": 1.0, "smape": 10.0, "freq": "a"}, {"mase": math.nan, "smape": 20.0, "freq": "b"}],
                     "freq")
    assert p["all"]["mase"] == 1.0 and p["all"]["smape"] == 15.0 and p["all"]["mase_undefined"] == 1
    assert p["b"]["series"] == 1
