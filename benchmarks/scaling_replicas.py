"""Scaling across replicas on CPU: training throughput (examples/s) with 1 and 2 replicas, through
`model.fit` and `zoo.harness.distributed.custom_fit`, with MirroredStrategy on 2 logical CPU devices
and MultiWorkerMirroredStrategy with 2 worker processes on 127.0.0.1; same global batch on every row.

    python -m benchmarks.scaling_replicas [--quick]

Each setup runs in fresh processes (logical devices and TF_CONFIG must be set before TensorFlow
starts). CPU numbers do not predict GPU scaling: here the replicas share the same 2 cores, so
they show the cost of the distribution machinery (splitting batches, all-reduce, and, across
processes, gRPC on loopback), not a speed-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import EpochTimer, header, median, parse_args, print_table
from zoo.harness.distributed import launch_local_workers, use_logical_cpus

ROOT = Path(__file__).resolve().parents[1]
# family: (training examples, quick, global batch)
WORKLOADS = {"cnn": (2048, 512, 64), "tabular": (8192, 2048, 256)}
SETUPS = [  # name, strategy, replicas, loops
    ("1 replica (default strategy)", "default", 1, ("fit", "custom_fit")),
    ("MirroredStrategy, 2 logical CPUs", "mirrored", 2, ("fit", "custom_fit")),
    ("MultiWorkerMirroredStrategy, 2 workers", "multi-worker", 2, ("custom_fit",)),
]


def measure(strategy_name: str, quick: bool) -> dict[str, dict[str, dict[str, float]]]:
    """In a fresh process: per family and loop, examples per epoch and the median wall and CPU
    seconds (this process, all threads) of the epochs after the first (which traces)."""
    from benchmarks.common import family_model, synthetic_data
    from zoo.harness.distributed import custom_fit
    from zoo.harness.pipeline import make_dataset
    from zoo.harness.strategy import get_strategy

    strategy = get_strategy(strategy_name)  # mirrored: over the 2 logical CPU devices
    loops = next(s[3] for s in SETUPS if s[1] == strategy_name)
    epochs = 3 if quick else 4  # the first is warm-up (tracing)
    result: dict[str, dict[str, dict[str, float]]] = {}
    for family, (n, n_quick, batch) in WORKLOADS.items():
        data = synthetic_data(family, n_quick if quick else n)
        train = make_dataset(data.train.x, data.train.y, batch, shuffle=True, seed=0)
        for loop in loops:
            with strategy.scope():
                model = family_model(family, data)
            timer = EpochTimer()
            if loop == "fit":
                model.fit(train, epochs=epochs, callbacks=[timer], verbose=0, shuffle=False)
            else:
                custom_fit(model, train, strategy=strategy, epochs=epochs, callbacks=[timer], verbose=0)
            result.setdefault(family, {})[loop] = {"examples": len(data.train), "wall": median(timer.seconds[1:]),
                                                   "cpu": median(timer.cpu_seconds[1:])}
    return result


def run_setup(strategy_name: str, replicas: int, quick: bool) -> dict[str, Any]:
    """Run `measure` for one setup in fresh processes (one per worker): the chief's wall time, and
    the CPU time of all processes together."""
    argv = ["-m", "benchmarks.scaling_replicas", "--worker", strategy_name] + (["--quick"] if quick else [])
    if strategy_name == "multi-worker":
        outs = launch_local_workers(argv, replicas, timeout=3600, cwd=ROOT)
    else:
        done = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=3600)
        if done.returncode:
            raise RuntimeError(f"{strategy_name} failed:\n{done.stderr[-3000:]}")
        outs = [done.stdout]
    chief, *others = (json.loads(out.splitlines()[-1]) for out in outs)
    for other in others:
        for family, loops in other.items():
            for loop, timing in loops.items():
                chief[family][loop]["cpu"] += timing["cpu"]
    return chief


def main(argv=None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv, worker=(str, None, "internal: measure one setup in this process"))
    if args.worker:
        if args.worker == "mirrored":
            use_logical_cpus(2)
        print(json.dumps(measure(args.worker, args.quick)))
        return
    header("Scaling across replicas (CPU)", args.quick)
    results = {name: run_setup(strategy, replicas, args.quick) for name, strategy, replicas, _ in SETUPS}
    rows = []
    for family, (_, _, batch) in WORKLOADS.items():
        for name, _, replicas, loops in SETUPS:
            for loop in loops:
                one, this = results[SETUPS[0][0]][family][loop], results[name][family][loop]
                speedup = one["wall"] / this["wall"]
                rows.append([f"{family} ({this['examples']:,}, batch {batch})", name, loop, replicas,
                             f"{this['examples'] / this['wall']:,.0f}", speedup, speedup / replicas,
                             f"{this['examples'] / this['cpu']:,.0f}", this["cpu"] / one["cpu"]])
    print("Synthetic data shaped as each family's default task (benchmarks.common), the harness's own model "
          "(build_model) and pipeline (make_dataset); median of the epochs after the first.\n")
    print_table(["workload (examples, global batch)", "setup", "loop", "replicas", "examples/s",
                 "speed-up vs 1 replica", "scaling efficiency", "examples per CPU-s", "CPU cost vs 1 replica"], rows)
    print("Scaling efficiency = speed-up / replicas (1.0 = linear). CPU columns count the CPU time of every "
          "process of the setup (both workers), which other users' load hardly changes. On one 2-core CPU the replicas share the "
          "same cores, so values below 1 measure the distribution overhead, not what GPUs or a cluster gain; "
          "multi-worker adds gRPC all-reduce on loopback every step. Keras's `fit` cannot run multi-worker "
          "(keras#20585), hence custom_fit only on that row.")


if __name__ == "__main__":
    main()
