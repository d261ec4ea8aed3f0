"""Bad inputs end in a `ZooError` whose message names the file, column, row and expected value."""

from __future__ import annotations

import io
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo.data import cmapss_fd001, generic, german_credit, sources, validate
from zoo.data.types import Dataset, Split
from zoo.errors import ChecksumError, DataNotFoundError, DataValidationError, ZooError


def _csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _table(rows: int = 40, bad: dict[tuple[int, str], str] | None = None) -> str:
    """A CSV with numeric 'age', categorical 'city' and a balanced 'label'; `bad` overrides cells."""
    lines = ["age,city,label"]
    for i in range(rows):
        cells = {"age": str(20 + i), "city": "xyz"[i % 3], "label": "ny"[i % 2]}
        for (row, column), value in (bad or {}).items():
            if row == i:
                cells[column] = value
        lines.append(",".join(cells[c] for c in ("age", "city", "label")))
    return "\n".join(lines) + "\n"


# === CSV cells ===


def test_nan_in_numeric_column_names_file_column_and_row(tmp_path):
    path = _csv(tmp_path, _table(bad={(4, "age"): "NaN"}))
    with pytest.raises(DataValidationError, match=r"data\.csv: column 'age', data row 5 .* is missing"):
        generic.load_csv_tabular(path, "label")


def test_text_in_numeric_column(tmp_path):
    path = _csv(tmp_path, _table(bad={(7, "age"): "forty"}))
    with pytest.raises(
        DataValidationError, match=r"column 'age', data row 8 .*is 'forty'; expected a number"
    ):
        generic.load_csv_tabular(path, "label")
    # With the categorical columns named, every other column must be numeric.
    path = _csv(tmp_path, _table(bad={(0, "age"): "x"}), "named.csv")
    with pytest.raises(DataValidationError, match=r"named\.csv: column 'age', data row 1"):
        generic.load_csv_tabular(path, "label", categorical=["city"])


def test_missing_label(tmp_path):
    path = _csv(tmp_path, _table(bad={(11, "label"): ""}))
    with pytest.raises(DataValidationError, match=r"column 'label', data row 12 .*is missing"):
        generic.load_csv_tabular(path, "label")
    with pytest.raises(DataValidationError, match=r"column 'label', data row 12"):
        generic.load_text_csv(path, "city", "label")


def test_missing_and_extra_columns(tmp_path):
    path = _csv(tmp_path, _table())
    with pytest.raises(DataValidationError, match=r"data\.csv: missing column\(s\) \['target'\]"):
        generic.load_csv_tabular(path, "target")
    with pytest.raises(
        DataValidationError, match=r"missing column\(s\) \['b'\]; unexpected column\(s\) \['c'\]"
    ):
        validate.check_columns(["a", "c"], ["a", "b"], "f.csv")
    with pytest.raises(DataValidationError, match="duplicated"):
        validate.check_columns(["a", "a"], ["a"], "f.csv")
    validate.check_columns(["a", "b", "c"], ["a"], "f.csv", allow_extra=True)


def test_unreadable_files(tmp_path):
    with pytest.raises(DataNotFoundError):
        generic.load_csv_tabular(tmp_path / "absent.csv", "y")
    with pytest.raises(DataValidationError, match="empty"):
        generic.load_csv_tabular(_csv(tmp_path, ""), "y")
    with pytest.raises(DataValidationError, match="no data rows"):
        generic.load_csv_tabular(_csv(tmp_path, "a,y\n"), "y")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a,y\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataValidationError, match="latin-1"):
        generic.load_csv_tabular(latin, "y")


# === Labels ===


def test_labels_outside_classes():
    with pytest.raises(
        DataValidationError, match=r"label 3 at row index 2 .*expected an integer in \[0, 3\)"
    ):
        validate.check_labels(np.array([0, 1, 3]), 3, "train")
    with pytest.raises(DataValidationError, match="label -1"):
        validate.check_labels(np.array([-1]), 2, "train")
    with pytest.raises(DataValidationError, match="integer class ids"):
        validate.check_labels(np.array([0.5]), 2, "train")


def test_single_class(tmp_path):
    path = _csv(tmp_path, _table(rows=30).replace(",n\n", ",y\n"))
    # The class by its name in the file, not its encoded id (which said "0" for a column of "y").
    with pytest.raises(DataValidationError, match=r"every label is 'y'; expected at least two classes"):
        generic.load_csv_tabular(path, "label")


