"""`zoo.predict` / `zoo predict`: new rows in the user's format, encoded as the run's training rows were."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import zoo
from zoo.cli import main
from zoo.data import validate
from zoo.data.common import apply_scaler
from zoo.errors import ConfigError, DataNotFoundError, DataValidationError

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
    with pytest.raises(DataNotFoundError, match=r"new\.csv: no such file or folder \(relative paths are from "):
        zoo.predict(tabular_run.run_dir, "new.csv")  # was numpy's or pandas' own FileNotFoundError traceback


def test_unseen_categories_warn_and_numbers_match_by_value(tmp_path):
    """A category the model never saw is read as 'unseen' with a warning naming it; a float column's "2.0" is the
    training CSV's "2" (it was silently unseen, and flipped the prediction)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"store": rng.integers(1, 4, 300).astype(str), "size": rng.random(300)})
    frame["busy"] = np.where(frame.store == "2", "yes", "no")
    frame.to_csv(tmp_path / "stores.csv", index=False)
    data = zoo.data.load_dataset("csv_tabular", path=str(tmp_path / "stores.csv"), target="busy",
                                 categorical=["store"])
    run = zoo.fit("tabular/classification", data=data, out_dir=tmp_path, epochs=40, learning_rate=0.03,
                  patience=40, verbose=0)
    as_text = zoo.predict(run.run_dir, pd.DataFrame({"store": ["1", "2", "3"], "size": 0.5}))
    as_float = zoo.predict(run.run_dir, pd.DataFrame({"store": [1.0, 2.0, 3.0], "size": 0.5}))
    assert as_text["predicted"].tolist() == ["no", "yes", "no"]
    pd.testing.assert_frame_equal(as_float, as_text)
    with pytest.warns(validate.UnseenCategoryWarning, match=r"column 'store' has 2 row\(s\).*'9', '12'"):
        zoo.predict(run.run_dir, pd.DataFrame({"store": ["9", "12", "1"], "size": 0.5}))


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
    for same in (np.array(["profit rose strongly", "weak loss, it fell"]), pd.Series(["profit rose strongly",
                                                                                      "weak loss, it fell"])):
        # before: a str array went to the model as token ids (a Keras shape error), a Series was refused
        pd.testing.assert_frame_equal(zoo.predict(run.run_dir, same), out)
    table = zoo.predict(run.run_dir, pd.DataFrame({"text": ["strong profit"], "label": [1]}))
    assert table["predicted"].tolist() == ["1"]
    with pytest.raises(ConfigError, match="one str that names no file"):
        zoo.predict(run.run_dir, "profit rose")
    # A CSV path given as a str (as `zoo predict --data new.csv` passes it) is read as the CSV.
    pd.DataFrame({"text": ["strong profit", "loss fell"]}).to_csv(tmp_path / "new.csv", index=False)
    assert zoo.predict(run.run_dir, str(tmp_path / "new.csv"))["predicted"].tolist() == ["1", "0"]
    (tmp_path / "notes" / "ward").mkdir(parents=True)  # a folder of .txt files, as text folders train
    (tmp_path / "notes" / "a.txt").write_text("profit rose strongly")
    (tmp_path / "notes" / "ward" / "b.txt").write_text("weak loss, it fell")
    from_folder = zoo.predict(run.run_dir, tmp_path / "notes")  # before: "one str that names no file"
    assert from_folder.index.tolist() == ["a.txt", "ward/b.txt"] and from_folder.index.name == "file"
    np.testing.assert_allclose(from_folder.iloc[:, 1:].to_numpy(), out.iloc[:, 1:].to_numpy(), rtol=1e-6)
    # A missing text has no tokens: the masked mean over none was NaN, reported as a class.
    with pytest.raises(DataValidationError, match=r"text 1 \(0-based\) is missing .*2 such text"):
        zoo.predict(run.run_dir, ["profit rose", "", None])
    spec = json.loads((run.run_dir / "inputs.json").read_text())
    assert spec["sequence_length"] == 128 and spec["tokenizer"]["lowercase"] is True  # the task's, as trained
    del spec["sequence_length"]  # as a run written before inputs.json said how it tokenized
    (run.run_dir / "inputs.json").write_text(json.dumps(spec))
    with pytest.raises(ConfigError, match="train the run again"):
        zoo.predict(run.run_dir, ["profit rose"])


