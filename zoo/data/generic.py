"""Bring-your-own-data loaders: CSV tables, image folders or NPZ files, text CSVs, time-series CSVs.

Each reads a user's file, validates it at the edge (errors name the file, the column and the row,
counted as data rows from 1 after the header; the file's line number is that + 1 when no blank
line or multi-line quoted cell precedes it), splits it with a seed and returns a
`zoo.data.types.Dataset` shaped like the built-in loaders' output, so every backbone and head
works on it unchanged. Validation splits are always carved from training data.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import inspect
import numbers
import os
import re
import types
import typing
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo.data import common, splits, tabular, validate
from zoo.data.sources import sha256
from zoo.data.types import Dataset, Split
from zoo.errors import ConfigError, DataNotFoundError, DataValidationError

if TYPE_CHECKING:
    import pandas as pd

TASKS = ("classification", "regression")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


# === Shared pieces ===


def read_csv(
    path: str | os.PathLike,
    *,
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
    decimal: str = ".",
    thousands: str | None = None,
) -> Any:
    """Read a CSV with a header row into a pandas DataFrame of str cells (missing cells NaN).

    Every cell is read as text so the zoo, not pandas, decides what is a number and can name
    the offending cell. Any read failure becomes `DataValidationError` (or `DataNotFoundError`).
    With `decimal` or `thousands` set, a cell that reads as a number once currency symbols, %
    and the `thousands` separators are removed and the `decimal` mark becomes `.` is rewritten
    as that number (`"$1.234,5"` becomes `"1234.5"`); other cells are kept as they are.

    Args:
        path: str or path. The CSV file.
        encoding: str. The text encoding (the default also strips a UTF-8 byte-order mark).
        delimiter: str. The field separator.
        decimal: str. The decimal mark of the file's numbers, e.g. `","` for `50,12`.
        thousands: optional str. The thousands separator of the file's numbers, e.g. `","` for
            `$50,123`.

    Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"; _ = p.write_text("a,b\\n1,x\\n")
    >>> read_csv(p).to_dict("list")
    {'a': ['1'], 'b': ['x']}
    >>> _ = p.write_text("price;city\\n€1.234,5;Köln\\n")
    >>> read_csv(p, delimiter=";", decimal=",", thousands=".").to_dict("list")
    {'price': ['1234.5'], 'city': ['Köln']}
    """
    import pandas as pd

    _check_number_marks(decimal, thousands)
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: no such file.")
    try:
        with warnings.catch_warnings():  # pandas only warns when it drops the cells beyond the header's names
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, dtype=str, encoding=encoding, sep=delimiter, index_col=False)
    except pd.errors.ParserWarning:
        raise DataValidationError(_long_row_message(path, encoding, delimiter)) from None
    except pd.errors.EmptyDataError:
        raise DataValidationError(
            f"{path.name}: the file is empty; expected a header row and data rows."
        ) from None
    except UnicodeDecodeError as error:
        raise DataValidationError(
            f"{path.name}: byte {error.start} is not valid {encoding}; read it with the file's encoding (the "
            "loaders' encoding option, e.g. --data-options '{\"encoding\": \"latin-1\"}'); for zoo predict, save the "
            "new rows in the training file's encoding, or pass a DataFrame."
        ) from None
    except (ValueError, csv.Error, OSError) as error:
        raise DataValidationError(f"{path.name}: could not parse as CSV: {error}".rstrip() + ".") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    # Duplicated names: pandas renames a repeated "churned" to "churned.1", which would then be read as an input
    # (the target twice: a perfect, leaking feature), so the header is checked as written.
    header = list(frame.columns)
    if len(delimiter) == 1:
        with open(path, encoding=encoding, newline="") as file:
            header = [name.strip() for name in next(csv.reader(file, delimiter=delimiter), header)]
    validate.check_columns(header, header, path.name)
    if len(frame) == 0:
        raise DataValidationError(f"{path.name}: no data rows after the header; expected at least one.")
    if decimal == "." and thousands is None:
        return frame
    return frame.apply(lambda column: _rewrite_numbers(column, decimal, thousands))


def _check_number_marks(decimal: str, thousands: str | None) -> None:
    for name, mark in {"decimal": decimal, "thousands": thousands}.items():
        if mark is not None and (len(mark) != 1 or mark.isdigit()):
            raise DataValidationError(f"{name} is {mark!r}; expected one character that is not a digit.")
    if decimal == thousands:
        raise DataValidationError(f"decimal and thousands are both {decimal!r}; expected two different marks.")


def _rewrite_numbers(column: Any, decimal: str, thousands: str | None) -> Any:
    """The cells of `column` that read as numbers in the file's format, rewritten as plain numbers."""
    import pandas as pd

    def plain(cell: Any) -> Any:
        if not isinstance(cell, str):
            return cell
        cell = common.strip_number_symbols(cell)
        if thousands is not None:
            cell = cell.replace(thousands, "")
        return cell.replace(decimal, ".")

    rewritten = column.map(plain)
    return column.where(pd.to_numeric(rewritten, errors="coerce").isna(), rewritten)


def _long_row_message(path: Path, encoding: str, delimiter: str) -> str:
    """Name the first data row with more cells than the header has column names."""
    with open(path, newline="", encoding=encoding) as f:
        rows = csv.reader(f, delimiter=delimiter)
        header = next(rows, [])
        for i, row in enumerate(rows):
            if len(row) > len(header):
                return " ".join([
                    f"{path.name}: {common.csv_row(i)} has {len(row)} cells but the header names {len(header)} "
                    "columns; give every column a name in the header row.", *validate.delimiter_hints(header)])
    return f"{path.name}: data rows have more cells than the header names columns."


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise DataValidationError(f"task is {task!r}; expected one of {', '.join(TASKS)}.")


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def encode_labels(values: Any, where: str, column: str) -> tuple[np.ndarray, list[str]]:
    """Int64 class ids and sorted class names (numerically when every label is a number).

    A missing label raises `DataValidationError` naming the row.

    Args:
        values: array-like. The label column as read.
        where: str. The file, named in messages.
        column: str. The label column, named in messages.

    Example:
    >>> y, names = encode_labels(["10", "9", "10"], "f.csv", "label")
    >>> y.tolist(), names
    ([1, 0, 1], ['9', '10'])
    >>> encode_labels(["1", "0", "1.0"], "f.csv", "label")[1]  # one class per number, however it is spelled
    ['0', '1']
    """
    labels = np.array([s.strip() for s in common.text_column(values, where, column)], dtype=object)
    try:
        numbers = [float(v) for v in labels]
        if not np.isfinite(numbers).all():
            raise ValueError("not finite")
    except ValueError:  # class names: each spelling is a class ("nan" and "inf" too)
        names = sorted({str(v) for v in labels})
        lookup = {n: i for i, n in enumerate(names)}
        return np.array([lookup[v] for v in labels], dtype=np.int64), names
    # Numbers: one class per value, however it is spelled ("1" and "1.0" are one class, named "1").
    spelled: dict[float, str] = {}
    for v, number in zip(labels, numbers, strict=True):
        spelled.setdefault(number, str(int(number)) if number.is_integer() else str(v))
    values_sorted = sorted(spelled)
    index = {number: i for i, number in enumerate(values_sorted)}
    return np.array([index[number] for number in numbers], dtype=np.int64), [spelled[n] for n in values_sorted]


def _continuous(labels: Any, max_classes: int = 20) -> int:
    """The number of distinct values when `labels` look like a regression target, else 0.

    They do when every label is a number, more than `max_classes` values are distinct, and some
    are fractional or most rows have a value of their own.
    """
    import pandas as pd

    values = pd.to_numeric(pd.Series(np.asarray(labels, dtype=object).reshape(-1)), errors="coerce")
    values = values.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        return 0
    distinct = np.unique(values)
    fractional = bool((distinct != np.round(distinct)).any())
    return len(distinct) if len(distinct) > max_classes and (fractional or 2 * len(distinct) > len(values)) else 0


_REGRESSION_HINT = "for a numeric target use tabular/regression (timeseries/regression for series), or bin it into classes"