def test_imbalance_warning(tmp_path):
    rows = ["x,label"] + [f"{i},{'rare' if i < 2 else 'common'}" for i in range(100)]
    path = _csv(tmp_path, "\n".join(rows) + "\n")
    with pytest.warns(
        validate.ImbalanceWarning,
        match=r"class 1 \(rare\) has 2 of 64 rows .*\{0 \(common\): 62, 1 \(rare\): 2\}",
    ):
        generic.load_csv_tabular(path, "label")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate.warn_imbalance(np.array([0, 1] * 10), "balanced") is False
        assert validate.warn_imbalance(np.arange(240) % 24, "24 balanced classes, 4.2% each") is False  # it warned
    uneven = np.concatenate([np.arange(230) % 23, [23] * 4])  # one of 24 classes at 1.7%, under half of 4.2%
    with pytest.warns(validate.ImbalanceWarning, match=r"class 23 has 4 of 234 rows \(1.7%\), below the 2.1% "
                      r"threshold \(half a balanced class's 4.2%\)"):
        validate.warn_imbalance(uneven, "train")
    many = np.repeat(np.arange(300), np.arange(1, 301))  # 300 classes: before, a 4,000-character line
    with pytest.warns(validate.ImbalanceWarning) as caught:
        validate.warn_imbalance(many, "train", class_names=[str(c) for c in range(300)])
    assert "the 5 smallest of 300 classes {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}" in str(caught[0].message)
    assert len(str(caught[0].message)) < 300


def test_empty_split():
    with pytest.raises(DataValidationError, match="val: the split is empty"):
        validate.check_not_empty(Split(np.zeros((0, 2)), np.zeros(0)), "val")
    with pytest.raises(DataValidationError, match="3 input rows but 2 targets"):
        validate.check_not_empty(Split(np.zeros((3, 2)), np.zeros(2)), "train")


def test_check_finite_names_column_and_row():
    x = np.ones((5, 3), np.float32)
    x[3, 2] = np.inf
    with pytest.raises(DataValidationError, match=r"f\.csv: column 'c' has inf at row index 3"):
        validate.check_finite(x, "f.csv", ["a", "b", "c"])
    with pytest.raises(DataValidationError, match=r"at line 4 \(time step 0\)"):
        validate.check_finite(
            np.full((5, 2, 1), np.nan), "w", ["s"], row_numbers=range(4, 9), row_label="line"
        )
    with pytest.raises(DataValidationError, match="expected numeric"):
        validate.check_finite(np.array([["a"]], dtype=object), "f.csv")


# === Images and sequences ===


def test_bad_image_shape(tmp_path):
    with pytest.raises(
        DataValidationError, match=r"images have shape \(2, 28, 28\); expected \(n, 28, 28, 1\)"
    ):
        validate.check_image_shape(np.zeros((2, 28, 28), np.float32), (28, 28, 1), "train")
    with pytest.raises(
        DataValidationError, match=r"pixel values span \[255, 255\]; expected them scaled to \[0, 1\]"
    ):
        validate.check_image_shape(np.full((1, 2, 2, 1), 255.0, np.float32), None, "train")
    with pytest.raises(DataValidationError, match="5 channels"):
        validate.check_image_shape(np.zeros((1, 2, 2, 5), np.float32), None, "train")
    with pytest.raises(DataValidationError, match=r"8 channels.*look channels-first \(3, 8, 8\)"):
        validate.check_image_shape(np.zeros((1, 3, 8, 8), np.float32), None, "train")
    path = tmp_path / "bad.npz"
    test = {"x_test": np.zeros((4, 4, 4)), "y_test": np.arange(4) % 2}
    np.savez(path, x_train=np.full((10, 4, 4), 2.0), y_train=np.arange(10) % 2, **test)
    with pytest.raises(DataValidationError, match=r"bad\.npz \(train\): float pixels span \[2, 2\]"):
        generic.load_images(path)
    np.savez(path, x_train=np.zeros((10, 4, 4), np.uint8), y_train=np.zeros((10, 3)), **test)
    with pytest.raises(DataValidationError, match=r"labels have shape \(10, 3\)"):
        generic.load_images(path)
    np.savez(path, train_images=np.zeros((10, 4, 4), np.uint8))
    with pytest.raises(DataValidationError, match="key 'train_labels' is missing"):
        generic.load_images(path)


def test_image_folder_mixed_sizes_names_the_file(tmp_path):
    from PIL import Image

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(5):
            Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / c / f"{i}.png")
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(tmp_path / "b" / "big.png")
    with pytest.raises(DataValidationError, match=r"big\.png: image of shape \(5, 4, 1\)"):
        generic.load_images(tmp_path)
    (tmp_path / "b" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataValidationError, match=r"broken\.png"):
        generic.load_images(tmp_path, image_size=(4, 4))