def _pumps(seed: int, n_pumps: int = 12, steps: int = 40) -> pd.DataFrame:
    """Long-format series: pressure falls as the remaining life does; a second, noise feature."""
    rng = np.random.default_rng(seed)
    rows = [{"pump": f"p{p}", "step": t, "pressure": (steps - t) / 10 + rng.normal(0, 0.05), "noise": rng.normal(),
             "rul": float(steps - t)} for p in range(n_pumps) for t in range(steps)]
    return pd.DataFrame(rows)


def test_a_timeseries_run_predicts_each_series_from_its_last_window(tmp_path):
    data = zoo.data.load_dataset("csv_timeseries", path=_pumps(0), target="rul", window=5, group="pump",
                                 time_column="step")
    task = zoo.get_task("timeseries/regression").with_overrides(backbone_params={"units": 8})
    run = zoo.fit(task, data=data, out_dir=tmp_path, epochs=2, verbose=0)
    new = _pumps(1, n_pumps=3).groupby("pump").head(30)  # each pump seen up to step 29
    shuffled = new.sample(frac=1.0, random_state=0)  # rows out of order: sorted by the run's time column
    out = zoo.predict(run.run_dir, shuffled)
    assert out.index.name == "pump" and sorted(out.index) == ["p0", "p1", "p2"]
    from zoo.export import load_run_model

    by_hand = [new[new.pump == p][["pressure", "noise"]].to_numpy("float32")[-5:] for p in out.index]
    scaler = json.loads((run.run_dir / "inputs.json").read_text())["scaler"]  # the training rows' statistics
    expected = load_run_model(run.run_dir).predict(apply_scaler(np.stack(by_hand), scaler), verbose=0).ravel()
    np.testing.assert_allclose(out["predicted"].to_numpy(), expected, rtol=1e-5, atol=1e-5)
    assert zoo.predict(run.run_dir, new).index.tolist() == ["p0", "p1", "p2"]  # the table's order of series
    trajectory = zoo.predict(run.run_dir, shuffled, every_window=True)  # each window's end: steps 4..29
    assert trajectory.index.names == ["pump", "step"] and len(trajectory) == 3 * 26
    assert trajectory.loc["p1"].index.tolist() == list(range(4, 30))
    np.testing.assert_allclose(trajectory.groupby(level="pump")["predicted"].last().loc[out.index], out["predicted"],
                               rtol=1e-5)
    with pytest.raises(ConfigError, match="every_window is for time-series runs"):
        zoo.predict(run.run_dir, np.stack(by_hand), every_window=True)
    with pytest.raises(DataValidationError, match="pump p2: 3 time steps; .* windows of 5"):
        zoo.predict(run.run_dir, new[(new.pump != "p2") | (new.step < 3)])
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['step'\]"):
        zoo.predict(run.run_dir, new.drop(columns="step"))
    spec = json.loads((run.run_dir / "inputs.json").read_text())
    del spec["group_column"]  # as a run written before inputs.json described its series
    (run.run_dir / "inputs.json").write_text(json.dumps(spec))
    with pytest.raises(ConfigError, match="train the run again"):
        zoo.predict(run.run_dir, new)


def test_a_null_data_option_on_the_command_line_turns_the_option_off(tmp_path, capsys):
    _pumps(0).to_csv(tmp_path / "pumps.csv", index=False)
    options = '{"window": 5, "group": "pump", "time_column": "step", "scaler": null}'
    assert main(["train", "timeseries/regression", "--data", str(tmp_path / "pumps.csv"), "--target", "rul",
                 "--data-options", options, "--epochs", "1", "--backbone-params", '{"units": 4}', "--quiet",
                 "--out", str(tmp_path / "runs")]) == 0
    run_dir = next((tmp_path / "runs").iterdir())
    # before: the null was dropped, so the loader's default (standard scaling) ran instead of raw values
    assert json.loads((run_dir / "config.json").read_text())["task"]["data_options"]["scaler"] is None
    assert json.loads((run_dir / "inputs.json").read_text()).get("scaler") is None


