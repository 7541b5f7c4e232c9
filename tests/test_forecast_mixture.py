"""The hybrid forecast's intervals (``rnnkit.tasks.forecast_mixture``): the quantiles of the linear pool of the RNN's
and the partners' predictive distributions, against hand-computed pools, scipy's Gaussian and log-normal quantiles and
mixtures solved with brentq; the point forecast is the weighted mean of the pooled forecasts."""

import numpy as np
import pytest

from rnnkit.tasks.forecast_mixture import combine, mixture_levels
from rnnkit.tasks.forecast_partners import PartnerForecast


def test_the_hybrid_interval_is_the_mixture_of_the_rnn_and_the_partners_by_hand():
    # the RNN's quantiles at 0.1 … 0.9 are those of a uniform on [−1, 1] (F(x) = (x + 1)/2, the outermost pieces
    # extended to 0 and 1); one partner forecasts 10 with σ = 2, weight 0.5 each. By hand the pool's CDF is (x + 1)/4 on
    # [−1, 1] and 0.5 + Φ((x − 10)/2)/2 far above it: τ = 0.1 → −0.6, 0.2 → −0.2, …, 0.6 → 10 + 2 Φ⁻¹(0.2),
    # 0.8 → 10 + 2 Φ⁻¹(0.6), 0.9 → 10 + 2 Φ⁻¹(0.8) (the partner's CDF is read through its own quantiles at the same
    # levels, which hold 0.2, 0.6 and 0.8), and 0.5 → the point 0.5 · 0 + 0.5 · 10 (not the flat stretch's left end)
    from scipy.stats import norm

    levels = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 0.9)
    q = np.array([[-0.8, -0.6, -0.4, -0.2, 0.0, 0.2, 0.6, 0.8]])
    partner = PartnerForecast(np.array([10.0]), np.array([2.0]))
    out = combine(q, levels, [partner], 0.5)
    np.testing.assert_allclose(out, [[-0.6, -0.2, 0.2, 0.6, 5.0, 10 + 2 * norm.ppf(0.2), 10 + 2 * norm.ppf(0.6),
                                      10 + 2 * norm.ppf(0.8)]], atol=1e-9)
    # weight 1 or 0: one component — the RNN's quantiles, or the partner's Gaussian
    np.testing.assert_allclose(combine(q, levels, [partner], 1.0), q, atol=1e-9)
    np.testing.assert_allclose(combine(q, levels, [partner], 0.0), [10 + 2 * norm.ppf(levels)], atol=1e-9)
    # a partner with no measured spread takes the RNN's, re-centred on its forecast
    unmeasured = PartnerForecast(np.array([10.0]), np.array([np.nan]))
    np.testing.assert_allclose(combine(q, levels, [unmeasured], 0.0), q + 10, atol=1e-9)
    # two partners share the rest, and the point is the weighted mean
    two = combine(q, levels, [PartnerForecast(np.array([6.0]), np.array([1.0])), partner], 0.5)
    assert two[0, 4] == pytest.approx(0.5 * 0 + 0.25 * 6 + 0.25 * 10)


def test_the_hybrid_quantiles_match_a_gaussian_mixture_solved_with_scipy():
    from scipy.optimize import brentq
    from scipy.stats import norm

    taus = (0.025, 0.1, 0.5, 0.9, 0.975)
    levels = mixture_levels(taus)
    sigma, rnn, w = 2.0, 100.0, 0.5
    partners = [PartnerForecast(np.array([103.0]), np.array([3.0])), PartnerForecast(np.array([97.5]), np.array([1.5]))]
    q = (rnn + sigma * norm.ppf(levels))[None, :]
    out = combine(q, levels, partners, w)[0]
    parts = [(w, rnn, sigma)] + [((1 - w) / 2, p.point[0], p.sigma[0]) for p in partners]
    for tau in (0.025, 0.1, 0.9, 0.975):  # the exact pool's quantile, Σ_c a_c Φ((x − μ_c) / σ_c) = τ
        exact = brentq(lambda x: sum(a * norm.cdf((x - mu) / s) for a, mu, s in parts) - tau, 50, 150)
        assert out[levels.index(tau)] == pytest.approx(exact, abs=0.05 * sigma)
    assert out[levels.index(0.5)] == pytest.approx(w * rnn + (1 - w) * np.mean([p.point[0] for p in partners]))
    assert (np.diff(out) >= 0).all()


