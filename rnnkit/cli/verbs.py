"""The verbs that take a trained run folder: ``evaluate`` (any task), ``predict`` (classifiers), ``generate`` (language
models), ``translate`` (translators), ``transcribe`` (speech recognisers), ``forecast`` and ``backtest``
(forecasters). A run folder of another task is refused with a message that says what it is and which verb it takes."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import typer

from rnnkit.cli.common import USER_ERRORS, echo_metrics, fail

FILL_HELP = ("what to do with gaps and NaN in --data: ffill, interpolate, zero or error (default: the run's "
             "--fill)")


def evaluate(run_dir: Path = typer.Argument(..., help="a run folder written by 'rnnkit train' (any task)"),
             data: Path = typer.Option(None, "--data", help="new held-out data to score instead, in any layout the "
                                                            "task trains on (labelled texts, a text, pairs, "
                                                            "recordings, series: each series' last h values)"),
             target: Path = typer.Option(None, "--target", help="translation from two aligned text files: the "
                                                                "target side of --data"),
             out: Path = typer.Option(None, "--out", help="also write each scored item (.csv or .jsonl): a text with "
                                                         "its label and the predicted one, a pair or a recording "
                                                         "with its outputs, a series with its scores"),
             plot: Path = typer.Option(None, "--plot", help="a PNG of the scored part: a classifier's confusion "
                                                           "matrix, a forecaster's first 12 forecasts against the "
                                                           "held-out values"),
             fill: str = typer.Option(None, "--fill", help="series runs: " + FILL_HELP)) -> None:
    """Reload a trained run and report its metrics on its held-out data (validation, and test where the data has one),
    or on new held-out data (--data), scored as its test set."""
    from rnnkit.tasks import registry

    try:
        check_table(out, "--out")
        task = registry.task_of(run_dir)
        typer.echo(f"{run_dir}: {task.name} run ({task.summary})", err=True)
        takes = inspect.signature(task.evaluate).parameters  # what this task's evaluate can do
        if target is not None and "target" not in takes:
            raise ValueError(f"--target is the target side of a translation test set; {run_dir} is a {task.name!r} run")
        if target is not None and data is None:
            raise ValueError("--target needs --data (the source side)")
        if out is not None and "items" not in takes:
            raise ValueError(f"--out: a {task.name!r} run is scored as a whole; it has no items to write")
        if fill is not None and "fill" not in takes:
            raise ValueError(f"--fill fills gaps and NaN in new series given with --data; {run_dir} is a {task.name!r} "
                             "run")
        if fill is not None and data is None:
            raise ValueError("--fill needs --data (the series to score)")
        if plot is not None and "plot" not in takes:
            raise ValueError(f"--plot: a {task.name!r} run's evaluation draws no plot" + (
                f" (see 'rnnkit {task.verbs[0]} --help' for its plots)" if task.verbs else ""))
        extra = ({"target": target} if target is not None else {}) | ({"items": True} if out is not None else {}) | (
            {"plot": plot} if plot is not None else {}) | ({"fill": fill} if fill is not None else {})
        metrics = registry.evaluate(run_dir, data, progress=True, **extra)
        if out is not None:
            write_rows(out, metrics.pop("items"))
            typer.echo(f"each item written to {out}", err=True)
        if plot is not None:
            typer.echo(f"plot written to {plot}", err=True)
    except USER_ERRORS as e:
        raise fail(e) from None
    echo_metrics(metrics)


def predict(run_dir: Path = typer.Argument(..., help="a run folder written by 'rnnkit train' (any task)"),
            inputs: list[str] = typer.Argument(None, help="inputs: texts (classify), prompts (lm), JSON sequences such "
                                                          "as '[[0.1, 0.2], [0.3, 0.4]]' (config runs)"),
            file: Path = typer.Option(None, "--file", help="also read inputs from this UTF-8 file: one per line, or "
                                                           "a classifier's CSV/TSV/JSONL (the run's text column)"),
            out: Path = typer.Option(None, "--out", help="write the predictions to this file instead: .csv (a "
                                                         "column per field, one per label's probability) or "
                                                         ".jsonl")) -> None:
    """Run a trained model on inputs, whatever its task: a classifier prints label and probabilities, a language model
    the prompt's continuation (see 'rnnkit generate' for the sampling options), a config run its prediction as JSON."""
    from rnnkit.tasks import registry

    try:
        check_table(out, "--out")
        predictor = registry.load(run_dir)
        texts = list(inputs or [])
        if file is not None:
            texts += read_inputs(predictor, file)
        if not texts:
            raise ValueError("nothing to predict: give inputs as arguments or --file")
        results = predictor.predict_json([predictor.parse_cli(t) for t in texts])
        if out is not None:
            write_predictions(out, texts, results)
            typer.echo(f"{len(results)} predictions written to {out}", err=True)
            return
        for t, result in zip(texts, results):
            typer.echo(predictor.format_cli(t, result))
    except USER_ERRORS as e:
        raise fail(e) from None


