"""Same seed and data, fresh processes: identical metrics and weights on CPU; the run dir says what ran."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.data import breast_cancer, breastmnist
from zoo.data.sources import sha256

ROOT = Path(__file__).resolve().parents[1]
# A tabular MLP (dropout, Adam) and a small CNN (convolutions, BatchNorm), a few steps each.
RUNS = {
    "medical/breast_cancer_diagnosis": {"epochs": 3, "backbone_params": {"hidden_units": [16], "dropout": 0.2}},
    "medical/breastmnist": {"epochs": 1, "max_train_examples": 96, "backbone_params": {"filters": [4, 8]}},
}
SCRIPT = """
import json, sys
import zoo
runs = json.loads(sys.argv[3])
dirs = {t: str(zoo.fit(t, out_dir=sys.argv[1], seed=int(sys.argv[2]), verbose=0, **kw).run_dir) for t, kw in runs.items()}
print(json.dumps(dirs))
"""


def available(runs):
    """The runs whose data is here (the bundled tabular data always is; BreastMNIST needs ../shared/data)."""
    from zoo.data import common
    from zoo.errors import DataNotFoundError

    try:
        common.locate_files(breastmnist.SOURCE, None)
    except DataNotFoundError:
        return {t: kw for t, kw in runs.items() if t != "medical/breastmnist"}
    return runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Seed 0 in two fresh interpreters at once, and seed 1 in this one."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    wanted = available(RUNS)
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path_factory.mktemp(f"runs_{name}")), "0",
                               json.dumps(wanted)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in "ab"]
    out = tmp_path_factory.mktemp("runs_c")
    other_seed = {t: zoo.fit(t, out_dir=out, seed=1, verbose=0, **kw).run_dir for t, kw in wanted.items()}
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=900)
        assert proc.returncode == 0, stderr[-3000:]
        results.append({task: Path(d) for task, d in json.loads(stdout.strip().splitlines()[-1]).items()})
    return [*results, other_seed]


def weights(run_dir):
    return keras.models.load_model(run_dir / "model.keras", safe_mode=True).get_weights()


@pytest.mark.parametrize("task", sorted(available(RUNS)))
def test_same_seed_in_fresh_processes_gives_identical_metrics_history_and_weights(runs, task):
    first, second = runs[0][task], runs[1][task]
    report_a, report_b = (json.loads((d / "report.json").read_text()) for d in (first, second))
    assert report_a["test"] == report_b["test"]  # every metric, the confusion matrix, bit for bit
    assert (first / "history.json").read_text() == (second / "history.json").read_text()
    for a, b in zip(weights(first), weights(second), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("task", sorted(available(RUNS)))
def test_a_different_seed_gives_different_weights(runs, task):
    same, other = weights(runs[0][task]), weights(runs[2][task])
    assert len(same) == len(other)
    assert any(not np.array_equal(a, b) for a, b in zip(same, other, strict=True))


def test_the_run_directory_records_versions_seed_determinism_and_data_checksums(runs):
    for seed, result in [(0, runs[0]), (1, runs[2])]:
        for task, run_dir in result.items():
            config = json.loads((run_dir / "config.json").read_text())
            assert config["versions"]["tensorflow"] == tf.__version__
            assert config["versions"]["keras"] == keras.__version__
            assert config["versions"]["vertical_zoo"] == zoo.__version__
            assert config["seed"] == seed and config["deterministic"] is True
            assert config["task"]["name"] == task
    expected = {"medical/breast_cancer_diagnosis": {breast_cancer.BUNDLED_FILE: sha256(breast_cancer.bundled_path())}}
    if "medical/breastmnist" in runs[0]:
        from zoo.data import common

        npz = common.locate_files(breastmnist.SOURCE, None) / breastmnist.DATA_FILE
        expected["medical/breastmnist"] = {breastmnist.DATA_FILE: sha256(npz)}  # hashed here, now
        assert expected["medical/breastmnist"] == breastmnist.SOURCE.files  # ...and it is the pinned release
    for task, run_dir in runs[0].items():
        recorded = json.loads((run_dir / "config.json").read_text())["data"]["sha256"]
        assert recorded == expected[task], task