def test_a_partner_on_logs_has_a_log_normal_interval():
    # its τ-quantile is ŷ · exp(z_τ σ) with σ the spread of log errors (weight 0: the partner alone)
    from scipy.stats import lognorm

    levels = (0.1, 0.5, 0.9)
    partner = PartnerForecast(np.array([50.0, 80.0]), np.array([0.1, 0.3]), log=True)
    out = combine(np.zeros((2, 3)), levels, [partner], 0.0)
    for k in range(2):
        theirs = lognorm.ppf(levels, s=partner.sigma[k], scale=partner.point[k])
        np.testing.assert_allclose(out[k], theirs, rtol=1e-6)


def test_a_partner_out_of_the_pool_leaves_the_point_forecast_but_widens_the_interval():
    # point: w · RNN + (1 − w) · the pooled partner alone; interval: the exact three-component Gaussian mixture
    from scipy.optimize import brentq
    from scipy.stats import norm

    taus = (0.025, 0.1, 0.5, 0.9, 0.975)
    levels = mixture_levels(taus)
    q = (100.0 + 2.0 * norm.ppf(levels))[None, :]
    kept = PartnerForecast(np.array([103.0]), np.array([2.0]))
    out_of_pool = PartnerForecast(np.array([90.0]), np.array([4.0]), pooled=False)
    out = combine(q, levels, [kept, out_of_pool], 0.5)[0]
    assert out[levels.index(0.5)] == pytest.approx(0.5 * 100.0 + 0.5 * 103.0)
    parts = [(0.5, 100.0, 2.0), (0.25, 103.0, 2.0), (0.25, 90.0, 4.0)]
    exact = brentq(lambda x: sum(a * norm.cdf((x - mu) / s) for a, mu, s in parts) - 0.025, 50, 150)
    assert out[levels.index(0.025)] == pytest.approx(exact, abs=0.1)
    assert out[levels.index(0.025)] < combine(q, levels, [kept], 0.5)[0][levels.index(0.025)] - 3


def test_an_rnn_out_of_the_pool_leaves_the_point_to_the_partners_and_keeps_its_share_of_the_interval():
    from scipy.optimize import brentq
    from scipy.stats import norm

    levels = mixture_levels((0.025, 0.1, 0.5, 0.9, 0.975))
    q = (100.0 + 2.0 * norm.ppf(levels))[None, :]
    partner = PartnerForecast(np.array([103.0]), np.array([2.0]))
    out = combine(q, levels, [partner], 0.5, rnn_pooled=False)[0]
    assert out[levels.index(0.5)] == pytest.approx(103.0)
    exact = brentq(lambda x: 0.5 * norm.cdf((x - 100) / 2) + 0.5 * norm.cdf((x - 103) / 2) - 0.025, 50, 150)
    assert out[levels.index(0.025)] == pytest.approx(exact, abs=0.05)


def test_partners_with_shares_set_the_point_forecast_by_those_shares():
    # shares (from inverse_mse_shares) replace the equal split at the 0.5 level: ŷ = (1 − Σ s_p) ŷ^RNN + Σ s_p ŷ^p,
    # a partner out of the pool contributing nothing; the interval's mixture keeps the equal weights
    levels = mixture_levels((0.1, 0.5, 0.9))
    q = 100.0 + np.linspace(-10, 10, len(levels))[None, :]
    a = PartnerForecast(np.array([120.0]), np.array([2.0]), share=0.25)
    b = PartnerForecast(np.array([80.0]), np.array([2.0]), share=0.15)
    out_of_pool = PartnerForecast(np.array([500.0]), np.array([2.0]), pooled=False)
    med = levels.index(0.5)
    out = combine(q, levels, [a, b, out_of_pool], 0.5)
    assert out[0, med] == pytest.approx(0.6 * 100 + 0.25 * 120 + 0.15 * 80)
    unshared = combine(q, levels, [a._replace(share=np.nan), b._replace(share=np.nan), out_of_pool], 0.5)
    assert unshared[0, med] == pytest.approx(0.5 * 100 + 0.5 * (120 + 80) / 2)
    assert out[0, -1] == pytest.approx(unshared[0, -1])  # the 99% level: the same mixture