def _target(frame: Any, target: str, task: str, where: str,
            regression_hint: str = _REGRESSION_HINT) -> tuple[np.ndarray, dict[str, Any]]:
    if task == "classification":
        if distinct := _continuous(frame[target].to_numpy(dtype=object)):
            raise DataValidationError(f"{where}: target '{target}' has {distinct} distinct values; {regression_hint}.")
        y, names = encode_labels(frame[target].to_numpy(dtype=object), where, target)
        singletons = int((np.bincount(y, minlength=len(names)) == 1).sum())
        if len(names) > 20 and 2 * singletons > len(names):  # an id or free-text column, not labels
            raise DataValidationError(
                f"{where}: target '{target}' has {len(names)} classes in {len(y)} rows, {singletons} of them with a "
                "single row: it looks like an id or a text column, not labels (a class needs rows to train on and "
                "to test with). Check the target column (text/classification: --text-column names the text, "
                "--target the label).")
        return y, {"num_classes": len(names), "class_names": names, "target_name": target}
    y = common.numeric_column(frame[target].to_numpy(dtype=object), where, target).astype(np.float32)
    return y, {"target_name": target}


def _check(parts: list[tuple[str, Split]], task: str, meta: dict[str, Any], where: str) -> None:
    if task == "classification":
        common.check_classification(parts, meta["num_classes"], where, meta["class_names"])
    else:
        common.check_regression(parts, where, meta["target_name"])
    validate.warn_small_splits(parts, where, class_names=meta.get("class_names"))


def _file_meta(path: Path, seed: int) -> dict[str, Any]:
    return {"source": path.name, "path": str(path), "sha256": {path.name: sha256(path)}, "seed": seed}


def is_frame(source: Any) -> bool:
    """Whether `source` is a pandas DataFrame (checked without importing pandas).

    Example:
    >>> import pandas as pd
    >>> is_frame(pd.DataFrame({"a": [1]})), is_frame("table.csv")
    (True, False)
    """
    return type(source).__name__ == "DataFrame" and hasattr(source, "columns") and hasattr(source, "map")


def frame_cells(frame: Any) -> Any:
    """A pandas DataFrame as `read_csv` reads a file: str column names and str cells, missing cells NaN.

    So a table built in a notebook is validated, typed and split exactly as the same table saved
    as CSV (its index is not a column: `reset_index()` first to use it).

    Example:
    >>> import pandas as pd
    >>> frame_cells(pd.DataFrame({"a": [1.5, None], 2: ["x", "y"]})).to_dict("list")
    {'a': ['1.5', nan], '2': ['x', 'y']}
    """
    import pandas as pd

    cells = frame.astype(object).map(lambda v: v if isinstance(v, str) else (np.nan if pd.isna(v) else str(v)))
    cells.columns = [str(c).strip() for c in frame.columns]
    return cells.reset_index(drop=True)


def read_table(source: Any, **csv_options: Any) -> tuple[Any, str]:
    """The table of a CSV path (`read_csv`, with its options) or a pandas DataFrame (`frame_cells`),
    as str cells, and its name for messages (the file's name, or `"DataFrame"`).

    Example:
    >>> import pandas as pd
    >>> frame, where = read_table(pd.DataFrame({"a": [1, 2]}))
    >>> frame["a"].tolist(), where
    (['1', '2'], 'DataFrame')
    """
    if not is_frame(source):
        if not isinstance(source, str | os.PathLike):
            raise ConfigError(f"expected a CSV path or a pandas DataFrame, got {type(source).__name__}.")
        return read_csv(source, **csv_options), Path(source).name
    frame = frame_cells(source)
    validate.check_columns(list(frame.columns), list(frame.columns), "DataFrame")  # duplicated names
    if len(frame) == 0:
        raise DataValidationError("DataFrame: no rows; expected at least one.")
    decimal, thousands = csv_options.get("decimal", "."), csv_options.get("thousands")
    _check_number_marks(decimal, thousands)
    if decimal != "." or thousands is not None:
        frame = frame.apply(lambda column: _rewrite_numbers(column, decimal, thousands))
    return frame, "DataFrame"


def _read_user_table(
    source: Any, encoding: str, delimiter: str, decimal: str, thousands: str | None
) -> tuple[Any, str, dict[str, Any]]:
    """`read_table` with the generic loaders' CSV options, and those options as `_table_meta`
    records them (so `zoo.predict` reads new rows the same way)."""
    csv_options = {"encoding": encoding, "delimiter": delimiter, "decimal": decimal, "thousands": thousands}
    frame, where = read_table(source, **csv_options)
    return frame, where, csv_options


def _table_meta(source: Any, frame: Any, seed: int, csv_options: dict[str, Any]) -> dict[str, Any]:
    """Where a table read by `read_table` came from (the file and its sha256, or a digest of the
    DataFrame) and how it was read (`csv_options`, which `zoo.predict` reads new rows with)."""
    if not is_frame(source):
        return {**_file_meta(Path(source), seed), "csv_options": csv_options}
    import pandas as pd

    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
    digest = hashlib.sha256((digest + "|".join(frame.columns)).encode()).hexdigest()
    return {"source": f"pandas DataFrame ({len(frame)} rows, in memory)", "sha256": {"DataFrame": digest},
            "seed": seed, "csv_options": csv_options}


def _is_numeric_column(values: np.ndarray) -> bool:
    """Most non-missing cells are numbers (so a stray text cell is an error, not a category)."""
    import pandas as pd

    series = pd.Series(values, dtype=object)
    present = series[~series.isna() & (series.astype(str).str.strip() != "")]
    if present.empty:
        return True  # All missing: let the numeric check name the missing cell.
    parsed = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    return bool(parsed.notna().sum() * 2 > len(present))


def _check_formatted_numbers(values: np.ndarray, where: str, column: str) -> None:
    """Raise when a text column holds numbers written with symbols or separators (see `read_csv`)."""
    example = common.formatted_number_example(values)
    if example is not None:
        raise DataValidationError(
            f"{where}: column '{column}' reads as text but holds numbers such as '{example}'. Pass the "
            "decimal and thousands options for the file's number format (e.g. {\"decimal\": \",\"} for "
            "50,12 or {\"thousands\": \",\"} for $50,123; currency symbols and % are then removed), or list "
            "the column in categorical if it really is a category."
        )
    example = common.number_with_unit_example(values)
    if example is not None:
        raise DataValidationError(
            f"{where}: column '{column}' reads as text but holds numbers with a unit such as '{example}', which "
            "would make each value a category of its own. Remove the unit (in pandas, e.g. "
            r"frame[column].str.extract(r'([\d.]+)').astype(float)), or list the column in categorical if it "
            "really is a category."
        )


# === Tabular ===


