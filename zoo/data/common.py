"""Pieces every loader shares: finding a source's files, checksums for `meta`, split checks."""

from __future__ import annotations

import dataclasses
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data import sources, validate
from zoo.data.types import Split
from zoo.errors import DataValidationError


def locate_files(
    source: sources.Source, data_dir: str | os.PathLike | None, files: Iterable[str] | None = None
) -> Path:
    """The directory holding `files` of `source` (all of them by default), checksums verified.

    Only the files a loader reads are required and hashed, so an optional file that is absent or
    a subset option that reads one file does not cost a hash of everything.

    Args:
        source: `Source`. The dataset's pinned files.
        data_dir: optional str or path. An explicit data directory (see `sources.locate`).
        files: optional iterable of str. The file names needed (keys of `source.files`).

    Example:
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "a.csv").write_text("x")
    >>> locate_files(sources.Source("demo", {"a.csv": "", "b.csv": ""}), d, ["a.csv"]) == d
    True
    """
    wanted = list(source.files) if files is None else list(files)
    subset = dataclasses.replace(source, files={f: source.files.get(f, "") for f in wanted})
    return sources.locate(subset, data_dir)


def checksums(directory: str | os.PathLike, source: sources.Source, files: Iterable[str]) -> dict[str, str]:
    """The sha256 of each file read, for `meta["sha256"]` (pinned values, already verified).

    Args:
        directory: str or path. Where the files are.
        source: `Source`. Its pinned checksums are reused; unpinned files are hashed.
        files: iterable of str. The files the loader read.

    Example:
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "a").write_bytes(b"abc")
    >>> checksums(d, sources.Source("demo", {"a": ""}), ["a"])["a"][:8]
    'ba7816bf'
    """
    return {f: source.files.get(f) or sources.sha256(Path(directory) / f) for f in files}


def check_classification(
    splits: Sequence[tuple[str, Split]],
    num_classes: int,
    where: str,
    class_names: Sequence[str] | None = None,
    *,
    imbalance_threshold: float = 0.05,
) -> None:
    """Run the classification checks on named splits: rows, labels in range, two classes.

    Warns (`validate.ImbalanceWarning`) once, on the train split, when a class is rare.

    Args:
        splits: sequence of `(name, Split)`, e.g. `[("train", train), ("val", val)]`.
        num_classes: int. The number of classes.
        where: str. The file the data came from.
        class_names: optional sequence of str. Shown in the imbalance warning.
        imbalance_threshold: float. The class share below which to warn.

    Example:
    >>> s = Split(np.zeros((4, 1)), np.array([0, 1, 0, 1]))
    >>> check_classification([("train", s), ("test", s)], 2, "demo.csv")
    """
    for name, split in splits:
        here = f"{where} ({name})"
        validate.check_not_empty(split, here)
        validate.check_labels(split.y, num_classes, here)
    name, train = splits[0]
    validate.check_two_classes(train.y, f"{where} ({name})", class_names)
    validate.warn_imbalance(train.y, f"{where} ({name})", imbalance_threshold, class_names)


def check_regression(splits: Sequence[tuple[str, Split]], where: str, target_name: str) -> None:
    """Run the regression checks on named splits: rows present and finite float32 targets.

    Args:
        splits: sequence of `(name, Split)`.
        where: str. The file the data came from.
        target_name: str. The target column, named in messages.

    Example:
    >>> s = Split(np.zeros((2, 1)), np.array([1.0, 2.0], "float32"))
    >>> check_regression([("train", s)], "demo.csv", "price")
    """
    for name, split in splits:
        here = f"{where} ({name})"
        validate.check_not_empty(split, here)
        validate.check_finite(np.asarray(split.y).reshape(len(split.y), -1), here, [target_name])
    name, train = splits[0]
    values = np.asarray(train.y, dtype="float64").reshape(-1)
    if values.size > 1 and (values == values[0]).all():
        raise DataValidationError(f"{where} ({name}): every '{target_name}' value is {values[0]:g}; a constant target "
                                  "leaves nothing to learn (expected at least two distinct values).")


