"""Peak memory (resident set size from the OS: /proc's VmHWM, or `resource.getrusage`) of training each registered
task on a small slice, one fresh process per task, beside the cost of importing zoo + TensorFlow
(each child's peak before it trains).

    python -m benchmarks.peak_memory [--quick]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB: VmHWM from /proc (Linux), else `ru_maxrss`.

    Not `ru_maxrss` on Linux: it survives exec, so a child of a large process (the benchmark
    runner, with TensorFlow loaded) would report its parent's size as its own peak.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux, bytes on macOS


def child(task: str, examples: int) -> None:
    import tempfile

    import zoo

    imported = peak_rss_mib()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        zoo.fit(task, out_dir=out, epochs=1, max_train_examples=examples, verbose=0)
    print(json.dumps({"import_mib": imported, "peak_mib": peak_rss_mib(), "seconds": time.perf_counter() - start}))


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return child(argv[1], int(argv[2]))
    from benchmarks.common import header, parse_args, print_table
    from zoo.tasks import list_tasks

    args = parse_args(__doc__.splitlines()[0], argv)
    header("Peak memory of training each task on a small slice", args.quick)
    examples = 200 if args.quick else 2000
    rows, imported = [], []
    for task in ["medical/breast_cancer_diagnosis"] if args.quick else list_tasks():
        out = subprocess.run([sys.executable, "-m", "benchmarks.peak_memory", "--child", task, str(examples)],
                             capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        if out.returncode:
            last = out.stderr.strip().splitlines()[-1]
            note = "skipped: a bring-your-own-data task" if "reads your own file" in last else f"fails: {last[:80]}"
            rows.append([task, "-", "-", note])
            continue
        result = json.loads(out.stdout.strip().splitlines()[-1])
        imported.append(result["import_mib"])
        rows.append([task, f"{result['peak_mib']:.0f}", f"{result['seconds']:.1f}", ""])
    rows.insert(0, ["(import zoo + TensorFlow only: the largest child's peak before training)",
                    f"{max(imported):.0f}" if imported else "-", "-", ""])
    print(f"One epoch on at most {examples} training examples (validation and test splits in full), "
          "float32, one process per row.\n")
    print_table(["task", "peak RSS MiB", "fit + report s", "notes"], rows)


if __name__ == "__main__":
    main()
