"""How long a forecasting member trains: ``epochs`` passes, each over the windows as many times as it takes to make at
least ``min_steps`` batches on a small data set (``rnnkit.tasks.forecast.window_repeats``); ``max_steps`` stops it."""

import csv

import pytest

from rnnkit.tasks.forecast import ForecastOptions, train_forecaster, window_repeats
from tests.test_forecast import write_panel

# the two short series' windows fill one batch of 512: one batch per epoch unless they are repeated
TINY = dict(hidden_size=8, batch_size=512, progress=False, checkpoint_every=0, combine="none", validation="none")


def steps_and_epochs(run):
    with open(run / "period12" / "member0" / "metrics.csv") as f:
        last = list(csv.DictReader(f))[-1]
    return int(last["step"]), int(last["epoch"])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_panel(tmp_path_factory.mktemp("steps") / "two.csv", n_series=2, length=60)


def test_a_small_data_set_trains_at_least_min_steps_batches_in_its_epochs(data, tmp_path):
    train_forecaster(ForecastOptions(data=str(data), epochs=3, min_steps=12, **TINY), tmp_path / "run")
    steps, epochs = steps_and_epochs(tmp_path / "run")
    assert epochs == 3 and 12 <= steps <= 12 + 3  # at most one part-filled batch more per epoch


@pytest.mark.parametrize("options, expected", [
    (dict(epochs=3, min_steps=0), (3, 3)),                 # no floor: one pass (one batch) per epoch
    (dict(epochs=20, min_steps=12), (20, 20)),             # the epochs already make more batches than the floor
    (dict(epochs=3, min_steps=12, max_steps=5), (5, 1)),   # max_steps stops it before the floor, in the first epoch
])
def test_the_floor_gives_way_to_the_epochs_and_to_max_steps(data, tmp_path, options, expected):
    train_forecaster(ForecastOptions(data=str(data), **TINY, **options), tmp_path / "run")
    assert steps_and_epochs(tmp_path / "run") == expected


def test_the_windows_are_repeated_just_enough_for_the_epochs_to_make_min_steps_batches():
    opts = ForecastOptions(data="m3", batch_size=10, epochs=3, min_steps=25)
    assert window_repeats(opts, windows=35) == 3         # 4 batches a pass (10+10+10+5), 3 epochs 12 < 25: ⌈250 / 105⌉
    assert window_repeats(opts, windows=30) == 3         # ⌈25·10 / (3·30)⌉: 90 windows an epoch, 9 batches, 27 ≥ 25
    assert window_repeats(opts, windows=90) == 1         # 9 batches a pass: 27 ≥ 25
    assert window_repeats(opts, windows=5) == 17         # ⌈250 / 15⌉: 85 windows an epoch, 9 batches, 27 ≥ 25
    assert window_repeats(ForecastOptions(data="m3", min_steps=0, epochs=4), windows=1) == 1
    assert ForecastOptions(data="m3").min_steps == 2000  # the default floor
    with pytest.raises(ValueError, match="min_steps"):
        ForecastOptions(data="m3", min_steps=-1)