def load_csv_tabular(
    path: str | os.PathLike | pd.DataFrame,
    target: str,
    *,
    task: str = "classification",
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    categorical: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
    decimal: str = ".",
    thousands: str | None = None,
) -> Dataset:
    """Load a CSV with a header as a tabular dataset (numeric and categorical inputs).

    Columns: `target` is the label, `drop` columns are ignored (e.g. ids), and every other column
    is an input. With `categorical=None` a column is categorical when most of its cells are not
    numbers, otherwise numeric; pass `categorical=[...]` to choose (then all other inputs must be
    numeric). Missing cells (empty or NaN) anywhere, a text cell in a numeric column and a missing
    label raise `DataValidationError` naming the file, column and data row (1-based, header
    excluded), and so does a detected categorical column that holds formatted numbers (`50,12`,
    `$50,123`: pass `decimal`/`thousands`, or list it in `categorical`). A categorical column
    with mostly distinct values warns (`validate.HighCardinalityWarning`). Numbers are not
    normalized; category codes are learned from the train split (0 = unseen).

    Split: seeded `test_fraction` of rows for test, then `val_fraction` of the rest for
    validation; stratified by class for classification, random for regression.

    Args:
        path: str or path. The CSV file, or a pandas DataFrame (read as that table saved as CSV
            would be, see `frame_cells`).
        target: str. The label column.
        task: str. `"classification"` (labels become int64 class ids, sorted class names) or
            `"regression"` (float32 targets).
        seed: int. The split seed.
        test_fraction: float. Share of rows for test.
        val_fraction: float. Share of the remaining rows for validation.
        categorical: optional sequence of str. The categorical input columns (None: detect).
        drop: optional sequence of str. Columns to ignore.
        encoding: str. The file's text encoding.
        delimiter: str. The field separator.
        decimal: str. The decimal mark of the file's numbers (`","` for `50,12`; see `read_csv`).
        thousands: optional str. The thousands separator of its numbers (`","` for `$50,123`).

    Returns:
        A `Dataset` with x `{"numeric": float32 (n, k), "categorical": int32 (n, m)}`.

    Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "loans.csv"
    >>> rows = [f"{i},{i % 7},{'ab'[i % 2]},{i % 2}" for i in range(50)]
    >>> _ = p.write_text("id,income,region,default\\n" + "\\n".join(rows) + "\\n")
    >>> ds = load_csv_tabular(p, "default", drop=["id"])
    >>> ds.train.x["numeric"].shape, ds.meta["categorical_names"], ds.meta["class_names"]
    ((32, 1), ['region'], ['0', '1'])
    """
    _check_task(task)
    frame, where, csv_options = _read_user_table(path, encoding, delimiter, decimal, thousands)
    columns = list(frame.columns)
    drop_list, categorical_list = _as_list(drop), _as_list(categorical)
    validate.check_columns(columns, [target, *drop_list, *categorical_list], where, allow_extra=True)
    if target in drop_list or target in categorical_list:
        raise DataValidationError(f"{where}: the target '{target}' is also listed in drop or categorical.")
    y, target_meta = _target(frame, target, task, where)
    inputs = [c for c in columns if c != target and c not in drop_list]
    if not inputs:
        raise DataValidationError(
            f"{where}: no input columns besides the target '{target}'; expected at least one."
        )
    if categorical is None:
        categorical_list = [c for c in inputs if not _is_numeric_column(frame[c].to_numpy(dtype=object))]
        for column in categorical_list:
            _check_formatted_numbers(frame[column].to_numpy(dtype=object), where, column)
    numeric_names = [c for c in inputs if c not in categorical_list]
    categorical_names = [c for c in inputs if c in categorical_list]
    numeric = np.zeros((len(frame), len(numeric_names)), dtype=np.float64)
    for j, column in enumerate(numeric_names):
        numeric[:, j] = common.numeric_column(frame[column].to_numpy(dtype=object), where, column)
        validate.warn_id_column(numeric[:, j], where, column)
    too_big = np.abs(numeric) > np.finfo(np.float32).max
    if too_big.any():
        i, j = (int(v) for v in np.argwhere(too_big)[0])
        raise DataValidationError(
            f"{where}: column '{numeric_names[j]}', {common.csv_row(i)} is {numeric[i, j]:g}; "
            "expected a number within float32 range."
        )
    raw = np.empty((len(frame), len(categorical_names)), dtype=object)
    for j, column in enumerate(categorical_names):
        raw[:, j] = [
            v.strip() for v in common.text_column(frame[column].to_numpy(dtype=object), where, column)
        ]
        validate.warn_high_cardinality(raw[:, j], where, column)
    stratify = task == "classification"
    index = splits.train_val_test(y, test_fraction, val_fraction, seed, stratify=stratify)
    train, val, test, table_meta = tabular.build_tabular_splits(
        numeric, raw, y, index, numeric_names, categorical_names, where
    )
    meta: dict[str, Any] = {
        **_table_meta(path, frame, seed, csv_options),
        "modality": "tabular",
        "task_type": task,
        "split": splits.describe(test_fraction, val_fraction, seed, stratify=stratify),
        "dropped_columns": drop_list,
        **target_meta,
        **table_meta,
    }
    _check([("train", train), ("val", val), ("test", test)], task, meta, where)
    return Dataset(train, val, test, meta)


# === Text ===


def load_text_csv(
    path: str | os.PathLike | pd.DataFrame,
    text_column: str | None = None,
    target: str | None = None,
    *,
    task: str = "classification",
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
    decimal: str = ".",
    thousands: str | None = None,
) -> Dataset:
    """Load a CSV of texts and labels, or a folder of text files, as a text dataset (raw str).

    Tokenize the result with `zoo.data.text`. A folder holds one subfolder of `.txt` files per
    class (each file one example, as `keras.utils.text_dataset_from_directory` reads), or
    `train/` and `test/` (and optionally `val/`) folders of such subfolders, as IMDB ships.
    Split: seeded `test_fraction` for test, then `val_fraction` of the rest for validation,
    stratified for classification (a folder's own train/test split is kept). A missing text or
    label raises `DataValidationError` naming the column and data row (1-based, header excluded),
    an empty or undecodable file names the file.

    Args:
        path: str or path. The CSV file, or the folder, or a pandas DataFrame (see `frame_cells`).
        text_column: str. The column holding the text (a CSV needs it; a folder has none).
        target: str. The label column (a CSV needs it; a folder's labels are its subfolders).
        task: str. `"classification"` or `"regression"`.
        seed: int. The split seed.
        test_fraction: float. Share of rows for test.
        val_fraction: float. Share of the remaining rows for validation.
        encoding: str. The file's text encoding.
        delimiter: str. The field separator.
        decimal: str. The decimal mark of the file's numbers (`","` for `50,12`; see `read_csv`).
        thousands: optional str. The thousands separator of its numbers (`","` for `$50,123`).

    Returns:
        A `Dataset` whose x are numpy arrays of Python str (dtype object).

    Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "reviews.csv"
    >>> rows = [f'"review {i}, {"good" if i % 2 else "bad"}",{i % 2}' for i in range(20)]
    >>> _ = p.write_text("text,label\\n" + "\\n".join(rows) + "\\n")
    >>> ds = load_text_csv(p, "text", "label")
    >>> ds.train.x[:1].tolist(), len(ds.train), len(ds.val), len(ds.test)
    (['review 0, bad'], 13, 3, 4)
    """
    _check_task(task)
    where = "DataFrame" if is_frame(path) else Path(path).name
    if not is_frame(path) and Path(path).is_dir():
        path = Path(path)
        if task != "classification" or text_column is not None or target is not None:
            raise ConfigError(
                f"{where}/ is a folder of text files: its labels are its class subfolders, so it takes no "
                "text_column or target and trains classification only; for other layouts use a CSV."
            )
        return _load_text_folder(path, seed, test_fraction, val_fraction, encoding)
    if text_column is None or target is None:
        missing = " and ".join(n for n, v in (("text_column", text_column), ("target", target)) if v is None)
        raise ConfigError(
            f"{where}: a CSV of texts needs {missing}: on the command line --text-column COLUMN --target COLUMN, "
            "in Python task.data_options['text_column'] and ['target']; a folder of class subfolders of .txt "
            "files needs neither."
        )
    frame, where, csv_options = _read_user_table(path, encoding, delimiter, decimal, thousands)
    validate.check_columns(list(frame.columns), [text_column, target], where, allow_extra=True)
    if text_column == target:
        raise DataValidationError(
            f"{where}: text_column and target are both '{target}'; expected two columns."
        )
    x = common.text_column(frame[text_column].to_numpy(dtype=object), where, text_column)
    y, target_meta = _target(frame, target, task, where, "text/classification predicts classes: bin the target into "
                             "classes, or in Python load the texts with task='regression' under a regression head")
    stratify = task == "classification"
    parts_index = splits.train_val_test(y, test_fraction, val_fraction, seed, stratify=stratify)
    train, val, test = (Split(x[i], y[i]) for i in parts_index)
    meta: dict[str, Any] = {
        **_table_meta(path, frame, seed, csv_options),
        "modality": "text",
        "task_type": task,
        "text_column": text_column,
        "split": splits.describe(test_fraction, val_fraction, seed, stratify=stratify),
        **target_meta,
    }
    _check([("train", train), ("val", val), ("test", test)], task, meta, where)
    return Dataset(train, val, test, meta)


def _read_text_files(root: Path, class_names: list[str] | None, encoding: str
                     ) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Texts under `root/<class>/` (its subfolders too, as keras.utils.text_dataset_from_directory and predict
    read them), int64 labels, class names and file names (relative to `root`)."""
    folders = _class_folders(root)
    if not folders:
        raise DataValidationError(f"{root}: no class subfolders; expected one folder of .txt files per class.")
    names = [f.name for f in folders]
    if class_names is None:
        class_names = names
    elif unknown := [n for n in names if n not in class_names]:
        raise DataValidationError(f"{root}: class folder(s) {unknown} are not among the training classes {class_names}.")
    texts, labels, files = [], [], []
    for folder in folders:
        found = _visible_files(folder, (".txt",))
        if not found:
            raise DataValidationError(f"{folder}: no .txt files; expected one text file per example.")
        for f in found:
            texts.append(_read_text_file(f, encoding))
            labels.append(class_names.index(folder.name))
            files.append(str(f.relative_to(root)))
    return np.array(texts, dtype=object), np.array(labels, dtype=np.int64), class_names, files


def _read_text_file(path: Path, encoding: str) -> str:
    """One example's text file, stripped; an empty or undecodable file is a `DataValidationError` naming it."""
    try:
        text = path.read_text(encoding=encoding).strip()
    except UnicodeDecodeError as error:
        raise DataValidationError(
            f"{path}: not {encoding} text ({error.reason}); pass the file's encoding, e.g. "
            '--data-options \'{"encoding": "latin-1"}\'.'
        ) from None
    if not text:
        raise DataValidationError(f"{path}: the file is empty; remove it or give it its text.")
    return text


