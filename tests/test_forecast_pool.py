"""rnnkit.tasks.forecast_pool: which members of a hybrid forecast make its point forecast, and with what shares —
checked by hand (plain-loop errors, Bates & Granger's weights on a line) and on series whose best method is known."""

import numpy as np
import pytest

from rnnkit.tasks.forecast_partners import PartnerForecast


def test_the_pool_keeps_the_partners_within_1_5_times_the_best_in_sample_error_by_hand():
    from rnnkit.tasks.forecast_pool import pool

    best = PartnerForecast(np.zeros(2), np.array([1.0, 1.0]))  # error sqrt(mean σ²) = 1
    edge = PartnerForecast(np.zeros(2), np.array([1.5, 1.5]))  # 1.5: exactly the ratio, kept
    over = PartnerForecast(np.zeros(2), np.array([1.4, 1.6]))  # sqrt((1.96 + 2.56) / 2) = 1.503: left out
    assert [p.pooled for p in pool([over, best, edge], 60)] == [False, True, True]
    assert [p.pooled for p in pool([over, best, edge], 59)] == [True, True, True]  # too few origins to tell
    unmeasured = PartnerForecast(np.zeros(2), np.full(2, np.nan))
    assert all(p.pooled for p in pool([over, best, unmeasured], 60))


def test_on_a_cycle_the_pool_leaves_out_the_trend_methods():
    # the AR(2) cycle above: theta's and damped trend's in-sample errors are 2-5 times the autoregression's, so the
    # hybrid's point forecast averages the RNN with ar alone
    from rnnkit.tasks.forecast_pool import partner_forecasts

    for seed in range(5):
        rng = np.random.default_rng(seed)
        y = np.full(120, 10.0)
        for t in range(2, 120):
            y[t] = 3 + 1.6 * y[t - 1] - 0.9 * y[t - 2] + rng.normal()
        assert [p.pooled for p in partner_forecasts(("theta", "damped", "ar"), y, 1, 6)] == [False, False, True]
        # a random walk: no method has an edge (in-sample errors within 15% of each other) and all stay in
        walk = 50 + np.cumsum(rng.normal(size=120))
        assert all(p.pooled for p in partner_forecasts(("theta", "damped", "ar"), walk, 1, 6))


def _naive(y):
    return lambda t, k: y[np.asarray(t)]  # ŷ_{t+k|t} = y_t


def test_the_rnn_leaves_the_point_forecast_when_its_in_sample_error_passes_1_5_times_the_pools():
    # by hand: the pooled partners are the naive forecast; the RNN's in-sample forecasts are naive + d from every
    # origin of rnn_origins. Its error over the horizon is sqrt(mean_k mean_t (y_{t+k} − y_t − d)²) — computed here
    # with plain loops — and it stays in exactly while that is at most 1.5 × the naive's
    from scipy.optimize import brentq

    from rnnkit.tasks.forecast_pool import POOL_RATIO, RNN_POOL_ORIGINS, rnn_in_pool, rnn_origins

    rng = np.random.default_rng(0)
    y, h = 50 + np.cumsum(rng.normal(size=90)), 4
    cuts = rnn_origins(len(y))
    assert list(cuts) == list(range(2, 90))  # a series shorter than RNN_POOL_ORIGINS: every cut inside it

    def error(d):
        per_step = []
        for k in range(1, h + 1):
            e = [y[c - 1 + k] - (y[c - 1] + d) for c in cuts if c - 1 + k < len(y)]
            per_step.append(np.mean(np.square(e)))
        return np.sqrt(np.mean(per_step))

    d_star = brentq(lambda d: error(d) - POOL_RATIO * error(0.0), 0.0, 100.0)
    for d, expected in ((0.0, True), (0.98 * d_star, True), (1.02 * d_star, False), (-5 * d_star, False)):
        paths = np.array([[y[c - 1] + d] * h for c in cuts])
        assert rnn_in_pool(y, h, paths, [_naive(y)]) is expected, d
    # a longer series is judged from its last RNN_POOL_ORIGINS cuts only
    assert list(rnn_origins(RNN_POOL_ORIGINS + 70)) == list(range(70, RNN_POOL_ORIGINS + 70))
    with pytest.raises(ValueError, match=r"rnn_paths: expected \(88, 4\)"):
        rnn_in_pool(y, h, np.zeros((10, h)), [_naive(y)])
    # a window the model could not read (NaN) leaves the RNN in: nothing to judge it by
    bad = np.array([[y[c - 1] + 10 * d_star] * h for c in cuts])
    bad[3, 0] = np.nan
    assert rnn_in_pool(y, h, bad, [_naive(y)]) is True


