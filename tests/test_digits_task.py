"""The digits data and the main job: real data in, a model that learns it out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from rnnkit.cli import app
from rnnkit.data.digits import load_digit_sequences
from rnnkit.tasks.digits import train_digits


def test_rows_are_the_image_rows():
    from sklearn.datasets import load_digits

    raw = load_digits()
    d = load_digit_sequences("rows", test_fraction=0.2, seed=0)
    assert d.x_train.shape[1:] == (8, 8) and d.num_classes == 10
    assert len(d.x_train) + len(d.x_test) == len(raw.data) == 1797
    # every training sequence is one of the images, scaled to [0, 1], rows as time steps
    images = {tuple(np.round(r / 16.0, 6)) for r in raw.data}
    for seq in d.x_train[:20]:
        assert tuple(np.round(seq.reshape(-1).numpy().astype(np.float64), 6)) in images
    # stratified: each class is ~20% test
    counts = torch.bincount(d.y_test, minlength=10).float() / torch.bincount(
        torch.cat([d.y_train, d.y_test]), minlength=10).float()
    assert torch.all((counts - 0.2).abs() < 0.02)
    assert load_digit_sequences("pixels").x_train.shape[1:] == (64, 1)
    with pytest.raises(ValueError, match="mode must be"):
        load_digit_sequences("columns")


def test_lstm_learns_digits_and_is_deterministic():
    a = train_digits("lstm", epochs=4, hidden_size=32, seed=1, progress=False)
    b = train_digits("lstm", epochs=4, hidden_size=32, seed=1, progress=False)
    assert a.test_accuracy > 0.8, a  # chance is 0.1
    assert a.test_accuracy == b.test_accuracy and a.final_loss == b.final_loss


def test_cli_digits_prints_accuracy_per_cell():
    result = CliRunner().invoke(app, ["digits", "--cells", "rnn,gru", "--epochs", "1", "--hidden", "16"])
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.output
    assert "\nrnn " in result.output and "\ngru " in result.output
    bad = CliRunner().invoke(app, ["digits", "--cells", "bogus", "--epochs", "1"])
    assert bad.exit_code != 0 and "unknown cell 'bogus'" in bad.output


def test_validation_is_carved_from_training_images_and_never_touches_the_test_set():
    """examples/digits.yaml selects its best epoch on validation images that are neither test nor training images."""
    from pathlib import Path

    from rnnkit.tasks.sequence import build_data
    from rnnkit.train import load_config

    cfg = load_config(Path(__file__).parent.parent / "examples" / "digits.yaml")
    assert cfg.train.monitor == "val_accuracy"  # the example does select on validation data
    train, val, test, _ = build_data(cfg)
    rows = [{tuple(x.reshape(-1).tolist()) for x in part.tensors[0]} for part in (train, val, test)]
    sizes = [len(part) for part in (train, val, test)]
    assert sum(sizes) == 1797 and sizes[1] > 150
    # disjoint as index sets: the test split is the one load_digit_sequences always made (seed 0, 20%)
    plain = load_digit_sequences("rows", seed=0)
    assert torch.equal(test.tensors[0], plain.x_test)
    duplicates = rows[1] & rows[2]
    assert len(duplicates) <= 2  # scikit-learn's digits hold a few identical images; no split shares more
    counts = torch.bincount(val.tensors[1], minlength=10).float() / torch.bincount(train.tensors[1], minlength=10)
    assert torch.all((counts - 0.1 / 0.7).abs() < 0.03)  # stratified: 10% of all images, from the 80% training part
