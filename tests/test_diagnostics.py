"""Diagnostics: gradient flow against the reference engine and the spectral bound; cost formulas; the tour's report."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import rnnkit
from rnnkit.cli import app
from rnnkit.diagnostics import cost as costmod
from rnnkit.diagnostics import gradient_flow, recurrent_spectra
from rnnkit.diagnostics.tour import TourBudget, run_tour
from rnnkit.diagnostics.vanishing import study, train_adding
from rnnkit.reference import from_torch


def last_step_loss(model, x):
    y, _ = model(x)
    return (y[-1] ** 2).sum()


@pytest.mark.parametrize("layer", [
    lambda: rnnkit.RNN(3, 5, 2),
    lambda: rnnkit.LSTM(3, 5, 2, bidirectional=True),
    lambda: rnnkit.GRU(3, 5, reset_after=False),
    lambda: rnnkit.FeedbackRNN(3, 5, 3, cell="lstm"),
])
def test_gradient_flow_equals_the_reference_engines_per_step_gradients(layer):
    m = layer().double()
    x = torch.randn(9, 2, 3, dtype=torch.float64)
    gf = gradient_flow(m, x, last_step_loss)
    ref = from_torch(m)
    y, _ = ref.forward(x.numpy())
    d = np.zeros_like(y)
    d[-1] = 2 * y[-1]
    ref.backward(d)
    assert len(gf.norms) == len(ref.dh_steps)
    for label, dh in ref.dh_steps.items():
        np.testing.assert_allclose(gf.norms[f"{type(m).__name__}.{label}"], np.linalg.norm(dh, axis=(1, 2)),
                                   rtol=1e-10, atol=1e-14)
    assert gf.loss == pytest.approx(float((y[-1] ** 2).sum()))


def test_simple_rnn_gradient_decays_geometrically_within_the_spectral_bound_and_lstm_far_less():
    torch.manual_seed(0)
    T, H = 40, 16
    rnn = rnnkit.RNN(4, H).double()
    lstm = rnnkit.LSTM(4, H).double()
    with torch.no_grad():
        torch.nn.init.orthogonal_(rnn.weight_hh_l0)
        rnn.weight_hh_l0 *= 0.5  # σ_max = 0.5
        lstm.weight_hh_l0 *= 0.5
        lstm.bias_ih_l0[H:2 * H] = 1.0  # forget bias 1 (Gers et al. 2000; Keras's unit_forget_bias)
        lstm.bias_hh_l0[H:2 * H] = 0.0
    x = torch.randn(T, 8, 4, dtype=torch.float64)
    g_rnn = gradient_flow(rnn, x, last_step_loss)
    g_lstm = gradient_flow(lstm, x, last_step_loss)
    n = g_rnn.norms["RNN.l0"]
    sigma = g_rnn.spectra["RNN.weight_hh_l0"]["spectral_norm"]
    assert sigma == pytest.approx(0.5)
    # ‖∂L/∂h_t‖ ≤ σ_max(W_hh)^{T-t} ‖∂L/∂h_T‖ because |tanh'| ≤ 1 and the loss sits at T only
    k = np.arange(T)[::-1]
    assert np.all(n <= sigma ** k * n[-1] * (1 + 1e-9))
    rate = g_rnn.decay_rate("RNN.l0")
    assert rate < sigma
    log_fit = np.polyfit(k[:-1], np.log(n[:-1]), 1)
    assert np.corrcoef(k[:-1], np.log(n[:-1]))[0, 1] < -0.99  # a straight line in log scale: geometric
    assert np.exp(log_fit[0]) == pytest.approx(rate)
    m = g_lstm.norms["LSTM.l0"]
    assert g_lstm.decay_rate("LSTM.l0") > rate + 0.2
    assert (m[0] / m[-1]) > 1e6 * (n[0] / n[-1])  # after 40 steps the LSTM keeps a million times more


def test_spectra_blocks():
    s = recurrent_spectra(rnnkit.FeedbackRNN(3, 4, 2, cell="gru"))
    assert {"FeedbackRNN.weight_fb_l0[from l0]", "FeedbackRNN.weight_fb_l1[from l1]",
            "FeedbackRNN.weight_hh_l0[r]"} <= set(s)
    W = rnnkit.GRU(3, 4).weight_hh_l0
    s = recurrent_spectra(rnnkit.GRU(3, 4))
    assert set(s) == {"GRU.weight_hh_l0[r]", "GRU.weight_hh_l0[z]", "GRU.weight_hh_l0[n]"}
    assert W.shape == (12, 4)


def test_cost_formulas_and_measurements():
    for cell, layer in (("rnn", rnnkit.RNN(32, 64)), ("gru", rnnkit.GRU(32, 64)), ("lstm", rnnkit.LSTM(32, 64))):
        assert costmod.param_count(cell, 32, 64) == sum(p.numel() for p in layer.parameters())
    assert costmod.param_count("gru", 32, 64) / costmod.param_count("lstm", 32, 64) == pytest.approx(0.75)
    assert costmod.fit_exponent([1, 2, 4, 8], [3, 6, 12, 24]) == pytest.approx(1.0)
    layer = rnnkit.LSTM(8, 16, backend="loop")
    s10, s20, s40 = (costmod.saved_bytes(lambda T=T: layer(torch.randn(T, 4, 8))[0]) for T in (10, 20, 40))
    assert (s40 - s20) == pytest.approx(2 * (s20 - s10), rel=0.05)  # activation memory is linear in T
    rows = costmod.measure(("rnn",), ("auto",), (5, 10), (8,), (4,), input_size=3, repeats=1)
    assert [r["T"] for r in rows] == [5, 10] and all(r["seconds"] > 0 for r in rows)


def test_bad_input():
    with pytest.raises(ValueError, match=r"unknown cell name\(s\) \['transformer'\]"):
        study(["transformer"], [10])
    with pytest.raises(ValueError, match="at least 2"):
        train_adding("rnn", 1, steps=1)
    with pytest.raises(ValueError, match="contains no rnnkit recurrent layer"):
        gradient_flow(torch.nn.Linear(2, 2), torch.zeros(1, 2), lambda m, b: m(b).sum())


def test_quick_tour_on_a_reduced_budget_writes_every_section_and_figure(tmp_path):
    budget = TourBudget(short_steps=30, long_len=15, long_steps=30, explosion_steps=20, cost_lens=(8, 16),
                        cost_hiddens=(8, 16), cost_repeats=1)
    messages = []
    path = run_tour(tmp_path / "tour", budget, progress=messages.append)
    page = path.read_text()
    for title in ["A SimpleRNN learns a short dependency", "fails a long one", "Why: the gradient vanishes",
                  "Exploding gradients, and clipping", "The cost of recurrence"]:
        assert title in page
    assert page.count("data:image/png;base64,") == 5
    assert page.count("Conclusion (computed from this run)") == 5
    assert re.search(r"At T = 15: passed — .*; failed — ", page)
    assert any(m.startswith("[5/5]") for m in messages)
    for f in ["short_task.png", "long_task.png", "gradient_flow.png", "explosion.png", "cost.png", "long_task.csv"]:
        assert (tmp_path / "tour" / f).stat().st_size > 0
    look_in_a_browser(path)


def look_in_a_browser(path):
    """The report in headless Chromium, on a desktop and a phone's width: every figure decodes, nothing is fetched
    from elsewhere (it works offline), no script error, and on the phone the page does not scroll sideways (a wide
    table scrolls in its own box)."""
    import shutil

    if shutil.which("chromium") is None:
        return  # the page's structure is checked above; make installs Debian's chromium where it can
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        try:
            for width in (1280, 390):
                page = browser.new_page(viewport={"width": width, "height": 800})
                errors, fetched = [], []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("request", lambda r: fetched.append(r.url))
                page.goto(path.resolve().as_uri())
                sizes = page.evaluate("Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
                assert len(sizes) == 5 and min(sizes) > 0
                assert errors == [] and [u for u in fetched if not u.startswith(("file:", "data:"))] == []
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width
        finally:
            browser.close()


def test_cli_errors_and_cost(tmp_path):
    (tmp_path / "file").write_text("x")
    r = CliRunner().invoke(app, ["tour", "--quick", "--out", str(tmp_path / "file")])
    assert r.exit_code == 2 and "is a file" in r.output
    r = CliRunner().invoke(app, ["diagnose", "vanishing", "--cells", "rnn,bogus", "--out", str(tmp_path / "v")])
    assert r.exit_code == 2 and "bogus" in r.output
    r = CliRunner().invoke(app, ["diagnose", "vanishing", "--lengths", "1", "--out", str(tmp_path / "v")])
    assert r.exit_code == 2 and "at least 2" in r.output
    r = CliRunner().invoke(app, ["diagnose", "cost", "--out", str(tmp_path / "c"), "--lengths", "5,10",
                                 "--hiddens", "8,16", "--batches", "2,4", "--cells", "rnn,gru"])
    assert r.exit_code == 0, r.output
    assert "time ∝ T^a" in r.output
    for f in ["cost_vs_T.csv", "cost_vs_H.md", "cost_vs_B.csv", "exponents.md", "cost.png"]:
        assert (tmp_path / "c" / f).exists()


def test_explosion_figure_marks_non_finite_points_instead_of_drawing_made_up_numbers(tmp_path):
    """An infinite gradient norm or a NaN loss is marked (×, on the top edge), not drawn as 1e30/1e6."""
    import matplotlib.pyplot as plt

    from rnnkit.diagnostics import plots
    from rnnkit.diagnostics.vanishing import AddingRun

    fig, ax = plt.subplots()
    marked = plots._plot_marking_nonfinite(ax, [1, 2, 3, 4], [1.0, 1e3, float("inf"), float("nan")], "red", "run")
    line = ax.get_lines()[0]
    assert marked == 2 and list(line.get_ydata()) == [1.0, 1e3]  # only the finite values are a line
    assert "non-finite" in ax.get_legend_handles_labels()[1][-1]
    plt.close(fig)
    blown = AddingRun("rnn", 50, None, 0, 30, curve=[(10, 0.5), (20, float("nan"))], grad_norms=[1.0, 1e19, float("inf")],
                      diverged="non-finite loss or gradient from step 2")
    clipped = AddingRun("rnn", 50, 1.0, 0, 30, curve=[(10, 0.3), (20, 0.2)], grad_norms=[1.0, 5.0, 3.0], final_mse=0.2)
    assert plots.explosion(blown, clipped, tmp_path / "e.png").stat().st_size > 0


def test_explosion_conclusion_says_a_clipped_run_above_the_baseline_did_not_learn():
    from rnnkit.diagnostics.tour import explosion_outcome
    from rnnkit.diagnostics.vanishing import BASELINE_MSE, AddingRun

    stuck = AddingRun("rnn", 50, 1.0, 0, 300, final_mse=0.204)
    assert 0.204 > BASELINE_MSE and explosion_outcome(stuck).startswith("did not diverge but did not learn")
    assert "stable" not in explosion_outcome(stuck)
    assert explosion_outcome(AddingRun("rnn", 50, 1.0, 0, 300, final_mse=0.01)).startswith("learned")
    assert explosion_outcome(AddingRun("rnn", 50, None, 0, 300, final_mse=float("inf"), diverged="x")).startswith(
        "diverged")


def test_time_exponent_sentence_summarises_every_row_of_the_table():
    from rnnkit.diagnostics.tour import time_exponent_sentence

    rows = [{"cell": c, "backend": b, "time ∝ T^a": a}
            for (c, b), a in {("rnn", "fused"): 0.9, ("rnn", "loop"): 1.1, ("lstm", "fused"): 1.0,
                              ("lstm", "loop"): 0.8}.items()]
    assert time_exponent_sentence(rows) == ("Time grows as T^a with a fitted between 0.80 and 1.10 (mean 0.95 over the 4 "
                                            "cell/backend rows of the table; 1 = linear)")


def test_explicit_options_win_over_the_quick_preset(tmp_path):
    r = CliRunner().invoke(app, ["diagnose", "vanishing", "--quick", "--cells", "gru", "--lengths", "4", "--steps", "3",
                                 "--out", str(tmp_path / "v")])
    assert r.exit_code == 0, r.output
    table = (tmp_path / "v" / "vanishing.csv").read_text().splitlines()
    assert [row.split(",")[:2] for row in table[1:]] == [["gru", "4"], ["gru", "4"]]  # clip 1 and none; one seed


def test_output_folders_that_hold_files_are_refused_unless_forced(tmp_path):
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    for args in (["tour", "--quick"], ["diagnose", "vanishing", "--quick"], ["diagnose", "cost", "--quick"]):
        r = CliRunner().invoke(app, [*args, "--out", str(folder)])
        assert r.exit_code == 2 and "is not empty" in r.output and "--force" in r.output, args
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    r = CliRunner().invoke(app, ["diagnose", "cost", "--force", "--out", str(folder), "--lengths", "5,10", "--hiddens",
                                 "8", "--batches", "2", "--cells", "rnn"])
    assert r.exit_code == 0, r.output
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "cost.png").exists()
    assert "nan" not in r.output and "–" in r.output and "not measured" in r.output
