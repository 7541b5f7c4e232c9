"""The forecaster's scaling, heads and decoders: round trips, equivariance, distributions held to scipy, causality."""

import numpy as np
import pytest
import torch
from scipy import stats

from rnnkit.models import forecast_heads as heads
from rnnkit.models.forecaster import RNNForecaster


def window(B=4, L=12, seed=0, short=False):
    g = torch.Generator().manual_seed(seed)
    x = 50 + 10 * torch.rand(B, L, generator=g, dtype=torch.float64)
    mask = torch.ones(B, L, dtype=torch.bool)
    if short:
        mask[0, :5] = False
        x[0, :5] = 0
    return x, mask, torch.tensor([2, 2, 0, 6][:B])


def model(**kw):
    torch.manual_seed(0)
    return RNNForecaster(**{"input_size": 12, "horizon": 5, "hidden_size": 16, **kw}).double().eval()


@pytest.mark.parametrize("scaling", ["mean", "last", "standard", "none"])
@pytest.mark.parametrize("log", [False, True])
def test_scaling_round_trips_on_the_real_values(scaling, log):
    m = model(scaling=scaling, log=log)
    x, mask, _ = window(short=True)
    loc, scale = m.scales(x, mask)
    z = m._scaled(x, mask, loc, scale)
    back = m.to_original(z.unsqueeze(-1), loc, scale).squeeze(-1)
    torch.testing.assert_close(back[mask], x[mask], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("scaling, log", [("mean", False), ("last", False), ("mean", True), ("last", True)])
def test_forecasts_scale_with_the_series_where_the_scaling_promises_it(scaling, log):
    m = model(scaling=scaling, log=log)
    x, mask, freq = window(short=True)
    taus = (0.1, 0.5, 0.9)
    q = m.predict_quantiles(x, mask, freq, None, taus)
    torch.testing.assert_close(m.predict_quantiles(7.5 * x, mask, freq, None, taus), 7.5 * q, rtol=1e-9, atol=1e-9)


def test_standardised_windows_make_forecasts_equivariant_to_a_positive_affine_change():
    m = model(scaling="standard")
    x, mask, freq = window(short=True)
    q = m.predict_quantiles(x, mask, freq, None, (0.1, 0.5, 0.9))
    moved = m.predict_quantiles(torch.where(mask, 3.0 * x - 40.0, x), mask, freq, None, (0.1, 0.5, 0.9))
    torch.testing.assert_close(moved, 3.0 * q - 40.0, rtol=1e-9, atol=1e-8)


def test_padding_content_does_not_change_the_forecast():
    m = model()
    x, mask, freq = window(short=True)
    other = x.clone()
    other[0, :5] = 1234.0
    torch.testing.assert_close(m.predict_quantiles(x, mask, freq, None, (0.5,)),
                               m.predict_quantiles(other, mask, freq, None, (0.5,)))


def test_the_quantile_head_keeps_its_levels_in_order():
    raw = torch.randn(100, 5, dtype=torch.float64) * 3
    q = heads.params("quantile", raw)
    assert (q[:, 1:] >= q[:, :-1]).all()


def test_gaussian_and_student_t_quantiles_and_likelihoods_match_scipy():
    p = torch.tensor([[0.5, 2.0], [-1.0, 0.3]], dtype=torch.float64)
    taus = (0.025, 0.1, 0.5, 0.9)
    np.testing.assert_allclose(heads.quantiles("gaussian", p, taus).numpy(),
                               stats.norm.ppf(np.array(taus)[None], p[:, :1].numpy(), p[:, 1:].numpy()), rtol=1e-9)
    z = torch.tensor([1.0, -0.2], dtype=torch.float64)
    np.testing.assert_allclose(heads.nll("gaussian", z, p).numpy(),
                               -stats.norm.logpdf(z.numpy(), p[:, 0].numpy(), p[:, 1].numpy()), rtol=1e-9)
    pt = torch.tensor([[0.5, 2.0, 3.0], [-1.0, 0.3, 7.5]], dtype=torch.float64)
    np.testing.assert_allclose(heads.quantiles("student-t", pt, taus).numpy(),
                               stats.t.ppf(np.array(taus)[None], pt[:, 2:].numpy(), pt[:, :1].numpy(),
                                           pt[:, 1:2].numpy()), rtol=1e-9)
    np.testing.assert_allclose(heads.nll("student-t", z, pt).numpy(),
                               -stats.t.logpdf(z.numpy(), pt[:, 2].numpy(), pt[:, 0].numpy(), pt[:, 1].numpy()),
                               rtol=1e-9)


def test_draws_from_a_gaussian_head_have_its_mean_and_spread():
    p = torch.tensor([[3.0, 2.0]], dtype=torch.float64).expand(20000, 2)
    d = heads.sample("gaussian", p, torch.Generator().manual_seed(0))
    assert abs(d.mean().item() - 3.0) < 0.05 and abs(d.std().item() - 2.0) < 0.05


@pytest.mark.parametrize("head", ["gaussian", "student-t", "quantile"])
def test_the_autoregressive_decoder_reads_only_the_past(head):
    m = model(decoder="autoregressive", head=head)
    x, mask, freq = window()
    y = 50 + torch.rand(4, 5, dtype=torch.float64)
    loc, scale = m.scales(x, mask)
    z = m._scaled(x, mask, loc, scale)
    e = m.freq(freq)
    zy = (y - loc) / scale
    p = m._ar_params(z, mask, zy, None, e)
    changed = zy.clone()
    changed[:, 2] += 5.0
    p2 = m._ar_params(z, mask, changed, None, e)
    torch.testing.assert_close(p[:, :3], p2[:, :3])  # steps 0..2 do not see the changed value at step 2
    assert not torch.allclose(p[:, 3], p2[:, 3])
    batch = (x, mask, freq, torch.zeros(4, 17, 0, dtype=torch.float64), y, torch.ones(4, 5, dtype=torch.bool))
    loss = m.train().loss(batch)
    loss.backward()
    assert torch.isfinite(loss)


def test_autoregressive_forecasts_are_ordered_and_repeatable_with_a_seed():
    m = model(decoder="autoregressive", head="gaussian")
    x, mask, freq = window()
    q1 = m.predict_quantiles(x, mask, freq, None, (0.1, 0.5, 0.9), 64, torch.Generator().manual_seed(3))
    q2 = m.predict_quantiles(x, mask, freq, None, (0.1, 0.5, 0.9), 64, torch.Generator().manual_seed(3))
    assert q1.shape == (4, 5, 3) and torch.equal(q1, q2)
    assert (q1[..., 1:] >= q1[..., :-1]).all()


def test_mase_weights_are_one_over_each_windows_naive_error_normalised():
    m = model(weighting="mase", scaling="none", input_size=3)
    z = torch.tensor([[1.0, 2.0, 4.0], [0.0, 0.5, 1.0]], dtype=torch.float64)  # naive errors 1.5 and 0.5
    w = m.naive_weights(z, torch.ones_like(z, dtype=torch.bool), torch.tensor([0, 0]))
    torch.testing.assert_close(w, torch.tensor([0.5, 1.5], dtype=torch.float64))


def _pinball(tau, y, q):
    return max(tau * (y - q), (tau - 1) * (y - q))


@pytest.mark.parametrize("weighting", ["none", "mase", "mase-median"])
def test_the_training_loss_weights_windows_as_the_weighting_says(weighting):
    """Given fixed quantiles for two windows whose naive errors give weights 0.5 and 1.5, the loss is the mean over the
    levels of the pinball loss averaged over the windows' steps: none weights nothing, mase every level by the
    window's weight, mase-median only the median (hand-computed below)."""
    m = model(weighting=weighting, scaling="none", input_size=3, horizon=2, quantiles=(0.1, 0.5, 0.9))
    x = torch.tensor([[1.0, 2.0, 4.0], [0.0, 0.5, 1.0]], dtype=torch.float64)  # weights 0.5 and 1.5
    y = torch.tensor([[5.0, 3.0], [1.0, 2.0]], dtype=torch.float64)
    q = torch.tensor([[[3.0, 4.0, 6.0], [2.0, 4.0, 5.0]], [[0.0, 1.5, 2.0], [1.0, 1.5, 3.0]]], dtype=torch.float64)
    m._direct = lambda *args: q
    ones = torch.ones_like(x, dtype=torch.bool)
    loss = m.loss((x, ones, torch.tensor([0, 0]), torch.zeros(2, 5, 0, dtype=torch.float64), y,
                   torch.ones_like(y, dtype=torch.bool)))
    w = [0.5, 1.5]
    expected = 0.0
    for j, tau in enumerate((0.1, 0.5, 0.9)):
        wj = [1.0, 1.0] if weighting == "none" or (weighting == "mase-median" and tau != 0.5) else w
        expected += sum(wj[b] * _pinball(tau, y[b, k].item(), q[b, k, j].item()) for b in range(2) for k in range(2)) \
            / (2 * sum(wj)) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-6)  # the levels are float32 tensors


def test_a_likelihood_heads_loss_is_unweighted_under_mase_median():
    """A Gaussian head cannot weight its median alone, so mase-median leaves its likelihood as none does (and mase
    weights it)."""
    x, mask, freq = window()
    y = 55 + torch.rand(4, 5, dtype=torch.float64)
    batch = (x, mask, freq, torch.zeros(4, 17, 0, dtype=torch.float64), y, torch.ones_like(y, dtype=torch.bool))
    loss = {w: model(head="gaussian", weighting=w).loss(batch).item() for w in ("none", "mase", "mase-median")}
    assert loss["mase-median"] == loss["none"] != loss["mase"]


def test_bad_model_arguments_are_refused():
    with pytest.raises(ValueError, match="include 0.5"):
        RNNForecaster(quantiles=(0.1, 0.9))
    with pytest.raises(ValueError, match="unknown scaling"):
        RNNForecaster(scaling="max")
