"""The hybrid forecast's statistical partners, against the published formulas, statsmodels' own Theta model and
statsmodels' fitted states, their error spreads and intervals against random walks' known ones (the pool is checked
in ``test_forecast_pool.py``, the mixture that makes the hybrid's interval in ``test_forecast_mixture.py``)."""

import numpy as np
import pytest

from rnnkit.tasks.forecast_mixture import combine, mixture_levels
from rnnkit.tasks.forecast_partners import is_seasonal, parse_partners, partner_forecast


def test_theta_continues_a_straight_line_at_half_its_slope():
    # Hyndman & Billah (2003): the Theta method is SES with drift b/2; on a straight line SES follows the last value
    # (α → 1), so the forecast h steps on is y_n + h · b / 2
    y = 3.0 + 2.0 * np.arange(20)
    np.testing.assert_allclose(partner_forecast("theta", y, 1, 6).point, y[-1] + np.arange(1, 7), atol=1e-3)


def test_theta_agrees_with_statsmodels_theta_model_on_a_noisy_trend():
    from statsmodels.tsa.forecasting.theta import ThetaModel

    rng = np.random.default_rng(0)
    y = 50 + 0.8 * np.arange(40) + np.cumsum(rng.normal(0, 2, 40))
    ours = partner_forecast("theta", y, 1, 8).point
    theirs = np.asarray(ThetaModel(y, deseasonalize=False).fit().forecast(8))
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


def test_a_seasonal_series_is_forecast_in_its_season_like_statsmodels_theta_model():
    # a swing that grows with the level: the partners work on log values, where the swing is additive — the
    # forecast is exp of statsmodels' additive ThetaModel fitted to the logs
    from statsmodels.tsa.forecasting.theta import ThetaModel

    rng = np.random.default_rng(1)
    t = np.arange(72)
    y = (100 + 0.5 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 1, 72)
    assert is_seasonal(y, 12)
    theirs = np.exp(np.asarray(ThetaModel(np.log(y), period=12, method="additive").fit().forecast(18)))
    ours = partner_forecast("theta", y, 12, 18)
    assert ours.log
    np.testing.assert_allclose(ours.point, theirs, rtol=1e-4)


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
    f = partner_forecast("damped", y, 1, 12).point
    steps = np.diff(np.concatenate([[y[-1]], f]))
    assert (steps > 0).all() and (np.diff(steps[1:]) <= 1e-9).all() and steps[-1] < 1.5
    for name in ("theta", "damped"):  # a constant: forecast exactly, with no error
        p = partner_forecast(name, np.full(24, 7.0), 12, 5)
        np.testing.assert_allclose(p.point, 7.0)
        np.testing.assert_allclose(p.sigma, 0.0, atol=1e-9)


def test_damped_trend_agrees_with_statsmodels_forecast_from_every_origin():
    # ŷ_{t+k|t} = ℓ_t + (φ + … + φ^k) b_t: from the last origin it is statsmodels' own forecast; from an earlier origin
    # t it reads statsmodels' fitted states ℓ_t, b_t, and one step ahead it is statsmodels' fitted value
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    from rnnkit.tasks.forecast_partners import damped

    rng = np.random.default_rng(3)
    y = 20 + 1.5 * np.arange(30) + rng.normal(0, 0.5, 30)
    fit = ExponentialSmoothing(y, trend="add", damped_trend=True).fit()
    np.testing.assert_allclose(partner_forecast("damped", y, 1, 12).point, fit.forecast(12), rtol=1e-9)
    ahead = damped(y)
    level, trend, phi = fit.level, fit.trend, fit.params["damping_trend"]
    for t, k in ((5, 1), (19, 3), (28, 1)):
        expected = level[t] + sum(phi ** j for j in range(1, k + 1)) * trend[t]
        assert ahead(np.array([t]), k)[0] == pytest.approx(expected)
        if k == 1:  # one step ahead is statsmodels' fitted value
            assert ahead(np.array([t]), 1)[0] == pytest.approx(fit.fittedvalues[t + 1])


@pytest.mark.parametrize("name", ["theta", "damped"])
def test_a_partners_error_spread_on_a_random_walk_grows_like_the_square_root_of_the_step(name):
    # a Gaussian random walk's k-step change has standard deviation σ √k, and both partners forecast a random walk
    # (nearly) by its last value: the root mean square of their in-sample k-step errors is σ √k
    rng = np.random.default_rng(4)
    sigma = 2.0
    y = 500 + np.cumsum(rng.normal(0, sigma, 3000))
    p = partner_forecast(name, y, 1, 8)
    np.testing.assert_allclose(p.sigma, sigma * np.sqrt(np.arange(1, 9)), rtol=0.12)


