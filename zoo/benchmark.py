"""Benchmark tasks against their published baselines: train per seed, evaluate on test, summarize.

`benchmark_task` trains a task's default model once per seed with `zoo.fit` and collects the
test report's scalar metrics; `summarize` turns the runs into mean and standard deviation per
metric and sets them beside every published `Baseline`; `format_table` prints the result as
`task | metric | ours (mean ± std) | published | model, citation | train time`. Results are plain
JSON (`save_results` / `load_results`), so a table can be re-printed from saved files without
training again.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import ConfigError
from zoo.tasks.base import Task
from zoo.tasks.registry import get_task, list_tasks

SCHEMA = "vertical_zoo.benchmark/1"


def scalar_metrics(test: dict[str, Any]) -> dict[str, float]:
    """The scalar metrics of a report's `test` section, plus each class's F1 as `f1[<class>]`.

    Args:
        test: dict. `report["test"]` as `zoo.fit` writes it.

    Returns:
        A dict of metric name to float (counts such as `num_examples` are left out).

    Example:
    >>> scalar_metrics({"accuracy": 0.9, "num_examples": 10,
    ...                 "per_class": {"bad": {"f1": 0.5, "precision": 1.0, "recall": 0.33, "support": 3}}})
    {'accuracy': 0.9, 'f1[bad]': 0.5}
    """
    out = {k: float(v) for k, v in test.items()
           if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "num_examples"}
    for name, scores in test.get("per_class", {}).items():
        if scores["f1"] is not None:  # None: the class had no test rows
            out[f"f1[{name}]"] = float(scores["f1"])
    return out


def mean_std(values: Sequence[float]) -> dict[str, Any]:
    """Mean, sample standard deviation (ddof=1; 0 for one value) and the values themselves.

    Example:
    >>> mean_std([1.0, 2.0, 3.0])
    {'mean': 2.0, 'std': 1.0, 'n': 3, 'values': [1.0, 2.0, 3.0]}
    """
    arr = np.asarray(values, dtype="float64")
    std = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return {"mean": float(arr.mean()), "std": std, "n": int(len(arr)), "values": [float(v) for v in arr]}


def summarize(task: Task, runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate per-seed runs of one task and compare the means with its published baselines.

    Args:
        task: `Task`. The task as trained (after overrides).
        runs: sequence of dict. One per seed, each with `seed`, `metrics` (from `scalar_metrics`),
            `train_seconds` and `epochs_run`.

    Returns:
        A JSON-serializable dict: `task`, `primary_metric`, `model`, `runs`, `metrics` (mean/std
        per metric), `train_seconds` (mean/std) and `baselines` (each with `ours_mean`,
        `ours_std` and `beaten`, judged on the mean).

    Example:
    >>> t = get_task("medical/breast_cancer_diagnosis")
    >>> runs = [{"seed": s, "metrics": {"accuracy": a}, "train_seconds": 2.0, "epochs_run": 5}
    ...         for s, a in enumerate([0.96, 0.98])]
    >>> s = summarize(t, runs)
    >>> round(s["metrics"]["accuracy"]["mean"], 3), s["baselines"][0]["beaten"]
    (0.97, False)
    """
    names = sorted({k for r in runs for k in r["metrics"]})
    metrics = {k: mean_std([r["metrics"][k] for r in runs if k in r["metrics"]]) for k in names}
    baselines = []
    for b in task.baselines:
        ours = metrics.get(b.metric)
        baselines.append({
            **dataclasses.asdict(b),
            "ours_mean": None if ours is None else ours["mean"],
            "ours_std": None if ours is None else ours["std"],
            "beaten": None if ours is None else bool(b.beaten_by(ours["mean"])),
        })
    return {
        "task": task.name,
        "industry": task.industry,
        "modality": task.modality,
        "dataset": task.dataset,
        "primary_metric": task.primary_metric,
        "model": {"backbone": task.backbone.name, "params": task.backbone.params, "preset": task.backbone.preset,
                  "head": task.head.kind,
                  "training": dataclasses.asdict(task.training), "data_options": task.data_options,
                  "preprocessing": task.preprocessing},
        "seeds": [r["seed"] for r in runs],
        "runs": list(runs),
        "metrics": metrics,
        "train_seconds": mean_std([r["train_seconds"] for r in runs]),
        "baselines": baselines,
    }


