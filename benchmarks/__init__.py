"""Benchmark scripts: each prints a table of ratios measured side by side in one run.

Run them all with `python benchmarks/run.py [--quick]`, or one with
`python -m benchmarks.feature_cache [--quick]` from the repository root. Results go to BENCHMARKS.md.
"""
