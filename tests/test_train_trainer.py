"""The Trainer: clipping, truncated BPTT, non-finite steps — each against a hand-written torch loop doing the same."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import TensorDataset

from rnnkit.models import SequenceRegressor
from rnnkit.train import Config, Trainer, TrainingDiverged


def config(**train):
    cfg = Config()
    cfg.optim.name, cfg.optim.lr = "sgd", 0.1
    cfg.data.batch_size = 8
    cfg.train.progress = False
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg


def data(n=8, T=12, on="last", seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, T, 3, generator=g)
    y = torch.randn(n, T, 1, generator=g) if on == "all" else torch.randn(n, 1, generator=g)
    return TensorDataset(x, y)


def clone(model):
    other = SequenceRegressor(**{k: v for k, v in model.config.items() if k != "out_features"},
                              out_features=model.config["out_features"])
    other.load_state_dict(model.state_dict())
    return other


def test_clip_norm_matches_clip_grad_norm_and_logs_the_pre_clip_norm():
    torch.manual_seed(0)
    model = SequenceRegressor("lstm", 3, 6, 1)
    ref = clone(model)
    ds = data()
    trainer = Trainer(model, ds, config=config(epochs=1, clip_norm=0.05))
    history = trainer.fit()
    # by hand: one full batch (order does not matter for a mean loss over all 8), clip_grad_norm_, SGD step
    x, y = ds.tensors
    loss = torch.nn.functional.mse_loss(ref(x), y)
    loss.backward()
    pre = torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.05)
    with torch.no_grad():
        for p in ref.parameters():
            p -= 0.1 * p.grad
    assert history[0]["grad_norm"] == pytest.approx(pre.item(), rel=1e-5)
    assert history[0]["clipped"] == 1.0
    for (n, p), q in zip(model.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, atol=1e-6, rtol=0, msg=n)


def test_clip_value():
    torch.manual_seed(0)
    model = SequenceRegressor("gru", 3, 6, 1)
    ref = clone(model)
    ds = data()
    Trainer(model, ds, config=config(epochs=1, clip_value=0.01)).fit()
    x, y = ds.tensors
    torch.nn.functional.mse_loss(ref(x), y).backward()
    torch.nn.utils.clip_grad_value_(ref.parameters(), 0.01)
    with torch.no_grad():
        for p in ref.parameters():
            p -= 0.1 * p.grad
    for p, q in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, atol=1e-6, rtol=0)


@pytest.mark.parametrize("on", ["all", "last"])
def test_tbptt_equals_a_hand_written_detach_loop(on):
    torch.manual_seed(0)
    model = SequenceRegressor("lstm", 3, 5, 1, on=on)
    ref = clone(model)
    ds = data(T=11, on=on)
    Trainer(model, ds, config=config(epochs=1, tbptt=4, clip_norm=1.0)).fit()
    x, y = ds.tensors
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    h = None
    for s in range(0, 11, 4):
        out, h = ref.rnn(x[:, s:s + 4], h)
        h = tuple(t.detach() for t in h)
        if on == "all":
            loss = torch.nn.functional.mse_loss(ref.fc(out), y[:, s:s + 4])
        elif s + 4 >= 11:
            loss = torch.nn.functional.mse_loss(ref.fc(out[:, -1]), y)
        else:
            continue
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ref.parameters(), 1.0)
        opt.step()
    for p, q in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, atol=1e-6, rtol=0)


def test_nan_batch_is_skipped_and_weights_stay_finite():
    torch.manual_seed(0)
    x, y = data(n=32).tensors
    x = x.clone()
    x[5, 3, 1] = float("nan")  # one poisoned example: the batch holding it is skipped
    model = SequenceRegressor("rnn", 3, 4, 1)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer = Trainer(model, TensorDataset(x, y), config=config(epochs=2))
    history = trainer.fit()
    assert [r["skipped"] for r in history] == [1, 1]
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(before[n], p) for n, p in model.named_parameters())  # the other batches trained
    assert all(math.isfinite(r["train_loss"]) for r in history)


def test_nonfinite_in_a_row_stops_with_a_clear_error():
    x, y = data(n=32).tensors
    x = torch.full_like(x, float("inf"))
    model = SequenceRegressor("rnn", 3, 4, 1)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(TrainingDiverged, match="3 steps in a row had a non-finite loss or gradient"):
        Trainer(model, TensorDataset(x, y), config=config(epochs=2, max_nonfinite=3)).fit()
    for b, p in zip(before, model.parameters()):
        assert torch.equal(b, p)


def test_early_stopping_and_scheduler():
    torch.manual_seed(0)
    cfg = config(epochs=50, early_stopping=2)
    cfg.optim.lr = 1e-9  # nothing improves: stops after 1 + patience epochs
    cfg.scheduler.name, cfg.scheduler.step_size, cfg.scheduler.gamma = "step", 1, 0.5
    ds = data(n=16)
    history = Trainer(SequenceRegressor("gru", 3, 4, 1), ds, ds, config=cfg).fit()
    assert len(history) <= 4
    assert history[1]["lr"] == pytest.approx(0.5e-9) and history[0]["lr"] == pytest.approx(1e-9)


@pytest.mark.parametrize("tbptt", [None, 4])
def test_cosine_per_step_spans_the_whole_run(tbptt):
    # 32 examples / batch 8 = 4 batches per epoch, 3 epochs; with tbptt 4 over T=12 each batch is 3 optimizer steps.
    # Cosine annealing to 0 over N steps: lr_i = lr0 · (1 + cos(π i / N)) / 2 after i steps, so the last is 0.
    cfg = config(epochs=3, tbptt=tbptt)
    cfg.scheduler.name, cfg.scheduler.interval = "cosine", "step"
    trainer = Trainer(SequenceRegressor("rnn", 3, 4, 1, on="all"), data(n=32, on="all"), config=cfg)
    history = trainer.fit()
    N = 3 * 4 * (3 if tbptt else 1)
    for epoch, record in enumerate(history, 1):
        i = epoch * N // 3
        assert record["lr"] == pytest.approx(0.1 * (1 + math.cos(math.pi * i / N)) / 2, abs=1e-12)
    assert history[-1]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_bad_settings():
    ds = data()
    with pytest.raises(ValueError, match="clip_norm must be positive"):
        Trainer(SequenceRegressor("rnn", 3, 4, 1), ds, config=config(clip_norm=-1.0))
    cfg = config()
    cfg.optim.name = "adagrad2"
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad2'"):
        Trainer(SequenceRegressor("rnn", 3, 4, 1), ds, config=cfg)


def test_bf16_precision_equals_a_hand_written_autocast_step():
    """train.precision = "bf16": forward and loss under torch.autocast in bfloat16, float32 weights and gradients."""
    torch.manual_seed(0)
    model = SequenceRegressor("lstm", 3, 6, 1)
    ref, fp32 = clone(model), clone(model)
    ds = data()
    Trainer(model, ds, config=config(epochs=1, precision="bf16")).fit()
    Trainer(fp32, ds, config=config(epochs=1)).fit()
    x, y = ds.tensors
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = torch.nn.functional.mse_loss(ref(x), y)
    loss.backward()
    with torch.no_grad():
        for p in ref.parameters():
            p -= 0.1 * p.grad
    moved = 0.0
    for (n, p), q, r in zip(model.named_parameters(), ref.parameters(), fp32.parameters()):
        assert p.dtype == torch.float32
        torch.testing.assert_close(p, q, atol=1e-6, rtol=0, msg=n)
        moved = max(moved, (p - r).abs().max().item())
    assert moved > 1e-5  # bfloat16 did run: the float32 run lands elsewhere


def test_bad_precision_is_refused():
    with pytest.raises(ValueError, match="train.precision must be one of '32', 'bf16', got 'fp16'"):
        Trainer(SequenceRegressor("rnn", 3, 4, 1), data(), config=config(precision="fp16"))


class _Timed(SequenceRegressor):
    """Each training batch takes exactly one second and each evaluation 100 seconds, on a simulated clock."""

    now = 0.0

    def training_step(self, batch):
        _Timed.now += 1.0
        return super().training_step(batch)

    def validation_step(self, batch):
        _Timed.now += 100.0
        return super().validation_step(batch)


def test_time_budget_stops_on_training_time_and_anneals_cosine_over_it_or_the_epochs(tmp_path):
    # 4 batches per epoch at 1 s each, a 10-second budget: training stops after batch 10 (mid epoch 3) whatever the
    # epoch count, evaluation time (100 s each) not counted; lr after k batches = lr0 · (1 + cos(π p)) / 2 with p the
    # further of k / 10 s and k / (the epochs' batches) — annealed by the end whichever runs out first.
    def trainer(epochs):
        cfg = config(epochs=epochs, max_minutes=10 / 60)
        cfg.scheduler.name, cfg.scheduler.interval = "cosine", "step"
        torch.manual_seed(0)
        t = Trainer(_Timed("rnn", 3, 4, 1), data(n=32), data(n=8), config=cfg, out_dir=tmp_path / "run")
        t.clock = lambda: _Timed.now
        return t

    first = trainer(epochs=2)
    history = first.fit()  # the epoch count ends it first: 8 s of the 10, so the 8 batches set the pace
    assert (first.step, first.train_seconds) == (8, 8.0)
    assert [h["lr"] for h in history] == [pytest.approx(0.1 * (1 + math.cos(math.pi * k / 8)) / 2, abs=1e-12)
                                          for k in (4, 8)]
    resumed = trainer(epochs=50)
    resumed.fit(resume=True)  # the budget ends it: 2 more batches, the time now further along (9/10, 10/10)
    assert (resumed.step, resumed.train_seconds) == (10, 10.0)
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_time_budget_must_be_positive():
    with pytest.raises(ValueError, match="max_minutes must be positive"):
        Trainer(SequenceRegressor("rnn", 3, 4, 1), data(), config=config(max_minutes=0.0))


def test_a_loss_that_explodes_but_stays_finite_stops_with_training_diverged(tmp_path):
    """The adding problem at lr 1e6: the loss reaches ~1e13 without overflowing. The guard stops the run after three
    evaluations far above the first loss — the CLI exits 2 and writes no model."""
    from pathlib import Path

    from typer.testing import CliRunner

    from rnnkit.cli import app

    example = Path(__file__).parent.parent / "examples" / "adding.yaml"
    r = CliRunner().invoke(app, ["train", str(example), "--out", str(tmp_path / "run"), "--optim.lr", "1e6",
                                 "--data.train_size", "640", "--data.seq_len", "20", "--epochs", "12",
                                 "--progress", "false"])
    assert r.exit_code == 2 and "training diverged" in r.output and "3 evaluations in a row" in r.output
    assert "epoch=4 " not in r.output and not (tmp_path / "run" / "model.safetensors").exists()
    r = CliRunner().invoke(app, ["train", str(example), "--out", str(tmp_path / "off"), "--optim.lr", "1e6",
                                 "--data.train_size", "640", "--data.seq_len", "20", "--epochs", "4",
                                 "--progress", "false", "--train.divergence_factor", "null"])
    assert r.exit_code == 0 and "epoch=4 " in r.output  # null switches the guard off


def test_guard_counts_consecutive_evaluations_only():
    from rnnkit.train import DivergenceGuard

    g = DivergenceGuard(factor=10, patience=2)
    g.first_loss(2.0)
    g.observe(25.0, "a")  # above 20: one strike
    g.observe(3.0, "b")  # back under: strikes reset
    g.observe(25.0, "c")
    with pytest.raises(TrainingDiverged, match=r"above 10× its starting value \(2\) for 2 evaluations"):
        g.observe(21.0, "d")
    with pytest.raises(ValueError, match="divergence_factor must be above 1"):
        DivergenceGuard(factor=0.5)


def test_validation_data_with_nan_is_refused_naming_the_rows():
    x, y = data(n=32).tensors
    x, y = x.clone(), y.clone()
    x[3, 2, 0] = float("nan")
    y[17, 0] = float("inf")
    with pytest.raises(ValueError, match=r"validation data holds NaN or inf — tensor 0 \(inputs\): 1 row\(s\) \[3\]; "
                                         r"tensor 1 \(targets\): 1 row\(s\) \[17\] \(of 32 rows\)"):
        Trainer(SequenceRegressor("rnn", 3, 4, 1), data(n=32), TensorDataset(x, y), config=config())


def test_device_names_the_machine_the_model_trains_on():
    """train.device: "auto" is the GPU where torch sees one, else the CPU; a device this machine lacks, or a name
    that is none, is refused before anything trains."""
    from rnnkit.train.distributed import resolve_device

    model = SequenceRegressor("rnn", 3, 4, 1)
    trainer = Trainer(model, data(), config=config(device="cpu"))
    assert next(trainer.raw_model.parameters()).device.type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="expected auto, cpu, cuda or cuda:N, got 'gpu0'"):
        Trainer(model, data(), config=config(device="gpu0"))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="train.device is 'cuda' but torch sees no CUDA GPU"):
            Trainer(model, data(), config=config(device="cuda"))


def test_tensorboard_event_files_hold_the_epoch_records(tmp_path):
    # given train.tensorboard = true: each epoch's record as TensorBoard scalars at the record's step, read back with
    # TensorBoard's own reader — the same numbers as the history (and metrics.csv)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    torch.manual_seed(0)
    cfg = config(epochs=3, tensorboard=True)
    ds = data(n=16)
    history = Trainer(SequenceRegressor("gru", 3, 4, 1), ds, ds, config=cfg, out_dir=tmp_path / "run").fit()
    ea = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    ea.Reload()
    for key in ("train_loss", "val_loss", "lr"):
        assert [(e.step, e.value) for e in ea.Scalars(key)] == [(h["step"], pytest.approx(h[key], rel=1e-6))
                                                                 for h in history]