def benchmark_task(
    task: Task | str,
    seeds: Iterable[int] = (0, 1, 2),
    *,
    log: Callable[[str], None] | None = None,
    **fit_kwargs: Any,
) -> dict[str, Any]:
    """Train `task`'s default model once per seed, evaluate each on the test split, summarize.

    Args:
        task: `Task` or a registered task name.
        seeds: iterable of int. One training run per seed (seeds also choose the split of datasets
            without an official one, so the spread includes split variance).
        log: optional callable taking a str. Progress messages (e.g. `print` to stderr).
        **fit_kwargs: passed to `zoo.fit` (`epochs=`, `out_dir=`, `max_train_examples=`, ...).

    Returns:
        The dict of `summarize`, plus `data_split` (the first run's split description).

    Example:
    >>> import tempfile
    >>> r = benchmark_task("medical/breast_cancer_diagnosis", seeds=[0], epochs=1, verbose=0,
    ...                    max_train_examples=64, out_dir=tempfile.mkdtemp())
    >>> r["seeds"], 0.0 <= r["metrics"]["accuracy"]["mean"] <= 1.0
    ([0], True)
    """
    from zoo.harness import fit

    seeds = list(seeds)
    if not seeds:
        raise ConfigError("seeds: give at least one seed to benchmark (--seeds N with N >= 1).")
    task = get_task(task) if isinstance(task, str) else task
    runs, split = [], ""
    for seed in seeds:
        started = time.perf_counter()
        run = fit(task, seed=seed, **fit_kwargs)
        report, trained = run.report, run.task  # as trained: the overrides and any preset applied
        split = split or report.get("split", "")
        runs.append({
            "seed": int(seed),
            "metrics": scalar_metrics(report["test"]),
            "train_seconds": float(report["train_seconds"]),
            "wall_seconds": time.perf_counter() - started,
            "epochs_run": int(report["epochs_run"]),
            "run_dir": str(run.run_dir),
        })
        if log:
            primary = runs[-1]["metrics"].get(task.primary_metric, float("nan"))
            log(f"{task.name} seed {seed}: {task.primary_metric} {primary:.4f}, "
                f"{runs[-1]['epochs_run']} epochs, {runs[-1]['train_seconds']:.0f} s training")
        del run
    return {**summarize(trained, runs), "data_split": split}


def default_tasks() -> list[str]:
    """Every registered task with data of its own (the generic bring-your-own-data tasks need `--data`).

    Example:
    >>> "finance/sentiment" in default_tasks(), "tabular/classification" in default_tasks()
    (True, False)
    """
    return [n for n in list_tasks() if get_task(n).industry != "generic"]


def environment(command: Sequence[str] | None = None) -> dict[str, Any]:
    """Where and when a benchmark ran: date (UTC), command, versions, CPU count, platform.

    Example:
    >>> sorted(environment(["zoo", "benchmark"]))[:3]
    ['command', 'cpu_count', 'date']
    """
    import keras
    import tensorflow as tf

    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(command if command is not None else sys.argv),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }


def save_results(results: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write benchmark results (`{"schema", "environment", "tasks": [...]}`) as indented JSON.

    Example:
    >>> import tempfile
    >>> p = save_results({"schema": SCHEMA, "environment": {}, "tasks": []}, Path(tempfile.mkdtemp()) / "r.json")
    >>> load_results([p])["tasks"]
    []
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=_json_default) + "\n")
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def load_results(paths: Iterable[str | os.PathLike]) -> dict[str, Any]:
    """Merge saved benchmark files into one result (tasks in file order; environments listed).

    Example:
    >>> load_results([])
    {'schema': 'vertical_zoo.benchmark/1', 'environment': [], 'tasks': []}
    """
    merged: dict[str, Any] = {"schema": SCHEMA, "environment": [], "tasks": []}
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise ConfigError(f"{path}: no such file; expected a file written by `zoo benchmark ... --output FILE`.")
        try:
            data = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path}: not JSON ({error}); expected a file written by `zoo benchmark --output`.") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise ConfigError(f"{path}: not a benchmark result (schema {found!r}, expected {SCHEMA!r}); a run's "
                              "report.json is read by `zoo report`, not `zoo benchmark --from`.")
        env = data.get("environment")
        merged["environment"] += env if isinstance(env, list) else [env]
        merged["tasks"] += data.get("tasks", [])
    return merged


