"""Run every benchmark script, one fresh process each, and print their tables.

    python benchmarks/run.py [--quick] [--only NAME ...]

`--quick` runs each on small sizes (the same ratios, less precise). Scripts are run from the
repository root as `python -m benchmarks.NAME`, so this file works from any directory. Others'
scripts (scaling_replicas, transfer_matrix) run too when present.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = [
    "harness_overhead",
    "feature_cache",
    "transformer_flops",
    "reference_backbones",
    "input_pipeline",
    "export_inference",
    "xla_precision",
    "scaling",
    "peak_memory",
    "scaling_replicas",
    "transfer_matrix",
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmark scripts and print their tables.")
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--only", nargs="+", choices=SCRIPTS, help="run only these scripts")
    args = parser.parse_args(argv)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    failed = []
    for name in args.only or SCRIPTS:
        if not (ROOT / "benchmarks" / f"{name}.py").is_file():
            continue
        start = time.perf_counter()
        command = [sys.executable, "-m", f"benchmarks.{name}", *(["--quick"] if args.quick else [])]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        print(done.stdout, end="", flush=True)
        print(f"_{name}: {time.perf_counter() - start:.0f} s_\n", flush=True)
        if done.returncode:
            failed.append(name)
            print(done.stderr[-3000:], file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
