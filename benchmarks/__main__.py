"""Run rnnkit's benchmarks: ``python -m benchmarks [layers|keras|all] [--quick] [--repeats N]``."""

import sys

from benchmarks import keras_front, layers

suite = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "all"
rest = [a for a in sys.argv[1:] if a != suite]
if suite not in ("layers", "keras", "all"):
    raise SystemExit(f"unknown benchmark suite {suite!r}; expected layers, keras or all")
if suite in ("layers", "all"):
    layers.main(rest)
if suite in ("keras", "all"):
    keras_front.main(rest)
