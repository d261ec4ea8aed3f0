"""Loading models safely: Keras safe mode for every zoo model, refusal of injected code, checksums."""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from backbone_fixtures import TINY, registry_name

import zoo
import zoo.cli
from builders import HeadConfig, build_backbone, build_head, list_backbones, transfer_model
from builders.errors import ZooError
from zoo.data.sources import sha256
from zoo.errors import ChecksumError
from zoo.export import ModelLoadError, find_unsafe_objects, load_run_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = zoo.fit("medical/breast_cancer_diagnosis", out_dir=tmp_path_factory.mktemp("runs"), epochs=1,
                  backbone_params={"hidden_units": [8]}, verbose=0)
    return run.run_dir


@pytest.fixture
def copy_of(tmp_path):
    """A private copy of a run directory, to tamper with."""

    def copy(run_dir):
        return Path(shutil.copytree(run_dir, tmp_path / "run"))

    return copy


# Backbones registered outside builders.backbones' __init__ that backbone_fixtures.TINY does not list yet.
EXTRA = {"recommender": {"num_users": 5, "num_items": 7, "embedding_dim": 4}}


def test_every_backbone_in_a_transfer_model_loads_in_safe_mode_in_a_fresh_interpreter(tmp_path):
    """Registration happens on `import builders`: no custom_objects, no unsafe deserialization needed."""
    configs = {**{c: (registry_name(c), TINY[c]) for c in TINY},
               **{n: (n, kw) for n, kw in EXTRA.items() if n not in {registry_name(c) for c in TINY}}}
    assert {name for name, _ in configs.values()} >= set(list_backbones())  # all that `import zoo` registered
    expected = {}
    for case, (name, kwargs) in sorted(configs.items()):
        keras.utils.set_random_seed(0)
        backbone = build_backbone(name, **kwargs)
        model = transfer_model(backbone, build_head(HeadConfig("binary"), backbone.output_dim), freeze=False)
        model.save(tmp_path / f"{case}.keras")
        assert find_unsafe_objects(tmp_path / f"{case}.keras") == [], case
        expected[case] = [float(np.abs(w).sum()) for w in model.get_weights()]
    script = (
        "import json, sys, keras, numpy as np, builders\n"
        "out = {}\n"
        "for case in sys.argv[2:]:\n"
        "    m = keras.models.load_model(f'{sys.argv[1]}/{case}.keras', safe_mode=True)\n"
        "    out[case] = [float(np.abs(w).sum()) for w in m.get_weights()]\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path), *sorted(configs)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == expected  # every weight restored, in a process that only imported builders


def inject_lambda(run_dir):
    """What an attacker with write access to a run directory would do: append a Lambda layer."""
    model = keras.models.load_model(run_dir / "model.keras", safe_mode=True)
    outputs = keras.layers.Lambda(lambda t: t, name="exfiltrate")(model.output)
    keras.Model(model.inputs, outputs, name=model.name).save(run_dir / "model.keras")


def test_a_model_with_an_injected_lambda_is_refused_with_a_zoo_error(run_dir, copy_of, monkeypatch, capsys):
    tampered = copy_of(run_dir)
    inject_lambda(tampered)
    with pytest.raises(ValueError, match="Lambda"):  # Keras's own safe mode
        keras.models.load_model(tampered / "model.keras", safe_mode=True)
    assert [u.split(" at ")[0] for u in find_unsafe_objects(tampered / "model.keras")] == [
        "Lambda 'exfiltrate' (keras.layers)", "Python bytecode (__lambda__)"]
    with pytest.raises(ModelLoadError, match=r"model\.keras: refused to load: it contains Lambda 'exfiltrate'"):
        load_run_model(tampered)
    # On the command line: one line on stderr, exit 2, no traceback.
    if "zoo.cli.export" not in zoo.cli.COMMAND_MODULES:
        monkeypatch.setattr(zoo.cli, "COMMAND_MODULES", (*zoo.cli.COMMAND_MODULES, "zoo.cli.export"))
    assert zoo.cli.main(["export", str(tampered)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: ") and "refused to load" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_evaluate_refuses_an_injected_lambda_with_a_zoo_error(run_dir, copy_of):
    tampered = copy_of(run_dir)
    inject_lambda(tampered)
    with pytest.raises(ZooError, match="refused to load") as error:
        zoo.evaluate(tampered)
    assert "exfiltrate" in str(error.value)


def test_a_class_from_another_module_is_refused_and_never_imported(run_dir, copy_of, tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "payload.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\nclass Evil:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    tampered = copy_of(run_dir)
    path = tampered / "model.keras"
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    head = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Sequential")
    head.update(module="payload", class_name="Evil", registered_name="payload>Evil")
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    with pytest.raises(ModelLoadError, match=r"Evil 'head' \(payload\)"):
        load_run_model(tampered)
    assert not marker.exists() and "payload" not in sys.modules


def test_a_damaged_model_file_is_a_zoo_error_not_a_traceback(run_dir, copy_of):
    tampered = copy_of(run_dir)
    (tampered / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelLoadError, match="not a readable .keras archive"):
        load_run_model(tampered)


def flip_a_weight_byte(path):
    """Change one byte of the weights inside a .keras archive, keeping it a valid archive."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    weights = bytearray(files["model.weights.h5"])
    weights[-64] ^= 0x01
    files["model.weights.h5"] = bytes(weights)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def test_tampered_weights_are_detected_by_the_recorded_checksum(run_dir, copy_of):
    tampered = copy_of(run_dir)
    before = sha256(tampered / "model.keras")
    assert load_run_model(tampered, expected_sha256=before) is not None
    flip_a_weight_byte(tampered / "model.keras")
    assert find_unsafe_objects(tampered / "model.keras") == []  # still a well-formed, "safe" model...
    with pytest.raises(ChecksumError, match=rf"model\.keras: sha256 \w+ is not the {before} recorded .* replaced or "
                                            "changed since"):
        load_run_model(tampered, expected_sha256=before)  # ...but not the one that was trained


def test_the_run_records_its_model_checksum_and_loading_checks_it(run_dir, copy_of):
    report = json.loads((run_dir / "report.json").read_text())
    assert report["artifacts"]["model.keras"] == sha256(run_dir / "model.keras")
    tampered = copy_of(run_dir)
    flip_a_weight_byte(tampered / "model.keras")
    with pytest.raises(ChecksumError, match="recorded in report.json"):
        load_run_model(tampered)
    with pytest.raises(ChecksumError):
        zoo.evaluate(tampered)
    # zoo report too: it explained the swapped model's predictions beside report.json's metrics of the trained one
    from zoo.report.html import load_run

    artifacts = load_run(tampered)
    assert artifacts.model is None and any("ChecksumError" in note for note in artifacts.notes)
    from zoo.cli import main

    assert main(["report", str(tampered)]) == 0  # still written, from the run's own files, with the note
    assert "recorded in report.json" in next(tampered.glob("*.html")).read_text()


# === Bad data on the command line: the zoo's message, not a traceback ===


def bad_csv(directory, *, label_missing=True, nan=True, text=True):
    """A loan table with a missing label (data row 14), an empty age (row 5), a text income (row 9)."""
    rows = []
    for i in range(1, 41):
        age = "" if nan and i == 5 else str(20 + i)
        income = "twelve" if text and i == 9 else str(1000 + 37 * i)
        label = "" if label_missing and i == 14 else "yes" if i % 3 else "no"
        rows.append(f"{age},{income},{'north' if i % 2 else 'south'},{label}")
    directory.mkdir()
    path = directory / "bad.csv"
    path.write_text("age,income,region,label\n" + "\n".join(rows) + "\n")
    return path


def test_training_on_a_bad_csv_ends_with_the_zoos_message_naming_file_column_and_row(tmp_path):
    row = r"data row {} \(1-based, header excluded\)"
    cases = {  # each file keeps the problems after the one before it; the loader reports the first it meets
        "label": (bad_csv(tmp_path / "all"), rf"bad\.csv: column 'label', {row.format(14)} is missing"),
        "nan": (bad_csv(tmp_path / "nan_and_text", label_missing=False),
                rf"bad\.csv: column 'age', {row.format(5)} is missing \(empty or NaN\)"),
        "text": (bad_csv(tmp_path / "text", label_missing=False, nan=False),
                 rf"bad\.csv: column 'income', {row.format(9)} is 'twelve'; expected a number"),
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    procs = {name: subprocess.Popen(
        [sys.executable, "-m", "zoo", "train", "tabular/classification", "--data", str(path), "--target", "label",
         "--out", str(path.parent / "runs"), "--quiet"], cwd=path.parent, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True) for name, (path, _) in cases.items()}
    for name, proc in procs.items():
        _, stderr = proc.communicate(timeout=600)
        path, expected = cases[name]
        assert proc.returncode == 2, (name, stderr[-2000:])
        assert "Traceback" not in stderr, stderr
        errors = [line for line in stderr.splitlines() if line.startswith("zoo: error:")]
        assert len(errors) == 1 and re.search(expected, errors[0]), (name, stderr)
        assert not list(path.parent.rglob("model.keras"))  # nothing was trained on it
