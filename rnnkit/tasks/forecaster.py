"""The forecast run's predictor: forecasts with intervals (evaluation and backtests: ``forecast_evaluation``).

``Forecaster(run_dir)`` loads every member of every group. A series is forecast by its group's members (the group of
its seasonal period or frequency, as in training), each reading its own lookback window; the ensemble's τ-quantile is
the median of the members' τ-quantiles. With ``combine`` (a hybrid run, or ``Forecaster(run, combine=...)``) the
ensemble's median is averaged with statistical partners fitted on each series (or left out of that average where its
own in-sample forecasts of the series, ``rnn_paths``, err far more than the partners' — ``pool_rnn``), and the
intervals are the quantiles of the mixture of the ensemble's distribution and the partners' own
(``rnnkit.tasks.forecast_partners``, ``rnnkit.tasks.forecast_pool``, ``rnnkit.tasks.forecast_mixture``).
Forecasts come back in the series' units, with timestamps where the series has them (positions after its end
otherwise).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from rnnkit.data.series import FREQUENCIES, Series, read_series, series_from_values
from rnnkit.data.windows import FeatureMaker, SeriesWindows, future_stamps
from rnnkit.models.device import device_of
from rnnkit.models.forecast_heads import quantile_levels
from rnnkit.models.forecaster import RNNForecaster
from rnnkit.tasks.forecast_groups import group_key, load_panel_data, series_horizon
from rnnkit.tasks.forecast_mixture import combine, mixture_levels
from rnnkit.tasks.forecast_partners import parse_partners, resolve_auto
from rnnkit.tasks.forecast_pool import POOL_MIN_VALUES, hybrid_parts, rnn_origins
from rnnkit.tasks.options import run_options
from rnnkit.tasks.registry import read_config, require
from rnnkit.tasks.runs import load_run_model
from rnnkit.train.checkpoint import CheckpointError

METRIC_TAUS = (0.025, 0.1, 0.5, 0.9, 0.975)  # the median and the 80% and 95% intervals
MAX_VALUES = 100_000  # per series sent to the server


def window_quantiles(model: RNNForecaster, windows: SeriesWindows, taus, samples: int = 200, seed: int = 0,
                     batch_size: int = 1024) -> np.ndarray:
    """τ-quantiles (windows, H, len(taus)) of one model's forecasts of each window, in original units."""
    model.eval()
    device = device_of(model)
    g = torch.Generator(device).manual_seed(seed)
    out = []
    for start in range(0, len(windows), batch_size):
        b = [t.to(device) for t in windows.batch_of(range(start, min(start + batch_size, len(windows))))[:4]]
        out.append(model.predict_quantiles(b[0], b[1], b[2], b[3], taus, samples, g).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, windows.H, len(taus)))


def _check_positive(series: list[Series], members: list[RNNForecaster], key: str) -> None:
    """Models of log values (trained with log=true, or log=auto on positive series) read only positive windows: a
    value ≤ 0 in what they read is refused with the series and position named, not clamped into a forecast."""
    L = max((m.L for m in members if m.log), default=0)
    if not L:
        return
    for s in series:
        tail = s.values[-L:]
        if (tail <= 0).any():
            j = len(s) - len(tail) + int(np.flatnonzero(tail <= 0)[0])
            raise ValueError(f"series {s.id!r}: value {s.values[j]:g} at position {j} is not positive, but the {key!r} "
                             "model forecasts log values (it was trained on positive series; retrain with --log false "
                             "for series that reach zero or below)")


def _flat_if_constant(s: Series, q: np.ndarray, taus) -> np.ndarray:
    """A series whose every value is the same is forecast to stay there: its point forecast (the median) is that value
    — as every statistical method's (naive, ETS, ARIMA, theta) is — and the other quantiles keep their distance from
    the median (the uncertainty the ensemble learned from the other series). The RNN, reading a window with nothing to
    scale by, would otherwise put the movement of other series into it."""
    if len(s.values) == 0 or np.ptp(s.values) != 0:
        return q
    med = list(taus).index(0.5) if 0.5 in taus else None
    shift = s.values[-1] - (q[:, med] if med is not None else np.median(q, 1))
    return q + shift[:, None]


