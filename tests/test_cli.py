"""The `zoo` command line through a subprocess, as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def zoo_cli(*args, cwd=ROOT, env=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "zoo", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_list_and_info():
    out = zoo_cli("list")
    assert out.returncode == 0, out.stderr
    assert "medical/breast_cancer_diagnosis" in out.stdout and "manufacturing/rul_fd001" in out.stdout
    info = zoo_cli("info", "manufacturing/rul_fd001")
    assert info.returncode == 0 and "16.14" in info.stdout and "Known limitations" in info.stdout
    as_json = json.loads(zoo_cli("info", "medical/breastmnist", "--json").stdout)
    assert as_json["dataset"] == "breastmnist"


def test_train_then_evaluate(tmp_path):
    out = zoo_cli("train", "medical/breast_cancer_diagnosis", "--epochs", "1", "--out", str(tmp_path), "--quiet",
                  "--backbone-params", '{"hidden_units": [8]}', "--patience", "3")
    assert out.returncode == 0, out.stderr
    assert "accuracy" in out.stdout and "Traceback" not in out.stderr
    (run_dir,) = tmp_path.iterdir()
    training = json.loads((run_dir / "config.json").read_text())["task"]["training"]
    assert (training["epochs"], training["patience"]) == (1, 3)
    assert (run_dir / "model.keras").is_file()
    again = zoo_cli("evaluate", str(run_dir))
    assert again.returncode == 0, again.stderr
    assert "accuracy" in again.stdout


def test_user_errors_end_with_a_message_not_a_traceback(tmp_path):
    out = zoo_cli("train", "finance/nope")
    assert out.returncode == 2 and "Unknown task 'finance/nope'" in out.stderr and "Traceback" not in out.stderr
    out = zoo_cli("train", "medical/breastmnist", "--data-dir", str(tmp_path), cwd=tmp_path,
                  env={"ZOO_DATA_DIR": str(tmp_path)})
    assert out.returncode == 2 and "Looked in" in out.stderr and "Traceback" not in out.stderr
    out = zoo_cli("evaluate", str(tmp_path))
    assert out.returncode == 2 and "not a run directory" in out.stderr


def test_bad_flags_are_refused_up_front_with_the_flag_named(tmp_path, capsys):
    """In-process (`zoo.cli.main`), so each case costs no TensorFlow start-up: exit status 2, one message, and
    nothing written."""
    from zoo.cli import main

    table = tmp_path / "table.csv"
    table.write_text("a,label\n" + "\n".join(f"{i},{i % 2}" for i in range(40)) + "\n")
    train = ["train", "tabular/classification", "--data", str(table), "--target", "label", "--out", str(tmp_path / "r")]
    cases = [
        (train + ["--epochs", "0"], "epochs must be an integer >= 1, got 0"),
        (["list", "--industry", "medcal"], "Did you mean 'medical'? Industries: finance"),  # was an empty list, exit 0
        (train + ["--backbone-params", "[1, 2]"], "must be a JSON object"),
        (train + ["--data-options", "[1]"], "--data-options must be a JSON object"),
        (train + ["--backbone", "cnn"], "backbone cnn takes images"),
        (["train", "text/classification", "--data", str(table), "--target", "label"], "--text-column COLUMN"),
        (["train", "medical/breast_cancer"], "Did you mean 'medical/breast_cancer_diagnosis'"),
        (["transfer", str(tmp_path / "preset"), "medical/breast_cancer_diagnosis", "--seeds", "0", "--out",
          str(tmp_path / "t")], "seeds must be a number of seeds >= 1"),
        (["benchmark", "medical/breast_cancer_diagnosis", "--seeds", "0", "--out", str(tmp_path / "b")],
         "--seeds must be >= 1"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv
    for flag, value, message in [("--class-weight", "heavy", "expected 'balanced' or JSON weights"),
                                 ("--backbone-params", "{bad", "'{bad' is not JSON (Expecting property name")]:
        with pytest.raises(SystemExit) as stopped:  # argparse's own refusal of the flag's value
            main(train + [flag, value])
        assert stopped.value.code == 2 and f"{flag}: {message}" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_submodules_are_reachable_after_a_plain_import_zoo():
    """The README's `zoo.transfer.load_preset(...)` after `import zoo` was an AttributeError (a fresh process: in
    this one another test may have imported zoo.transfer already)."""
    code = "import zoo; print(zoo.transfer.load_preset.__name__, zoo.export.export.__name__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and done.stdout.split() == ["load_preset", "export"], done.stderr[-500:]
