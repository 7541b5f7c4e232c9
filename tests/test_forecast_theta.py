"""The dynamic optimised theta model (rnnkit.tasks.forecast_theta) against statsforecast's DOTM and hand-computed
cases."""

import numpy as np
import pytest

from rnnkit.tasks.forecast_partners import partner_forecast
from rnnkit.tasks.forecast_theta import dotm, fit_dotm, running_line

theta_sf = pytest.importorskip("statsforecast.theta")


def _walk(n: int, seed: int, drift: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 50 + np.cumsum(drift + rng.normal(0, 1, n))


def _sf_fit(y, alpha=float("nan"), level0=float("nan"), theta=float("nan")):
    return theta_sf.thetamodel(y, 1, "DOTM", initial_smoothed=level0, alpha=alpha, theta=theta, nmse=3)


def _forecast(ahead, n: int, h: int) -> np.ndarray:
    return np.array([ahead(np.array([n - 1]), k)[0] for k in range(1, h + 1)])


def test_running_line_is_the_least_squares_line_of_every_prefix():
    # given a series, expect (A_c, B_c) to be numpy's least-squares line through (1, x_1) … (c, x_c)
    x = _walk(30, 0)
    a, b = running_line(x)
    assert a[0] == x[0] and b[0] == 0.0
    for c in range(2, 31):
        slope, intercept = np.polyfit(np.arange(1, c + 1), x[:c], 1)
        assert b[c - 1] == pytest.approx(slope, rel=1e-9, abs=1e-9)
        assert a[c - 1] == pytest.approx(intercept, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("alpha,level0,theta", [(0.4, 2.0, 3.0), (0.9, 45.0, 1.0), (0.15, 60.0, 25.0)])
def test_forecast_with_given_parameters_is_statsforecasts_dotm(alpha, level0, theta):
    # given the same (α, ℓ_0, θ), the h-step forecasts (the recursion fed its own forecasts) equal statsforecast's
    y = _walk(40, 1)
    expected = theta_sf.forecast_theta(_sf_fit(y, alpha, level0, theta), 8)["mean"]
    np.testing.assert_allclose(_forecast(dotm(y, (alpha, level0, theta)), len(y), 8), expected, rtol=1e-10)


@pytest.mark.parametrize("seed", range(6))
def test_fit_reaches_at_least_statsforecasts_minimum_of_the_authors_objective(seed):
    # the objective of the authors' forecTheta (the squared one-step errors after the first two values), measured by
    # statsforecast's own residuals: at our parameters no larger than at statsforecast's Nelder-Mead optimum
    y = _walk(25 + 10 * seed, seed, drift=0.5 * (seed % 3) - 0.3)
    alpha, level0, theta = fit_dotm(y)
    assert 0.1 <= alpha <= 0.99 and theta >= 1.0
    ours = _sf_fit(y, alpha, level0, min(theta, 1e10))["residuals"][2:]
    theirs = _sf_fit(y)["residuals"][2:]
    assert np.sum(ours ** 2) <= np.sum(theirs ** 2) * (1 + 1e-6)


def test_a_straight_line_is_continued_exactly():
    # y = 3 + 2t: the slope's whole weight (θ → ∞) and the level's lag make the line's own continuation
    y = 3.0 + 2.0 * np.arange(1, 41)
    f = _forecast(dotm(y), len(y), 6)
    np.testing.assert_allclose(f, 3.0 + 2.0 * np.arange(41, 47), rtol=1e-6)


def test_in_sample_forecasts_read_only_the_values_up_to_their_origin():
    # the forecast from origin t of a series equals the forecast from the end of its first t + 1 values, parameters
    # held fixed: the level and the line at t use nothing after t
    y = _walk(50, 3)
    params = fit_dotm(y)
    full = dotm(y, params)
    for t in (5, 20, 35):
        np.testing.assert_allclose(full(np.array([t]), 4), dotm(y[:t + 1], params)(np.array([t]), 4), rtol=1e-12)


def test_constant_and_short_series_are_forecast_at_their_last_value():
    assert _forecast(dotm(np.full(12, 7.5)), 12, 3).tolist() == [7.5] * 3
    assert _forecast(dotm(np.array([1.0, 4.0])), 2, 2).tolist() == [4.0, 4.0]


def test_dotm_partner_of_a_seasonal_series_is_reseasonalised():
    # a multiplicative monthly season on a trend: the partner forecasts the adjusted series and puts the season back,
    # so its forecast follows the held-out months closely (MASE-like error far below the season's swing)
    t = np.arange(120)
    y = (100 + 0.5 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    p = partner_forecast("dotm", y[:108], 12, 12)
    assert np.max(np.abs(p.point - y[108:]) / y[108:]) < 0.02
    assert np.isfinite(p.sigma).all()
