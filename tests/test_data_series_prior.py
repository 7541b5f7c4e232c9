"""rnnkit.data.series_prior: synthetic series from a prior of simple processes (training windows for small groups).

Each process is held to an independent reference on the same noise: the autoregressions to scipy.signal.lfilter (the
ARMA recursion statsmodels' ArmaProcess uses), the local level and the drift to cumulative sums, the damped trend to a
hand-unrolled first steps; the prior's draws to their documented ranges."""

import numpy as np
import pytest
from scipy.signal import lfilter

from rnnkit.data.series_prior import BURN_IN, PROCESSES, ar, damped_trend, draw_process, prior_series


def test_an_autoregression_is_the_all_pole_filter_of_its_noise():
    eps = np.random.default_rng(0).standard_normal(200)
    for coefs in [(0.7,), (2 * 0.9 * np.cos(2 * np.pi / 9), -0.81), (0.5, 0.2, -0.1)]:
        expected = lfilter([1.0], np.r_[1.0, -np.asarray(coefs)], 0.3 * eps)
        np.testing.assert_allclose(ar(eps, coefs, 0.3), expected, rtol=1e-12, atol=1e-12)


def test_an_ar2_cycle_of_period_p_peaks_in_its_spectrum_at_frequency_1_over_p():
    # the spectral density of an AR(2) with complex roots r·e^{±iω} peaks near ω = 2π/p (r close to 1)
    g = np.random.default_rng(1)
    r, p = 0.95, 8.0
    y = ar(g.standard_normal(2**14), (2 * r * np.cos(2 * np.pi / p), -r * r), 1.0)
    power = np.abs(np.fft.rfft(y - y.mean())) ** 2
    freqs = np.fft.rfftfreq(len(y))
    smooth = np.convolve(power, np.ones(64) / 64, mode="same")
    assert abs(1 / freqs[np.argmax(smooth[1:]) + 1] - p) < 0.5


def test_the_damped_trend_unrolled_by_hand():
    eps, eta, zeta = np.array([1.0, -1.0, 0.5]), np.array([0.2, 0.0, -0.4]), np.array([0.0, 1.0, 0.0])
    phi, s, b0 = 0.9, 0.1, 0.05
    b1 = phi * b0 + 0.3 * s * 0.2
    b2 = phi * b1
    b3 = phi * b2 + 0.3 * s * -0.4
    mu1 = b1
    mu2 = mu1 + b2 + s
    mu3 = mu2 + b3
    expected = [mu1 + 0.05 * 1.0, mu2 - 0.05, mu3 + 0.05 * 0.5]
    np.testing.assert_allclose(damped_trend(eps, eta, zeta, phi, s, b0), expected, rtol=1e-12)


def test_the_local_level_and_the_drift_are_cumulative_sums():
    # a random walk with drift d: its differences have mean d; a local level's differences are the level's steps plus
    # differenced noise (variance σ_μ² + 2σ_ε²) — checked on long draws against the prior's ranges
    g = np.random.default_rng(2)
    steps = np.diff(draw_process("drift", 20_000, g))
    assert -0.02 - 0.01 < steps.mean() < 0.12 + 0.01 and 0.01 * 0.9 < steps.std() < 0.08 * 1.1
    level = np.diff(draw_process("local_level", 20_000, g))
    assert np.sqrt(0.005**2) * 0.9 < level.std() < np.sqrt(0.08**2 + 2 * 0.15**2) * 1.1
    assert abs(np.corrcoef(level[:-1], level[1:])[0, 1]) < 0.6  # MA(1) differences: |ρ1| ≤ 1/2


def test_prior_series_are_positive_seeded_and_cycle_through_the_processes():
    a, b, c = prior_series(12, seed=3), prior_series(12, seed=3), prior_series(12, seed=4)
    assert [s.id for s in a] == [f"prior{k}" for k in range(12)]
    assert all(np.array_equal(x.values, y.values) for x, y in zip(a, b))
    assert not np.array_equal(a[0].values, c[0].values)
    assert [s.source for s in a[:5]] == [f"synthetic ({k})" for k in PROCESSES]
    for s in a:
        assert s.freq == "yearly" and s.period == 1 and s.timestamps is None and s.test is None
        assert 30 <= len(s) <= 150 and np.isfinite(s.values).all() and (s.values > 0).all()
    assert prior_series(0) == [] and BURN_IN == 50
    assert prior_series(3, freq="other")[0].freq == "other"
    with pytest.raises(ValueError, match="count must be at least 0, got -1"):
        prior_series(-1)
    with pytest.raises(ValueError, match="unknown process 'arima'"):
        draw_process("arima", 10, np.random.default_rng(0))