def csv_row(index: int) -> str:
    """How errors name row `index` (0-based) of a CSV read with one header line.

    Rows are data rows counted from 1 after the header; the file's line number is the row
    number + 1 when no blank line or multi-line quoted cell comes before it.

    Args:
        index: int. The 0-based row index in the data (header not counted).

    Example:
    >>> csv_row(0)
    'data row 1 (1-based, header excluded)'
    """
    return f"data row {index + 1} (1-based, header excluded)"


def numeric_column(values: Any, where: str, column: str, *, allow_missing: bool = False) -> np.ndarray:
    """Float64 values of a CSV column, raising on text cells and (unless allowed) missing ones.

    Rows are named as `csv_row` does: data rows counted from 1 after the header.

    Args:
        values: array-like. The column as read (numbers, str or None/NaN).
        where: str. The file, named in the message.
        column: str. The column, named in the message.
        allow_missing: bool. Whether empty cells may stay NaN.

    Example:
    >>> numeric_column(["1", "2.5"], "f.csv", "a").tolist()
    [1.0, 2.5]
    >>> numeric_column(["1", "x"], "f.csv", "a")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    zoo.errors.DataValidationError: f.csv: column 'a', data row 2 (1-based, ...) is 'x'; expected a number...
    """
    import pandas as pd

    series = pd.Series(np.asarray(values, dtype=object))
    missing = series.isna().to_numpy() | series.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy()
    cleaned = series.map(lambda v: v.strip() if isinstance(v, str) else v).where(~missing, None)
    parsed = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64)
    text = np.flatnonzero(np.isnan(parsed) & ~missing)
    if text.size:
        i = int(text[0])
        raise DataValidationError(
            f"{where}: column '{column}', {csv_row(i)} is '{series.iloc[i]}'; expected a number "
            f"({text.size} non-numeric cell(s) in this column)."
        )
    if missing.any() and not allow_missing:
        i = int(np.flatnonzero(missing)[0])
        raise DataValidationError(
            f"{where}: column '{column}', {csv_row(i)} is missing (empty or NaN); expected a number "
            f"({int(missing.sum())} missing cell(s) in this column)."
        )
    infinite = np.flatnonzero(np.isinf(parsed))
    if infinite.size:
        i = int(infinite[0])
        raise DataValidationError(
            f"{where}: column '{column}', {csv_row(i)} is {parsed[i]}; expected a finite number."
        )
    return parsed


def text_column(values: Any, where: str, column: str) -> np.ndarray:
    """Object array of str for a CSV column, raising on a missing (empty or NaN) cell.

    Args:
        values: array-like. The column as read.
        where: str. The file, named in the message.
        column: str. The column, named in the message.

    Example:
    >>> text_column(["a", 1], "f.csv", "c").tolist()
    ['a', '1']
    """
    missing = missing_cells(values)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise DataValidationError(
            f"{where}: column '{column}', {csv_row(i)} is missing (empty or NaN); expected a value "
            f"({int(missing.sum())} missing cell(s) in this column)."
        )
    return np.array([str(v) for v in np.asarray(values, dtype=object)], dtype=object)


def missing_cells(values: Any) -> np.ndarray:
    """Which cells are missing: None, NaN or a blank string (a bool per cell).

    Example:
    >>> missing_cells(["a", " ", None, float("nan"), 0]).tolist()
    [False, True, True, True, False]
    """
    import pandas as pd

    series = pd.Series(np.asarray(values, dtype=object))
    return series.isna().to_numpy() | series.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy()


