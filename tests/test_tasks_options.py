"""A run's options read back from its config.json (``rnnkit.tasks.options.run_options``): a run written by a newer
rnnkit — an option this one does not have — or a hand-edited value out of range is refused with the file and the
option named, through the Python API and the CLI alike, instead of a constructor's TypeError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rnnkit.cli import app
from rnnkit.tasks import evaluate
from rnnkit.tasks.forecast import ForecastOptions, train_forecaster
from rnnkit.tasks.forecaster import Forecaster
from rnnkit.tasks.options import run_options
from rnnkit.train.checkpoint import CheckpointError
from tests.test_forecast import write_panel

FIX = Path(__file__).parent / "fixtures"


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("options")
    data = write_panel(folder / "panel.csv", n_series=3)
    train_forecaster(ForecastOptions(data=str(data), max_steps=2, hidden_size=8, combine="theta", progress=False,
                                     checkpoint_every=0), folder / "run")
    return folder / "run"


def edited_copy(run: Path, tmp_path: Path, edit) -> Path:
    import shutil

    copy = tmp_path / "edited"
    shutil.copytree(run, copy)
    config = json.loads((copy / "config.json").read_text())
    edit(config)
    (copy / "config.json").write_text(json.dumps(config))
    return copy


def test_an_untouched_run_reads_back_its_options_and_the_overrides_given(forecast_run):
    assert Forecaster(forecast_run).opts.combine == "theta"  # as trained
    assert Forecaster(forecast_run, combine="none").opts.combine == "none"  # an override
    assert Forecaster(forecast_run, combine=None).opts.combine == "theta"  # None overrides nothing
    config = json.loads((forecast_run / "config.json").read_text())
    opts = run_options(ForecastOptions, config["options"], forecast_run, max_steps=7)
    assert opts.max_steps == 7 and opts.hidden_size == 8


def test_a_run_written_by_a_newer_rnnkit_names_the_option_this_one_lacks(forecast_run, tmp_path):
    def newer(config):
        config["options"]["member_weights"] = "auto"  # an option a later version might add

    run = edited_copy(forecast_run, tmp_path, newer)
    with pytest.raises(CheckpointError, match=r"config\.json: option 'member_weights' unknown to this rnnkit"):
        Forecaster(run)
    with pytest.raises(CheckpointError, match="member_weights"):
        evaluate(run)
    result = cli("forecast", run, "--out", tmp_path / "f.csv")
    assert result.exit_code != 0
    assert "option 'member_weights' unknown to this rnnkit" in result.output and "Traceback" not in result.output


def test_a_hand_edited_value_out_of_range_is_refused_with_the_file_and_the_option(forecast_run, tmp_path):
    def edited(config):
        config["options"]["combine_weight"] = 2.0  # a share must lie in [0, 1]

    run = edited_copy(forecast_run, tmp_path, edited)
    with pytest.raises(CheckpointError, match=r"config\.json: combine_weight .*\[0, 1\]"):
        Forecaster(run)
    options = json.loads((forecast_run / "config.json").read_text())["options"]
    with pytest.raises(CheckpointError, match=r"config\.json: hidden_size must be an integer, got 'abc'"):
        run_options(ForecastOptions, {**options, "hidden_size": "abc"}, forecast_run)


def test_a_config_without_its_options_is_refused_as_such(forecast_run, tmp_path):
    run = edited_copy(forecast_run, tmp_path, lambda config: config.update(options=["not", "a", "dict"]))
    with pytest.raises(CheckpointError, match=r'expected an "options" object'):
        Forecaster(run)


def test_every_task_reads_its_run_options_the_same_way(tmp_path):
    # a classifier run from the CLI, then the newer-version case through the registry's evaluate
    args = ["--data", FIX / "tiny_sentiment.csv", "--min-freq", "1", "--hidden-size", "8", "--embedding-dim", "8",
            "--batch-size", "16", "--val-fraction", "0.2", "--epochs", "1", "--progress", "false"]
    assert cli("train", "classify", *args, "--out", tmp_path / "cls").exit_code == 0
    config = json.loads((tmp_path / "cls" / "config.json").read_text())
    config["options"]["label_smoothing_v2"] = 0.1
    (tmp_path / "cls" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="option 'label_smoothing_v2' unknown"):
        evaluate(tmp_path / "cls")
