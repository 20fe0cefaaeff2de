"""Benchmarks of the suite against this machine's own limits: `python -m bench.run [--quick]`."""
