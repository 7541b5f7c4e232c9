"""Run rnnkit's benchmarks: ``python -m benchmarks [layers|cells|keras|text|translate|speech|forecast|forecast-files|
export|serve|all] [--quick] [--repeats N]``.

``all`` runs layers, cells and keras; ``text`` (real-data training, about an hour), ``translate`` (about 45 minutes),
``speech`` (about 20 minutes), ``forecast`` (about 45 minutes), ``forecast-files`` (the defaults on small files,
about 20 minutes), ``export`` and ``serve`` run when named."""

import sys

from benchmarks import cells, export, forecast, forecast_files, keras_front, layers, serve, speech, text, translate

suite = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "all"
rest = [a for a in sys.argv[1:] if a != suite]
if suite not in ("layers", "cells", "keras", "text", "translate", "speech", "forecast", "forecast-files", "export",
                 "serve", "all"):
    raise SystemExit(f"unknown benchmark suite {suite!r}; expected layers, cells, keras, text, translate, speech, "
                     "forecast, forecast-files, export, serve or all")
if suite in ("layers", "all"):
    layers.main(rest)
if suite in ("cells", "all"):
    cells.main(rest)
if suite in ("keras", "all"):
    keras_front.main(rest)
if suite == "text":
    text.main(rest)
if suite == "translate":
    translate.main(rest)
if suite == "speech":
    speech.main(rest)
if suite == "forecast":
    forecast.main(rest)
if suite == "forecast-files":
    forecast_files.main(rest)
if suite == "export":
    export.main(rest)
if suite == "serve":
    serve.main(rest)