def read_inputs(predictor, file: Path) -> list[str]:
    """A classifier's table (CSV/TSV/JSONL: the run's text column), else one input per line."""
    from rnnkit.data.readers import read_examples, read_text

    if predictor.task == "classify" and file.suffix.lower() in (".csv", ".tsv", ".tab", ".jsonl", ".ndjson"):
        return [e.text for e in read_examples(file, predictor.config["options"].get("text_col", "text"), None)]
    return [e.text for e in read_text(file, per_line=True)]


def check_table(path: Path | None, option: str) -> None:
    if path is not None and path.suffix.lower() not in (".csv", ".jsonl"):
        raise ValueError(f"{option} {path}: expected a .csv or .jsonl file")


def write_predictions(out: Path, inputs: list[str], results: list[dict]) -> None:
    """One row per input: the input, then each field of its result (in a CSV, a dict of numbers as one column per
    key — a classifier's probabilities: p_LABEL — and anything else nested as JSON)."""
    import json

    if out.suffix.lower() == ".jsonl":
        return write_rows(out, [{"input": i, **r} for i, r in zip(inputs, results)])
    rows = []
    for i, r in zip(inputs, results):
        row = {"input": i}
        for k, v in r.items():
            if isinstance(v, dict) and all(isinstance(x, (int, float)) for x in v.values()):
                row |= {f"p_{name}" if k == "probabilities" else f"{k}_{name}": x for name, x in v.items()}
            else:
                row[k] = v if isinstance(v, (str, int, float)) or v is None else json.dumps(v, ensure_ascii=False)
        rows.append(row)
    write_rows(out, rows)