def read_new_texts(folder: str | os.PathLike, encoding: str = "utf-8") -> tuple[list[str], list[str]]:
    """The texts of a folder's `.txt` files (one example each, subfolders included, sorted) and their names.

    Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.txt").write_text("profit rose")
    >>> read_new_texts(d)
    (['profit rose'], ['a.txt'])
    """
    root = Path(folder)
    found = _visible_files(root, (".txt",))
    if not found:
        raise DataValidationError(f"{root}: no .txt files; expected one text file per example.")
    return [_read_text_file(f, encoding) for f in found], [str(f.relative_to(root)) for f in found]


def _load_text_folder(path: Path, seed: int, test_fraction: float, val_fraction: float, encoding: str) -> Dataset:
    """`load_text_csv` on a folder: class subfolders of .txt files, or train/ and test/ (val/) of them."""
    where = f"{path.name}/"
    subsets = {p.name.lower(): p for p in _class_folders(path)}
    rng = np.random.default_rng(seed)
    files: dict[str, list[str]] = {}
    if "train" in subsets and "test" in subsets:
        given, class_names = {}, None
        for name in ["train", "test"] + [v for v in ("val", "validation") if v in subsets][:1]:
            x, y, class_names, names = _read_text_files(subsets[name], class_names, encoding)
            key = "val" if name == "validation" else name
            given[key] = Split(x, y)
            files[key] = [f"{subsets[name].name}/{n}" for n in names]
        if "val" not in given:
            keep, held = splits.stratified_split(given["train"].y, val_fraction, rng)
            given["train"], given["val"] = (Split(given["train"].x[i], given["train"].y[i]) for i in (keep, held))
            split = (f"The folder's own train/test split; validation: a stratified {100 * val_fraction:.0f}% of "
                     f"train chosen with seed {seed}.")
        else:
            split = "The folder's own train/validation/test split; the seed does not change it."
        train, val, test = given["train"], given["val"], given["test"]
    else:
        x, y, class_names, files["all"] = _read_text_files(path, None, encoding)
        train, val, test = (Split(x[i], y[i]) for i in splits.train_val_test(y, test_fraction, val_fraction, rng))
        split = splits.describe(test_fraction, val_fraction, seed)
    meta: dict[str, Any] = {
        "source": where,
        "path": str(path),
        "sha256": {f"{where} ({sum(len(v) for v in files.values())} files)": _manifest_digest(path, files)},
        "seed": seed,
        "modality": "text",
        "task_type": "classification",
        "split": split,
        "num_classes": len(class_names),
        "class_names": class_names,
    }
    _check([("train", train), ("val", val), ("test", test)], "classification", meta, where)
    return Dataset(train, val, test, meta, {"files": files})


# === Images ===


def _scale_images(images: np.ndarray, where: str) -> np.ndarray:
    """Float32 `(n, H, W, C)` in [0, 1] from uint8 (or integer <= 255) or float [0, 1] arrays."""
    if images.ndim not in (3, 4):
        raise DataValidationError(
            f"{where}: images must be (n, height, width) or (n, height, width, channels); got shape "
            f"{images.shape}."
        )
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.dtype.kind not in "uifb":
        raise DataValidationError(f"{where}: images have dtype {images.dtype}; expected uint8 or float.")
    if images.size and images.dtype.kind in "ui":
        if images.min() < 0 or images.max() > 255:
            raise DataValidationError(
                f"{where}: integer pixels span [{images.min()}, {images.max()}]; expected 0-255."
            )
        return images.astype(np.float32) / 255.0
    images = images.astype(np.float32)
    if images.size and not np.isfinite(images).all():
        raise DataValidationError(f"{where}: images hold NaN or infinite pixels; expected values in [0, 1].")
    if images.size and (images.min() < 0.0 or images.max() > 1.0):
        raise DataValidationError(
            f"{where}: float pixels span [{images.min():g}, {images.max():g}]; expected [0, 1] "
            "(or store uint8 0-255)."
        )
    return images


_NPZ_KEYS = {
    "train": (("x_train", "y_train"), ("train_images", "train_labels")),
    "val": (("x_val", "y_val"), ("val_images", "val_labels")),
    "test": (("x_test", "y_test"), ("test_images", "test_labels")),
    "all": (("x", "y"), ("images", "labels")),
}


def _npz_labels(labels: np.ndarray, n: int, where: str) -> np.ndarray:
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or len(labels) != n:
        raise DataValidationError(
            f"{where}: labels have shape {labels.shape}; expected ({n},) or ({n}, 1), one class per image "
            "(one-hot and multi-label arrays are not supported)."
        )
    return labels


def _open_npz(path: Path) -> Any:
    """`np.load` of an NPZ (no pickles), or a `DataValidationError` saying why the file is not one."""
    if not zipfile.is_zipfile(path):
        raise DataValidationError(
            f"{path.name}: not a valid NPZ file (an NPZ is a zip archive of arrays, as numpy.savez writes); "
            "save the images and labels with numpy.savez, or pass a folder of images."
        )
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise DataValidationError(f"{path.name}: not a readable NPZ of numeric arrays ({error}).") from None