def test_the_partners_intervals_cover_a_random_walk_at_their_nominal_rate():
    # 400 random walks of 60 values, the next 6 held out; each partner alone (the RNN's weight 0, its quantiles never
    # read): its 80% and 95% intervals hold about 80% and 95% of the held-out values
    rng = np.random.default_rng(5)
    levels = mixture_levels((0.025, 0.1, 0.5, 0.9, 0.975))
    hits = {name: {0.8: [], 0.95: []} for name in ("theta", "damped")}
    for _ in range(400):
        y = 100 + np.cumsum(rng.normal(0, 1, 66))
        for name in hits:
            q = combine(np.zeros((6, len(levels))), levels, [partner_forecast(name, y[:60], 1, 6)], 0.0)
            for cover, lo in ((0.8, 0.1), (0.95, 0.025)):
                inside = (y[60:] >= q[:, levels.index(lo)]) & (y[60:] <= q[:, levels.index(1 - lo)])
                hits[name][cover].append(inside)
    for name, by_cover in hits.items():
        for cover, inside in by_cover.items():
            assert abs(np.mean(inside) - cover) < 0.05, (name, cover, np.mean(inside))


def test_short_series_and_series_with_zeros_get_a_forecast():
    short = partner_forecast("theta", np.array([4.0, 6.0]), 1, 3)  # too short: its last value, no spread measured
    assert short.point.tolist() == [6.0, 6.0, 6.0] and np.isnan(short.sigma).all()
    y = np.tile([0.0, 5.0, 10.0, 5.0], 6) + np.arange(24) * 0.1  # seasonal with zeros: additive adjustment
    f = partner_forecast("damped", y, 4, 4).point
    assert np.isfinite(f).all() and abs(f[0] - (0 + 2.4)) < 1.0 and abs(f[2] - (10 + 2.6)) < 1.0


def test_a_series_a_partner_cannot_fit_is_refused_with_its_name(monkeypatch):
    from rnnkit.tasks import forecast_partners

    def singular(x):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(forecast_partners, "damped", singular)
    with pytest.raises(ValueError, match=r"series 'big': the damped partner could not be fitted \(Singular matrix\)"):
        partner_forecast("damped", np.arange(1.0, 9.0), 1, 2, "big")


def test_partner_names_are_checked():
    assert parse_partners("theta, damped") == ("theta", "damped") and parse_partners("none") == ()
    with pytest.raises(ValueError, match="unknown partner 'arima'"):
        parse_partners("theta,arima")
    with pytest.raises(ValueError, match="twice"):
        parse_partners("theta,theta")


