"""Benchmark scripts: each prints a table of ratios measured side by side in one run.

Run the speed suite with `python benchmarks/run.py [--quick]` (one process), or one script with
`python -m benchmarks.feature_cache [--quick]` from the repository root. Results go to BENCHMARKS.md.
"""
