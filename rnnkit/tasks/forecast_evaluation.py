"""Scoring a forecast run: on the test parts (``evaluate``), on new data's last h values, by rolling origin (``backtest``).

Every score is a series' forecast quantiles at ``METRIC_TAUS`` against the values held out after its cut
(``rnnkit.tasks.forecast_metrics``: MASE, sMAPE, MAE, RMSE, scaled quantile loss, CRPS, 80%/95% coverage), averaged
over the series — overall and per frequency.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data.series import Series, split_at
from rnnkit.tasks.forecast_metrics import flatten, panel_scores, series_scores
from rnnkit.tasks.forecaster import METRIC_TAUS, Forecaster


def evaluate_forecaster(run_dir: str | Path, progress: bool = False, by: str = "freq",
                        data: str | Path | None = None, items: bool = False, plot: str | Path | None = None,
                        fill: str | None = None) -> dict:
    """MASE, sMAPE, MAE, RMSE, scaled quantile loss, CRPS and 80%/95% coverage on the test parts: the forecast from the
    end of each training part, compared with its held-out values (overall and per frequency) — or, for ``data`` (new
    series in the run's layout), the forecast of each series' last h values from the values before them. ``items``:
    also each series' own scores (``"items"``); ``plot``: a PNG of the first 12 forecasts against the held-out
    values; ``fill``: gaps and NaN in ``data`` filled so (default the run's --fill)."""
    from rnnkit.tasks.forecast_groups import load_panel_data

    f = Forecaster(run_dir)
    if data is not None:
        full = f.history(data, fill)
        rows = _rolling_origin(f, full, 1)
        if plot is not None:
            _plot_held_out(f, [split_at(s, len(s) - f._default_horizon(s)) for s in full
                               if len(s) - f._default_horizon(s) >= 2], plot)
        named = str(data) if isinstance(data, (str, Path)) else f"a {type(data).__name__} of {len(full)} series"
        return {"data": named} | flatten(panel_scores(rows, by), "test") | ({"items": rows} if items else {})
    series = [s for s in load_panel_data(f.opts) if s.test is not None]
    if not series:
        raise ValueError(f"{run_dir}: the run holds out no test part (test=false): use 'rnnkit backtest'")
    if plot is not None:
        _plot_held_out(f, series, plot)
    qs, rnn = f.forecast_and_rnn(series, [len(s.test) for s in series], METRIC_TAUS)
    rows = series_rows(series, qs, [s.test for s in series])
    result = flatten(panel_scores(rows, by), "test")
    if f.partners:  # what the RNN ensemble alone scores, for comparison (test_rnn_mase, test_rnn_yearly_mase, …)
        result |= flatten(score_test_parts(series, rnn, by), "test_rnn")
    return result | ({"items": rows} if items else {})


def _plot_held_out(f: Forecaster, series: list[Series], path, max_series: int = 12) -> None:
    """The first series' forecasts from the end of their histories, drawn against their held-out ``test`` values."""
    shown = series[:max_series]
    f.plot(f.forecast_rows(shown, None, (0.1, 0.5, 0.9)), shown, path, [s.test for s in shown], max_series)


def series_rows(series: list[Series], qs: list[np.ndarray], targets: list[np.ndarray]) -> list[dict]:
    """Each series' forecast quantiles ``qs`` (levels METRIC_TAUS) scored against its ``targets``: a row per series."""
    return [{"id": s.id, "freq": s.freq, **series_scores(y, q, METRIC_TAUS, s.values, s.period)}
            for s, q, y in zip(series, qs, targets)]


def score_test_parts(series: list[Series], qs: list[np.ndarray], by: str = "freq") -> dict:
    """Each series' forecast quantiles ``qs`` (levels METRIC_TAUS) scored against its test part, averaged over the
    series (``"all"``) and per ``by`` group."""
    return panel_scores(series_rows(series, qs, [s.test for s in series]), by)


def backtest(run_dir: str | Path, origins: int = 3, data=None, fill: str | None = None) -> dict:
    """Rolling origin: for k = 0 … origins−1 the forecast from n − h − k (n = all the values the run knows of each
    series, or ``data``'s — its gaps and NaN filled by ``fill``, default the run's --fill), compared with the h values
    after it; metrics averaged over series and origins."""
    if origins < 1:
        raise ValueError(f"origins must be at least 1, got {origins}")
    f = Forecaster(run_dir)
    result = flatten(panel_scores(_rolling_origin(f, f.history(data, fill), origins), "freq"), "backtest")
    result["backtest_origins"] = origins
    return result


def _rolling_origin(f: Forecaster, full: list[Series], origins: int) -> list[dict]:
    """A row of scores per series and origin: the forecast from n − h − k, k = 0 … origins − 1."""
    rows = []
    for k in range(origins):
        cut_series, hs, targets = [], [], []
        for s in full:
            h = f._default_horizon(s)
            cut = len(s) - h - k
            if cut < 2:
                continue
            cut_series.append(split_at(s, cut))
            hs.append(h)
            targets.append(s.values[cut:cut + h])
        if not cut_series:
            raise ValueError(f"the series are too short for {origins} origins")
        qs = f.forecast_series(cut_series, hs, METRIC_TAUS)
        rows += series_rows(cut_series, qs, targets)
    return rows


__all__ = ["evaluate_forecaster", "score_test_parts", "series_rows", "backtest"]
