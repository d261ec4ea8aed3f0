"""`zoo.predict` / `zoo predict`: new rows in the user's format, encoded as the run's training rows were."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import zoo
from zoo.cli import main
from zoo.errors import ConfigError, DataValidationError

TINY_TRANSFORMER = {"hidden_dim": 16, "num_layers": 1, "num_heads": 2, "intermediate_dim": 16}


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"id": np.arange(n), "age": rng.integers(20, 80, n),
                          "region": rng.choice(["north", "south", "east", "west"], n)})
    frame["churned"] = np.where((frame.region == "north") | (frame.age > 65), "yes", "no")
    return frame


@pytest.fixture(scope="module")
def tabular_run(tmp_path_factory):
    data = zoo.data.load_dataset("csv_tabular", path=_table(600, 0), target="churned", drop=["id"])
    return zoo.fit("tabular/classification", data=data, out_dir=tmp_path_factory.mktemp("runs"), epochs=60,
                   learning_rate=0.03, patience=60, verbose=0)


def test_new_rows_are_encoded_as_the_training_rows_and_classes_named(tabular_run):
    spec = json.loads((tabular_run.run_dir / "inputs.json").read_text())
    assert spec["categorical_names"] == ["region"] and spec["class_names"] == ["no", "yes"]
    new = _table(200, 1).set_index("id")[["churned", "region", "age"]]  # other order, the target kept
    out = zoo.predict(tabular_run.run_dir, new)
    assert list(out.columns) == ["predicted", "probability[no]", "probability[yes]"]
    assert out.index.equals(new.index)
    assert (out["predicted"] == new["churned"]).mean() >= 0.95  # the rule needs the right category codes
    np.testing.assert_allclose(out["probability[no]"] + out["probability[yes]"], 1.0, rtol=1e-6)
    unseen = zoo.predict(tabular_run.run_dir, pd.DataFrame({"age": [30, 30], "region": ["mars", "north"]}))
    assert unseen["predicted"].tolist()[1] == "yes" and np.isfinite(unseen["probability[yes]"]).all()


def test_bad_rows_are_refused_with_the_column_and_row(tabular_run, tmp_path):
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['region'\]"):
        zoo.predict(tabular_run.run_dir, pd.DataFrame({"age": [30]}))
    with pytest.raises(DataValidationError, match=r"column 'age', data row 2 .* 'old'"):
        zoo.predict(tabular_run.run_dir, pd.DataFrame({"age": ["30", "old"], "region": ["north", "south"]}))
    with pytest.raises(ConfigError, match="CSV path or a pandas DataFrame"):
        zoo.predict(tabular_run.run_dir, [[30, "north"]])


def test_cli_predict_writes_a_csv(tabular_run, tmp_path, capsys):
    _table(20, 2).to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(tabular_run.run_dir), "--data", str(tmp_path / "new.csv"),
                 "--out", str(tmp_path / "p.csv")]) == 0
    written = pd.read_csv(tmp_path / "p.csv")
    assert len(written) == 20 and set(written["predicted"]) <= {"no", "yes"}
    assert main(["predict", str(tabular_run.run_dir), "--data", str(tmp_path / "none.csv")]) == 2
    assert "none.csv: no such file" in capsys.readouterr().err


def test_a_text_run_predicts_raw_texts_with_its_vocabulary(tmp_path):
    words = {0: ["loss", "fell", "weak"], 1: ["profit", "rose", "strong"]}
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 240)
    texts = [" ".join(rng.choice(words[int(y)], 4)) for y in labels]
    data = zoo.data.load_dataset("csv_text", path=pd.DataFrame({"text": texts, "label": labels}),
                                 text_column="text", target="label")
    task = zoo.get_task("text/classification").with_overrides(backbone_params=TINY_TRANSFORMER)
    run = zoo.fit(task, data=data, out_dir=tmp_path, epochs=15, learning_rate=0.01, verbose=0)
    out = zoo.predict(run.run_dir, ["profit rose strongly", "weak loss, it fell"])
    assert out["predicted"].tolist() == ["1", "0"]
    table = zoo.predict(run.run_dir, pd.DataFrame({"text": ["strong profit"], "label": [1]}))
    assert table["predicted"].tolist() == ["1"]
    with pytest.raises(ConfigError, match="list of texts"):
        zoo.predict(run.run_dir, "profit rose")