def _build(mc: dict) -> RNNForecaster:
    kind = mc.pop("class", None)
    if kind != "RNNForecaster":
        raise CheckpointError(f"not a forecaster: {kind!r}")
    return RNNForecaster(**mc)


class Forecaster:
    task = "forecast"

    def __init__(self, run_dir: str | Path, combine: str | None = None, combine_weight: float | None = None,
                 pool_rnn: bool | None = None, pool_weights: str | None = None) -> None:
        """``combine``/``combine_weight``/``pool_rnn``/``pool_weights`` override the run's (e.g. ``combine="none"``
        for the RNN ensemble alone)."""
        from rnnkit.tasks.forecast import ForecastOptions

        self.run_dir = Path(run_dir)
        require(self.run_dir, "forecast", verb="forecasting")
        self.config = read_config(self.run_dir)
        if "groups" not in self.config:
            raise CheckpointError(f"{run_dir} is one member of a forecast run's ensemble (or an unfinished run): "
                                  "load the run folder above it")
        self.opts = run_options(ForecastOptions, self.config.get("options"), self.run_dir, progress=False,
                                device="auto", combine=combine, combine_weight=combine_weight, pool_rnn=pool_rnn,
                                pool_weights=pool_weights)
        self.opts = replace(self.opts, combine=resolve_auto(self.opts.combine, self.config["features"]["covariates"]))
        self.partners = parse_partners(self.opts.combine)
        self.features = FeatureMaker(**{k: v for k, v in self.config["features"].items() if k != "covariates"},
                                     names=self.config["features"]["covariates"])
        self.groups = {}
        for g in self.config["groups"]:
            members = [load_run_model(self.run_dir / m["folder"], _build)[0] for m in g["members"]]
            self.groups[g["group"]] = {"horizon": g["horizon"], "members": members, "ids": set(g["ids"])}

    # ---- forecasting ---------------------------------------------------------------------------------------------
    def _group_of(self, s: Series) -> str:
        key = group_key(s, self.opts.groups)
        if key not in self.groups:
            raise ValueError(f"series {s.id!r} ({s.freq}, seasonal period {s.period}) has no model in this run "
                             f"(trained groups: {', '.join(self.groups)})")
        return key

    def forecast_series(self, series: list[Series], horizons: list[int], taus=METRIC_TAUS) -> list[np.ndarray]:
        """Quantiles (h_i, len(taus)) for each series, h_i steps after its end (the hybrid's when the run combines)."""
        return self.forecast_and_rnn(series, horizons, taus)[0]

    def forecast_and_rnn(self, series: list[Series], horizons: list[int],
                         taus=METRIC_TAUS) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(the forecast's quantiles, the RNN ensemble's alone) for each series — the same when the run has no
        partners; a hybrid's are ``combine``d from the ensemble's quantiles at ``mixture_levels(taus)``."""
        taus = tuple(float(t) for t in taus)
        if not self.partners:
            q = self.rnn_quantiles(series, horizons, taus)
            return [_flat_if_constant(s, x, taus) for s, x in zip(series, q)], q
        levels = mixture_levels(taus)
        cols = [levels.index(t) for t in taus]
        rnn = self.rnn_quantiles(series, horizons, levels)
        judged = self.opts.pool_rnn and self.opts.combine_weight < 1  # weight 1 asks for the RNN's point forecast
        paths = self.rnn_paths(series, horizons) if judged else [None] * len(series)
        hybrid = []
        for s, q, p in zip(series, rnn, paths):
            partners, rnn_pooled = hybrid_parts(self.partners, s.values, s.period, len(q), s.id, p,
                                                self.opts.pool_weights)
            hybrid.append(combine(q, levels, partners, self.opts.combine_weight, rnn_pooled)[:, cols])
        return [_flat_if_constant(s, q, taus) for s, q in zip(series, hybrid)], [q[:, cols] for q in rnn]

    def rnn_quantiles(self, series: list[Series], horizons: list[int], taus=METRIC_TAUS) -> list[np.ndarray]:
        """The RNN ensemble's quantiles (h_i, len(taus)) for each series, h_i steps after its end."""
        q = self._ensemble(series, horizons, taus, lambda s: [len(s)])
        return [None if x is None else x[0] for x in q]

    def rnn_paths(self, series: list[Series], horizons: list[int]) -> list[np.ndarray | None]:
        """The RNN ensemble's in-sample point forecasts (len(rnn_origins(n)), h_i) of each series of at least
        ``POOL_MIN_VALUES`` values, from each cut in ``rnn_origins`` — what the hybrid's pool judges it by
        (``forecast_pool.hybrid_parts``); None for a shorter series."""
        q = self._ensemble(series, horizons, (0.5,),
                           lambda s: rnn_origins(len(s)) if len(s) >= POOL_MIN_VALUES else ())
        return [None if x is None or not len(x) else x[:, :, 0] for x in q]

    def _ensemble(self, series: list[Series], horizons: list[int], taus, cuts_of) -> list[np.ndarray | None]:
        """For each series s, the ensemble's quantiles (windows, h_i, len(taus)) of its windows at the cuts
        ``cuts_of(s)`` (a cut c: the forecast after its first c values) — the median over its group's members'."""
        taus = tuple(float(t) for t in taus)
        out: list = [None] * len(series)
        for key, group in self.groups.items():
            idx = [i for i, s in enumerate(series) if self._group_of(s) == key]
            if not idx:
                continue
            H = group["horizon"]
            for i in idx:
                if horizons[i] > H:
                    raise ValueError(f"series {series[i].id!r}: horizon {horizons[i]} is larger than the {H} steps "
                                     f"the {key!r} model was trained for (retrain with --horizon {horizons[i]})")
                if len(series[i]) < 1:
                    raise ValueError(f"series {series[i].id!r} has no values")
            _check_positive([series[i] for i in idx], group["members"], key)
            part = [series[i] for i in idx]
            for s in part:
                self.features.check_dates(s)
            per_series = [list(cuts_of(s)) for s in part]
            cuts = [(k, c, 0) for k, mine in enumerate(per_series) for c in mine]
            per_member = []
            for m, model in enumerate(group["members"]):
                windows = SeriesWindows(part, model.L, H, self.features, cuts)
                per_member.append(window_quantiles(model, windows, taus, self.opts.samples, self.opts.seed + m))
            q = np.median(np.stack(per_member), 0)
            q = np.sort(q, -1)  # the members' medians per level stay ordered
            ends = np.cumsum([len(mine) for mine in per_series])
            for k, i in enumerate(idx):
                out[i] = q[ends[k] - len(per_series[k]):ends[k], :horizons[i]]
        return out

    def forecast_data(self, data=None, horizon: int | None = None, quantiles=(0.1, 0.5, 0.9),
                      fill: str | None = None) -> list[dict]:
        """Rows for every series of ``data`` (a file; default the run's own series, all their values as history);
        ``fill``: see ``history``."""
        return self.forecast_rows(self.history(data, fill), horizon, quantiles)

    def forecast_rows(self, series: list[Series], horizon: int | None = None, quantiles=(0.1, 0.5, 0.9)) -> list[dict]:
        """Rows (id, steps, forecast, quantiles) for each series, ``horizon`` steps (default: its own) after its end;
        ``forecast`` is the point forecast (the 0.5 level) whether or not ``quantiles`` asks for it."""
        asked = quantile_levels(quantiles, median=False)
        levels = tuple(sorted(set(asked) | {0.5}))
        hs = [horizon or self._default_horizon(s) for s in series]
        rows = [self._rows(s, q, levels) for s, q in zip(series, self.forecast_series(series, hs, levels))]
        if 0.5 not in asked:
            for r in rows:
                del r["quantiles"]["0.5"]
        return rows

    def _default_horizon(self, s: Series) -> int:
        """``series_horizon`` (the test part's length, the run's --horizon, else the frequency's convention), the
        convention capped by the steps the model was trained for (weekly runs trained before session 26 had 8)."""
        h = series_horizon(s, self.opts.horizon)
        if s.test is not None or self.opts.horizon:
            return h
        group = self.groups.get(group_key(s, self.opts.groups))
        return min(h, group["horizon"]) if group else h

    def graphs(self) -> list:
        """One ONNX-exportable graph per group: its RNN ensemble from raw windows to quantiles
        (``rnnkit.tasks.forecast_graphs``)."""
        from rnnkit.tasks.forecast_graphs import forecast_graphs

        return forecast_graphs(self.groups, self._group_freqs(), self.config["features"])

    def history(self, data=None, fill: str | None = None) -> list[Series]:
        """The series to forecast: ``data`` (a file or a DataFrame in the run's layout) read as training read its
        data — its gaps and NaN filled by ``fill`` (error, ffill, interpolate, zero; default the run's --fill) — or,
        without ``data``, the run's own series with every value they have (their test parts included)."""
        if data is None:
            out = []
            for s in load_panel_data(self.opts):
                if s.test is None:
                    out.append(s)
                    continue
                stamps = None if s.timestamps is None else s.timestamps.append(future_stamps(s, len(s.test)))
                covs = {k: np.concatenate([v, s.future[k][:len(s.test)]]) for k, v in s.covariates.items()}
                out.append(replace(s, values=np.concatenate([s.values, s.test]), timestamps=stamps, covariates=covs,
                                   future={k: v[len(s.test):] for k, v in s.future.items()}, test=None))
            return out
        return read_series(data, id_col=self.opts.id_col, time_col=self.opts.time_col, value_col=self.opts.value_col,
                           freq=self.opts.freq, fill=fill or self.opts.fill)

    @staticmethod
    def _rows(s: Series, q: np.ndarray, taus) -> dict:
        h = len(q)
        stamps = future_stamps(s, h)
        steps = [t.strftime("%Y-%m-%d %H:%M") if s.freq == "hourly" or t.hour or t.minute else str(t.date())
                 for t in stamps] if stamps is not None else s.positions(len(s), len(s) + h)
        taus = list(taus)
        return {"id": s.id, "steps": steps, "forecast": q[:, taus.index(0.5)].tolist(),
                "quantiles": {f"{t:g}": q[:, j].tolist() for j, t in enumerate(taus)}}

    # ---- the server and 'rnnkit predict' ---------------------------------------------------------------------------
    def info(self) -> dict:
        return {"input": "a series: a list of numbers, or {\"values\": [...], \"freq\": \"monthly\", \"start\": "
                         "\"2024-01-01\", \"horizon\": h, \"quantiles\": [0.1, 0.5, 0.9]}" + (
                             " (start — the first value's date — is needed: the model reads the season's phase from "
                             "the dates)" if self.features.calendar else ""),
                "needs_dates": self.features.calendar,
                "output": "the point forecast (the RNN ensemble's median, or a hybrid's weighted mean with its "
                          "partners) and its quantiles for the next h steps", "streaming": False,
                "frequencies": self._trained_freqs(), "options": {"horizon": None, "quantiles": [0.1, 0.5, 0.9],
                                                                  "freq": None, "start": None, "fill": self.opts.fill},
                "hybrid": {"partners": list(self.partners), "rnn_weight": self.opts.combine_weight,
                           "pool_rnn": self.opts.pool_rnn, "pool_weights": self.opts.pool_weights}
                if self.partners else None}

    def predict_json(self, inputs: list, options: dict | None = None) -> list[dict]:
        """Each input: a list of numbers (null: missing), or {"values": [...], "freq": "monthly", "start":
        "2024-01-01", "horizon": 12, "id": "...", "quantiles": [0.1, 0.5, 0.9], "fill": "interpolate"}; ``options``
        gives defaults for all inputs (horizon, quantiles, freq, start, fill — missing values filled as a file's are,
        by default as the run's --fill). ``start`` dates the values (the first one's date), which a model trained on
        dated series needs: it reads the season's phase from them."""
        options = dict(options or {})
        unknown = set(options) - {"horizon", "quantiles", "freq", "start", "fill"}
        if unknown:
            raise ValueError(f"unknown option(s) {sorted(unknown)}; expected horizon, quantiles, freq, start, fill")
        out = []
        for k, item in enumerate(inputs):
            item = {"values": item} if isinstance(item, list) else item
            if not isinstance(item, dict) or not isinstance(item.get("values"), list):
                raise ValueError(f"input {k}: expected a list of numbers or an object with a 'values' list")
            if len(item["values"]) > MAX_VALUES:
                raise ValueError(f"input {k}: {len(item['values'])} values; the limit is {MAX_VALUES}")
            item = {**options, **item}
            freq = item["freq"] if item.get("freq") is not None else self._only_freq()
            if freq not in FREQUENCIES:
                raise ValueError(f"input {k}: unknown freq {freq!r}; expected one of {', '.join(FREQUENCIES)}")
            try:
                values = [None if v is None else float(v) for v in item["values"]]  # None: missing, as NaN
                s = series_from_values(values, str(item.get("id", f"series{k}")), freq,
                                       fill=item.get("fill") or self.opts.fill, start=item.get("start") or None)
                taus = quantile_levels(item.get("quantiles") or (0.1, 0.5, 0.9))
                h = int(item["horizon"]) if item.get("horizon") is not None else self._default_horizon(s)
            except (TypeError, ValueError) as e:
                raise ValueError(f"input {k}: {e}") from None
            if h < 1:
                raise ValueError(f"input {k}: horizon must be at least 1")
            q = self.forecast_series([s], [h], taus)[0]
            out.append(self._rows(s, q, taus))
        return out

    def _only_freq(self) -> str:
        freqs = {s for s in self._trained_freqs()}
        if len(freqs) == 1:
            return freqs.pop()
        raise ValueError(f"this run has models for several frequencies ({', '.join(sorted(freqs))}): give 'freq'")

    def _group_freqs(self) -> dict[str, list[str]]:
        """Each trained group's frequencies: those ``group_key`` sends to it."""
        out = {key: [] for key in self.groups}
        for f in FREQUENCIES:
            key = group_key(Series("x", np.zeros(1), f, FREQUENCIES[f][0]), self.opts.groups)
            if key in out:
                out[key].append(f)
        return out

    def _trained_freqs(self) -> list[str]:
        trained = {f for freqs in self._group_freqs().values() for f in freqs}
        return [f for f in FREQUENCIES if f in trained]

    def parse_cli(self, text: str):
        """A series as JSON (a list, or an object with "values") or as numbers separated by commas or spaces."""
        import json
        import re

        text = text.strip()
        try:
            if text[:1] in ("[", "{"):
                return json.loads(text)
            return [float(v) for v in re.split(r"[\s,;]+", text) if v]
        except ValueError:
            raise ValueError(f"expected numbers separated by commas or spaces, or JSON (a list of numbers or an "
                             f"object with 'values'), got {text[:60]!r}") from None

    @staticmethod
    def format_cli(text: str, result: dict) -> str:
        return f"{result['id']}: " + ", ".join(f"{v:.4g}" for v in result["forecast"])

    # ---- plots ----------------------------------------------------------------------------------------------------
    def plot(self, rows: list[dict], series: list[Series], path, actuals: list | None = None, max_series: int = 12):
        from rnnkit.tasks.plots import plot_forecasts

        return plot_forecasts(rows, series, path, actuals, max_series)


__all__ = ["Forecaster", "window_quantiles", "METRIC_TAUS"]
