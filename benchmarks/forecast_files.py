"""``python -m benchmarks forecast-files [--seeds 0,1] [--min-steps 0,2000] [--out DIR]``: what a user gets from
``rnnkit train forecast --data FILE`` with no other options on small files — a few series, a batch or two of windows
per epoch — beside the statsforecast peers on the same test parts.

The files are written as a user's long CSVs (``id,timestamp,value``, each series' last h values its test part):
five groups of the classic panel's series (the deaths of the UK lung-disease set and US accidents; five monthly sales
and production series; six quarterly ones; five yearly ones; AirPassengers alone) and three noisy sines on a trend
(``sales``, Gaussian noise of spread 2). Each is trained once per seed and per ``--min-steps`` value (the default
2,000 and 0 — the epochs alone, as before session 44) and scored on the test parts: the hybrid's and the RNN's MASE,
quantile loss and 80% coverage, and the training seconds; then SeasonalNaive, AutoETS and AutoARIMA. About 20 minutes
on 2 cores with the defaults.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.forecast import peer_forecasts
from benchmarks.timing import machine_line
from rnnkit.tasks.forecast import ForecastOptions, load_panel_data, train_forecaster
from rnnkit.tasks.forecast_evaluation import score_test_parts

FILES = {"deaths": ("mdeaths", "fdeaths", "ldeaths", "USAccDeaths"),
         "monthly5": ("AirPassengers", "a10", "h02", "elecequip", "wineind"),
         "quarterly": ("UKgas", "ausbeer", "qcement", "JohnsonJohnson", "austres", "woolyrnq"),
         "yearly": ("nile", "lynx", "LakeHuron", "nhtemp", "airmiles"),
         "airpass": ("AirPassengers",)}
PEERS = ("SeasonalNaive", "AutoETS", "AutoARIMA")
COLUMNS = ("mase", "quantile_loss", "coverage_80")


def write_files(folder: Path) -> dict[str, Path]:
    """The benchmark's CSV files in ``folder``: the classic panel's series (history and test part) and ``sales``."""
    from rnnkit.data.series_builtin import load_panel

    panel = {s.id: s for s in load_panel("classic")}
    paths = {}
    for name, ids in FILES.items():
        rows = []
        for i in ids:
            s = panel[i]
            values = np.concatenate([s.values, s.test])
            stamps = pd.date_range(s.timestamps[0], periods=len(values), freq=s.timestamps.freq)
            rows += [{"id": i, "timestamp": t.strftime("%Y-%m-%d"), "value": v} for t, v in zip(stamps, values)]
        paths[name] = folder / f"{name}.csv"
        pd.DataFrame(rows).to_csv(paths[name], index=False)
    rng, rows = np.random.default_rng(0), []
    for k in range(3):
        n = int(rng.integers(60, 100))
        t = np.arange(n)
        y = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, n)
        stamps = pd.date_range("2015-01-01", periods=n, freq="MS")
        rows += [{"id": f"store_{k}", "timestamp": d.strftime("%Y-%m-%d"), "value": round(float(v), 2)}
                 for d, v in zip(stamps, y)]
    paths["sales"] = folder / "sales.csv"
    pd.DataFrame(rows).to_csv(paths["sales"], index=False)
    return paths


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks forecast-files", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--min-steps", default="2000,0", help="the min_steps values to train with, side by side")
    ap.add_argument("--out", default=None, help="keep the files and runs here, and read runs already there "
                    "(default: a temporary folder)")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    floors = [int(s) for s in args.min_steps.split(",")]
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        root.mkdir(parents=True, exist_ok=True)
        head = f"{'file':<10}{'method':<34}{'MASE':>8}{'q-loss':>9}{'80% cov':>9}{'seconds':>9}"
        print(head + "\n" + "-" * len(head), flush=True)
        for name, path in write_files(root).items():
            for floor in floors:
                rows = []
                for seed in seeds:
                    run = root / f"{name}-min{floor}-seed{seed}"
                    opts = ForecastOptions(data=str(path), min_steps=floor, seed=seed, progress=False)
                    start = time.perf_counter()  # a run kept in --out from an earlier call is read, not timed
                    r = train_forecaster(opts, run) if not (run / "config.json").exists() else \
                        json.loads((run / "config.json").read_text())["results"]
                    rows.append([r[f"test_{p}{c}"] for p in ("", "rnn_") for c in COLUMNS] +
                                [time.perf_counter() - start])
                mean = np.mean(rows, 0)
                for k, what in enumerate(("hybrid", "RNN alone")):  # one run makes both: its seconds once
                    label = f"rnnkit min_steps={floor} {what}"
                    seconds = f"{mean[6]:>9.0f}" if k == 0 else ""
                    print(f"{name:<10}{label:<34}{mean[3 * k]:>8.3f}{mean[3 * k + 1]:>9.3f}{mean[3 * k + 2]:>9.1%}"
                          f"{seconds}", flush=True)
            series = load_panel_data(ForecastOptions(data=str(path)))
            for peer in PEERS:
                qs, minutes = peer_forecasts(series, peer, root / f"peers-{name}")
                sc = score_test_parts(series, qs)["all"]
                print(f"{name:<10}{'statsforecast ' + peer:<34}{sc['mase']:>8.3f}{sc['quantile_loss']:>9.3f}"
                      f"{sc['coverage_80']:>9.1%}{minutes * 60:>9.0f}", flush=True)
    print(f"\nmeans over seeds {args.seeds}; MASE and the quantile loss (the mean pinball loss at 0.025 … 0.975, "
          "scaled as MASE) of the point forecast and quantiles against each series' test part; seconds: training "
          "and scoring, one run")
