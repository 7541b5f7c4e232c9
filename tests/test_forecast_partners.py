"""The hybrid forecast's statistical partners, against the published formulas and statsmodels' own Theta model, and
the combination rule against hand-computed numbers."""

import numpy as np
import pytest

from rnnkit.tasks.forecast_partners import (
    SPREAD,
    combine,
    damped,
    is_seasonal,
    parse_partners,
    partner_forecast,
    theta,
)


def test_theta_continues_a_straight_line_at_half_its_slope():
    # Hyndman & Billah (2003): the Theta method is SES with drift b/2; on a straight line SES follows the last value
    # (α → 1), so the forecast h steps on is y_n + h · b / 2
    y = 3.0 + 2.0 * np.arange(20)
    np.testing.assert_allclose(theta(y, 6), y[-1] + np.arange(1, 7), atol=1e-3)


def test_theta_agrees_with_statsmodels_theta_model_on_a_noisy_trend():
    from statsmodels.tsa.forecasting.theta import ThetaModel

    rng = np.random.default_rng(0)
    y = 50 + 0.8 * np.arange(40) + np.cumsum(rng.normal(0, 2, 40))
    ours = partner_forecast("theta", y, 1, 8)
    theirs = np.asarray(ThetaModel(y, deseasonalize=False).fit().forecast(8))
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


def test_a_seasonal_series_is_forecast_in_its_season_like_statsmodels_theta_model():
    from statsmodels.tsa.forecasting.theta import ThetaModel

    rng = np.random.default_rng(1)
    t = np.arange(72)
    y = (100 + 0.5 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 1, 72)
    assert is_seasonal(y, 12)
    theirs = np.asarray(ThetaModel(y, period=12, method="multiplicative").fit().forecast(18))
    np.testing.assert_allclose(partner_forecast("theta", y, 12, 18), theirs, rtol=1e-4)


def test_the_seasonality_test_is_the_m4_benchmarks_rule():
    # |r_m| > 1.645 · sqrt((1 + 2 Σ_{k<m} r_k²) / n), with statsmodels' autocorrelations as the reference
    from statsmodels.tsa.stattools import acf

    rng = np.random.default_rng(2)
    for k in range(40):
        n, m = 36 + k, (4, 12)[k % 2]
        y = 10 + rng.normal(0, 1, n) + (k % 3) * 0.6 * np.sin(2 * np.pi * np.arange(n) / m)
        r = acf(y, nlags=m, fft=False)
        expected = abs(r[m]) > 1.645 * np.sqrt((1 + 2 * np.sum(r[1:m] ** 2)) / n)
        assert is_seasonal(y, m) == expected
    assert not is_seasonal(np.sin(np.arange(30)), 12)  # fewer than 3m values: never seasonal
    assert not is_seasonal(np.ones(48), 12)


def test_damped_trend_rises_by_less_each_step_and_keeps_a_constant():
    rng = np.random.default_rng(3)
    y = 20 + 1.5 * np.arange(30) + rng.normal(0, 0.5, 30)
    steps = np.diff(np.concatenate([[y[-1]], damped(y, 12)]))
    assert (steps > 0).all() and (np.diff(steps[1:]) <= 1e-9).all() and steps[-1] < 1.5
    for name in ("theta", "damped"):
        np.testing.assert_allclose(partner_forecast(name, np.full(24, 7.0), 12, 5), 7.0)


def test_short_series_and_series_with_zeros_get_a_forecast():
    assert partner_forecast("theta", np.array([4.0, 6.0]), 1, 3).tolist() == [6.0, 6.0, 6.0]  # too short: its last
    y = np.tile([0.0, 5.0, 10.0, 5.0], 6) + np.arange(24) * 0.1  # seasonal with zeros: additive adjustment
    f = partner_forecast("damped", y, 4, 4)
    assert np.isfinite(f).all() and abs(f[0] - (0 + 2.4)) < 1.0 and abs(f[2] - (10 + 2.6)) < 1.0


