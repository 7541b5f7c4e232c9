"""Time-series forecasting (task ``forecast``): a panel of series in, global RNN forecasters out.

``train_forecaster`` reads a built-in panel (``m3``, ``classic``) or the user's long/wide CSV or Parquet file
(``rnnkit.data.series``), holds out each series' test part (M3's official one; otherwise its last h values, unless
``test=False``), and trains ``rnnkit.models.forecaster.RNNForecaster`` with rnnkit's Trainer on windows of all the
series at once — one model per **group** (by default the series' seasonal period: yearly and other series together,
quarterly, monthly; or one per frequency, or one for all), each an ensemble of ``ensemble`` members (seeds seed,
seed+1, … and lookbacks cycling through ``lookback``, the window being lookback × h long; the forecasts are their
median). With ``augment="aggregate"`` a group also trains on the panel's finer series averaged to its frequency
(``rnnkit.data.aggregate``), with ``"synthetic"`` a non-seasonal group also on ``synthetic`` series drawn from a prior
of simple processes (``rnnkit.data.series_prior``), with ``"aggregate,synthetic"`` on both (training windows only).
With ``validation="last"`` each series' last h training values are held out: the validation loss, MASE and sMAPE go
into each member's ``curve.csv``, early stopping and the kept best weights follow ``monitor``. With ``"none"`` the
members train on every window up to the end for the time budget (better on short series such as M3's, at the price of
no early stopping). With ``combine`` (e.g. ``"theta,damped,ar"``) the run is a hybrid: its forecasts average the
ensemble's median with statistical partners fitted on each series when it is forecast
(``rnnkit.tasks.forecast_partners``). On the CPU the members train side by side, ``jobs`` at a time (default: one per
core), each in its own process on one torch thread (``rnnkit.tasks.jobs``: these small models do not keep two cores
busy). The time budget ``max_minutes`` (wall clock, the whole run) is shared among the members in proportion to their
group's number of series. Every member folder is a resumable Trainer run (``resume=True``)::

    from rnnkit.tasks.forecast import ForecastOptions, train_forecaster, forecast
    train_forecaster(ForecastOptions(data="classic", max_minutes=5), "runs/fc")
    rows = forecast("runs/fc", quantiles=(0.1, 0.5, 0.9))       # every series, from the end of its data
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from rnnkit.data.series import FILLS, Series
from rnnkit.data.windows import FeatureMaker, SeriesWindows, train_cuts, validation_cuts
from rnnkit.layers import CELL_NAMES
from rnnkit.models.forecast_heads import HEADS, quantile_levels
from rnnkit.models.forecaster import DECODERS, SCALINGS, WEIGHTINGS, RNNForecaster
from rnnkit.tasks.forecast_evaluation import evaluate_forecaster
from rnnkit.tasks.forecast_groups import group_extras, group_key, load_panel_data, parse_augment, series_horizon, use_log
from rnnkit.tasks.forecast_partners import parse_partners, resolve_auto
from rnnkit.tasks.forecaster import Forecaster, window_quantiles
from rnnkit.tasks.jobs import budgets, cpu_jobs, run_all
from rnnkit.tasks.options import check, device_option, option, precision_option
from rnnkit.tasks.plots import plot_curves
from rnnkit.tasks.registry import Task
from rnnkit.tasks.runs import check_out_dir, load_best, resume_key
from rnnkit.train import Config, LearningCurve, Trainer, seed_everything
from rnnkit.train.checkpoint import atomic_write_text, save_model
from rnnkit.train.distributed import resolve_device
from rnnkit.train.optim import OPTIMIZERS

GROUPINGS = ("period", "frequency", "global")
def parse_floats(text: str, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise ValueError(f"{what}: expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise ValueError(f"{what}: expected at least one number, got {text!r}")
    return values


GROUP_KEYS = ("lookback", "history", "augment", "synthetic", "cell", "hidden_size", "num_layers", "dropout", "scaling",
              "log", "skip", "weighting", "ensemble", "lr", "batch_size", "decoder", "head")


def parse_group_options(text: str) -> dict[str, dict]:
    """'period12: lookback=1,1.5 scaling=mean; period4: weighting=mase' → {group: {option: value}} (typed)."""
    import dataclasses

    out: dict[str, dict] = {}
    fields = {f.name: f for f in dataclasses.fields(ForecastOptions)}
    for part in filter(str.strip, (text or "").split(";")):
        group, sep, rest = part.partition(":")
        if not sep or not group.strip():
            raise ValueError(f"group_options: expected 'GROUP: key=value ...', got {part.strip()!r}")
        changes = {}
        for item in rest.split():
            key, eq, value = item.partition("=")
            if not eq or key not in GROUP_KEYS:
                raise ValueError(f"group_options: {item!r} in group {group.strip()!r}: expected key=value with a key "
                                 f"among {', '.join(GROUP_KEYS)}")
            kind = str(fields[key].type)
            try:
                changes[key] = (value.lower() in ("1", "true", "yes") if "bool" in kind else int(value)
                                if "int" in kind else float(value) if "float" in kind else value)
            except ValueError:
                raise ValueError(f"group_options: {key}={value!r} in group {group.strip()!r} is not a number") from None
        out[group.strip()] = changes
    return out


@dataclass
class ForecastOptions:
    data: str = option(None, "a built-in panel (m3, classic, highfreq) or a long/wide CSV, TSV or Parquet file",
                       required=True)
    horizon: int | None = option(None, "steps to forecast (default: the M-competition convention per frequency — "
                                       "monthly 18, quarterly 8, yearly 6, other 8 as in M3; weekly 13, daily 14, "
                                       "hourly 48 as in M4)", min=1)
    freq: str | None = option(None, "the pandas frequency of the file's timestamps (default: inferred), e.g. MS, D, h; "
                                    "for integer timestamps, their step or the frequency they count in")
    fill: str = option("error", "what to do with gaps and NaN in a file", choices=FILLS)
    id_col: str = option("id", "the series id column (long format)")
    time_col: str = option("timestamp", "the timestamp column")
    value_col: str = option("value", "the value column (long format)")
    test: bool = option(True, "hold out the last h values of each file series as its test part (built-ins have "
                              "theirs); false trains on everything")
    groups: str = option("period", "one model per seasonal period, per frequency, or one for all series",
                         choices=GROUPINGS)
    lookback: str = option("2", "input window = lookback × horizon steps; several (e.g. 2,3) cycle over the members")
    history: float | None = option(None, "train only on each series' most recent windows: the cuts in its last "
                                         "history × horizon steps (N-BEATS's L_H; default: every window)", min=0,
                                   min_open=True)
    augment: str = option("none", "extra training windows: none, or a comma-separated list of aggregate (the "
                                  "panel's finer series averaged to each group's frequency: monthly → quarterly and "
                                  "yearly, quarterly → yearly; rnnkit.data.aggregate) and synthetic (series drawn "
                                  "from a prior of AR, local-level and trend processes, for non-seasonal groups: "
                                  "rnnkit.data.series_prior)")
    synthetic: int = option(120, "how many synthetic series augment=synthetic adds to each non-seasonal group", min=0)
    cell: str = option("lstm", "the recurrent cell", choices=CELL_NAMES)
    hidden_size: int = option(64, "hidden units", min=1)
    num_layers: int = option(1, "stacked recurrent layers", min=1)
    dropout: float = option(0.0, "dropout on the recurrent outputs (and between layers)", min=0, max=1,
                            max_open=True)
    decoder: str = option("direct", "all h steps at once (MQ-RNN) or step by step on sampled paths (DeepAR)",
                          choices=DECODERS)
    head: str = option("quantile", "quantiles (pinball loss) or a Gaussian / Student-t likelihood", choices=HEADS)
    quantiles: str = option("0.025,0.1,0.5,0.9,0.975", "the quantile head's levels (must include 0.5)")
    scaling: str = option("last", "per-window scaling: by the last value, the mean, standardisation, or none",
                          choices=SCALINGS)
    log: str = option("auto", "model log values (auto: when every value is positive)", choices=("auto", "true",
                                                                                               "false"))
    calendar: bool = option(True, "season-phase features from the timestamps (month, quarter, weekday, hour)")
    skip: bool = option(True, "a linear skip from the window to the forecast (LSTNet's highway)")
    weighting: str = option("mase-median", "weight each window's loss by 1 / its in-sample seasonal-naive error, so "
                                           "the median's loss averages MASE: the median's alone (mase-median; the "
                                           "other quantiles unweighted, so intervals stay calibrated), every "
                                           "quantile's (mase), or none", choices=WEIGHTINGS)
    ensemble: int = option(1, "members per group; their forecasts' median is the forecast", min=1)
    combine: str = option("auto", "a hybrid forecast: the ensemble's median averaged with statistical partners fitted "
                                  "on each series when it is forecast: a list of theta, damped, ar, ari, dotm (M3's "
                                  "Theta method, damped-trend exponential smoothing, an autoregression and one on the "
                                  "differences — ARIMA(p,1,0) — for series of 60 values or more, the dynamic "
                                  "optimised theta model), none (the RNN ensemble alone), or auto (theta, dotm, "
                                  "damped and ar, unless the data has covariates: then none)")
    combine_weight: float = option(0.5, "the RNN ensemble's share of a hybrid forecast (the partners share the rest)",
                                   min=0, max=1)
    pool_rnn: bool = option(True, "let a hybrid's pool judge the RNN ensemble too: a series of 60 values or more "
                                  "whose in-sample forecasts by the ensemble err more than 1.5 × those of its pooled "
                                  "partners' mean gets the partners' point forecast alone (false: always the "
                                  "weighted mean)")
    pool_weights: str = option("equal", "how a hybrid's pool shares the point forecast on a series of 60 values or "
                                        "more: equal (the RNN --combine-weight, the pooled partners the rest in equal "
                                        "parts) or inverse-mse (each by 1 / its in-sample error², Bates & Granger; "
                                        "needs --pool-rnn)", choices=("equal", "inverse-mse"))
    group_options: str = option("", "options for one group, e.g. 'period12: lookback=1,1.5; period4: weighting=mase' "
                                    "(the group names: period1/4/12…, a frequency, or all)")
    validation: str = option("none", "train on every window up to each series' end (none), or hold out each series' "
                                     "last h training values for validation and early stopping (last)",
                             choices=("last", "none"))
    samples: int = option(200, "sampled paths per series (autoregressive decoder)", min=10)
    batch_size: int = option(256, "windows per batch", min=1)
    epochs: int = option(100, "passes over the training windows (at most)", min=1)
    min_steps: int = option(2000, "train each member for at least this many batches: on a small data set (a few "
                                  "series, a batch or two of windows) each epoch passes over the windows several "
                                  "times (max_steps and max_minutes still stop it; 0: one pass per epoch)", min=0)
    max_steps: int | None = option(None, "stop each member after this many batches", min=1)
    max_minutes: float | None = option(None, "a training-time budget in minutes for the whole run (shared by the "
                                             "members)", min=0, min_open=True)
    lr: float = option(2e-3, "learning rate", min=0, min_open=True)
    optimizer: str = option("adam", "optimizer", choices=OPTIMIZERS)
    weight_decay: float = option(0.0, "weight decay", min=0)
    scheduler: str = option("cosine", "learning-rate schedule", choices=("cosine", "none"))
    clip_norm: float = option(5.0, "clip the gradient's global norm to this", min=0, min_open=True)
    precision: str = precision_option()
    device: str = device_option()
    monitor: str = option("mase", "what early stopping and the kept best weights follow",
                          choices=("mase", "smape", "loss"))
    patience: int = option(5, "epochs without improvement before stopping", min=1)
    checkpoint_every: int = option(500, "batches between checkpoints, for --resume (0: epoch ends only)", min=0)
    seed: int = option(0, "random seed (initialisation, batches, sampled paths)")
    jobs: int | None = option(None, "members trained at once, each in its own process on one CPU thread (default: "
                                    "the CPU cores torch uses, at most the members; 1 on a GPU)", min=1)
    progress: bool = option(True, "show progress bars (true/false)")

    def __post_init__(self) -> None:
        check(self)
        parse_augment(self.augment)
        self.quantile_levels()
        parse_partners(self.combine)
        if self.pool_weights == "inverse-mse" and not self.pool_rnn:
            raise ValueError("pool_weights=inverse-mse needs --pool-rnn: the RNN's weight comes from its in-sample "
                             "forecasts, which only the pool's judge makes")
        for changes in parse_group_options(self.group_options).values():
            replace(self, **changes, group_options="")  # checks the values
        if min(parse_floats(self.lookback, "lookback")) <= 0:
            raise ValueError(f"lookback must be positive, got {self.lookback!r}")

    def for_group(self, group: str) -> ForecastOptions:
        """These options with the group's overrides from ``group_options`` applied (checked like the rest)."""
        changes = parse_group_options(self.group_options).get(group, {})
        return replace(self, **changes, group_options="") if changes else self

    def quantile_levels(self) -> tuple[float, ...]:
        return quantile_levels(parse_floats(self.quantiles, "quantiles"))