def _read_npz(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    archive = _open_npz(path)
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with archive:
        keys = set(archive.files)
        for name, options in _NPZ_KEYS.items():
            for x_key, y_key in options:
                if x_key in keys and y_key in keys:
                    try:
                        found[name] = (archive[x_key], archive[y_key])
                    except ValueError as error:
                        raise DataValidationError(
                            f"{path.name}: key '{x_key}' or '{y_key}': {error}."
                        ) from None
                    break
                if (x_key in keys) != (y_key in keys):
                    missing = y_key if x_key in keys else x_key
                    raise DataValidationError(
                        f"{path.name}: key '{missing}' is missing; expected it beside its pair."
                    )
    if not ({"train", "test"} <= found.keys() or "all" in found):
        raise DataValidationError(
            f"{path.name}: keys {sorted(keys)}; expected x_train/y_train and x_test/y_test "
            "(x_val/y_val optional), "
            "train_images/train_labels and test_images/test_labels, or x/y for the zoo to split."
        )
    return found


def _manifest_digest(root: Path, files: dict[str, list[str]]) -> str:
    """One sha256 over every image read: the sorted lines "relative path <TAB> file sha256"."""
    import hashlib

    names = sorted(n for group in files.values() for n in group)
    lines = "".join(f"{n}\t{sha256(root / n)}\n" for n in names)
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def _image_files(folder: Path) -> list[Path]:
    """A class folder's images, its subfolders' too (as keras.utils.image_dataset_from_directory and predict
    read them)."""
    return _visible_files(folder, IMAGE_EXTENSIONS)


def _visible_files(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    """The files under `folder` (subfolders included, sorted) ending in one of `suffixes`, any case; hidden
    files and folders (`.DS_Store`, `.ipynb_checkpoints/`) skipped."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_image(path: Path, mode: str, size: tuple[int, int] | None, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            brightest = float(np.asarray(image).max(initial=0)) if image.mode.startswith(("I", "F")) else 0.0
            if brightest > 255:
                # PIL's conversion to 8 bits clips: every pixel above 255 would turn white, and the model learn nothing
                raise DataValidationError(
                    f"{where}: {path} is a {image.mode} image (16- or 32-bit pixels, up to "
                    f"{brightest:g}); the zoo reads 8-bit images, and converting would clip "
                    "every pixel above 255 to white. Rescale to 8 bits first (e.g. (np.asarray(img) / 65535 * 255)"
                    ".astype('uint8') for 16-bit scans), or pass an NPZ of uint8 pixels.")
            image = image.convert(mode)
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.BILINEAR)
            array = np.asarray(image, dtype=np.uint8)
    except DataValidationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DataValidationError(f"{where}: cannot read {path} as an image ({error}).") from None
    return array if array.ndim == 3 else array[..., np.newaxis]


def read_new_images(
    source: str | os.PathLike | Sequence[str | os.PathLike] | np.ndarray, input_shape: Sequence[int], *,
    resize: bool = False,
) -> tuple[np.ndarray, list[str] | None]:
    """Images for a trained model, as its loader made them: float32 `(n, H, W, C)` in [0, 1], and their names.

    Read with the channels of `input_shape` (1 grey, 3 RGB, 4 RGBA). An image of another size
    raises `DataValidationError` naming it, unless `resize` (the run resized its own images).

    Args:
        source: a folder (its image files, subfolders included, in sorted order), an image
            file, a list of image files, or an array `(n, H, W)` / `(n, H, W, C)` of uint8
            0-255 or floats in [0, 1] (names: None).
        input_shape: `(H, W, C)`. What the model reads.
        resize: bool. Resize other sizes to `(H, W)` instead of refusing them.

    Example:
    >>> x, names = read_new_images(np.zeros((2, 4, 4), np.uint8), (4, 4, 1))
    >>> x.shape, x.dtype.name, names
    ((2, 4, 4, 1), 'float32', None)
    """
    shape = tuple(int(d) for d in input_shape)
    names = None
    if isinstance(source, str | os.PathLike) and Path(source).suffix.lower() == ".npz" and Path(source).is_file():
        source, key = _new_npz_images(Path(source))  # the images of an NPZ, as training reads one
        names = [f"{key}[{i}]" for i in range(len(source))]
    if isinstance(source, np.ndarray):
        images = _scale_images(source, "images")
        if images.shape[1:] != shape:
            raise DataValidationError(f"images: shape {images.shape}; the run's model reads {shape} images, "
                                      "as (n, H, W, C).")
        return images, names
    paths, root = _new_image_paths(source)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(shape[-1])
    if mode is None:
        raise DataValidationError(f"the run's model reads images of {shape[-1]} channels; image files have 1, 3 "
                                  "or 4: pass an array.")
    arrays = []
    for path in paths:
        array = _read_image(path, mode, shape[:2] if resize else None, str(path.parent))
        if array.shape != shape:
            raise DataValidationError(
                f"{path}: a {array.shape[0]}x{array.shape[1]} image; the run's model reads {shape[0]}x{shape[1]} "
                "(it was trained without image_size, so new images are not resized): resize them, or train "
                "with image_size.")
        arrays.append(array)
    names = [str(p.relative_to(root)) if root is not None else str(p) for p in paths]
    return np.stack(arrays).astype(np.float32) / 255.0, names


def _new_npz_images(path: Path) -> tuple[np.ndarray, str]:
    """The images of an NPZ of new data and their key: `x` or `images` (labels, if any, ignored), else the test
    split's `x_test` / `test_images`."""
    with _open_npz(path) as archive:
        key = next((k for k in ("x", "images", "x_test", "test_images") if k in archive.files), None)
        if key is None:
            raise DataValidationError(f"{path.name}: keys {sorted(archive.files)}; expected the new images under "
                                      "'x' or 'images' (or 'x_test' / 'test_images').")
        try:
            return archive[key], key
        except ValueError as error:  # e.g. an object array, which loading without pickles refuses
            raise DataValidationError(f"{path.name}: key '{key}': {error}.") from None


def _new_image_paths(source: Any) -> tuple[list[Path], Path | None]:
    """The image files of a folder (recursively, sorted), one file, or a list of files, and the folder."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise DataNotFoundError(f"{path}: no such file or folder.")
        if path.is_file():
            return [path], path.parent
        files = _image_files(path)
        if not files:
            raise DataValidationError(f"{path}: no images; expected files ending in {', '.join(IMAGE_EXTENSIONS)}.")
        return files, path
    if isinstance(source, Sequence) and source and all(isinstance(p, str | os.PathLike) for p in source):
        missing = [str(p) for p in source if not Path(p).is_file()]
        if missing:
            raise DataNotFoundError(f"{missing[0]}: no such file ({len(missing)} of {len(source)} missing).")
        return [Path(p) for p in source], None
    raise ConfigError(f"expected a folder or file(s) of images, or an array of images; got {type(source).__name__}.")


def _read_folder(
    root: Path, class_names: list[str] | None, color_mode: str, image_size: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Images under `root/<class>/`, as uint8 `(n, H, W, C)`, int64 labels, class names, file names."""
    from PIL import Image

    folders = _class_folders(root)
    names = [f.name for f in folders]
    if class_names is None:
        class_names = names
    elif unknown := [n for n in names if n not in class_names]:
        raise DataValidationError(
            f"{root}: class folder(s) {unknown} are not among the training classes {class_names}."
        )
    if not folders:
        raise DataValidationError(f"{root}: no class subfolders; expected one folder of images per class.")
    files: list[tuple[Path, int]] = []
    for folder in folders:
        images = _image_files(folder)
        if not images:
            raise DataValidationError(
                f"{folder}: no images; expected files ending in {', '.join(IMAGE_EXTENSIONS)}."
            )
        files += [(p, class_names.index(folder.name)) for p in images]
    if color_mode == "auto":
        single = []
        for p, _ in files:
            try:
                with Image.open(p) as image:
                    single.append(image.mode in ("1", "L", "I", "I;16", "F"))
            except OSError as error:
                raise DataValidationError(f"{root}: cannot read {p} as an image ({error}).") from None
        color_mode = "grayscale" if all(single) else "rgb"
    mode = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}.get(color_mode)
    if mode is None:
        raise DataValidationError(
            f"color_mode is {color_mode!r}; expected 'auto', 'grayscale', 'rgb' or 'rgba'."
        )
    arrays = []
    expected: tuple[int, ...] | None = None
    for p, _ in files:
        array = _read_image(p, mode, image_size, str(root))
        if expected is None:
            expected = array.shape
        elif array.shape != expected:
            raise DataValidationError(
                f"{p}: image of shape {array.shape} (H, W, C); expected {expected} like {files[0][0].name}. "
                "Pass image_size=(H, W) to resize every image."
            )
        arrays.append(array)
    labels = np.array([c for _, c in files], dtype=np.int64)
    return np.stack(arrays), labels, class_names, [str(p.relative_to(root)) for p, _ in files]


def load_images(
    path: str | os.PathLike,
    *,
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    image_size: tuple[int, int] | None = None,
    color_mode: str = "auto",
) -> Dataset:
    """Load an image classification dataset from a folder of class subfolders or an NPZ file.

    Accepted layouts:
    - `path/<class>/*.png|jpg|jpeg|bmp|gif`: one folder per class (class names sorted); split
      stratified and seeded, `test_fraction` for test then `val_fraction` of the rest for val.
    - `path/train/<class>/...` and `path/test/<class>/...` (and optionally `val/` or
      `validation/`): those splits; without val, `val_fraction` of train is carved out.
    - an `.npz` with `x_train, y_train, x_test, y_test` (optional `x_val, y_val`), or MedMNIST's
      `train_images, train_labels, ...`, or `x, y` to be split as above. Images `(n, H, W)` or
      `(n, H, W, C)`, uint8 0-255 or float in [0, 1]; labels `(n,)` or `(n, 1)`: class names, or
      integer ids (the classes are the ids that occur, named by their value, so 1-based ids work).

    Images of different sizes raise `DataValidationError` naming the file unless `image_size`
    is given. Pixels are scaled to [0, 1].

    Args:
        path: str or path. A folder or an `.npz` file.
        seed: int. The split seed.
        test_fraction: float. Share for test when the data has no test split.
        val_fraction: float. Share of train for validation when the data has no val split.
        image_size: optional `(H, W)`. Resize every image (folders only).
        color_mode: str. `"auto"` (grey if every image is single-channel, else RGB),
            `"grayscale"`, `"rgb"` or `"rgba"` (folders only).

    Returns:
        A `Dataset` of float32 images `(n, H, W, C)` and int64 labels; meta `input_shape`.

    Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "digits.npz"
    >>> x = np.random.default_rng(0).integers(0, 256, (40, 8, 8), dtype=np.uint8)
    >>> np.savez(p, x_train=x[:30], y_train=np.arange(30) % 2, x_test=x[30:], y_test=np.arange(10) % 2)
    >>> ds = load_images(p)
    >>> ds.train.x.shape, ds.val.x.shape, ds.meta["input_shape"]
    ((24, 8, 8, 1), (6, 8, 8, 1), [8, 8, 1])
    """
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"{path}: no such file or folder.")
    where = path.name
    rng = np.random.default_rng(seed)
    given: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    class_names: list[str] | None = None
    files: dict[str, list[str]] = {}
    if path.is_file():
        raw = _read_npz(path)
        labels_all = []
        for name, (images, labels) in raw.items():
            here = f"{where} ({name})"
            given[name] = (
                _scale_images(np.asarray(images), here),
                _npz_labels(np.asarray(labels), len(images), here),
            )
            labels_all.append(given[name][1])
        values = np.concatenate(labels_all)
        if values.dtype.kind == "f" and (distinct := _continuous(values)):
            raise DataValidationError(
                f"{where}: labels are floats with {distinct} distinct values (e.g. {values[0]:g}); expected "
                "integer class ids (or class names), one class per image: image/classification does not "
                "predict a continuous value."
            )
        if values.dtype.kind == "f" and np.isfinite(values).all() and (values == np.round(values)).all():
            values = values.astype(np.int64)  # float class ids such as 0.0 / 1.0
            given = {k: (x, y.astype(np.int64)) for k, (x, y) in given.items()}
        if values.dtype.kind in "iub":
            if values.size and values.min() < 0:
                raise DataValidationError(
                    f"{where}: label {values.min()} is negative; expected class ids >= 0."
                )
            # Classes are the ids that occur, named by their value: 1-based labels (or ids 0, 5, 10) make no
            # empty classes for the model to predict.
            ids = np.unique(values).astype(np.int64)
            class_names = [str(i) for i in ids]
            given = {k: (x, np.searchsorted(ids, y.astype(np.int64)).astype(np.int64)) for k, (x, y) in given.items()}
        else:
            class_names = sorted({str(v) for v in values})
            given = {
                k: (x, np.array([class_names.index(str(v)) for v in y], np.int64))
                for k, (x, y) in given.items()
            }
        checksum = {path.name: sha256(path)}
    else:
        subsets = {p.name.lower(): p for p in _class_folders(path)}
        size = None if image_size is None else (int(image_size[0]), int(image_size[1]))
        if "train" in subsets and "test" in subsets:
            order = ["train", "test"] + [v for v in ("val", "validation") if v in subsets][:1]
            for name in order:
                images, labels, class_names, names = _read_folder(
                    subsets[name], class_names, color_mode, size
                )
                key = "val" if name == "validation" else name
                given[key] = (images.astype(np.float32) / 255.0, labels)
                files[key] = [f"{subsets[name].name}/{n}" for n in names]
        else:
            images, labels, class_names, names = _read_folder(path, None, color_mode, size)
            given["all"] = (images.astype(np.float32) / 255.0, labels)
            files["all"] = names
        checksum = {
            f"{path.name}/ ({sum(len(v) for v in files.values())} images)": _manifest_digest(path, files)
        }
    if "all" in given and "train" not in given:
        x_all, y_all = given.pop("all")
        train_i, val_i, test_i = splits.train_val_test(y_all, test_fraction, val_fraction, rng)
        given = {
            "train": (x_all[train_i], y_all[train_i]),
            "val": (x_all[val_i], y_all[val_i]),
            "test": (x_all[test_i], y_all[test_i]),
        }
        split_note = splits.describe(test_fraction, val_fraction, seed)
    elif "val" not in given:
        x_train, y_train = given["train"]
        keep, held = splits.stratified_split(y_train, val_fraction, rng)
        given["train"], given["val"] = (x_train[keep], y_train[keep]), (x_train[held], y_train[held])
        split_note = (
            f"The file's own train/test split; validation: a stratified {100 * val_fraction:.0f}% of "
            f"train chosen with seed {seed}."
        )
    else:
        split_note = "The file's own train/validation/test split; the seed does not change it."
    shape = tuple(int(d) for d in given["train"][0].shape[1:])
    parts = []
    for name in ("train", "val", "test"):
        x, y = given[name]
        validate.check_image_shape(x, shape, f"{where} ({name})")
        parts.append((name, Split(x, y)))
    if class_names is None:  # pragma: no cover - every branch above sets it
        raise DataValidationError(f"{where}: no classes found.")
    common.check_classification(parts, len(class_names), where, class_names)
    validate.warn_small_splits(parts, where, class_names=class_names)
    meta: dict[str, Any] = {
        "source": path.name,
        "path": str(path),
        "sha256": checksum,
        "modality": "image",
        "task_type": "classification",
        "split": split_note,
        "num_classes": len(class_names),
        "class_names": class_names,
        "input_shape": list(shape),
        "image_size": None if image_size is None else [int(image_size[0]), int(image_size[1])],
    }
    train, val, test = (s for _, s in parts)
    return Dataset(train, val, test, meta, {"files": files} if files else {})