def test_sequence_too_short(tmp_path):
    with pytest.raises(DataValidationError, match="engine 7: 12 time steps, shorter than the window of 30"):
        validate.check_sequence_length(12, 30, "engine 7")
    rows = ["unit,t,x,y"] + [f"{u},{t},{t},{t}" for u in range(6) for t in range(10 if u != 3 else 4)]
    path = _csv(tmp_path, "\n".join(rows) + "\n")
    with pytest.raises(
        DataValidationError, match=r"data\.csv, unit 3: 4 time steps, shorter than the window of 5"
    ):
        generic.load_timeseries_csv(path, "y", window=5, group="unit", test_fraction=0.5, val_fraction=0.5)
    with pytest.raises(DataValidationError, match=r"engine 3: 2 time steps"):
        cmapss_fd001._engine_series({3: np.zeros((2, 14))}, 5, False, "test_FD001.txt")
    assert cmapss_fd001._engine_series({3: np.zeros((2, 14))}, 5, True, "test_FD001.txt")[3].shape == (5, 14)


def test_cmapss_bad_lines(tmp_path):
    row = " ".join(["1.0"] * 24)
    path = _csv(tmp_path, f"1 1 {row}\n1 2 {row} 9\n", "train_FD001.txt")
    with pytest.raises(DataValidationError, match=r"train_FD001\.txt: line 2 has 27 values; expected 26"):
        cmapss_fd001.read_engines(path)
    path.write_text(f"1 1 {row}\n1 3 {row}\n")
    with pytest.raises(DataValidationError, match=r"engine 1, line 2 has cycle 3; expected 2"):
        cmapss_fd001.read_engines(path)
    path.write_text(f"1 1 {row}\n1 2 x {row[4:]}\n")
    with pytest.raises(DataValidationError, match=r"line 2, column 3 is 'x'"):
        cmapss_fd001.read_engines(path)


def test_german_credit_bad_code(tmp_path):
    line = "A11 6 A34 A43 1169 A65 A75 4 A93 A101 4 A121 67 A143 A152 2 A173 1 A192 A201 1"
    path = _csv(tmp_path, line + "\n" + line.replace("A43", "A99") + "\n", "german.data")
    with pytest.raises(DataValidationError, match=r"german\.data: line 2, column 'purpose' is 'A99'"):
        german_credit.read_table(path)
    path.write_text(line[:-1] + "3\n")
    with pytest.raises(DataValidationError, match=r"column 'class' is '3'; expected 1 \(good\) or 2 \(bad\)"):
        german_credit.read_table(path)


# === Files: checksums and archives ===


def test_tampered_file_raises_checksum_error(tmp_path):
    folder = tmp_path / "german_credit"
    folder.mkdir()
    (folder / "german.data").write_text(
        "A11 6 A34 A43 1169 A65 A75 4 A93 A101 4 A121 67 A143 A152 2 A173 1 A192 A201 9\n"
    )
    with pytest.raises(ChecksumError, match=r"german\.data: sha256 .* does not match"):
        german_credit.load(str(tmp_path))


def test_missing_data_names_where_it_looked(tmp_path, no_local_data):
    with pytest.raises(
        DataNotFoundError, match=r"(?s)Dataset 'german_credit' not found .*nowhere.*--data-dir"
    ):
        german_credit.load(str(tmp_path / "nowhere"))


def test_malicious_zip_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../escaped.txt", "pwned")
    with pytest.raises(DataValidationError, match="would extract outside"):
        sources.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_malicious_tar_is_refused(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as t:
        info = tarfile.TarInfo("/tmp/absolute-escape.txt")
        info.size = 5
        t.addfile(info, io.BytesIO(b"pwned"))
    with pytest.raises(DataValidationError, match="would extract outside"):
        sources.safe_extract(archive, tmp_path / "out")
    link = tmp_path / "link.tar"
    with tarfile.open(link, "w") as t:
        info = tarfile.TarInfo("data/link")
        info.type, info.linkname = tarfile.SYMTYPE, "../../outside"
        t.addfile(info)
    with pytest.raises(DataValidationError, match="would extract outside"):
        sources.safe_extract(link, tmp_path / "out2")


# === Property: any small CSV gives a Dataset or a ZooError, never another exception ===

_CELLS = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
    st.sampled_from(["", " ", "a", "b", "NA", "nan", "1e999", "x y", '"q,1"', "é", "-", "1,5"]),
)


