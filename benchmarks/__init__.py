"""rnnkit benchmarks: ``python -m benchmarks [layers] [--quick]`` (or ``make bench``)."""
