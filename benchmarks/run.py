"""Run the speed benchmarks in one process and print their tables.

    python benchmarks/run.py [--quick] [--only NAME ...]

The speed suite is SPEED. `--quick` runs QUICK, the ratios the speed issue asks of it (harness
overhead, feature caching, FLOP rate, reference backbones, input pipeline, exported inference, peak
memory), on small sizes: less precise; 103-116 s on 2 cores here (the issue asks under 2 minutes; most of it
is tracing each model's first training step, see BENCHMARKS.md). Scripts run in this process,
one after another (TensorFlow starts once; Keras's state is cleared between scripts); only what must
be measured in a fresh process (peak memory, thread settings) starts one. The longer studies (EXTRA:
scaling across replicas, the transfer matrix) run only when named with `--only`. Works from any
directory.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEED = [
    "harness_overhead",
    "first_epoch",
    "feature_cache",
    "transformer_flops",
    "reference_backbones",
    "input_pipeline",
    "export_inference",
    "xla_precision",
    "scaling",
    "peak_memory",
]
QUICK = [name for name in SPEED if name not in ("first_epoch", "xla_precision", "scaling")]
EXTRA = ["scaling_replicas", "transfer_matrix"]


def main(argv: list[str] | None = None) -> int:
    """Run the named benchmark scripts (default: SPEED, or QUICK with `--quick`); 1 if any failed.

    Example:
        python benchmarks/run.py --quick --only harness_overhead
    """
    parser = argparse.ArgumentParser(description="Run the benchmark scripts and print their tables.")
    parser.add_argument("--quick", action="store_true", help="small sizes, the issue's seven ratios (about 2 minutes)")
    parser.add_argument("--only", nargs="+", choices=SPEED + EXTRA, help="run only these scripts")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.chdir(ROOT)  # the scripts' child processes run `python -m benchmarks.NAME` from here
    sys.path.insert(0, str(ROOT))
    import keras

    failed, start = [], time.perf_counter()
    for name in args.only or (QUICK if args.quick else SPEED):
        began = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{name}").main(["--quick"] if args.quick else [])
        except Exception:  # noqa: BLE001 - one failed script is reported, the others still run
            failed.append(name)
            traceback.print_exc()
        keras.backend.clear_session()
        gc.collect()
        print(f"_{name}: {time.perf_counter() - began:.0f} s_\n", flush=True)
    print(f"_all: {time.perf_counter() - start:.0f} s_", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