def write_rows(out: Path, rows: list[dict]) -> None:
    """Rows (dicts with the same keys) to a CSV file or as JSON lines, written atomically."""
    import json

    from rnnkit.data.series import write_long_csv
    from rnnkit.train.checkpoint import atomic_write_text

    if out.suffix.lower() == ".jsonl":
        atomic_write_text(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    else:
        write_long_csv(out, rows)


def generate(run_dir: Path = typer.Argument(..., help="a run folder written by 'rnnkit train lm'"),
             text: str = typer.Argument(None, metavar="[PROMPT]", help="the text to continue (or --prompt)"),
             prompt: str = typer.Option(None, "--prompt", help="the text to continue (read once, state carried)"),
             length: int = typer.Option(200, min=1, help="tokens to generate"),
             temperature: float = typer.Option(0.8, min=0.0, help="sampling temperature; 0 = greedy (most likely token)"),
             top_k: int = typer.Option(None, "--top-k", min=1, help="sample among the k most likely tokens only"),
             top_p: float = typer.Option(None, "--top-p", min=1e-9, max=1.0,
                                         help="nucleus sampling: the smallest set of tokens whose probability reaches p"),
             seed: int = typer.Option(0, help="random seed for sampling (the same seed gives the same text)")) -> None:
    """Generate text from a language model trained by 'rnnkit train lm', streamed token by token."""
    from rnnkit.tasks.lm import LMPredictor

    if (text is None) == (prompt is None):
        raise typer.BadParameter("give the prompt once: 'rnnkit generate RUN \"text\"' or --prompt \"text\"",
                                 param_hint="PROMPT")
    prompt = prompt if text is None else text
    try:
        predictor = LMPredictor(run_dir)
        unknown = predictor.unknown(prompt)
        if unknown:
            typer.echo(f"warning: the prompt has {len(unknown)} token(s) the model's vocabulary lacks, each read as "
                       f"<unk>: {', '.join(repr(u) for u in unknown[:20])}{' ...' if len(unknown) > 20 else ''}",
                       err=True)
        pieces = predictor.stream(prompt, length, temperature, top_k, top_p, seed)
        sys.stdout.write(prompt)
        for piece in pieces:
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
    except USER_ERRORS as e:
        raise fail(e, newline=True) from None


def translate(run_dir: Path = typer.Argument(..., help="a run folder written by 'rnnkit train translate'"),
              texts: list[str] = typer.Argument(None, help="sentences to translate"),
              file: Path = typer.Option(None, "--file", help="also translate each line of this UTF-8 text file, in order"),
              beam: int = typer.Option(5, min=1, max=64, help="beam size (1: greedy search)"),
              n_best: int = typer.Option(1, "--n-best", min=1, max=64,
                                         help="print this many translations per sentence (score<TAB>text), best first"),
              length_penalty: str = typer.Option("wu", "--length-penalty", help="none, wu (GNMT) or avg"),
              alpha: float = typer.Option(0.6, min=0.0, help="the wu length penalty's exponent"),
              no_repeat_ngram: int = typer.Option(0, "--no-repeat-ngram", min=0,
                                                  help="forbid repeating n-grams of this size (0: off)"),
              attention: Path = typer.Option(None, "--attention",
                                             help="write the first sentence's attention heatmap to this PNG")) -> None:
    """Translate sentences with a model trained by 'rnnkit train translate' (one output line per sentence)."""
    import warnings

    from rnnkit.tasks.translator import Translator

    try:
        translator = Translator(run_dir)
        sentences = list(texts or [])
        if file is not None:
            from rnnkit.data.readers import read_utf8

            sentences += [line.strip() for line in read_utf8(file).splitlines()]
        todo = [s for s in sentences if s]  # a blank line is answered by a blank line: output lines match input lines
        if not todo:
            raise ValueError("nothing to translate: give sentences as arguments or --file")
        search = {"beam": beam, "n_best": n_best, "length_penalty": length_penalty, "alpha": alpha,
                  "no_repeat_ngram": no_repeat_ngram}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            done = iter(translator.translate(todo, progress=file is not None, **search))
            results = [next(done) if s else None for s in sentences]
            if attention is not None:
                translator.plot_attention(todo[0], attention, **search)
        for w in caught:
            typer.echo(f"warning: {w.message}", err=True)
        for found in results:
            if found is None:
                typer.echo("")
            for r in found or ():
                typer.echo(f"{r['score']:.4f}\t{r['text']}" if n_best > 1 else r["text"])
        if attention is not None:
            typer.echo(f"attention heatmap written to {attention}", err=True)
    except USER_ERRORS as e:
        raise fail(e) from None


def transcribe(run_dir: Path = typer.Argument(..., help="a run folder written by 'rnnkit train asr'"),
               files: list[Path] = typer.Argument(..., help="audio files (WAV, FLAC, OGG; any rate, mono or stereo)"),
               beam: int = typer.Option(1, min=1, max=256, help="prefix beam width (1: greedy)"),
               lm: Path = typer.Option(None, "--lm", help="a character language model run ('rnnkit train lm "
                                                          "--tokenizer char') fused into the beam search"),
               alpha: float = typer.Option(0.5, min=0.0, help="the language model's weight α"),
               beta: float = typer.Option(1.0, help="insertion bonus β per character"),
               timestamps: bool = typer.Option(False, "--timestamps", help="print each word's start and end time"),
               stream: bool = typer.Option(False, "--stream", help="read each file in 0.5 s pieces, the state "
                                                                   "carried, printing the text as it grows"),
               plot: Path = typer.Option(None, "--plot", help="write the first file's spectrogram and CTC "
                                                              "posteriors to this PNG")) -> None:
    """Transcribe audio files with a model trained by 'rnnkit train asr'."""
    from rnnkit.data.audio import read_audio
    from rnnkit.tasks.transcriber import Transcriber

    try:
        t = Transcriber(run_dir)
        search = {"beam": beam, "lm": lm, "alpha": alpha, "beta": beta}
        if lm is not None:
            from rnnkit.tasks.transcriber import CharLMScorer

            search["lm"] = CharLMScorer(lm, t.alphabet)
        for f in files:
            prefix = f"{f}: " if len(files) > 1 else ""
            if stream:
                wave, piece = read_audio(f, t.featurizer.sample_rate), t.featurizer.sample_rate // 2
                text = ""
                for text in t.stream((wave[i:i + piece] for i in range(0, len(wave), piece)), **search):
                    typer.echo(f"\r{prefix}{text}", nl=False, err=True)
                typer.echo("", err=True)
                typer.echo(prefix + text)
                continue
            result = t.transcribe([f], timestamps=timestamps, **search)[0]
            typer.echo(prefix + result["text"])
            for w in result.get("words", []):
                typer.echo(f"  {w['start']:7.2f} {w['end']:7.2f}  {w['word']}")
        if plot is not None:
            typer.echo(f"posteriors written to {t.plot(files[0], plot)}", err=True)
    except USER_ERRORS as e:
        raise fail(e) from None


def forecast(run_dir: Path = typer.Argument(..., help="a run folder written by 'rnnkit train forecast'"),
             data: Path = typer.Option(None, "--data", help="series to forecast (long/wide CSV or Parquet, with the "
                                                            "run's column names); default: the run's own, from "
                                                            "the end of all their values"),
             horizon: int = typer.Option(None, min=1, help="steps ahead (default: the run's horizon per series)"),
             quantiles: str = typer.Option("0.1,0.5,0.9", help="quantile levels to write, each in (0, 1) (the "
                                                              "forecast column, the median, is always written)"),
             out: Path = typer.Option(..., "--out", help="the forecast CSV to write: id, timestamp (or step), "
                                                         "forecast (the median), one column per quantile"),
             plot: Path = typer.Option(None, "--plot", help="a PNG of the first 12 series: history, forecast, "
                                                            "intervals"),
             combine: str = typer.Option(None, help="statistical partners averaged with the RNN's forecast (none, a "
                                                    "list of theta, damped, ar, ari, dotm, or auto: theta, dotm, damped "
                                                    "and ar unless the run has covariates); default: the run's "
                                                    "--combine"),
             pool_rnn: bool = typer.Option(None, "--pool-rnn/--no-pool-rnn",
                                           help="leave the RNN out of a hybrid's point forecast on series whose "
                                                "in-sample forecasts it errs on far more than the partners; default: "
                                                "the run's --pool-rnn (on for runs before it existed)"),
             pool_weights: str = typer.Option(None, "--pool-weights",
                                              help="how a hybrid's pool shares the point forecast: equal, or "
                                                   "inverse-mse (by 1 / in-sample error²); default: the run's"),
             fill: str = typer.Option(None, "--fill", help=FILL_HELP)) -> None:
    """Forecast with a model trained by 'rnnkit train forecast'."""
    from rnnkit.data.series import write_long_csv
    from rnnkit.models.forecast_heads import quantile_levels
    from rnnkit.tasks.forecast import parse_floats
    from rnnkit.tasks.forecaster import Forecaster

    try:
        taus = quantile_levels(parse_floats(quantiles, "--quantiles"), "--quantiles", median=False)  # 0.5: forecast
        f = Forecaster(run_dir, combine=combine, pool_rnn=pool_rnn, pool_weights=pool_weights)
        series = f.history(data, fill)
        rows = f.forecast_rows(series, horizon, taus)
        table = []
        for r in rows:
            for j, step in enumerate(r["steps"]):
                table.append({"id": r["id"], "timestamp": step, "forecast": f"{r['forecast'][j]:.6g}",
                              **{f"q{t}": f"{v[j]:.6g}" for t, v in r["quantiles"].items()}})
        write_long_csv(out, table)
        typer.echo(f"{len(rows)} series, {len(table)} forecast rows written to {out}")
        if plot is not None:
            typer.echo(f"plot written to {f.plot(rows, series, plot)}", err=True)
    except USER_ERRORS as e:
        raise fail(e) from None


def backtest(run_dir: Path = typer.Argument(..., help="a run folder written by 'rnnkit train forecast'"),
             origins: int = typer.Option(3, min=1, help="forecast origins, each one step earlier than the last"),
             data: Path = typer.Option(None, "--data", help="series to backtest on (default: the run's own)"),
             fill: str = typer.Option(None, "--fill", help=FILL_HELP)) -> None:
    """Rolling-origin evaluation: MASE, sMAPE, MAE, RMSE, quantile loss, CRPS and interval coverage."""
    from rnnkit.tasks.forecast_evaluation import backtest as run_backtest

    try:
        echo_metrics(run_backtest(run_dir, origins, data, fill))
    except USER_ERRORS as e:
        raise fail(e) from None


def register(app: typer.Typer) -> None:
    for fn in (evaluate, predict, generate, translate, transcribe, forecast, backtest):
        app.command()(fn)