@st.composite
def _csv_files(draw):
    """(CSV text, target, task): mostly-valid tables, noisy tables, or arbitrary CSV-ish text."""
    mode = draw(st.sampled_from(["clean", "clean", "noisy", "raw"]))
    task = draw(st.sampled_from(["classification", "regression"]))
    if mode == "raw":
        text = draw(st.text(alphabet="ab,1.\n\"y' \r", max_size=80))
        return text, draw(st.sampled_from(["y", "a", "missing"])), task
    if mode == "clean":
        names = draw(
            st.lists(st.sampled_from(["a", "b", "c", "id"]), min_size=1, max_size=3, unique=True)
        ) + ["y"]
        n = draw(st.integers(0, 30))
        numbers = st.one_of(st.integers(-1000, 1000).map(str), st.floats(-1e6, 1e6, width=32).map(repr))
        words = st.sampled_from(["red", "green", "blue"])
        kinds = {c: draw(st.sampled_from([numbers, words])) for c in names[:-1]}
        labels = st.sampled_from(["0", "1", "2"]) if task == "classification" else numbers
        rows = [[draw(kinds[c]) for c in names[:-1]] + [draw(labels)] for _ in range(n)]
        if rows and draw(st.booleans()):  # one bad cell somewhere
            rows[draw(st.integers(0, n - 1))][draw(st.integers(0, len(names) - 1))] = draw(_CELLS)
    else:
        names = draw(st.lists(st.sampled_from(["a", "b", "c", "y", "id", " y"]), min_size=1, max_size=4))
        rows = draw(st.lists(st.lists(_CELLS, min_size=len(names), max_size=len(names)), max_size=30))
    text = "\n".join([",".join(names)] + [",".join(r) for r in rows])
    return text, draw(st.sampled_from(["y", "y", "a", "missing"])), task


@settings(
    max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=_csv_files(), seed=st.integers(0, 3))
def test_load_csv_tabular_returns_dataset_or_zoo_error(tmp_path, case, seed):
    text, target, task = case
    path = tmp_path / "random.csv"
    path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = generic.load_csv_tabular(path, target, task=task, seed=seed)
        except ZooError:
            return
    assert isinstance(ds, Dataset)
    for split in (ds.train, ds.val, ds.test):
        assert len(split) > 0
        if "numeric" in split.x:
            assert split.x["numeric"].dtype == np.float32 and np.isfinite(split.x["numeric"]).all()
    if task == "classification":
        assert ds.train.y.dtype == np.int64 and len(np.unique(ds.train.y)) >= 2
    else:
        assert ds.train.y.dtype == np.float32


# === Messages that say how to fix the input ===


def test_missing_column_lists_the_columns_and_the_closest_name(tmp_path):
    path = _csv(tmp_path, _table())
    columns = r"The file's columns are \['age', 'city', 'label'\]\. Did you mean 'label' for 'labels'\?"
    with pytest.raises(DataValidationError, match=columns):
        generic.load_csv_tabular(path, "labels")
    with pytest.raises(DataValidationError, match=r"Did you mean 'city' for 'City'\?"):
        generic.load_timeseries_csv(path, "age", window=2, group="City")
    semi = _csv(tmp_path, _table().replace(",", ";"), "semi.csv")
    with pytest.raises(DataValidationError, match=r"header is one column holding ';': the file is ';'-separated. Read it with delimiter ';'"):
        generic.load_csv_tabular(semi, "label")
    assert generic.load_csv_tabular(semi, "label", delimiter=";").meta["categorical_names"] == ["city"]


def test_continuous_target_on_classification_says_use_regression(tmp_path):
    rows = ["x,y"] + [f"{i % 7},{np.sin(i):.4f}" for i in range(60)]
    path = _csv(tmp_path, "\n".join(rows) + "\n")
    with pytest.raises(
        DataValidationError, match=r"target 'y' has 60 distinct values; for a numeric target use tabular/regression"
    ):
        generic.load_csv_tabular(path, "y")
    assert generic.load_csv_tabular(path, "y", task="regression").train.y.dtype == np.float32
    npz = tmp_path / "float_labels.npz"
    np.savez(npz, x=np.zeros((60, 4, 4), np.uint8), y=np.linspace(0, 1, 60))
    with pytest.raises(DataValidationError, match=r"labels are floats with 60 distinct values"):
        generic.load_images(npz)