RESUME_MAY_CHANGE = ("device", "epochs", "max_steps", "max_minutes", "progress", "checkpoint_every", "patience", "samples",
                     "jobs", "combine", "combine_weight", "pool_rnn", "pool_weights")


class ValidationWindows(SeriesWindows):
    """The last h training values of each series; its evaluation also reports the median forecast's MASE and sMAPE."""

    def corpus_metrics(self, model) -> dict:
        from rnnkit.tasks.forecast_metrics import mase, smape

        q = window_quantiles(model, self, (0.5,))
        m, s = [], []
        for k, (i, c, h) in enumerate(self.cuts):
            ser = self.series[i]
            y = ser.values[c:c + h]
            m.append(mase(y, q[k, :h, 0], ser.values[:c], ser.period))
            s.append(smape(y, q[k, :h, 0]))
        m = np.array(m)
        return {"mase": float(np.nanmean(m)) if np.isfinite(m).any() else float("nan"), "smape": float(np.mean(s))}


def window_repeats(opts: ForecastOptions, windows: int) -> int:
    """How many times each epoch passes over a member's ``windows`` training windows: once where the ``epochs``
    make ``min_steps`` batches that way, else k = ⌈min_steps · batch_size / (epochs · windows)⌉ times, so that
    epochs · ⌈k · windows / batch_size⌉ ≥ min_steps. A group of a few short series fills a batch or two per epoch, so
    100 epochs are 100–200 steps, too few to learn the series or the spread of their errors. Measured (session 44,
    ``python -m benchmarks forecast-files``: six small files of real and synthetic series, two seeds each): with the
    epochs alone the hybrid's 80% intervals covered 82–100% of the test values (the RNN's own were 11–30 × as wide as
    the noise's on three noisy sines); with 2,000 steps its quantile loss fell by 11–92% on every file, its MASE by
    0.00–1.75 (the yearly file: 2.98 → 1.23), its 80% coverage 77–95%. NeuralForecast's models count
    their training in steps for the same reason (GluonTS's in batches per epoch). The windows are repeated within the
    epoch rather than the epochs multiplied, so a run still logs, checkpoints and schedules ``epochs`` epochs. A large
    panel (M3's groups) makes its steps with k = 1."""
    windows = max(1, windows)
    if opts.epochs * -(-windows // opts.batch_size) >= opts.min_steps:
        return 1
    return -(-opts.min_steps * opts.batch_size // (opts.epochs * windows))


def _config(opts: ForecastOptions, seed: int, minutes: float | None, validation: bool) -> Config:
    cfg = Config()
    cfg.optim.name, cfg.optim.lr, cfg.optim.weight_decay = opts.optimizer, opts.lr, opts.weight_decay
    cfg.scheduler.name, cfg.scheduler.interval = opts.scheduler, "step"
    cfg.data.batch_size = opts.batch_size
    cfg.train.epochs, cfg.train.max_steps, cfg.train.max_minutes = opts.epochs, opts.max_steps, minutes
    cfg.train.clip_norm, cfg.train.seed = opts.clip_norm, seed
    cfg.train.precision, cfg.train.device = opts.precision, opts.device
    if validation:
        cfg.train.early_stopping, cfg.train.monitor, cfg.train.monitor_mode = opts.patience, f"val_{opts.monitor}", "min"
    cfg.train.progress, cfg.train.checkpoint_every = opts.progress, opts.checkpoint_every
    return cfg


def plan_groups(opts: ForecastOptions, series: list[Series]) -> list[dict]:
    """One record per group: its series' indices, horizon and members (seed, lookback, input size, folder)."""
    keys = sorted({group_key(s, opts.groups) for s in series})
    unknown = set(parse_group_options(opts.group_options)) - set(keys)
    if unknown:
        raise ValueError(f"group_options names group(s) {sorted(unknown)} that the data does not have (groups: "
                         f"{', '.join(keys)})")
    plan = []
    for key in keys:
        g_opts = opts.for_group(key)
        lookbacks = parse_floats(g_opts.lookback, "lookback")
        idx = [i for i, s in enumerate(series) if group_key(s, opts.groups) == key]
        H = max(series_horizon(series[i], opts.horizon) for i in idx)
        members = []
        for k in range(g_opts.ensemble):
            lb = lookbacks[k % len(lookbacks)]
            members.append({"seed": opts.seed + k, "lookback": lb, "input_size": max(2, int(round(lb * H))),
                            "folder": f"{key}/member{k}"})
        plan.append({"group": key, "series": idx, "horizon": H, "members": members})
    return plan


def _train_member(opts, group_series, H, member, features, log, out, minutes, label, resume,
                  extra=()) -> RNNForecaster:
    seed_everything(member["seed"])
    validation = opts.validation == "last"
    L = member["input_size"]
    model = RNNForecaster(L, H, features.size, opts.cell, opts.hidden_size, opts.num_layers, opts.decoder,
                          opts.head, opts.quantile_levels(), opts.scaling, log, opts.skip, dropout=opts.dropout,
                          weighting=opts.weighting)
    train_series = list(group_series) + list(extra)
    cuts = train_cuts(train_series, H, validation, max_windows=max(1, round(opts.history * H)) if opts.history else 0)
    if not cuts:
        raise ValueError("no training windows: the series are too short for their horizon (pass validation=none, "
                         "a smaller horizon, or longer series)")
    train = SeriesWindows(train_series, L, H, features, cuts * window_repeats(opts, len(cuts)))
    val = ValidationWindows(group_series, L, H, features, validation_cuts(group_series)) if validation else None
    curve = LearningCurve(10**12, out / "curve.csv") if validation else None
    trainer = Trainer(model, train, val, config=_config(opts, member["seed"], minutes, validation), out_dir=out,
                      model_config=model.config, callbacks=[curve] if curve else [],
                      resume_check=resume_key(opts, RESUME_MAY_CHANGE))
    trainer.label = label
    trainer.fit(resume=resume)
    if validation:
        load_best(out, model)
        rows = [r for r in curve.rows if f"val_{opts.monitor}" in r]
        if rows:
            plot_curves({f"{opts.cell} {opts.hidden_size}": rows}, out / "curve.png",
                        ylabel=f"validation {opts.monitor.upper()}", key=f"val_{opts.monitor}",
                        title=f"Forecasting {Path(opts.data).name}: {label or 'model'}")
    return model.eval()


def _train_and_save(opts, group_series, H, member, features, log, folder, minutes, label, resume, meta,
                    extra=()) -> None:
    model = _train_member(opts, group_series, H, member, features, log, folder, minutes, label, resume, extra)
    save_model(folder, model, {"task": "forecast", "model": model.config, "features": features.config(),
                               "member": member, **meta})


def train_forecaster(opts: ForecastOptions, out: str | Path, resume: bool = False) -> dict:
    """Train every group's members (see the module), then score the ensemble on the test parts (none if test=false)."""
    out = check_out_dir(Path(out), resume)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(opts.seed)
    series = load_panel_data(opts)
    features = FeatureMaker.fit(series, opts.calendar)
    opts = replace(opts, combine=resolve_auto(opts.combine, features.names))  # the run's config holds the choice
    plan = plan_groups(opts, series)
    n_members = sum(len(g["members"]) for g in plan)
    jobs = cpu_jobs(opts.jobs, n_members, resolve_device(opts.device))
    weights = [len(g["series"]) for g in plan for _ in g["members"]]  # a member's share of the time: its group's size
    minutes = iter(budgets(weights, jobs, opts.max_minutes) if opts.max_minutes is not None else [None] * n_members)
    calls = []
    for g in plan:
        group_series = [series[i] for i in g["series"]]
        g_opts = opts.for_group(g["group"])
        if jobs > 1:
            g_opts = replace(g_opts, progress=False)  # one bar over the members instead of several garbled ones
        log = use_log(g_opts, group_series)
        extra = group_extras(g_opts, series, group_series, log)
        g["extra_series"] = len(extra)
        for member in g["members"]:
            folder = out / member["folder"]
            label = f"{g['group']} member {len(calls) + 1}/{n_members}"
            calls.append((g_opts, group_series, g["horizon"], member, features, log, folder, next(minutes), label,
                          resume and (folder / "checkpoints").exists(), {"group": g["group"]}, extra))
    run_all(_train_and_save, calls, jobs, weights, progress=opts.progress)
    config = {"task": "forecast", "options": dict(vars(opts)), "features": features.config(),
              "groups": [{k: v for k, v in g.items() if k != "series"} | {"ids": [series[i].id for i in g["series"]]}
                         for g in plan]}
    atomic_write_text(out / "config.json", json.dumps(config, indent=1, ensure_ascii=False))
    results = evaluate_forecaster(out) if any(s.test is not None for s in series) else {"test_series": 0}
    config["results"] = results
    atomic_write_text(out / "config.json", json.dumps(config, indent=1, ensure_ascii=False))
    return results


def forecast(run_dir: str | Path, data=None, horizon: int | None = None,
             quantiles=(0.1, 0.5, 0.9), combine: str | None = None, fill: str | None = None) -> list[dict]:
    """Forecasts of every series of ``data`` — a file or a pandas DataFrame in the long or wide layout (default: the
    run's own series, from the end of all their values); ``combine`` overrides the run's partners ("none": the RNN
    ensemble alone), ``fill`` the run's way with gaps and NaN in ``data`` (ffill, interpolate, zero, or error)."""
    return Forecaster(run_dir, combine=combine).forecast_data(data, horizon, quantiles, fill)


TASK = Task("forecast", "a global RNN forecaster", train_forecaster, Forecaster, evaluate_forecaster,
            options=ForecastOptions, verbs=("forecast", "backtest"), model_classes=())

__all__ = ["ForecastOptions", "train_forecaster", "forecast", "load_panel_data", "GROUPINGS"]
