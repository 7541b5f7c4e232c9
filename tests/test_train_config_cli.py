"""Configs (YAML/JSON, overrides), the shipped examples, ``rnnkit train``/``evaluate``, and the adding problem learned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from rnnkit.cli import app
from rnnkit.data.synthetic import adding_problem, copy_memory
from rnnkit.tasks.sequence import train_from_config
from rnnkit.train import Config, apply_overrides, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_examples_load():
    adding = load_config(ROOT / "examples" / "adding.yaml")
    assert adding.model.cell == "lstm" and adding.data.seq_len == 50 and adding.train.clip_norm == 1.0
    digits = load_config(ROOT / "examples" / "digits.yaml")
    assert digits.data.name == "digits" and digits.train.monitor == "val_accuracy"


def test_config_errors_name_file_and_key(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("model:\n  cell: lstm\n  hiden_size: 3\n")
    with pytest.raises(ValueError, match=r"bad.yaml: unknown key\(s\) \['hiden_size'\] in section 'model'"):
        load_config(p)
    p.write_text("train:\n  epochs: ten\n")
    with pytest.raises(ValueError, match="train.epochs must be an integer, got 'ten'"):
        load_config(p)
    p.write_text("model: [1, 2\n")
    with pytest.raises(ValueError, match=r"bad.yaml:\d+: invalid YAML"):
        load_config(p)
    j = tmp_path / "c.json"
    j.write_text('{"optim": {"lr": 0.1},\n "oops": {}}')
    with pytest.raises(ValueError, match=r"unknown section\(s\) \['oops'\]"):
        load_config(j)


def test_overrides():
    cfg = apply_overrides(Config(), ["--train.epochs", "3", "--lr=0.02", "--model.cell", "gru", "--clip_norm", "none",
                                     "--progress", "false"])
    assert (cfg.train.epochs, cfg.optim.lr, cfg.model.cell, cfg.train.clip_norm, cfg.train.progress) == \
        (3, 0.02, "gru", None, False)
    assert apply_overrides(Config(), ["--precision", "32"]).train.precision == "32"  # a number read as the string
    assert apply_overrides(Config(), ["--precision", "bf16"]).train.precision == "bf16"
    with pytest.raises(ValueError, match="unknown key"):
        apply_overrides(Config(), ["--nope", "1"])
    with pytest.raises(ValueError, match="ambiguous"):
        apply_overrides(Config(), ["--seed", "1"])  # data.seed and train.seed


def test_adding_problem_is_what_it_says():
    x, y = adding_problem(500, 30, seed=1).tensors
    assert x.shape == (500, 30, 2) and y.shape == (500, 1)
    assert torch.all(x[:, :, 1].sum(1) == 2)
    assert torch.all(x[:, :15, 1].sum(1) == 1)
    torch.testing.assert_close((x[:, :, 0] * x[:, :, 1]).sum(1, keepdim=True), y)
    assert abs(((y - 1.0) ** 2).mean().item() - 1 / 6) < 0.02  # the "predict the mean" baseline
    x, y = copy_memory(4, delay=5, n_symbols=3, num_classes=4).tensors
    assert x.shape == (4, 11, 6) and torch.equal(y[:, -3:], x[:, :3].argmax(-1))
    with pytest.raises(ValueError, match="seq_len >= 2"):
        adding_problem(3, 1)


def test_lstm_learns_the_adding_problem_at_50_steps(tmp_path):
    """MSE far below the 0.167 of predicting the mean (the run takes ~15 s on 2 cores)."""
    cfg = apply_overrides(load_config(ROOT / "examples" / "adding.yaml"), ["--epochs", "10", "--progress", "false"])
    history = train_from_config(cfg, tmp_path / "run")
    assert history[-1]["val_loss"] < 0.05, history[-1]
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert float(result.output.split("val_loss:")[1].split()[0]) == pytest.approx(history[-1]["val_loss"], rel=1e-5)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["model"]["class"] == "SequenceRegressor" and saved["model"]["cell"] == "lstm"


def test_cli_train_digits_and_errors(tmp_path):
    r = CliRunner().invoke(app, ["train", str(ROOT / "examples" / "digits.yaml"), "--out", str(tmp_path / "d"),
                                 "--epochs", "2", "--progress", "false"])
    assert r.exit_code == 0, r.output
    assert "val_accuracy" in r.output and (tmp_path / "d" / "metrics.csv").exists()
    r = CliRunner().invoke(app, ["evaluate", str(tmp_path / "nowhere")])
    assert r.exit_code == 2 and "holds no config.json" in r.output
    (tmp_path / "file").write_text("x")
    r = CliRunner().invoke(app, ["train", str(ROOT / "examples" / "digits.yaml"), "--out", str(tmp_path / "file")])
    assert r.exit_code == 2 and "is a file" in r.output
