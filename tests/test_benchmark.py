"""`zoo benchmark` end to end through a subprocess, and the summary arithmetic on real runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo import benchmark
from zoo.cli import main
from zoo.errors import ConfigError
from zoo.tasks import get_task

ROOT = Path(__file__).resolve().parents[1]
TASK = "medical/breast_cancer_diagnosis"  # bundled with scikit-learn: runs anywhere


def zoo_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "zoo", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def benchmark_json(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    done = zoo_cli("benchmark", TASK, "--seeds", "2", "--seed", "3", "--epochs", "2", "--max-train-examples", "100",
                   "--json", "--output", str(folder / "saved.json"), "--out", str(folder / "runs"), cwd=folder)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout), folder


def test_benchmark_prints_only_json_with_one_run_per_seed(benchmark_json):
    results, folder = benchmark_json
    (task,) = results["tasks"]
    assert task["task"] == TASK and task["seeds"] == [3, 4]
    assert all((Path(r["run_dir"]) / "report.json").is_file() for r in task["runs"])
    assert all(Path(r["run_dir"]).is_relative_to(folder / "runs") for r in task["runs"])
    assert all(r["epochs_run"] <= 2 and r["train_seconds"] > 0 for r in task["runs"])
    assert "zoo benchmark" in results["environment"]["command"] and results["environment"]["date"]


def test_benchmark_summary_matches_the_saved_run_reports(benchmark_json):
    results, _ = benchmark_json
    (task,) = results["tasks"]
    accuracies = [json.loads((Path(r["run_dir"]) / "report.json").read_text())["test"]["accuracy"]
                  for r in task["runs"]]
    summary = task["metrics"]["accuracy"]
    assert summary["values"] == pytest.approx(accuracies)
    assert summary["mean"] == pytest.approx(np.mean(accuracies))
    assert summary["std"] == pytest.approx(np.std(accuracies, ddof=1))
    (baseline,) = [b for b in task["baselines"] if b["metric"] == "accuracy"]
    published = get_task(TASK).baselines[0]
    assert baseline["value"] == published.value and baseline["citation"] == published.citation
    assert baseline["beaten"] == published.beaten_by(summary["mean"])


def test_saved_results_reprint_as_a_table_without_training(benchmark_json, capsys):
    results, folder = benchmark_json
    assert json.loads((folder / "saved.json").read_text())["tasks"] == results["tasks"]
    assert main(["benchmark", "--from", str(folder / "saved.json"), "--markdown", "--metric", "macro_f1"]) == 0
    header, rule, *rows = capsys.readouterr().out.splitlines()
    assert header.startswith("| task | metric | ours (mean ± std) | published")
    summary = results["tasks"][0]["metrics"]
    for metric, published in (("accuracy", "0.975"), ("macro_f1", "-")):
        mean, std = summary[metric]["mean"], summary[metric]["std"]
        assert any(row.startswith(f"| {TASK} | {metric} | {mean:.3f} ± {std:.3f} | {published}") for row in rows)


def test_benchmark_without_a_task_is_a_usage_error(capsys):
    assert main(["benchmark"]) == 2
    assert "--all" in capsys.readouterr().err


def test_all_skips_the_bring_your_own_data_tasks():
    names = benchmark.default_tasks()
    assert TASK in names and not any(get_task(n).industry == "generic" for n in names)


def test_from_refuses_what_is_not_a_benchmark_result(tmp_path):
    """A missing file and invalid JSON were bare tracebacks; a run's report.json printed an empty table."""
    load_results = benchmark.load_results
    with pytest.raises(ConfigError, match="no such file"):
        load_results([tmp_path / "none.json"])
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="not JSON"):
        load_results([tmp_path / "bad.json"])
    (tmp_path / "report.json").write_text('{"test": {"accuracy": 0.9}}')
    with pytest.raises(ConfigError, match="not a benchmark result .*zoo report"):
        load_results([tmp_path / "report.json"])


def test_an_unknown_metric_is_named_not_dropped(capsys):
    assert main(["benchmark", "--from", "benchmarks/results/finance_credit_risk.json", "--metric", "nosuch"]) == 0
    assert "no run measured 'nosuch'; measured: " in capsys.readouterr().err