def test_a_series_one_partner_forecasts_exactly_leaves_an_imperfect_rnn_out_of_the_point_forecast():
    # a pure sinusoid is an AR(2) process: ar forecasts it exactly (in-sample error ~0) and is the pool; an RNN off by
    # anything visible is out: the point is ar's forecast, the interval still mixes the RNN in
    from rnnkit.tasks.forecast_pool import hybrid_parts, rnn_origins

    t = np.arange(120)
    y, h = 500 + 50 * np.sin(2 * np.pi * t / 7), 6
    paths = np.array([[y[c - 1]] * h for c in rnn_origins(len(y))])  # a naive "RNN"
    partners, rnn_pooled = hybrid_parts(("theta", "damped", "ar"), y, 1, h, "sine", paths)
    assert [p.pooled for p in partners] == [False, False, True] and rnn_pooled is False
    np.testing.assert_allclose(partners[2].point, 500 + 50 * np.sin(2 * np.pi * np.arange(120, 126) / 7), atol=1e-6)
    # given its true continuations, the same "RNN" stays in
    truth = np.array([np.concatenate([y, np.full(h, np.nan)])[c:c + h] for c in rnn_origins(len(y))])
    assert hybrid_parts(("theta", "damped", "ar"), y, 1, h, "sine", np.nan_to_num(truth, nan=500.0))[1] is True
    # without paths (or on a series shorter than POOL_MIN_VALUES) the RNN is in, as before session 42
    assert hybrid_parts(("theta", "damped", "ar"), y, 1, h, "sine")[1] is True
    assert hybrid_parts(("theta", "damped"), y[:59], 1, h, "short", paths[:57])[1] is True


def test_inverse_mse_shares_weigh_the_pool_by_one_over_its_in_sample_errors_squared():
    # by hand (Bates & Granger): on a line y_t = t every 1-step error is a constant — the naive partner's 1, a partner
    # forecasting y_t + 3 errs 2, the "RNN" forecasting y_t + 1.5 errs 0.5 — so the weights are 1/0.25 : 1 : 1/4
    from rnnkit.tasks.forecast_pool import inverse_mse_shares, rnn_origins

    y, h = np.arange(100.0), 1
    paths = np.array([[y[c - 1] + 1.5] for c in rnn_origins(len(y))])
    plus3 = lambda t, k: y[np.asarray(t)] + 3  # noqa: E731
    shares = inverse_mse_shares(y, h, paths, [_naive(y), plus3])
    np.testing.assert_allclose(shares, [1 / 5.25, 0.25 / 5.25])  # the RNN keeps 1 − Σ = 4 / 5.25
    # out of the pool, the RNN takes no share: the partners split the point 1 : 1/4
    np.testing.assert_allclose(inverse_mse_shares(y, h, paths, [_naive(y), plus3], rnn_pooled=False), [0.8, 0.2])
    # an error that could not be measured (a window the RNN could not read): no shares (NaN), combine_weight's split
    bad = paths.copy()
    bad[5, 0] = np.nan
    assert np.isnan(inverse_mse_shares(y, h, bad, [_naive(y), plus3])).all()
    # a perfect member takes the whole point
    exact = np.array([[y[c - 1] + 1] for c in rnn_origins(len(y))])
    np.testing.assert_allclose(inverse_mse_shares(y, h, exact, [_naive(y), plus3]), [0.0, 0.0])


def test_hybrid_parts_with_inverse_mse_weights_gives_the_pooled_partners_their_shares():
    # the sinusoid of the test above with an RNN that forecasts it exactly: the RNN (error 0) takes the whole point
    # with inverse-mse weights; with equal weights the partners carry no share (NaN: combine's equal split)
    from rnnkit.tasks.forecast_pool import hybrid_parts, rnn_origins

    t = np.arange(120)
    y, h = 500 + 50 * np.sin(2 * np.pi * t / 7), 6
    truth = np.array([np.concatenate([y, np.full(h, np.nan)])[c:c + h] for c in rnn_origins(len(y))])
    paths = np.where(np.isnan(truth), 500.0, truth)
    partners, kept = hybrid_parts(("theta", "damped", "ar"), y, 1, h, "sine", paths, "inverse-mse")
    assert kept is True and [p.pooled for p in partners] == [False, False, True]
    assert np.isnan(partners[0].share) and np.isnan(partners[1].share)  # out of the pool: no share of the point
    assert 0 <= partners[2].share < 0.5  # ar's in-sample error is tiny too, but not below the RNN's zero error
    equal, _ = hybrid_parts(("theta", "damped", "ar"), y, 1, h, "sine", paths)
    assert all(np.isnan(p.share) for p in equal)
    # a short series (no judge) keeps equal shares whatever the option
    short, _ = hybrid_parts(("theta", "damped"), y[:59], 1, h, "short", None, "inverse-mse")
    assert all(np.isnan(p.share) for p in short)
    with pytest.raises(ValueError, match="pool weights: expected one of equal, inverse-mse, got 'mse'"):
        hybrid_parts(("theta",), y, 1, h, "sine", paths, "mse")
