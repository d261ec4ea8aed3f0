"""Bring-your-own-data loaders, splits, tabular encoding and tokenization on small synthetic data."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from zoo.data import generic, load_dataset, splits, tabular, text, validate
from zoo.data.types import Dataset, Split
from zoo.errors import ConfigError, DataValidationError


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


# === Splits ===


def test_stratified_split_preserves_classes_and_partitions():
    y = np.array([0] * 70 + [1] * 25 + [2] * 5)
    train, val, test = splits.train_val_test(y, 0.2, 0.25, seed=3)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(100))
    assert (len(train), len(val), len(test)) == (60, 20, 20)
    assert np.bincount(y[test]).tolist() == [14, 5, 1]
    again = splits.train_val_test(y, 0.2, 0.25, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again, strict=True))
    keep, held = splits.stratified_split(np.array([0, 0, 0, 1]), 0.5, seed=0)
    assert 3 in keep  # a single-row class is never held out
    with pytest.raises(DataValidationError, match="fraction"):
        splits.random_split(10, 1.5)

def test_kfold_split_tests_every_row_once_with_class_shares():
    y = np.array([0] * 70 + [1] * 30)
    parts = [splits.kfold_train_val_test(y, k, 10, 0.2, seed=1) for k in range(1, 11)]
    tests = np.concatenate([test for _, _, test in parts])
    assert sorted(tests.tolist()) == list(range(100))
    for train, val, test in parts:
        assert np.bincount(y[test]).tolist() == [7, 3]
        assert (len(train), len(val)) == (72, 18) and np.bincount(y[val]).tolist() == [13, 5]
        assert not set(test) & (set(train) | set(val)) and not set(train) & set(val)
    other_seed = splits.kfold_train_val_test(y, 1, 10, 0.2, seed=2)[2]
    assert not np.array_equal(other_seed, parts[0][2])
    with pytest.raises(DataValidationError, match="fold is 11"):
        splits.kfold_train_val_test(y, 11, 10, 0.2)
    with pytest.raises(DataValidationError, match="folds is 1"):
        splits.kfold_train_val_test(y, 1, 1, 0.2)



# === Tabular ===


def test_categories_learned_on_train_only():
    numeric = np.zeros((6, 1), np.float32)
    categorical = np.array([["a"], ["b"], ["a"], ["b"], ["c"], ["a"]], dtype=object)
    index = (np.array([0, 1, 2, 3]), np.array([5]), np.array([4]))
    train, val, test, meta = tabular.build_tabular_splits(
        numeric, categorical, np.arange(6), index, ["n"], ["k"], "t"
    )
    assert meta["categorical_vocabularies"] == [["a", "b"]] and meta["categorical_cardinalities"] == [3]
    assert test.x["categorical"].tolist() == [[0]] and val.x["categorical"].tolist() == [[1]]


def test_load_csv_tabular_auto_columns_and_regression(tmp_path):
    rows = [f"{i},{i % 9}.5,{'abc'[i % 3]},{i % 2},{i * 1.5}" for i in range(60)]
    path = _write(tmp_path / "t.csv", ["id,amount,region,label,price", *rows])
    ds = generic.load_csv_tabular(path, "label", drop=["id", "price"], seed=1)
    assert ds.meta["numeric_names"] == ["amount"] and ds.meta["categorical_names"] == ["region"]
    assert ds.meta["class_names"] == ["0", "1"] and ds.meta["num_classes"] == 2
    assert ds.meta["sha256"]["t.csv"] and ds.meta["source"] == "t.csv"
    json.dumps(ds.meta)
    assert sum(len(s) for s in (ds.train, ds.val, ds.test)) == 60
    reg = generic.load_csv_tabular(path, "price", task="regression", categorical=["region"], drop=["id"])
    assert reg.train.y.dtype == np.float32 and reg.meta["target_name"] == "price"
    assert reg.meta["numeric_names"] == ["amount", "label"]
    with pytest.raises(DataValidationError, match="task"):
        generic.load_csv_tabular(path, "label", task="ranking")


# === Text ===


def test_load_text_csv(tmp_path):
    rows = [f'"great, product {i}",pos' if i % 2 else f"poor item {i},neg" for i in range(30)]
    ds = generic.load_text_csv(_write(tmp_path / "r.csv", ["review,label", *rows]), "review", "label")
    assert ds.train.x.dtype == object and ds.meta["class_names"] == ["neg", "pos"]
    assert not set(ds.train.x) & set(ds.test.x)


def test_tokenizer_vocabulary_from_train_only():
    train = Split(
        np.array(["profit rose strongly", "profit fell sharply"] * 10, dtype=object), np.zeros(20, int)
    )
    test = Split(np.array(["Ωmega zzz profit", ""], dtype=object), np.zeros(2, int))
    ds = text.tokenize_dataset(
        Dataset(train, train, test, {"source": "demo"}), vocab_size=100, sequence_length=5
    )
    vocab = ds.meta["vocabulary"]
    assert vocab[:5] == text.RESERVED_TOKENS and "Ω" not in "".join(vocab) and "z" not in vocab
    assert ds.test.x.dtype == np.int32 and ds.test.x.shape == (2, 5)
    assert ds.test.x[0].tolist()[:2] == [1, 1] and ds.test.x[0, 2] == vocab.index("profit")
    assert ds.test.x[1].tolist() == [0] * 5  # empty text is all padding
    assert (
        ds.meta["sequence_length"] == 5
        and ds.meta["vocab_size"] == len(vocab)
        and ds.meta["source"] == "demo"
    )
    assert ds.extra["tokenizer"].vocabulary_size() == len(vocab)
    long = text.tokenize(ds.extra["tokenizer"], ["profit " * 50], sequence_length=3)
    assert long.shape == (1, 3) and (long > 0).all()
    with pytest.raises(DataValidationError, match="expected str"):
        text.fit_tokenizer(np.array([1, 2]), vocab_size=50)


def test_vocabulary_matches_keras_hub_learner():
    import keras_hub
    import tensorflow as tf

    corpus = [f"the plant {w} output rose {i}" for i, w in enumerate(["steel", "paper", "energy"] * 8)]
    ours = text.compute_vocabulary(corpus, vocab_size=60)
    data = tf.data.Dataset.from_tensor_slices(corpus)
    theirs = keras_hub.tokenizers.compute_word_piece_vocabulary(
        data, 60, lowercase=True, reserved_tokens=text.RESERVED_TOKENS
    )
    assert ours == theirs


# === Images ===


def _png_folder(root: Path, classes=("cats", "dogs"), n=6, size=(6, 4), rgb=False) -> None:
    from PIL import Image

    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(n):
            shape = (*size, 3) if rgb else size
            Image.fromarray(np.full(shape, 30 * i, np.uint8)).save(root / c / f"{i}.png")


def test_load_images_folder_layouts(tmp_path):
    _png_folder(tmp_path / "flat")
    ds = generic.load_images(tmp_path / "flat", seed=0)
    assert ds.meta["class_names"] == ["cats", "dogs"] and ds.meta["input_shape"] == [6, 4, 1]
    assert sum(len(s) for s in (ds.train, ds.val, ds.test)) == 12 and ds.train.x.max() <= 1.0
    assert list(ds.meta["sha256"]) == ["flat/ (12 images)"] and len(ds.extra["files"]["all"]) == 12
    _png_folder(tmp_path / "split" / "train", n=8, rgb=True)
    _png_folder(tmp_path / "split" / "test", n=2, rgb=True)
    ds = generic.load_images(tmp_path / "split")
    assert (len(ds.train) + len(ds.val), len(ds.test)) == (16, 4) and ds.meta["input_shape"] == [6, 4, 3]
    small = generic.load_images(tmp_path / "split", image_size=(3, 3), color_mode="grayscale")
    assert small.train.x.shape[1:] == (3, 3, 1)


def test_image_folders_are_read_with_their_subfolders_and_16_bit_images_are_refused(tmp_path):
    from PIL import Image

    _png_folder(tmp_path / "nested", n=4)
    (tmp_path / "nested" / "cats" / "more").mkdir()
    for i in range(3):  # before: images in a class's subfolder were dropped without a word
        Image.fromarray(np.full((6, 4), 200, np.uint8)).save(tmp_path / "nested" / "cats" / "more" / f"{i}.png")
    assert len(generic.load_images(tmp_path / "nested").extra["files"]["all"]) == 11
    _png_folder(tmp_path / "deep", n=4)
    Image.fromarray(np.full((6, 4), 3000, np.uint16)).save(tmp_path / "deep" / "dogs" / "scan.png")
    # before: PIL's conversion clipped every pixel to 255 (all white), and the model trained to chance
    with pytest.raises(DataValidationError, match=r"scan.png is a I;16 image \(16- or 32-bit pixels, up to 3000\)"):
        generic.load_images(tmp_path / "deep")
    Image.fromarray(np.full((6, 4), 100, np.uint16)).save(tmp_path / "deep" / "dogs" / "scan.png")
    assert generic.load_images(tmp_path / "deep").train.x.max() <= 1.0  # 16-bit storage, 8-bit values: read


def test_load_images_npz_key_styles(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 5, 5), dtype=np.uint8)
    labels = np.arange(30) % 3
    parts = {"train": slice(0, 20), "val": slice(20, 25), "test": slice(25, 30)}
    arrays = {f"{k}_images": images[s] for k, s in parts.items()}
    arrays.update({f"{k}_labels": labels[s, None] for k, s in parts.items()})
    np.savez(tmp_path / "m.npz", **arrays)
    ds = generic.load_images(tmp_path / "m.npz")
    assert (len(ds.train), len(ds.val), len(ds.test)) == (20, 5, 5) and ds.meta["num_classes"] == 3
    np.savez(tmp_path / "all.npz", x=images.astype(np.float32) / 255, y=np.array(["a", "b", "c"] * 10))
    ds = generic.load_images(tmp_path / "all.npz")
    assert (
        ds.meta["class_names"] == ["a", "b", "c"] and sum(len(s) for s in (ds.train, ds.val, ds.test)) == 30
    )


# === Time series ===


def test_load_timeseries_groups_are_disjoint(tmp_path):
    rows = [f"m{u},{t},{np.sin(t + u):.3f},{t % 4},{40 - t}" for u in range(10) for t in range(15)]
    path = _write(tmp_path / "m.csv", ["machine,step,vib,mode,rul", *rows])
    ds = generic.load_timeseries_csv(path, "rul", window=6, group="machine", time_column="step", seed=2)
    groups = [set(ds.meta[f"{s}_groups"]) for s in ("train", "val", "test")]
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    assert len(set().union(*groups)) == 10
    assert ds.train.x.shape[1:] == (6, 2) and ds.meta["feature_names"] == ["vib", "mode"]
    assert ds.train.x.dtype == np.float32 and ds.train.y.dtype == np.float32
    assert len(ds.train) == len(ds.meta["train_groups"]) * 10
    # The target is the value on each window's last row.
    assert ds.test.y.max() == 40 - 5 and ds.test.y.min() == 40 - 14
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cls = generic.load_timeseries_csv(path, "mode", window=3, task="classification", drop=["machine"])
    assert cls.meta["class_names"] == ["0", "1", "2", "3"] and cls.meta["feature_names"] == [
        "step",
        "vib",
        "rul",
    ]
    assert "Chronological" in cls.meta["split"]


def test_generic_loaders_through_the_registry(tmp_path):
    rows = [f"{i},{i % 5},{i % 2}" for i in range(40)]
    _write(tmp_path / "t.csv", ["a,b,y", *rows])
    ds = load_dataset("csv_tabular", str(tmp_path), path="t.csv", target="y", task="classification", seed=1)
    assert ds.meta["source"] == "t.csv" and ds.meta["num_classes"] == 2
    ts = load_dataset("csv_timeseries", None, path=tmp_path / "t.csv", target="y", window=4)
    assert ts.train.x.shape[1:] == (4, 2)
    with pytest.raises(ConfigError, match="give path="):
        load_dataset("csv_text", target="y")
    with pytest.raises(ConfigError, match="unexpected keyword argument 'windw'"):
        load_dataset("csv_timeseries", path=tmp_path / "t.csv", target="y", window=4, windw=4)


# === Formatted numbers, option types, time order ===


def test_decimal_and_thousands_options_read_formatted_numbers(tmp_path):
    euro = _write(tmp_path / "euro.csv", ["age;income;region;y"] + [
        f"{20 + i % 40};{i}.{i % 10}50,{i % 100:02d};{'nse'[i % 3]};{i % 2}" for i in range(60)
    ])
    with pytest.raises(DataValidationError, match=r"column 'income' reads as text .*'0\.050,00'.*decimal"):
        generic.load_csv_tabular(euro, "y", delimiter=";")
    ds = generic.load_csv_tabular(euro, "y", delimiter=";", decimal=",", thousands=".")
    assert ds.meta["numeric_names"] == ["age", "income"] and ds.meta["categorical_names"] == ["region"]
    income = np.concatenate([s.x["numeric"][:, 1] for s in (ds.train, ds.val, ds.test)])
    assert sorted(income.tolist())[:2] == [50.0, 1150.010009765625]  # "0.050,00", "1.150,01"
    dollar = _write(tmp_path / "dollar.csv", ["income,region,y"] + [
        f'"${1000 + 37 * i:,}",{"nse"[i % 3]},{i % 2}' for i in range(60)
    ])
    with pytest.raises(DataValidationError, match=r"column 'income' .*'\$1,000'.*thousands"):
        generic.load_csv_tabular(dollar, "y")
    ds = generic.load_csv_tabular(dollar, "y", thousands=",")
    assert ds.meta["numeric_names"] == ["income"] and ds.train.x["numeric"].min() >= 1000
    assert generic.load_csv_tabular(dollar, "y", categorical=["income", "region"]).meta["numeric_names"] == []
    with pytest.raises(DataValidationError, match="decimal is ',,'; expected one character"):
        generic.load_csv_tabular(dollar, "y", decimal=",,")
    with pytest.raises(ConfigError, match="Its options are: .*decimal, thousands"):
        load_dataset("csv_tabular", path=dollar, target="y", decimals=",")


def test_numbers_written_with_a_unit_are_refused_not_made_categories(tmp_path):
    rows = [f"{20 + i % 50} yrs,{'north' if i % 3 else 'south'},{i % 2}" for i in range(120)]
    path = _write(tmp_path / "units.csv", ["age,region,y", *rows])
    # before: 'age' silently became a categorical column of 50 values
    with pytest.raises(DataValidationError, match="column 'age' reads as text but holds numbers with a unit such as "
                                                  "'20 yrs'"):
        generic.load_csv_tabular(path, "y")
    assert generic.load_csv_tabular(path, "y", categorical=["age", "region"]).meta["categorical_names"] == [
        "age", "region"]


def _customers(tmp_path):
    """A CSV with an id column ('customer', one value per row), a 7-value column and a binary 'y'."""
    return _write(tmp_path / "ids.csv", ["customer,visits,y", *[f"c{i},{i % 7},{i % 2}" for i in range(120)]])


def test_high_cardinality_categorical_column_warns(tmp_path):
    path = _customers(tmp_path)
    with pytest.warns(validate.HighCardinalityWarning, match="'customer' has 120 distinct values in 120 rows"):
        generic.load_csv_tabular(path, "y")
    with warnings.catch_warnings():
        warnings.simplefilter("error", validate.HighCardinalityWarning)
        generic.load_csv_tabular(path, "y", drop=["customer"])


def test_an_id_or_text_column_as_the_target_is_named_not_reported_as_an_empty_split(tmp_path):
    path = _customers(tmp_path)
    # before: "(val): the split is empty ... too small for the requested split fractions"
    with pytest.raises(DataValidationError, match="target 'customer' has 120 classes in 120 rows, 120 of them with a "
                                                  "single row: it looks like an id or a text column"):
        generic.load_csv_tabular(path, "customer")
    texts = _write(tmp_path / "t.csv", ["text,label", *[f"note number {i},{i % 2}" for i in range(60)]])
    with pytest.raises(DataValidationError, match="--text-column names the text, --target the label"):
        generic.load_text_csv(texts, text_column="label", target="text")
    assert generic.load_csv_tabular(path, "visits", drop=["customer"]).meta["num_classes"] == 7  # few classes: fine
    with pytest.raises(ConfigError, match="path= must be a file or folder path or a pandas DataFrame, got list"):
        load_dataset("csv_tabular", path=[1, 2], target="y")  # before: pathlib's TypeError


def test_registry_converts_and_checks_option_types(tmp_path):
    rows = [f"{i},{i % 5},{i % 3}" for i in range(60)]  # (i % 2 at stride 2: every window's target is 1)
    _write(tmp_path / "t.csv", ["a,b,y", *rows])
    ts = load_dataset("csv_timeseries", None, path=tmp_path / "t.csv", target="y", window="4", stride=2.0)
    assert ts.meta["window"] == 4 and ts.meta["stride"] == 2 and ts.train.x.shape[1:] == (4, 2)
    ds = load_dataset("csv_tabular", None, path=tmp_path / "t.csv", target="y", test_fraction="0.5", drop="a")
    assert len(ds.test) == 30 and ds.meta["dropped_columns"] == ["a"]
    with pytest.raises(ConfigError, match=r"option 'window' is 'four'; expected an integer"):
        load_dataset("csv_timeseries", path=tmp_path / "t.csv", target="y", window="four")
    with pytest.raises(ConfigError, match=r"option 'window' is 2\.5; expected an integer"):
        load_dataset("csv_timeseries", path=tmp_path / "t.csv", target="y", window=2.5)
    with pytest.raises(ConfigError, match=r"option 'drop' is 3; expected a column name or a list"):
        load_dataset("csv_tabular", path=tmp_path / "t.csv", target="y", drop=3)
    with pytest.raises(DataValidationError, match="window is '4' and stride 1; expected positive integers"):
        generic.load_timeseries_csv(tmp_path / "t.csv", "y", window="4")


def _series(order=None, repeat=False) -> list[str]:
    rows = [f"m{u},{t},{np.sin(t + u):.3f},{30 - t}" for u in range(6) for t in range(12)]
    if repeat:
        rows[3] = rows[3].replace("m0,3,", "m0,2,")
    if order is not None:
        rows = [rows[i] for i in order]
    return ["machine,cycle,vib,rul", *rows]


def test_timeseries_features_are_scaled_with_the_training_rows_statistics_only(tmp_path):
    rng = np.random.default_rng(0)  # readings near 9,000 rpm: unscaled, an LSTM saturates and predicts a constant
    rows = [f"m{u},{t},{9000 + 50 * u + rng.normal():.3f},{40 - t}" for u in range(10) for t in range(15)]
    path = _write(tmp_path / "m.csv", ["machine,step,rpm,rul", *rows])
    ds = generic.load_timeseries_csv(path, "rul", window=5, group="machine", time_column="step", seed=1)
    raw = generic.load_timeseries_csv(path, "rul", window=5, group="machine", time_column="step", seed=1,
                                      scaler=None)
    train_rpm = [9000 + 50 * int(m[1:]) for m in ds.meta["train_groups"]]
    assert ds.meta["scaler"]["offset"][0] == pytest.approx(np.mean(train_rpm), abs=0.5)  # train rows only
    np.testing.assert_allclose(ds.test.x, (raw.test.x - ds.meta["scaler"]["offset"][0]) / ds.meta["scaler"]["scale"][0],
                               rtol=1e-5, atol=1e-4)
    assert abs(float(ds.train.x.mean())) < 0.2 and raw.train.x.min() > 8000 and "scaler" not in raw.meta
    chrono = generic.load_timeseries_csv(path, "rul", window=5, scaler="minmax", drop=["machine"])
    assert chrono.train.x.min() == pytest.approx(0.0) and chrono.train.x.max() == pytest.approx(1.0, abs=1e-6)


def test_timeseries_duplicate_times_raise_and_unsorted_rows_warn(tmp_path):
    path = _write(tmp_path / "dup.csv", _series(repeat=True))
    with pytest.raises(DataValidationError, match=r"machine 'm0' has time '2' twice \(data row 3 .*data row 4\)"):
        generic.load_timeseries_csv(path, "rul", window=4, group="machine", time_column="cycle")
    shuffled = _write(tmp_path / "shuffled.csv", _series(np.random.default_rng(0).permutation(72)))
    with pytest.warns(validate.TimeOrderWarning, match="'cycle' goes back in time within machine 'm"):
        generic.load_timeseries_csv(shuffled, "rul", window=4, group="machine")
    with warnings.catch_warnings():
        warnings.simplefilter("error", validate.TimeOrderWarning)
        generic.load_timeseries_csv(shuffled, "rul", window=4, group="machine", time_column="cycle")
        generic.load_timeseries_csv(_write(tmp_path / "ok.csv", _series()), "rul", window=4, group="machine")


def test_timeseries_text_feature_suggests_group_or_drop(tmp_path):
    path = _write(tmp_path / "m.csv", _series())
    with pytest.raises(DataValidationError, match=r"'m0'; expected a number.*\{\"group\": \"machine\"\}.*drop"):
        generic.load_timeseries_csv(path, "rul", window=4)


def _text_folder(root, layout):
    for path, content in layout.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content, encoding="utf-8")
    return root


def test_text_folder_of_class_subfolders(tmp_path):
    layout = {f"{c}/{i}.txt": f"{c} review number {i}\n" for c in ("neg", "pos") for i in range(15)}
    layout["notes.md"] = "ignored: not a class folder"
    layout["pos/2024/late.txt"] = "a review filed in a subfolder"
    layout["pos/.ipynb_checkpoints/0-checkpoint.txt"] = "a notebook's hidden copy, not an example"
    ds = load_dataset("csv_text", path=str(_text_folder(tmp_path / "reviews", layout)), seed=1)
    assert ds.meta["class_names"] == ["neg", "pos"] and ds.meta["modality"] == "text"
    assert len(ds.train) + len(ds.val) + len(ds.test) == 31
    texts = {t: int(label) for split in (ds.train, ds.val, ds.test) for t, label in zip(split.x, split.y, strict=True)}
    assert texts["pos review number 3"] == 1 and texts["neg review number 3"] == 0  # stripped, labelled by folder
    assert texts["a review filed in a subfolder"] == 1
    assert set(ds.extra["files"]["all"]) == {k for k in layout if k.endswith(".txt") and "/." not in k}


def test_text_folder_keeps_its_own_train_test_split(tmp_path):
    layout = {f"{s}/{c}/{i}.txt": f"{s} {c} {i}" for s in ("train", "test") for c in ("a", "b") for i in range(12)}
    ds = generic.load_text_csv(_text_folder(tmp_path / "imdb", layout), seed=0)
    assert sorted(ds.test.x.tolist()) == sorted(f"test {c} {i}" for c in "ab" for i in range(12))
    assert all(t.startswith("train") for t in [*ds.train.x, *ds.val.x]) and len(ds.val) == 5


def test_text_folder_errors_name_the_file_or_the_option(tmp_path):
    layout = {f"{c}/{i}.txt": "text" for c in ("a", "b") for i in range(10)}
    root = _text_folder(tmp_path / "t", {**layout, "b/empty.txt": "  \n"})
    with pytest.raises(DataValidationError, match="empty.txt: the file is empty"):
        generic.load_text_csv(root)
    (root / "b" / "empty.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(DataValidationError, match="encoding"):
        generic.load_text_csv(root)
    with pytest.raises(ConfigError, match="takes no text_column"):
        generic.load_text_csv(root, "text", "label")
    with pytest.raises(ConfigError, match="--text-column"):
        generic.load_text_csv(_write(tmp_path / "r.csv", ["review,label", "good,1"]))


# === pandas DataFrames (a notebook's table) ===


def _frame(n: int = 120):
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(50, 10, n).round(2),
                          "region": pd.Categorical(rng.choice(["north", "south"], n))})
    frame["churned"] = np.where(frame.age < 40, "yes", "no")
    return frame


@pytest.mark.parametrize("name, options, frame_of", [
    ("csv_tabular", {"target": "churned"}, lambda f: f),
    ("csv_text", {"text_column": "region", "target": "churned"}, lambda f: f),
    ("csv_timeseries", {"target": "income", "window": 4, "group": "g"},
     lambda f: f.assign(g=np.arange(len(f)) // 12)[["g", "age", "income"]]),
])
def test_a_dataframe_loads_as_the_same_table_saved_as_csv(tmp_path, name, options, frame_of):
    frame = frame_of(_frame())
    frame.to_csv(tmp_path / "t.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", validate.SmallSplitWarning)
        ours, csv = (load_dataset(name, path=p, **options) for p in (frame, tmp_path / "t.csv"))
    for part in ("train", "val", "test"):
        a, b = getattr(ours, part), getattr(csv, part)
        for key in (a.x if isinstance(a.x, dict) else {"x": None}):
            x_a, x_b = (a.x[key], b.x[key]) if isinstance(a.x, dict) else (a.x, b.x)
            assert np.array_equal(x_a, x_b), (part, key)
        assert np.array_equal(a.y, b.y)
    assert ours.meta["source"] == f"pandas DataFrame ({len(frame)} rows, in memory)"
    assert ours.meta["sha256"]["DataFrame"] != csv.meta["sha256"]["t.csv"]


def test_dataframe_errors_name_the_column_and_row_and_fit_refuses_a_raw_frame():
    import zoo

    frame = _frame()
    frame.loc[4, "income"] = None
    with pytest.raises(DataValidationError, match=r"DataFrame: column 'income', data row 5 .* is missing"):
        load_dataset("csv_tabular", path=frame, target="churned")
    with pytest.raises(DataValidationError, match="Did you mean 'churned'"):
        load_dataset("csv_tabular", path=_frame(), target="churn")
    with pytest.raises(ConfigError, match=r"got DataFrame\. For a pandas DataFrame: data=zoo\.data\.load_dataset"):
        zoo.fit("tabular/classification", data=_frame(), epochs=1, verbose=0)
    changed = generic.frame_cells(_frame().assign(income=lambda f: f.income + 1))
    assert changed["income"].tolist()[:1] != generic.frame_cells(_frame())["income"].tolist()[:1]


# === Which class is positive (ROC-AUC, PR-AUC) ===


def _fraud_csv(tmp_path):
    rng = np.random.default_rng(0)
    amount = rng.gamma(2.0, 50.0, 400).round(2)
    label = np.where(amount + rng.normal(0, 40, 400) > 250, "fraud", "legit")
    return _write(tmp_path / "tx.csv", ["amount,label"] + [f"{a},{c}" for a, c in zip(amount, label, strict=True)])


def test_positive_class_is_named_swapped_in_and_a_majority_default_warns(tmp_path):
    """Sorted names made 'legit' (the 90% class) the positive one of fraud/legit, and PR-AUC scored it unnamed."""
    path = _fraud_csv(tmp_path)
    with pytest.warns(validate.PositiveClassWarning, match=r"'legit' as the positive class .* To score the rarer "
                      r"'fraud', name it: --data-options '\{\"positive_class\": \"fraud\"\}'"):
        default = load_dataset("csv_tabular", path=path, target="label")
    assert default.meta["class_names"] == ["fraud", "legit"] and default.meta["positive_class"] == "legit"
    with warnings.catch_warnings():
        warnings.simplefilter("error", validate.PositiveClassWarning)
        chosen = load_dataset("csv_tabular", path=path, target="label", positive_class="fraud")
    assert chosen.meta["class_names"] == ["legit", "fraud"] and chosen.meta["positive_class"] == "fraud"
    for mine, theirs in zip((chosen.train, chosen.val, chosen.test), (default.train, default.val, default.test),
                            strict=True):
        np.testing.assert_array_equal(mine.y, 1 - theirs.y)  # same rows, same split, labels swapped
        np.testing.assert_array_equal(mine.x["numeric"], theirs.x["numeric"])
    with pytest.raises(ConfigError, match=r"positive_class is 'Fraud'; the target's classes are \['fraud', 'legit'\]"):
        load_dataset("csv_tabular", path=path, target="label", positive_class="Fraud")
    three = _write(tmp_path / "3.csv", ["x,y"] + [f"{i},{'abc'[i % 3]}" for i in range(60)])
    with pytest.raises(ConfigError, match=r"the data has 3 classes \['a', 'b', 'c'\]; it names one class of a two"):
        load_dataset("csv_tabular", path=three, target="y", positive_class="a")
    with warnings.catch_warnings():  # 0/1 labels: class 1 is positive by convention, even when common
        warnings.simplefilter("error", validate.PositiveClassWarning)
        numeric = load_dataset("csv_tabular", path=_write(tmp_path / "n.csv", ["x,y"] + [f"{i},{int(i % 10 > 0)}"
                                                                                         for i in range(60)]), target="y")
    assert numeric.meta["positive_class"] == "1"


def test_a_named_positive_class_reaches_the_report_and_the_console(tmp_path, capsys):
    import sklearn.metrics as skm

    from zoo.cli import main

    path = _fraud_csv(tmp_path)
    argv = ["train", "tabular/classification", "--data", str(path), "--target", "label", "--epochs", "3", "--quiet",
            "--data-options", '{"positive_class": "fraud"}', "--class-weight", '{"fraud": 4}',
            "--out", str(tmp_path / "runs")]
    assert main(argv) == 0
    assert "(positive class: fraud)" in capsys.readouterr().out
    run_dir = next((tmp_path / "runs").iterdir())
    report = json.loads((run_dir / "report.json").read_text())
    assert report["test"]["positive_class"] == "fraud"
    assert report["class_weight"] == {"0": 1.0, "1": 4.0}  # by name, after the swap: fraud is class 1
    saved = np.load(run_dir / "predictions.npz")
    y_true, proba = saved["y_true"], saved["y_pred"][:, -1]  # the last column: class 1, now 'fraud'
    assert report["test"]["per_class"]["fraud"]["support"] == int((y_true == 1).sum()) < len(y_true) / 4
    assert report["test"]["pr_auc"] == pytest.approx(skm.average_precision_score(y_true == 1, proba))
    assert main(["report", str(run_dir)]) == 0  # the HTML report takes the named class too
