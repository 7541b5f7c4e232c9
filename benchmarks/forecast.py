"""Forecasting against the statistical methods people use: rnnkit's global RNN forecasters and statsforecast.

``python -m benchmarks forecast [--panel m3|classic|highfreq] [--minutes 30] [--defaults] [--set key=value ...]
[--out DIR] [--quick]``

* trains rnnkit's forecaster (``RECIPES[panel]``, or with ``--defaults`` what ``rnnkit train forecast`` does with no
  options; either overridable with ``--set``) on the panel's training parts for
  ``--minutes`` of training in all, and forecasts each series' test part (M3's official one; the classic panel's
  last h values) — the recipe's hybrid (the RNN ensemble averaged with the Theta method, the dynamic optimised theta
  model, damped-trend exponential smoothing and, for series of 60 values or more, an autoregression — on the classic
  panel the optimised theta model in place of the Theta method, and an autoregression on the differences, ``ari``:
  ``--combine``; on series of 60 values or more the RNN is left out of the point forecast where
  its in-sample forecasts err 1.5 × the partners', ``pool_rnn``; on the classic panel the pool's members then share
  the point by 1 / their in-sample error², ``pool_weights="inverse-mse"``) and the RNN ensemble alone,
  from the same run (the classic recipe also trains its few yearly series' group on the panel's monthly and
  quarterly series averaged to years, ``augment="aggregate"``, and on 120 series drawn from a prior of AR,
  local-level and trend processes, ``synthetic``; on M3 the aggregates made no difference and are left out; the
  ``highfreq`` panel — daily, hourly and weekly series — with the defaults' model in an ensemble of 4 on 2 and 3 × h
  windows);
* runs statsforecast's SeasonalNaive, AutoETS and AutoTheta (and AutoARIMA on the classic panel) on the same training
  parts, with 80%/95% intervals (their forecasts are cached in ``DIR`` by panel and statsforecast version, so a rerun
  only retrains rnnkit);
* prints one table: MASE (scaled by the in-sample seasonal naive), sMAPE, 80%/95% interval coverage, per frequency and
  overall, with the minutes each method took.

Issue #17's figures (2026-12-02, statsforecast 2.1.1, all 3,003 M3 series): SeasonalNaive MASE 1.764 / sMAPE 15.19;
AutoTheta 1.362 / 13.30; AutoETS 1.382 / 12.84.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from benchmarks.timing import machine_line
from rnnkit.data.series_builtin import load_panel
from rnnkit.tasks.forecast import ForecastOptions, train_forecaster
from rnnkit.tasks.forecast_evaluation import score_test_parts
from rnnkit.tasks.forecast_partners import parse_partners

RECIPES = {
    "m3": {"groups": "period", "lookback": "2,3", "cell": "gru", "hidden_size": 64, "scaling": "last", "log": "auto",
           "weighting": "mase", "validation": "none", "ensemble": 12, "epochs": 1000, "batch_size": 256, "lr": 2e-3,
           "combine": "theta,dotm,damped,ar", "group_options": "period12: lookback=1,1.5 weighting=none"},
    "classic": {"groups": "period", "lookback": "2,3", "cell": "lstm", "hidden_size": 64, "scaling": "last",
                "log": "auto", "weighting": "mase", "validation": "none", "ensemble": 4, "epochs": 1000, "batch_size": 64,
                "lr": 2e-3, "combine": "dotm,damped,ar,ari", "pool_weights": "inverse-mse", "augment": "aggregate",
                "group_options": "period12: lookback=1,1.5 weighting=none; period1: augment=aggregate,synthetic"},
    # the defaults' model in an ensemble of 2 and 3 × h windows, as on M3 (the defaults alone: --defaults)
    "highfreq": {"cell": "lstm", "ensemble": 4, "lookback": "2,3", "weighting": "mase-median",
                 "combine": "theta,damped,ar"},
}
PEERS = {"m3": ("SeasonalNaive", "AutoETS", "AutoTheta"), "classic": ("SeasonalNaive", "AutoETS", "AutoTheta",
                                                                      "AutoARIMA"),
         # AutoARIMA left out: with seasonal period 52 it took 200 s on the one weekly series, longer on hourly ones
         "highfreq": ("SeasonalNaive", "AutoETS", "AutoTheta")}


def _peer_model(name: str, m: int):
    from statsforecast import models

    return {"SeasonalNaive": lambda: models.SeasonalNaive(season_length=m),
            "AutoETS": lambda: models.AutoETS(season_length=m),
            "AutoTheta": lambda: models.AutoTheta(season_length=m),
            "AutoARIMA": lambda: models.AutoARIMA(season_length=m)}[name]()


def peer_forecasts(series, name: str, cache: Path) -> tuple[list[np.ndarray], float]:
    """Quantiles (h, 5) at METRIC_TAUS for every series from one statsforecast model, and the minutes it took."""
    import pandas as pd
    import statsforecast
    from statsforecast import StatsForecast

    path = cache / f"{name}-{statsforecast.__version__}.npz"
    if path.exists():
        data = np.load(path)
        return [data[f"q{i}"] for i in range(len(series))], float(data["minutes"])
    start = time.perf_counter()
    out: list = [None] * len(series)
    for (m, h) in sorted({(s.period, len(s.test)) for s in series}):
        idx = [i for i, s in enumerate(series) if (s.period, len(s.test)) == (m, h)]
        df = pd.concat([pd.DataFrame({"unique_id": str(i), "ds": np.arange(len(series[i].values)),
                                      "y": series[i].values}) for i in idx])
        sf = StatsForecast(models=[_peer_model(name, m)], freq=1, n_jobs=int(os.environ.get("PEER_JOBS", "2")))
        fc = sf.forecast(df=df, h=h, level=[80, 95])
        col = [c for c in fc.columns if c not in ("unique_id", "ds") and "-lo-" not in c and "-hi-" not in c][0]
        for i in idx:
            part = fc[fc["unique_id"] == str(i)]
            out[i] = np.stack([part[f"{col}-lo-95"], part[f"{col}-lo-80"], part[col], part[f"{col}-hi-80"],
                               part[f"{col}-hi-95"]], 1).astype(np.float64)
    minutes = (time.perf_counter() - start) / 60
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, minutes=minutes, **{f"q{i}": q for i, q in enumerate(out)})
    return out, minutes


TABLE_METRICS = ("mase", "smape", "coverage_80", "coverage_95")


def unflatten(scores: dict, prefix: str, groups: list[str]) -> dict:
    """{group: {metric: value}} from an evaluation's flat keys (``test_mase``, ``test_yearly_mase``, …)."""
    out = {}
    for g in groups:
        head = prefix if g == "all" else f"{prefix}_{g}"
        values = {m: scores[f"{head}_{m}"] for m in TABLE_METRICS if f"{head}_{m}" in scores}
        if values:
            out[g] = values
    return out