def _number(value: float | None, metric: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    digits = 2 if metric in ("rmse", "mae", "phm08_score") and abs(value) >= 10 else 3
    return f"{value:.{digits}f}"


def table_rows(result: dict[str, Any], extra_metrics: Sequence[str] = ()) -> list[list[str]]:
    """Rows `[task, metric, ours, published, model/citation, train time]` of one task's result.

    The primary metric comes first (with "-" as published when no baseline reports it), then
    one row per published baseline, then a row per metric of `extra_metrics` the runs measured
    (e.g. `"f1[failure]"`) that is not shown yet.

    Example:
    >>> t = get_task("medical/breast_cancer_diagnosis")
    >>> r = summarize(t, [{"seed": 0, "metrics": {"accuracy": 0.97, "macro_f1": 0.96}, "train_seconds": 3.0,
    ...                    "epochs_run": 9}])
    >>> [row[:4] for row in table_rows(r, ["macro_f1"])]  # doctest: +NORMALIZE_WHITESPACE
    [['medical/breast_cancer_diagnosis', 'accuracy', '0.970 (1 seed)', '0.975 (short)'],
     ['medical/breast_cancer_diagnosis', 'macro_f1', '0.960 (1 seed)', '-']]
    """
    seconds = result["train_seconds"]
    one_seed = len(result.get("seeds", [])) == 1  # no spread to state: "± 0" would claim there is none
    time_text = f"{seconds['mean']:.0f} s (1 seed)" if one_seed else f"{seconds['mean']:.0f} ± {seconds['std']:.0f} s"
    primary = result["primary_metric"]
    unpublished = {"value": None, "model": "no published figure", "citation": "", "beaten": None}
    baselines = list(result["baselines"])
    if not any(b["metric"] == primary for b in baselines):
        baselines.insert(0, {**unpublished, "metric": primary})
    baselines.sort(key=lambda b: b["metric"] != primary)  # stable: primary first, then as listed
    shown = {b["metric"] for b in baselines}
    baselines += [{**unpublished, "metric": m} for m in extra_metrics if m in result["metrics"] and m not in shown]
    rows = []
    for b in baselines:
        ours = result["metrics"].get(b["metric"])
        spread = " (1 seed)" if one_seed else f" ± {_number(ours['std'], b['metric'])}" if ours else ""
        ours_text = "-" if ours is None else _number(ours["mean"], b["metric"]) + spread
        verdict = {True: " (met)", False: " (short)", None: ""}[b["beaten"]]
        published = "-" if b["value"] is None else f"{b['value']}{verdict}"
        who = b["model"] + (f"; {b['citation']}" if b["citation"] else "")
        rows.append([result["task"], b["metric"], ours_text, published, who, time_text])
    return rows


def format_table(results: dict[str, Any], markdown: bool = False, extra_metrics: Sequence[str] = ()) -> str:
    """The benchmark table: `task | metric | ours (mean ± std over seeds) | published | model, citation | train time`.

    Args:
        results: dict. `{"tasks": [...]}` as `run_benchmark` returns or `load_results` reads.
        markdown: bool. A Markdown table (for BENCHMARKS.md) instead of aligned text.
        extra_metrics: sequence of str. More measured metrics to show (see `table_rows`).

    Example:
    >>> t = get_task("medical/breast_cancer_diagnosis")
    >>> r = summarize(t, [{"seed": 0, "metrics": {"accuracy": 0.97}, "train_seconds": 3.0, "epochs_run": 9}])
    >>> print(format_table({"tasks": [r]}, markdown=True).splitlines()[0])
    | task | metric | ours (mean ± std) | published | model, citation | train time / seed |
    """
    header = ["task", "metric", "ours (mean ± std)", "published", "model, citation", "train time / seed"]
    rows = [row for r in results["tasks"] for row in table_rows(r, extra_metrics)]
    skipped = [(s["task"], s["reason"]) for s in results.get("skipped", [])]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    else:
        widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=False)]
        widths[4] = min(widths[4], 70)
        fmt = lambda row: " | ".join(c[:w].ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()  # noqa: E731
        lines = [fmt(header), "-+-".join("-" * w for w in widths)] + [fmt(row) for row in rows]
    lines += [f"skipped {task}: {reason}" for task, reason in skipped]
    return "\n".join(lines)


def run_benchmark(
    tasks: Sequence[Task | str],
    seeds: Sequence[int] = (0, 1, 2),
    *,
    skip_missing_data: bool = False,
    log: Callable[[str], None] | None = None,
    **fit_kwargs: Any,
) -> dict[str, Any]:
    """Benchmark several tasks one after another (sequentially: CPU time is shared).

    Args:
        tasks: sequence of `Task` or task names.
        seeds: sequence of int. Seeds of every task.
        skip_missing_data: bool. Record a task whose dataset is not found under `skipped`
            (with the reason) instead of raising `DataNotFoundError`.
        log: optional callable taking a str. Progress messages.
        **fit_kwargs: passed to `zoo.fit`.

    Returns:
        `{"schema", "environment", "tasks": [...], "skipped": [...]}` (JSON-serializable).

    Example:
    >>> import tempfile
    >>> r = run_benchmark(["medical/breast_cancer_diagnosis"], seeds=[0], epochs=1, verbose=0,
    ...                   max_train_examples=64, out_dir=tempfile.mkdtemp())
    >>> [t["task"] for t in r["tasks"]], r["skipped"]
    (['medical/breast_cancer_diagnosis'], [])
    """
    from zoo.errors import DataNotFoundError

    results: dict[str, Any] = {"schema": SCHEMA, "environment": environment(), "tasks": [], "skipped": []}
    for task in tasks:
        name = task if isinstance(task, str) else task.name
        try:
            results["tasks"].append(benchmark_task(task, seeds, log=log, **fit_kwargs))
        except DataNotFoundError as error:
            if not skip_missing_data:
                raise
            results["skipped"].append({"task": name, "reason": str(error).splitlines()[0]})
            if log:
                log(f"{name}: skipped, {results['skipped'][-1]['reason']}")
    return results