def test_npz_wrong_rank_and_not_a_zip(tmp_path):
    path = tmp_path / "flat.npz"
    np.savez(path, x=np.zeros((32, 16), np.uint8), y=np.arange(32) % 2)
    with pytest.raises(
        DataValidationError,
        match=r"images must be \(n, height, width\) or \(n, height, width, channels\); got shape \(32, 16\)",
    ):
        generic.load_images(path)
    fake = tmp_path / "fake.npz"
    fake.write_bytes(b"nope")
    with pytest.raises(DataValidationError, match=r"fake\.npz: not a valid NPZ file"):
        generic.load_images(fake)


# === Warnings on data too small to measure ===


def test_small_splits_warn_that_metrics_are_unreliable(tmp_path):
    path = _csv(tmp_path, _table(rows=5))
    with pytest.warns(validate.SmallSplitWarning) as caught:
        generic.load_csv_tabular(path, "label")
    messages = [str(w.message) for w in caught if w.category is validate.SmallSplitWarning]
    assert any(m.startswith("data.csv (test): 1 row(s), fewer than 20; metrics") for m in messages)
    assert any("data.csv (val): 1 row(s)" in m for m in messages)
    assert any("class(es) ['y'] have no test rows" in m for m in messages)
    with warnings.catch_warnings():
        warnings.simplefilter("error", validate.SmallSplitWarning)
        generic.load_csv_tabular(_csv(tmp_path, _table(rows=200), "big.csv"), "label")


def test_a_repeated_column_name_is_refused_before_pandas_renames_it(tmp_path):
    """pandas reads a second 'label' column as 'label.1': read as an input, the target leaked into the model."""
    lines = _table(rows=30).splitlines()
    path = _csv(tmp_path, "\n".join([lines[0] + ",label"] + [row + "," + row.rsplit(",", 1)[1] for row in lines[1:]]))
    with pytest.raises(DataValidationError, match=r"duplicated column name\(s\) \['label'\]"):
        generic.load_csv_tabular(path, "label")


def test_a_number_spelled_two_ways_is_one_class(tmp_path):
    path = _csv(tmp_path, _table(rows=30).replace(",n\n", ",0\n").replace(",y\n", ",1\n").replace("\n20,x,0", "\n20,x,0.0"))
    data = generic.load_csv_tabular(path, "label")
    assert data.meta["class_names"] == ["0", "1"]


def test_npz_class_ids_that_skip_values_are_named_by_value(tmp_path):
    """1-based ids made an empty class '0' that the model then predicted for half the test images."""
    path = tmp_path / "one_based.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 255, (60, 8, 8), dtype=np.uint8), y=np.arange(60) % 2 + 1)
    data = generic.load_images(path)
    assert data.meta["class_names"] == ["1", "2"] and set(np.unique(data.train.y)) == {0, 1}


def test_semicolon_file_read_with_commas_names_the_delimiter(tmp_path):
    path = _csv(tmp_path, "age;income;label\n30;1,5;y\n40;2,5;n\n")
    with pytest.raises(DataValidationError, match=r"';'-separated\. Read it with delimiter ';'"):
        generic.load_csv_tabular(path, "label")


def test_constant_regression_target_is_refused(tmp_path):
    path = _csv(tmp_path, "x,y\n" + "".join(f"{i},5\n" for i in range(30)))
    with pytest.raises(DataValidationError, match=r"every 'y' value is 5; a constant target"):
        generic.load_csv_tabular(path, "y", task="regression")


def test_a_numeric_id_column_warns_and_a_numeric_feature_does_not(tmp_path):
    """A customer_id kept as an input was used silently (accuracy 0.675 with it, 0.775 dropped, in an audit)."""
    rng = np.random.default_rng(0)
    ids = rng.permutation(np.arange(5000, 5400))[:300]  # named like an id; not one unbroken range
    incomes = rng.choice(np.arange(20_000, 90_000), 300, replace=False)  # whole and distinct, but a feature
    rows = ["customer_id,income,row,label"] + [f"{c},{m},{i},{'ab'[i % 2]}" for i, (c, m) in
                                               enumerate(zip(ids, incomes, strict=True))]
    path = _csv(tmp_path, "\n".join(rows) + "\n")
    with pytest.warns(validate.IdColumnWarning) as caught:
        generic.load_csv_tabular(path, "label")
    flagged = sorted(str(w.message).split("'")[1] for w in caught if w.category is validate.IdColumnWarning)
    assert flagged == ["customer_id", "row"]  # row: 0..299, one unbroken range
    assert '--data-options \'{"drop": ["customer_id"]}\'' in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error", validate.IdColumnWarning)
        generic.load_csv_tabular(path, "label", drop=["customer_id", "row"])