# Digits with optional thousands groups (",", ".", space, apostrophe) and an optional decimal part.
_FORMATTED_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:[,. '\u00a0]\d{3})+|\d+)(?:[.,]\d+)?")


def strip_number_symbols(cell: str) -> str:
    """`cell` without currency symbols (Unicode category Sc, e.g. $, €, £), % signs and outer spaces.

    Args:
        cell: str. A CSV cell.

    Example:
    >>> strip_number_symbols(" $50,123 "), strip_number_symbols("12,5 %")
    ('50,123', '12,5')
    """
    return "".join(c for c in cell if c != "%" and unicodedata.category(c) != "Sc").strip()


_NUMBER_WITH_UNIT = re.compile(r"[+-]?\d+(?:[.,]\d+)?\s*[^\W\d_]{1,8}\.?")


def number_with_unit_example(values: Any, *, min_distinct: int = 20) -> str | None:
    """A cell showing that a text column holds numbers followed by a unit (`67 yrs`, `5.2kg`), else None.

    The column qualifies as in `formatted_number_example`: more than half of its non-missing
    cells match, and its values are mostly distinct (a measurement, not codes such as `1st`).

    Args:
        values: array-like. The column as read (str or None/NaN).
        min_distinct: int. How many distinct values always count as mostly distinct.

    Example:
    >>> number_with_unit_example([f"{i} yrs" for i in range(30)])
    '0 yrs'
    >>> number_with_unit_example(["A11", "A12"] * 20) is None
    True
    """
    return next(iter(_mostly_matching(values, _NUMBER_WITH_UNIT.fullmatch, min_distinct)), None)


def _mostly_matching(values: Any, matches: Callable[[str], Any], min_distinct: int) -> list[str]:
    """The cells `matches` accepts, when more than half of the non-missing cells are such and the
    column's values are mostly distinct (more than `min_distinct`, or than half the cells); else []."""
    cells = [v.strip() for v in np.asarray(values, dtype=object).reshape(-1) if isinstance(v, str) and v.strip()]
    matching = [c for c in cells if matches(c)]
    if len(matching) * 2 <= len(cells) or len(set(cells)) <= min(min_distinct, len(cells) / 2):
        return []
    return matching


def formatted_number_example(values: Any, *, min_distinct: int = 20) -> str | None:
    """A cell showing that a text column holds numbers written with symbols or separators, else None.

    The column qualifies when more than half of its non-missing cells read as numbers once
    currency symbols and % are removed and thousands separators or a decimal comma are allowed
    (`50,12`, `$50,123`, `1.234,5`, `12%`), and its values are mostly distinct (more than
    `min_distinct`, or more than half the cells in a small file): a number, not a category.

    Args:
        values: array-like. The column as read (str or None/NaN).
        min_distinct: int. How many distinct values always count as mostly distinct.

    Example:
    >>> formatted_number_example([f"{i},5" for i in range(30)])
    '0,5'
    >>> formatted_number_example(["north", "south"] * 20) is None
    True
    """
    matching = _mostly_matching(values, lambda c: _FORMATTED_NUMBER.fullmatch(strip_number_symbols(c)), min_distinct)
    plain = re.compile(r"[+-]?\d+(?:\.\d+)?")
    return next((c for c in matching if not plain.fullmatch(c)), None)


SCALERS = ("minmax", "standard")


def fit_scaler(rows: np.ndarray, kind: str = "minmax") -> dict[str, Any]:
    """Scaler statistics (JSON-friendly) fitted on `rows` `(n, features)`.

    `"minmax"` maps each feature's training range to [0, 1]; `"standard"` to zero mean, unit
    variance. A constant feature gets scale 1.

    Args:
        rows: array `(n, features)`. Rows of the training split only.
        kind: str. `"minmax"` or `"standard"`.

    Example:
    >>> fit_scaler(np.array([[0.0, 5.0], [2.0, 5.0]]))["scale"]
    [2.0, 1.0]
    """
    if kind not in SCALERS:
        raise DataValidationError(f"scaler is {kind!r}; expected one of {', '.join(SCALERS)}.")
    rows = np.asarray(rows, dtype=np.float64)
    if kind == "minmax":
        offset, scale = rows.min(axis=0), rows.max(axis=0) - rows.min(axis=0)
    else:
        offset, scale = rows.mean(axis=0), rows.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return {"kind": kind, "offset": offset.tolist(), "scale": scale.tolist()}


def apply_scaler(x: np.ndarray, scaler: dict[str, Any]) -> np.ndarray:
    """`(x - offset) / scale` as float32, feature-wise on the last axis.

    Args:
        x: array. Values with features on the last axis.
        scaler: dict. From `fit_scaler`.

    Example:
    >>> apply_scaler(np.array([[1.0, 5.0]]), {"offset": [0.0, 5.0], "scale": [2.0, 1.0]}).tolist()
    [[0.5, 0.0]]
    """
    offset = np.asarray(scaler["offset"], dtype=np.float64)
    scale = np.asarray(scaler["scale"], dtype=np.float64)
    return ((np.asarray(x, dtype=np.float64) - offset) / scale).astype(np.float32)