# === Time series ===


_TIME_WORDS = {"time", "timestamp", "date", "datetime", "cycle", "step", "t", "day", "period"}


def _time_key(values: np.ndarray, where: str, time_column: str) -> np.ndarray:
    """Sortable times of a column of numbers or ISO 8601 dates."""
    import pandas as pd

    common.text_column(values, where, time_column)  # no missing time stamps
    if _is_numeric_column(values):
        return common.numeric_column(values, where, time_column)
    try:
        return pd.to_datetime(pd.Series(values), format="ISO8601").to_numpy(dtype="datetime64[ns]")
    except (ValueError, TypeError):
        raise DataValidationError(
            f"{where}: column '{time_column}' holds neither numbers nor ISO 8601 dates; expected "
            "one of them."
        ) from None


def _check_unique_times(
    key: np.ndarray, ids: np.ndarray | None, raw: np.ndarray, where: str, time_column: str, group: str | None
) -> None:
    """Raise when a time appears twice within one series (`ids`: its group per row, file order)."""
    import pandas as pd

    series = np.zeros(len(key), dtype=int) if ids is None else ids
    repeated = np.flatnonzero(pd.DataFrame({"series": series, "time": key}).duplicated().to_numpy())
    if not repeated.size:
        return
    j = int(repeated[0])
    i = int(np.flatnonzero((series == series[j]) & (key == key[j]))[0])
    who = f"column '{time_column}'" if ids is None else f"{group} '{ids[j]}'"
    raise DataValidationError(
        f"{where}: {who} has time '{str(raw[j]).strip()}' twice ({common.csv_row(i)} and data row {j + 1}); "
        f"expected one row per time step{'' if ids is None else ' in each group'}. Remove or aggregate the "
        "duplicated rows."
    )


def _warn_time_order(frame: Any, ids: np.ndarray | None, where: str, group: str | None) -> None:
    """Warn (`TimeOrderWarning`) when a column named like a time goes backwards within a series."""
    series = np.zeros(len(frame), dtype=int) if ids is None else ids
    for column in [c for c in frame.columns if _TIME_WORDS & set(re.split(r"[^a-z]+", c.lower()))]:
        try:
            key = _time_key(frame[column].to_numpy(dtype=object), where, column)
        except DataValidationError:
            continue  # not a time after all
        for g in dict.fromkeys(series):
            rows = np.flatnonzero(series == g)
            back = np.flatnonzero(key[rows][1:] < key[rows][:-1])
            if back.size:
                within = "" if ids is None else f" within {group} '{g}'"
                warnings.warn(
                    f"{where}: column '{column}' goes back in time{within} at "
                    f"{common.csv_row(int(rows[back[0] + 1]))}; rows are used in file order, so windows mix "
                    f"time steps. Pass {{\"time_column\": \"{column}\"}} to sort the rows by it.",
                    validate.TimeOrderWarning,
                    stacklevel=4,
                )
                return


def _feature_column(frame: Any, column: str, where: str) -> np.ndarray:
    """A numeric feature column; a text column's message suggests the `group` or `drop` options."""
    values = frame[column].to_numpy(dtype=object)
    try:
        return common.numeric_column(values, where, column)
    except DataValidationError as error:
        _check_formatted_numbers(values, where, column)
        if _is_numeric_column(values):
            raise
        raise DataValidationError(
            f"{error} Time-series features must be numbers: if '{column}' names the series (e.g. a machine "
            f"id), pass {{\"group\": \"{column}\"}}; otherwise pass {{\"drop\": [\"{column}\"]}}."
        ) from None