def test_a_cmapss_run_predicts_nasa_test_file_as_its_test_split(tmp_path, capsys):
    from zoo.data import sources

    folder = next((d for d in sources.candidate_dirs("cmapss_fd001") if (d / "test_FD001.txt").is_file()), None)
    if folder is None:
        pytest.skip("real data for 'cmapss_fd001' not found; set ZOO_DATA_DIR to run this test")
    task = zoo.get_task("manufacturing/rul_fd001").with_overrides(backbone_params={"units": 8, "num_layers": 1})
    run = zoo.fit(task, out_dir=tmp_path, epochs=1, verbose=0)  # the task smooths and scales outside the model
    test_split = np.load(run.run_dir / "predictions.npz")["y_pred"].ravel()
    out = zoo.predict(run.run_dir, folder / "test_FD001.txt")
    assert out.index.name == "unit" and out.index.tolist() == list(range(1, 101))
    np.testing.assert_allclose(out["predicted"].to_numpy(), test_split, rtol=1e-5, atol=1e-4)
    names = ["unit", "cycle", "setting_1", "setting_2", "setting_3"] + [f"sensor_{s}" for s in range(1, 22)]
    frame = pd.DataFrame(np.loadtxt(folder / "test_FD001.txt"), columns=names).astype({"unit": int, "cycle": int})
    engines = zoo.predict(run.run_dir, frame[frame.unit <= 3])  # the same rows as a table
    np.testing.assert_allclose(engines["predicted"].to_numpy(), test_split[:3], rtol=1e-5, atol=1e-4)
    with pytest.raises(DataValidationError, match="unit 1: 29 time steps"):
        zoo.predict(run.run_dir, frame[(frame.unit == 1) & (frame.cycle <= 29)])
    assert main(["predict", str(run.run_dir), "--data", str(folder / "test_FD001.txt"),
                 "--out", str(tmp_path / "rul.csv")]) == 0
    written = pd.read_csv(tmp_path / "rul.csv")
    assert list(written.columns) == ["unit", "predicted"] and len(written) == 100
    assert main(["predict", str(run.run_dir), "--data", str(folder / "test_FD001.txt"), "--every-window",
                 "--out", str(tmp_path / "trajectories.csv")]) == 0
    trajectories = pd.read_csv(tmp_path / "trajectories.csv")
    lengths = frame.groupby("unit").size()
    assert list(trajectories.columns) == ["unit", "cycle", "predicted"] and len(trajectories) == (lengths - 29).sum()
    last = trajectories.groupby("unit").last()
    assert (last["cycle"] == lengths).all()  # each engine's last window ends on its last cycle
    np.testing.assert_allclose(last["predicted"].to_numpy(), test_split, rtol=1e-5, atol=1e-4)


def test_new_rows_are_read_as_the_training_csv_was(tmp_path):
    table = _table(300, 0)
    table["income"] = [f"{v:.2f}".replace(".", ",") for v in np.linspace(1, 2, 300)]  # decimal commas
    table.to_csv(tmp_path / "train.csv", sep=";", index=False)
    data = zoo.data.load_dataset("csv_tabular", path=tmp_path / "train.csv", target="churned", drop=["id"],
                                 delimiter=";", decimal=",")
    run = zoo.fit("tabular/classification", data=data, out_dir=tmp_path, epochs=1, verbose=0)
    table.head(4).to_csv(tmp_path / "new.csv", sep=";", index=False)
    out = zoo.predict(run.run_dir, tmp_path / "new.csv")
    assert len(out) == 4 and set(out["predicted"]) <= {"no", "yes"}


