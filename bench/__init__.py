"""Benchmarks that print each figure next to a baseline measured in the same run.

`make bench` (or `.venv/bin/python -m bench`) runs them all and prints one table; see
BENCHMARKS.md for what each one measures, its target, and the latest recorded run. They are
never part of `make test`: on a shared 2-core machine only ratios to a same-run baseline mean
anything, and a timed assertion there would be a flaky test.
"""