def series_rows(
    frame: Any, features: Sequence[str], where: str, *, group: str | None = None, time_column: str | None = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The feature rows of a long-format table in time order: `(x_rows, ids, order)`.

    `x_rows` is float32 `(rows, features)`, `ids` each row's `group` value (None without a
    group), `order` the file rows they came from: sorted by `time_column` (a time repeated
    within a series raises `DataValidationError`), else file order (a column named like a time
    that goes backwards warns, `validate.TimeOrderWarning`). Cells are checked in file order, so
    messages name the file's rows.

    Args:
        frame: the table of `read_table`.
        features: sequence of str. The numeric feature columns.
        where: str. The table's name for messages.
        group: optional str. The column identifying independent series.
        time_column: optional str. Numbers or ISO 8601 dates to sort rows by.

    Example:
    >>> import pandas as pd
    >>> frame, where = read_table(pd.DataFrame({"pump": ["a", "a", "b"], "t": [2, 1, 1], "p": [0.2, 0.1, 9.0]}))
    >>> x, ids, order = series_rows(frame, ["p"], where, group="pump", time_column="t")
    >>> x.ravel().tolist(), ids.tolist(), order.tolist()
    ([0.10000000149011612, 9.0, 0.20000000298023224], ['a', 'b', 'a'], [1, 2, 0])
    """
    x_rows = np.stack([_feature_column(frame, c, where) for c in features], axis=1)
    if (np.abs(x_rows) > np.finfo(np.float32).max).any():
        i, j = (int(v) for v in np.argwhere(np.abs(x_rows) > np.finfo(np.float32).max)[0])
        raise DataValidationError(
            f"{where}: column '{features[j]}', {common.csv_row(i)} is {x_rows[i, j]:g}; "
            "expected a number within float32 range."
        )
    ids = None if group is None else common.text_column(frame[group].to_numpy(dtype=object), where, group)
    order = np.arange(len(frame))
    if time_column is not None:
        raw_times = frame[time_column].to_numpy(dtype=object)
        key = _time_key(raw_times, where, time_column)
        _check_unique_times(key, ids, raw_times, where, time_column, group)
        order = np.argsort(key, kind="stable")
    else:
        _warn_time_order(frame, ids, where, group)
    return x_rows.astype(np.float32)[order], None if ids is None else ids[order], order


def load_timeseries_csv(
    path: str | os.PathLike | pd.DataFrame,
    target: str,
    *,
    window: int,
    group: str | None = None,
    time_column: str | None = None,
    features: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    task: str = "regression",
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    stride: int = 1,
    scaler: str | None = "standard",
    encoding: str = "utf-8-sig",
    delimiter: str = ",",
    decimal: str = ".",
    thousands: str | None = None,
) -> Dataset:
    """Load a long-format CSV of numeric series as sliding windows with the target at each window's end.

    Each example is `window` consecutive rows of the `features` (default: every numeric column
    except the target, group, time and `drop` columns) and its label is `target` on the window's
    last row. The target is never an input feature. Features are scaled with statistics of the
    training split's rows only (`meta["scaler"]`; `zoo predict` and exported models apply the same
    scaler to raw rows): unscaled readings such as 9,000 rpm saturate a recurrent layer, and every
    window would get the same prediction. Rows are in file order, or sorted by `time_column`:
    a time repeated within a series raises `DataValidationError`; without `time_column`, a
    column named like a time (`time`, `date`, `cycle`, `step`, ...) that goes backwards within a
    series warns (`validate.TimeOrderWarning`).

    Split, leakage-free:
    - with `group` (e.g. a machine or patient id): whole groups, seeded: `test_fraction` of the
      groups for test, then `val_fraction` of the rest for validation. A group shorter than
      `window` raises `DataValidationError` naming it.
    - without `group`: chronological: the first rows train, the next validation, the last
      `test_fraction` of rows test; each part is windowed on its own, so no window spans two.

    Args:
        path: str or path. The CSV file, or a pandas DataFrame (see `frame_cells`).
        target: str. The column to predict.
        window: int. Rows per example.
        group: optional str. The column identifying independent series.
        time_column: optional str. Numbers or ISO 8601 dates to sort rows by (within groups).
        features: optional sequence of str. The input columns.
        drop: optional sequence of str. Columns to ignore.
        task: str. `"regression"` (float32 y) or `"classification"` (int64 class ids).
        seed: int. Chooses the groups of each split.
        test_fraction: float. Share of groups (or last rows) for test.
        val_fraction: float. Share of the remaining groups (or rows) for validation.
        stride: int. Step between windows.
        scaler: optional str. `"standard"` (zero mean, unit variance per feature), `"minmax"` (to
            [0, 1]), or None (raw values, e.g. when they are already scaled).
        encoding: str. The file's text encoding.
        delimiter: str. The field separator.
        decimal: str. The decimal mark of the file's numbers (`","` for `50,12`; see `read_csv`).
        thousands: optional str. The thousands separator of its numbers (`","` for `$50,123`).

    Returns:
        A `Dataset` of float32 windows `(n, window, features)`; meta `window`, `feature_names`.

    Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pumps.csv"
    >>> rows = [f"{u},{t},{t * 0.1 + u},{50 - t}" for u in range(10) for t in range(12)]
    >>> _ = p.write_text("pump,step,pressure,rul\\n" + "\\n".join(rows) + "\\n")
    >>> ds = load_timeseries_csv(p, "rul", window=5, group="pump", time_column="step")
    >>> ds.train.x.shape, ds.meta["feature_names"], len(ds.meta["test_groups"])
    ((48, 5, 1), ['pressure'], 2)
    """
    _check_task(task)
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in (window, stride)):
        raise DataValidationError(f"window is {window!r} and stride {stride!r}; expected positive integers.")
    frame, where, csv_options = _read_user_table(path, encoding, delimiter, decimal, thousands)
    columns = list(frame.columns)
    special = [target] + [c for c in (group, time_column) if c is not None]
    drop_list, feature_list = _as_list(drop), _as_list(features)
    validate.check_columns(columns, [*special, *drop_list, *feature_list], where, allow_extra=True)
    if len(set(special)) != len(special) or set(feature_list) & set(special):
        raise DataValidationError(
            f"{where}: target, group, time_column and features must be different columns; got "
            f"target={target!r}, "
            f"group={group!r}, time_column={time_column!r}, features={feature_list}."
        )
    if features is None:
        feature_list = [c for c in columns if c not in special and c not in drop_list]
    if not feature_list:
        raise DataValidationError(f"{where}: no feature columns besides the target; expected at least one.")
    x_rows, ids, order = series_rows(frame, feature_list, where, group=group, time_column=time_column)
    y_rows, target_meta = _target(frame, target, task, where)
    y_rows = y_rows[order]
    rng = np.random.default_rng(seed)

    def windowed(rows: np.ndarray, label: str) -> tuple[np.ndarray, np.ndarray]:
        validate.check_sequence_length(len(rows), window, f"{where}, {label}")
        starts = np.arange(0, len(rows) - window + 1, stride)
        xs = np.stack([x_rows[rows[s : s + window]] for s in starts])
        return xs, y_rows[rows[starts + window - 1]]

    meta_split: dict[str, Any] = {}
    if ids is not None:
        groups = list(dict.fromkeys(ids))  # first-seen order
        n_groups = len(groups)
        rest, test_g = splits.random_split(n_groups, test_fraction, rng)
        train_pos, val_pos = splits.random_split(len(rest), val_fraction, rng)
        chosen = {"train": rest[train_pos], "val": rest[val_pos], "test": test_g}
        parts = []
        for name in ("train", "val", "test"):
            names = [groups[i] for i in chosen[name]]
            if not names:
                raise DataValidationError(
                    f"{where} ({name}): no groups; {n_groups} group(s) in '{group}' are too few for "
                    "the split "
                    f"fractions (test {test_fraction}, val {val_fraction})."
                )
            pieces = [windowed(np.flatnonzero(ids == g), f"{group} {g}") for g in names]
            parts.append(
                (name, Split(np.concatenate([p[0] for p in pieces]), np.concatenate([p[1] for p in pieces])))
            )
            meta_split[f"{name}_groups"] = names
        split_note = (
            f"Whole groups of '{group}' chosen at random with seed {seed}: {100 * test_fraction:.0f}% of "
            f"the {n_groups} groups for test, then {100 * val_fraction:.0f}% of the rest for validation; "
            f"windows of {window} rows (stride {stride}) within each group."
        )
    else:
        splits.check_fraction(test_fraction, "test_fraction")
        splits.check_fraction(val_fraction, "val_fraction")
        n = len(frame)
        n_test = int(np.floor(n * test_fraction + 0.5))
        n_val = int(np.floor((n - n_test) * val_fraction + 0.5))
        bounds = {
            "train": (0, n - n_test - n_val),
            "val": (n - n_test - n_val, n - n_test),
            "test": (n - n_test, n),
        }
        parts = []
        for name, (a, b) in bounds.items():
            x, y = windowed(np.arange(a, b), f"{name} part, data rows {a + 1}-{b} (1-based)")
            parts.append((name, Split(x, y)))
        split_note = (
            f"Chronological: the first {bounds['train'][1]} rows train, the next {n_val} validation, the "
            f"last {n_test} test ({100 * test_fraction:.0f}% test, then {100 * val_fraction:.0f}% of the "
            f"rest for validation); each part windowed on its own ({window} rows, stride {stride})."
        )
    meta: dict[str, Any] = {
        **_table_meta(path, frame, seed, csv_options),
        "modality": "timeseries",
        "task_type": task,
        "split": split_note,
        "window": int(window),
        "stride": int(stride),
        "feature_names": feature_list,
        "group_column": group,
        "time_column": time_column,
        **meta_split,
        **target_meta,
    }
    for name, split in parts:
        validate.check_finite(split.x, f"{where} ({name})", feature_list)
    if scaler is not None:
        train_groups = set(meta_split.get("train_groups", ()))
        train_rows = (np.flatnonzero([i in train_groups for i in ids]) if ids is not None
                      else np.arange(*bounds["train"]))
        meta["scaler"] = common.fit_scaler(x_rows[train_rows], scaler)
        parts = [(name, Split(common.apply_scaler(split.x, meta["scaler"]), split.y)) for name, split in parts]
    _check(parts, task, meta, where)
    train, val, test = (s for _, s in parts)
    return Dataset(train, val, test, meta)


# === Registry entries (`zoo.data.DATASETS`): the CLI's --data PATH arrives as `path=` ===


def _registered(
    name: str, loader: Any, data_dir: str | None, path: str | os.PathLike | None, options: Any
) -> Dataset:
    if path is None:
        raise ConfigError(
            f"Dataset '{name}' reads your own file: give path= (on the command line, --data PATH)."
        )
    if not is_frame(path) and not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"Dataset '{name}': path= must be a file or folder path or a pandas DataFrame, got "
                          f"{type(path).__name__} (a column or an array: make a DataFrame of the columns first).")
    resolved = path if is_frame(path) else Path(path)
    if not is_frame(path) and not resolved.is_absolute() and not resolved.exists() and data_dir:
        resolved = Path(data_dir) / resolved
    options = dict(options)
    positive = options.pop("positive_class", None)
    try:
        inspect.signature(loader).bind(resolved, **options)
    except TypeError as error:
        allowed = [p for p in inspect.signature(loader).parameters if p != "path"] + ["positive_class"]
        raise ConfigError(f"Dataset '{name}': {error}. Its options are: {', '.join(allowed)}.") from None
    import pandas as pd

    hints = typing.get_type_hints(loader, localns={"pd": pd})
    data = loader(resolved, **{k: _option(name, k, v, hints[k]) for k, v in options.items()})
    return with_positive_class(data, None if positive is None else _option(name, "positive_class", positive, str))


def with_positive_class(data: Dataset, positive_class: str | None = None) -> Dataset:
    """A two-class dataset with `positive_class` as class 1, the class ROC-AUC and PR-AUC score.

    Class names are sorted, so by default the positive class is the second name ("yes" of
    no/yes, but "legit" of fraud/legit). Name it here (on the command line, `--data-options
    '{"positive_class": "fraud"}'`); the labels of every split are swapped to match and
    `meta["positive_class"]` records it. Without it, a positive class that is not a number and
    holds most training rows warns (`validate.PositiveClassWarning`).

    Example:
    >>> s = Split(np.zeros((3, 1)), np.array([0, 1, 1]))
    >>> ds = with_positive_class(Dataset(s, s, s, {"class_names": ["fraud", "legit"], "num_classes": 2}), "fraud")
    >>> ds.meta["class_names"], ds.train.y.tolist()
    (['legit', 'fraud'], [1, 0, 0])
    """
    names = data.meta.get("class_names")
    if positive_class is None:
        if names is not None and len(names) == 2:
            _warn_majority_positive(data, names)
            return dataclasses.replace(data, meta={**data.meta, "positive_class": names[1]})
        return data
    if names is None or len(names) != 2:
        raise ConfigError(f"positive_class is {positive_class!r}, but the data has "
                          + ("no classes (a regression target)" if names is None else f"{len(names)} classes {names}")
                          + "; it names one class of a two-class target.")
    if positive_class not in names:
        raise ConfigError(f"positive_class is {positive_class!r}; the target's classes are {names}.")
    if names[1] != positive_class:
        data = Dataset(*(Split(part.x, (1 - part.y).astype(part.y.dtype)) for part in (data.train, data.val, data.test)),
                       {**data.meta, "class_names": names[::-1]}, data.extra)
    return dataclasses.replace(data, meta={**data.meta, "positive_class": positive_class})


def _warn_majority_positive(data: Dataset, names: list[str]) -> None:
    try:
        [float(n) for n in names]
        return  # 0/1 labels: class 1 is the positive one by convention
    except ValueError:
        pass
    share = float(np.mean(np.asarray(data.train.y) == 1)) if len(data.train) else 0.0
    if share > 0.5:
        warnings.warn(
            f"Two-class metrics (ROC-AUC, PR-AUC) score '{names[1]}' as the positive class (the second class name "
            f"in sorted order), which holds {100 * share:.0f}% of the training rows. To score the rarer "
            f"'{names[0]}', name it: --data-options '{{\"positive_class\": \"{names[0]}\"}}' (in Python, "
            f"data_options['positive_class']).",
            validate.PositiveClassWarning, stacklevel=3)


def _as_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    return int(value)  # also "10" and 10.0


def _as_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    return float(value)  # also "0.2"


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _as_names(value: Any) -> str | list[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise TypeError(value)


def _as_size(value: Any) -> tuple[int, int]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise TypeError(value)
    return _as_int(value[0]), _as_int(value[1])


# How a data option (e.g. from --data-options JSON) is converted, by the loader's type hint.
_OPTION_TYPES: dict[Any, tuple[Callable[[Any], Any], str]] = {
    int: (_as_int, "an integer (or a string of one)"),
    float: (_as_float, "a number (or a string of one)"),
    str: (_as_str, "a string"),
    Sequence: (_as_names, "a column name or a list of column names"),
    tuple: (_as_size, "a list of two integers [height, width]"),
}


def _option(dataset: str, key: str, value: Any, hint: Any) -> Any:
    """A loader option converted to its annotated type, or `ConfigError` naming it and the type."""
    kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in kinds:
        return None
    kind = next(k for k in kinds if k is not type(None))
    convert, expected = _OPTION_TYPES.get(typing.get_origin(kind) or kind, (lambda v: v, ""))
    try:
        return convert(value)
    except (TypeError, ValueError):
        raise ConfigError(f"Dataset '{dataset}': option '{key}' is {value!r}; expected {expected}.") from None


def csv_tabular(
    data_dir: str | None = None, *, path: str | os.PathLike | pd.DataFrame | None = None,
    **options: Any,
) -> Dataset:
    """`load_csv_tabular` as a registered dataset: `path` is the CSV (relative paths may sit in `data_dir`).

    Args:
        data_dir: optional str. Where a relative `path` may be found.
        path: str or path. The CSV file, or a pandas DataFrame.
        **options: keyword arguments of `load_csv_tabular` (`target`, `task`, `seed`, ...).

    Example:
    >>> csv_tabular(target="y")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: Dataset 'csv_tabular' reads your own file: give path= (on the command line, --data PATH).
    """
    return _registered("csv_tabular", load_csv_tabular, data_dir, path, options)


def csv_text(
    data_dir: str | None = None, *, path: str | os.PathLike | pd.DataFrame | None = None,
    **options: Any,
) -> Dataset:
    """`load_text_csv` as a registered dataset (options `text_column`, `target`, ...).

    Args:
        data_dir: optional str. Where a relative `path` may be found.
        path: str or path. The CSV file, or a pandas DataFrame.
        **options: keyword arguments of `load_text_csv` (`text_column`, `target`, ...).

    Example:
    >>> csv_text(path="reviews.csv", target="y")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: Dataset 'csv_text': missing a required argument: 'text_column'. Its options are: ...
    """
    return _registered("csv_text", load_text_csv, data_dir, path, options)


def csv_timeseries(
    data_dir: str | None = None, *, path: str | os.PathLike | pd.DataFrame | None = None,
    **options: Any,
) -> Dataset:
    """`load_timeseries_csv` as a registered dataset (options `target`, `window`, `group`, ...).

    Args:
        data_dir: optional str. Where a relative `path` may be found.
        path: str or path. The CSV file, or a pandas DataFrame.
        **options: keyword arguments of `load_timeseries_csv` (`target`, `window`, ...).

    Example:
    >>> csv_timeseries(path="pumps.csv", target="rul", window=3, windw=3)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: Dataset 'csv_timeseries': got an unexpected keyword argument 'windw'. Its options are: ...
    """
    return _registered("csv_timeseries", load_timeseries_csv, data_dir, path, options)


def images(data_dir: str | None = None, *, path: str | os.PathLike | None = None, **options: Any) -> Dataset:
    """`load_images` as a registered dataset: `path` is a folder of class subfolders or an NPZ.

    Args:
        data_dir: optional str. Where a relative `path` may be found.
        path: str or path. A folder or an `.npz` file.
        **options: keyword arguments of `load_images` (`seed`, `image_size`, ...).

    Example:
    >>> images(path="photos", color="rgb")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ConfigError: Dataset 'images': got an unexpected keyword argument 'color'. Its options are: ...
    """
    return _registered("images", load_images, data_dir, path, options)
