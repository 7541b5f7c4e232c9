"""Run rnnkit's benchmarks: ``python -m benchmarks [--quick]``."""

from benchmarks.layers import main

main()