def test_an_image_run_predicts_a_folder_of_image_files(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, level in (("dark", 40), ("light", 210)):
        (tmp_path / "train" / label).mkdir(parents=True)
        for i in range(80):
            pixels = np.clip(rng.normal(level, 20, (8, 8)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "train" / label / f"{i}.png")
    data = zoo.data.load_dataset("images", path=tmp_path / "train")
    task = zoo.get_task("image/classification").with_overrides(backbone_params={"filters": [4]})
    run = zoo.fit(task, data=data, out_dir=tmp_path / "runs", epochs=30, learning_rate=0.01, verbose=0)
    new = tmp_path / "new" / "ward 3"
    new.mkdir(parents=True)
    Image.fromarray(np.full((8, 8), 30, np.uint8)).save(new / "a.png")
    Image.fromarray(np.full((8, 8), 220, np.uint8)).convert("RGB").save(new / "b.jpg")  # converted to grey
    out = zoo.predict(run.run_dir, tmp_path / "new")
    assert out.index.name == "image" and out.index.tolist() == ["ward 3/a.png", "ward 3/b.jpg"]
    assert out["predicted"].tolist() == ["dark", "light"]
    as_uint8 = np.stack([np.full((8, 8), 30, np.uint8), np.full((8, 8), 220, np.uint8)])
    from_array = zoo.predict(run.run_dir, as_uint8)  # uint8 arrays are scaled to [0, 1] as the loader does
    np.testing.assert_allclose(from_array["probability[light]"], out["probability[light]"], atol=0.02)
    np.testing.assert_allclose(zoo.predict(run.run_dir, as_uint8 / 255.0)["probability[light]"],
                               from_array["probability[light]"], rtol=1e-5)
    np.savez(tmp_path / "new.npz", x=as_uint8, y=np.array([0, 1]))  # the format image training reads too
    from_npz = zoo.predict(run.run_dir, str(tmp_path / "new.npz"))  # before: "cannot read new.npz as an image"
    assert from_npz.index.tolist() == ["x[0]", "x[1]"]
    np.testing.assert_allclose(from_npz["probability[light]"].to_numpy(), from_array["probability[light]"].to_numpy())
    np.savez(tmp_path / "odd.npz", pixels=as_uint8)
    with pytest.raises(DataValidationError, match=r"odd.npz: keys \['pixels'\]; expected the new images under 'x'"):
        zoo.predict(run.run_dir, tmp_path / "odd.npz")
    with pytest.raises(DataValidationError, match="expected 0-255"):
        zoo.predict(run.run_dir, as_uint8.astype(np.int32) * 2)
    with pytest.raises(DataValidationError, match=r"shape \(2, 8, 6, 1\); the run's model reads \(8, 8, 1\)"):
        zoo.predict(run.run_dir, as_uint8[:, :, :6])
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(new / "c.png")
    with pytest.raises(DataValidationError, match="c.png: a 16x16 image; the run's model reads 8x8"):
        zoo.predict(run.run_dir, tmp_path / "new")
    assert zoo.predict(run.run_dir, [new / "a.png"])["predicted"].tolist() == ["dark"]
    resized = zoo.data.load_dataset("images", path=tmp_path / "train", image_size=(8, 8))
    run = zoo.fit(task, data=resized, out_dir=tmp_path / "runs", epochs=1, verbose=0)
    assert len(zoo.predict(run.run_dir, tmp_path / "new")) == 3  # a run that resized its images resizes new ones


def test_a_recommender_run_predicts_user_item_pairs(tmp_path):
    from zoo.data import movielens_100k, sources

    folder = next((d for d in sources.candidate_dirs("movielens_100k") if (d / "u1.test").is_file()), None)
    if folder is None:
        pytest.skip("real data for 'movielens_100k' not found; set ZOO_DATA_DIR to run this test")
    task = zoo.get_task("retail/movielens").with_overrides(backbone_params={"embedding_dim": 4})
    run = zoo.fit(task, out_dir=tmp_path, epochs=1, verbose=0)
    test = movielens_100k.read_ratings(folder / "u1.test")[:5]
    pairs = pd.DataFrame({"user": test[:, 0].astype(int), "item": test[:, 1].astype(int), "title": "x"})
    out = zoo.predict(run.run_dir, pairs)
    np.testing.assert_allclose(out["predicted"].to_numpy(), np.load(run.run_dir / "predictions.npz")["y_pred"].ravel()[:5],
                               rtol=1e-5, atol=1e-5)
    with pytest.raises(DataValidationError, match="column 'user', data row 2 .* is 5000; .* user ids up to 943"):
        zoo.predict(run.run_dir, pd.DataFrame({"user": [1, 5000], "item": [1, 1]}))