def test_a_constant_seasonal_swing_on_a_trend_is_subtracted_and_a_growing_one_divided():
    # a noiseless sine of fixed amplitude on a line (every value positive): the additive decomposition is exact, so
    # the damped partner continues it almost exactly (dividing by multiplicative indices left MASE 1.41); a swing that
    # grows with the level keeps the multiplicative adjustment (statsmodels' multiplicative ThetaModel agrees, above)
    from rnnkit.tasks.forecast_metrics import mase
    from rnnkit.tasks.forecast_partners import seasonal_indices

    t = np.arange(138)
    y = 50 + 10 * np.sin(2 * np.pi * t / 12) + 0.5 * t
    assert seasonal_indices(y[:120], 12)[1] is False
    assert mase(y[120:], partner_forecast("damped", y[:120], 12, 18).point, y[:120], 12) < 0.05
    growing = (100 + 0.5 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    assert seasonal_indices(growing, 12)[1] is True


def test_exponential_growth_with_a_growing_swing_is_continued_on_logs():
    # AirPassengers' shape, noiseless: 1%-a-month growth times a ±20% seasonal factor. On logs it is a line plus a
    # fixed swing, which damped trend continues almost exactly (on the original values, divided by multiplicative
    # indices, the linear trend falls behind the growth: MASE 0.086 before session 26, against 0.054)
    from rnnkit.tasks.forecast_metrics import mase

    t = np.arange(138)
    y = 100 * 1.01 ** t * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    p = partner_forecast("damped", y[:120], 12, 18)
    assert p.log and mase(y[120:], p.point, y[:120], 12) < 0.06


@pytest.mark.parametrize("name", ["theta", "damped"])
def test_partners_on_logs_cover_geometric_random_walks_at_the_nominal_rate(name):
    # 400 geometric random walks (log y a Gaussian random walk) times a ±30% monthly swing, 10 years each, the next 6
    # values held out: the partner alone, on logs, with its log-normal interval from its in-sample log errors, holds
    # about 80% and 95% of them. (The in-sample errors do not include the error of the estimated seasonal indices:
    # with 5 years of history the same walks are covered 66% / 84%.)
    rng = np.random.default_rng(5)
    levels = mixture_levels((0.025, 0.1, 0.5, 0.9, 0.975))
    inside, on_logs = {0.8: [], 0.95: []}, []
    for _ in range(400):
        y = np.exp(4 + np.cumsum(rng.normal(0, 0.05, 126))) * (1 + 0.3 * np.sin(2 * np.pi * np.arange(126) / 12))
        p = partner_forecast(name, y[:120], 12, 6)
        on_logs.append(p.log)
        q = combine(np.zeros((6, len(levels))), levels, [p], 0.0)
        for cover, lo in ((0.8, 0.1), (0.95, 0.025)):
            inside[cover] += list((y[120:] >= q[:, levels.index(lo)]) & (y[120:] <= q[:, levels.index(1 - lo)]))
    assert np.mean(on_logs) > 0.9  # the swing is judged multiplicative (a walk that wanders flat can look additive)
    for nominal, hits in inside.items():
        assert abs(np.mean(hits) - nominal) < 0.05, (nominal, np.mean(hits))


def _ar2_cycle(n, seed=0):
    # y_t = 5 + 1.3 y_{t−1} − 0.6 y_{t−2} + ε_t: a damped cycle of period ~11 around the mean 5 / (1 − 1.3 + 0.6)
    rng = np.random.default_rng(seed)
    y = np.full(n, 5 / 0.3)
    for t in range(2, n):
        y[t] = 5 + 1.3 * y[t - 1] - 0.6 * y[t - 2] + rng.normal()
    return y


def test_the_ar_partner_is_statsmodels_autoregression_with_its_order_by_aic():
    from statsmodels.tsa.ar_model import ar_select_order

    from rnnkit.tasks.forecast_partners import ar

    y = _ar2_cycle(200)
    theirs = ar_select_order(y, 12, ic="aic", trend="c").model.fit()
    assert len(theirs.params) == 3  # the constant and the two lags that generated it
    np.testing.assert_allclose(partner_forecast("ar", y, 1, 10).point, theirs.predict(start=200, end=209), rtol=1e-9)
    # from every origin: one step ahead is statsmodels' fitted value (which starts after the 2 lags)
    t = np.arange(2, 150)
    np.testing.assert_allclose(ar(y)(t, 1), theirs.fittedvalues[t - 1], rtol=1e-9)


def test_the_ar_partners_error_spread_is_the_k_step_spread_of_an_ar1():
    # y_t = 0.8 y_{t−1} + ε_t, σ = 1: the k-step forecast error has variance (1 − 0.8^{2k}) / (1 − 0.8²)
    rng = np.random.default_rng(6)
    y = np.zeros(4000)
    for t in range(1, 4000):
        y[t] = 0.8 * y[t - 1] + rng.normal()
    k = np.arange(1, 9)
    np.testing.assert_allclose(partner_forecast("ar", y, 1, 8).sigma, np.sqrt((1 - 0.64 ** k) / 0.36), rtol=0.06)


def test_the_ar_partner_forecasts_only_series_of_60_values_or_more():
    from rnnkit.tasks.forecast_partners import AR_MIN_VALUES
    from rnnkit.tasks.forecast_pool import partner_forecasts

    y = _ar2_cycle(AR_MIN_VALUES)
    assert len(partner_forecasts(("theta", "damped", "ar"), y, 1, 6)) == 3
    short = partner_forecasts(("theta", "damped", "ar"), y[1:], 1, 6)
    assert len(short) == 2  # the hybrid of a shorter series averages the other two
    with pytest.raises(ValueError, match="the ar partner needs at least 60 values, got 59"):
        partner_forecast("ar", y[1:], 1, 6, "s")
    # a series too short for every asked partner keeps the RNN's own quantiles
    q = np.array([[1.0, 2.0, 4.0]])
    np.testing.assert_array_equal(combine(q, (0.1, 0.5, 0.9), partner_forecasts(("ar",), y[:10], 1, 1), 0.5), q)


def test_the_ar_partner_continues_a_cycle_that_trend_methods_miss():
    # y_t = 3 + 1.6 y_{t−1} − 0.9 y_{t−2} + ε_t, a cycle of period ~11 (lynx-like), 20 series of 120 values: the ar
    # partner's 6-step forecast follows the cycle, theta's and damped trend's extrapolate its last swing as a trend
    from rnnkit.tasks.forecast_metrics import mase

    errors = {name: [] for name in ("theta", "damped", "ar")}
    for seed in range(20):
        rng = np.random.default_rng(seed)
        y = np.full(126, 10.0)
        for t in range(2, 126):
            y[t] = 3 + 1.6 * y[t - 1] - 0.9 * y[t - 2] + rng.normal()
        for name in errors:
            errors[name].append(mase(y[120:], partner_forecast(name, y[:120], 1, 6).point, y[:120], 1))
    assert np.mean(errors["ar"]) < 0.5 * min(np.mean(errors["theta"]), np.mean(errors["damped"]))  # 0.91 vs 2.49


def _ari2_with_drift(n, seed=0):
    # d_t = 1 + 0.5 d_{t−1} − 0.3 d_{t−2} + ε_t, y_t = y_{t−1} + d_t: an ARIMA(2, 1, 0) drifting 1.25 a step (BJsales-like)
    rng = np.random.default_rng(seed)
    d = np.zeros(n)
    for t in range(2, n):
        d[t] = 1 + 0.5 * d[t - 1] - 0.3 * d[t - 2] + rng.normal()
    return 100 + np.cumsum(d)


def test_the_ari_partner_is_statsmodels_autoregression_on_the_differences_summed_back():
    from statsmodels.tsa.ar_model import ar_select_order

    y = _ari2_with_drift(300)
    d = np.diff(y)
    theirs = ar_select_order(d, 12, ic="aic", trend="c").model.fit()
    assert len(theirs.params) == 3  # the drift and the two lags that generated the differences
    want = y[-1] + np.cumsum(theirs.predict(start=len(d), end=len(d) + 9))
    np.testing.assert_allclose(partner_forecast("ari", y, 1, 10).point, want, rtol=1e-9)


def test_the_ari_partner_continues_a_straight_line_exactly():
    y = 5.0 + 2.0 * np.arange(80)
    p = partner_forecast("ari", y, 1, 6)
    np.testing.assert_allclose(p.point, 5.0 + 2.0 * np.arange(80, 86), rtol=1e-12)
    np.testing.assert_allclose(p.sigma, 0.0, atol=1e-9)


def test_the_ari_partner_follows_a_drifting_series_that_the_stationary_ar_pulls_back():
    # 20 ARIMA(2, 1, 0) series with drift, 120 values: the ar partner's forecast returns toward the series' mean
    # (a stationary model), the ari partner's goes on drifting; the AR on the differences is Box & Jenkins's model
    from rnnkit.tasks.forecast_metrics import mase

    errors = {name: [] for name in ("ar", "ari")}
    for seed in range(20):
        y = _ari2_with_drift(128, seed)
        for name in errors:
            errors[name].append(mase(y[120:], partner_forecast(name, y[:120], 1, 8).point, y[:120], 1))
    assert np.mean(errors["ari"]) < 0.9 * np.mean(errors["ar"])  # 1.30 against 1.59


def test_the_ari_partner_is_offered_but_not_in_auto_and_needs_60_values():
    from rnnkit.tasks.forecast_partners import AR_MIN_VALUES
    from rnnkit.tasks.forecast_pool import partner_forecasts

    assert parse_partners("theta,ari") == ("theta", "ari")
    # ari helps the classic panel, not M3: not a default
    assert parse_partners("auto") == ("theta", "dotm", "damped", "ar")
    y = _ari2_with_drift(AR_MIN_VALUES)
    assert len(partner_forecasts(("theta", "ari"), y, 1, 6)) == 2
    assert len(partner_forecasts(("theta", "ari"), y[1:], 1, 6)) == 1
    with pytest.raises(ValueError, match="the ari partner needs at least 60 values, got 59"):
        partner_forecast("ari", y[1:], 1, 6, "s")
