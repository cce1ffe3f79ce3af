"""Benchmarks of cpemu. Run them with `make bench` (full) or `make demo` (short).

Each benchmark prints a table and writes its results as JSON under `bench/results/`, with the
machine they ran on. `python -m bench.store --help` lists the store benchmark's options.
Benchmarks are scripts, never timed tests.
"""