def trained_batches(run: Path) -> dict[str, list[int]]:
    """The batches each member of a forecast run trained for, per group (the last step of its metrics.csv): the time
    budget decides them, and a faster or busier machine changes them — and the results with them."""
    config = json.loads((run / "config.json").read_text())
    out = {}
    for g in config["groups"]:
        steps = []
        for m in g["members"]:
            rows = list(csv.DictReader((run / m["folder"] / "metrics.csv").read_text().splitlines()))
            steps.append(int(rows[-1]["step"]) if rows else 0)
        out[g["group"]] = steps
    return out


def print_table(results: dict[str, tuple[dict, float]], groups: list[str]) -> None:
    w = max(36, 2 + max(map(len, results)))
    head = f"{'method':<{w}}{'minutes':>8}" + "".join(f"{g + ' MASE/sMAPE':>24}" for g in groups) + \
        f"{'80% / 95% coverage':>22}"
    print(head)
    print("-" * len(head))
    for name, (sc, minutes) in results.items():
        cells = "".join(f"{sc[g]['mase']:>12.3f} / {sc[g]['smape']:>6.2f}  " if g in sc else f"{'':>24}"
                        for g in groups)
        cov = f"{sc['all'].get('coverage_80', float('nan')):.1%} / {sc['all'].get('coverage_95', float('nan')):.1%}"
        print(f"{name:<{w}}{minutes:>8.1f}{cells}{cov:>22}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks forecast")
    ap.add_argument("--panel", default="m3", choices=tuple(RECIPES))
    ap.add_argument("--minutes", type=float, default=30.0, help="rnnkit's training budget (all members)")
    ap.add_argument("--defaults", action="store_true", help="train with rnnkit's defaults (what 'rnnkit train "
                    "forecast' does with no options) instead of the panel's recipe")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe option")
    ap.add_argument("--out", default="runs/bench-forecast")
    ap.add_argument("--no-peers", action="store_true", help="skip statsforecast (rnnkit only)")
    ap.add_argument("--quick", action="store_true", help="1 minute, 2 members, classic panel (a smoke run)")
    args = ap.parse_args(argv)
    if args.quick:
        args.panel, args.minutes = "classic", 1.0
    out = Path(args.out)
    recipe = {} if args.defaults else dict(RECIPES[args.panel])
    recipe.update({"ensemble": 2} if args.quick else {})
    for kv in args.set:
        key, _, value = kv.partition("=")
        field = ForecastOptions.__dataclass_fields__.get(key)
        if field is None:
            raise SystemExit(f"--set {kv}: no option {key!r}")
        kind = field.type if isinstance(field.type, str) else field.type.__name__
        recipe[key] = (value.lower() in ("1", "true", "yes") if "bool" in kind else int(value) if "int" in kind
                       else float(value) if "float" in kind else value)
    print(machine_line())
    print(f"panel {args.panel}; rnnkit recipe: {json.dumps(recipe)}; {args.minutes:g} minutes of training")
    series = load_panel(args.panel)
    groups = ["all"] + sorted({s.freq for s in series})
    results = {}
    run = out / f"rnnkit-{args.panel}"
    if run.exists():
        shutil.rmtree(run)
    start = time.perf_counter()
    opts = ForecastOptions(data=args.panel, max_minutes=args.minutes, progress=False, **recipe)
    scores = train_forecaster(opts, run)
    minutes = (time.perf_counter() - start) / 60
    print("batches trained per member: " + "; ".join(f"{g} {', '.join(map(str, b))}"
                                                    for g, b in trained_batches(run).items()))
    name = f"rnnkit {opts.cell} ×{opts.ensemble}" + (" (defaults)" if args.defaults else "")
    partners = parse_partners(opts.combine)
    if partners:  # the hybrid, and the RNN ensemble alone from the same run (both scored by the run's evaluation)
        results[f"{name} + {', '.join(partners)}"] = (unflatten(scores, "test", groups), minutes)
        name += " alone"
    results[name] = (unflatten(scores, "test_rnn" if partners else "test", groups), minutes)
    if not args.no_peers:
        for name in PEERS[args.panel]:
            qs, minutes = peer_forecasts(series, name, out / f"peers-{args.panel}")
            results[f"statsforecast {name}"] = (score_test_parts(series, qs), minutes)
    print()
    print_table(results, groups)
    print("\nMASE: mean |error| / the in-sample seasonal naive's; sMAPE: mean 200|y−f|/(|y|+|f|); coverage: the share "
          "of a series' test points inside its 80% and 95% intervals, averaged over the series like the other "
          "columns. rnnkit's minutes are one run's (training and forecasting, "
          "shared by its hybrid and 'alone' rows); the peers' were timed once (cached) with PEER_JOBS processes.")


if __name__ == "__main__":
    main()