def test_a_series_a_partner_cannot_fit_is_refused_with_its_name(monkeypatch):
    from rnnkit.tasks import forecast_partners

    def singular(x, h):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(forecast_partners, "damped", singular)
    with pytest.raises(ValueError, match=r"series 'big': the damped partner could not be fitted \(Singular matrix\)"):
        partner_forecast("damped", np.arange(1.0, 9.0), 1, 2, "big")


def test_the_hybrid_interval_is_the_mixture_of_the_rnn_and_its_recentred_copy_by_hand():
    # the RNN's quantiles at 0.1 … 0.9 are those of a uniform on [−1, 1] (F(x) = (x + 1)/2, the outermost pieces
    # extended to 0 and 1); one partner forecasts 10, weight 0.5 each. Pooled, each component's spread is scaled by
    # c = SPREAD: uniforms on [−c, c] and [10 − c, 10 + c]. By hand the pool's CDF is (x + c)/(4c) on [−c, c], flat
    # at 0.5 up to 10 − c, then 0.5 + (x − 10 + c)/(4c): τ = 0.1 → −0.6c, 0.3 → 0.2c, 0.7 → 10 − 0.2c, 0.9 → 10 + 0.6c,
    # and 0.5 → the point 0.5 · 0 + 0.5 · 10 (not the flat stretch's left end)
    levels, c = (0.1, 0.3, 0.5, 0.7, 0.9), SPREAD
    q = np.array([[-0.8, -0.4, 0.0, 0.4, 0.8]])
    out = combine(q, levels, [np.array([10.0])], 0.5)
    np.testing.assert_allclose(out, [[-0.6 * c, 0.2 * c, 5.0, 10 - 0.2 * c, 10 + 0.6 * c]], atol=1e-9)
    # weight 1 or 0: one component, its own spread (the RNN's quantiles; or them re-centred on the partner)
    np.testing.assert_allclose(combine(q, levels, [np.array([10.0])], 1.0), q, atol=1e-9)
    np.testing.assert_allclose(combine(q, levels, [np.array([10.0])], 0.0), q + 10, atol=1e-9)
    # two partners share the rest, and the point is the weighted mean
    two = combine(q, levels, [np.array([6.0]), np.array([10.0])], 0.5)
    assert two[0, 2] == pytest.approx(0.5 * 0 + 0.25 * 6 + 0.25 * 10)


def test_the_hybrid_quantiles_match_a_gaussian_mixture_solved_with_scipy():
    from scipy.optimize import brentq
    from scipy.stats import norm

    from rnnkit.tasks.forecast_partners import mixture_levels

    taus = (0.025, 0.1, 0.5, 0.9, 0.975)
    levels = mixture_levels(taus)
    sigma, rnn, partners, w = 2.0, 100.0, [103.0, 97.5], 0.5
    q = (rnn + sigma * norm.ppf(levels))[None, :]
    out = combine(q, levels, [np.array([p]) for p in partners], w)[0]
    centres, shares, s = [rnn, *partners], [w, (1 - w) / 2, (1 - w) / 2], SPREAD * sigma
    for tau in (0.025, 0.1, 0.9, 0.975):  # the exact pool's quantile, Σ_c a_c Φ((x − c)/(SPREAD · σ)) = τ
        exact = brentq(lambda x: sum(a * norm.cdf((x - c) / s) for a, c in zip(shares, centres)) - tau, 50, 150)
        assert out[levels.index(tau)] == pytest.approx(exact, abs=0.05 * sigma)
    assert out[levels.index(0.5)] == pytest.approx(w * rnn + (1 - w) * np.mean(partners))
    assert (np.diff(out) >= 0).all()


def test_partner_names_are_checked():
    assert parse_partners("theta, damped") == ("theta", "damped") and parse_partners("none") == ()
    with pytest.raises(ValueError, match="unknown partner 'arima'"):
        parse_partners("theta,arima")
    with pytest.raises(ValueError, match="twice"):
        parse_partners("theta,theta")
