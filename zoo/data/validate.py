"""Checks that every loader runs on its splits before returning them.

Small pure functions in the spirit of scikit-learn's `check_array`: each takes the data and a
`where` string (a file name, optionally with a split, e.g. `"german.data (train)"`) and raises
`zoo.errors.DataValidationError` with a message that names the file, column, row index and the
value expected. Inside the zoo, code trusts data that has passed these checks.
"""

from __future__ import annotations

import difflib
import json
import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from zoo.errors import DataValidationError


class ImbalanceWarning(UserWarning):
    """A class is rare enough that accuracy alone will mislead; report F1, recall or PR-AUC."""


class SmallSplitWarning(UserWarning):
    """A validation or test split is too small (or misses a class) for its metrics to be reliable."""


class HighCardinalityWarning(UserWarning):
    """A categorical column has so many distinct values that most categories are seen once or never."""


class TimeOrderWarning(UserWarning):
    """Time goes backwards within a series in file order, and the loader keeps file order."""


class PositiveClassWarning(UserWarning):
    """Two-class metrics (ROC-AUC, PR-AUC) score the majority class as positive, by sorted class-name order."""


class UnseenCategoryWarning(UserWarning):
    """New rows hold category values the model never saw in training; it reads them as one unseen value."""


def delimiter_hints(header: Sequence[str]) -> list[str]:
    """Hints for a header read as one column that holds another separator (a file read with the wrong
    delimiter).

    Example:
    >>> delimiter_hints(["price;city"])[0][:58]
    "The header is one column holding ';': the file is ';'-sepa"
    >>> delimiter_hints(["price", "city"])
    []
    """
    separators = [s for s in (";", "\t", "|") if len(header) == 1 and s in str(header[0])]
    return [f"The header is one column holding {s!r}: the file is {s!r}-separated. Read it with delimiter {s!r} (a "
            f"loader option, e.g. --data-options '{{\"delimiter\": {json.dumps(s)}}}'); for zoo predict, write the "
            "new rows as the run's training file was, or pass a DataFrame." for s in separators]


def check_columns(
    found: Sequence[str], expected: Sequence[str], where: str, *, allow_extra: bool = False
) -> None:
    """Raise unless the columns `found` are exactly `expected` (order ignored).

    Args:
        found: sequence of str. The column names read from the file.
        expected: sequence of str. The column names the loader needs.
        where: str. The file (and split) being checked, used in the message.
        allow_extra: bool. Whether columns beyond `expected` are allowed.

    A missing column's message lists the columns found and the closest names; a header read as
    one column holding `;`, a tab or `|` hints that the file uses another field separator.

    Example:
    >>> check_columns(["a", "b"], ["b", "a"], "f.csv")
    >>> check_columns(["age", "churned"], ["churn"], "f.csv", allow_extra=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    zoo.errors.DataValidationError: f.csv: missing column(s) ['churn']; ... Did you mean 'churned' for 'churn'?
    """
    found = [str(c) for c in found]
    duplicated = sorted({c for c in found if found.count(c) > 1})
    if duplicated:
        raise DataValidationError(f"{where}: duplicated column name(s) {duplicated}; names must be unique.")
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    problems = []
    if missing:
        problems.append(f"missing column(s) {missing}")
    if extra and not allow_extra:
        problems.append(f"unexpected column(s) {extra}")
    if problems:
        hints = [f"The file's columns are {found}."] if missing else []
        close = {c: difflib.get_close_matches(c, found, n=1) for c in missing}
        hints += [f"Did you mean '{m[0]}' for '{c}'?" for c, m in close.items() if m]
        hints += delimiter_hints(found)
        raise DataValidationError(
            f"{where}: {'; '.join(problems)}; expected columns {list(expected)}. {' '.join(hints)}".rstrip()
        )


def check_finite(
    array: Any,
    where: str,
    names: Sequence[str] | None = None,
    *,
    row_numbers: Sequence[int] | np.ndarray | None = None,
    row_label: str = "row index",
) -> None:
    """Raise unless `array` is numeric and holds no NaN or infinity.

    The last axis is the feature axis: `names[j]` names column `j` of a 2-D `(n, k)` array or
    feature `j` of a 3-D `(n, window, k)` array; axis 0 is the row.

    Args:
        array: array-like. The values to check.
        where: str. The file (and split) being checked, used in the message.
        names: optional sequence of str. The name of each column (last axis).
        row_numbers: optional sequence of int. How to report row `i` (e.g. the file's line
            numbers); defaults to the 0-based index `i`.
        row_label: str. What the row numbers are, e.g. `"row index"` or `"data row (1-based)"`.

    Example:
    >>> check_finite(np.ones((2, 2)), "x.csv", ["a", "b"])
    >>> check_finite(np.array([[1.0, np.nan]]), "x.csv", ["a", "b"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    zoo.errors.DataValidationError: x.csv: column 'b' has NaN at row index 0; expected a finite number...
    """
    values = np.asarray(array)
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise DataValidationError(
            f"{where}: expected numeric values, got dtype {values.dtype}"
            + (f" (columns {list(names)})" if names is not None else "")
            + "."
        )
    if values.size == 0 or not np.issubdtype(values.dtype, np.inexact):
        return
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    value = values[index]
    column = index[-1] if values.ndim >= 2 else 0
    name = names[column] if names is not None and column < len(names) else f"#{column}"
    row = index[0]
    shown = row_numbers[row] if row_numbers is not None else row
    step = f" (time step {index[1]})" if values.ndim == 3 else ""
    count = int(bad.sum())
    raise DataValidationError(
        f"{where}: column '{name}' has {'NaN' if np.isnan(value) else value} at {row_label} {shown}{step}; "
        f"expected a finite number ({count} non-finite value(s) in total)."
    )


def check_not_empty(split: Any, where: str) -> None:
    """Raise if a split (a `Split`, an array or a dict of arrays) has no rows.

    Args:
        split: a `zoo.data.types.Split`, an array, or a dict of arrays.
        where: str. The split being checked, e.g. `"data.csv (val)"`.

    Example:
    >>> check_not_empty(np.zeros((3, 1)), "train")
    >>> check_not_empty(np.zeros((0, 1)), "val")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DataValidationError: val: the split is empty; expected at least one row.
    """
    from zoo.data.types import Split, num_rows

    if isinstance(split, Split):
        n, ny = len(split), len(split.y)
        if isinstance(split.x, dict):
            lengths = {k: len(v) for k, v in split.x.items()}
            if len(set(lengths.values())) > 1:
                raise DataValidationError(f"{where}: inputs have different numbers of rows {lengths}.")
        if n != ny:
            raise DataValidationError(f"{where}: {n} input rows but {ny} targets; expected equal counts.")
    else:
        n = num_rows(split)
    if n == 0:
        raise DataValidationError(
            f"{where}: the split is empty; expected at least one row. "
            "The data may be too small for the requested split fractions."
        )


def check_labels(y: Any, num_classes: int, where: str) -> None:
    """Raise unless `y` is a 1-D array of integer class ids in `[0, num_classes)`.

    Args:
        y: array-like. The class ids.
        num_classes: int. The number of classes.
        where: str. The file (and split) being checked, used in the message.

    Example:
    >>> check_labels(np.array([0, 1, 2]), 3, "train")
    >>> check_labels(np.array([0, 3]), 3, "test")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DataValidationError: test: label 3 at row index 1 is outside the classes; expected an integer in [0, 3).
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataValidationError(f"{where}: labels have shape {y.shape}; expected a 1-D array of class ids.")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataValidationError(f"{where}: labels have dtype {y.dtype}; expected integer class ids.")
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if bad.size:
        i = int(bad[0])
        raise DataValidationError(
            f"{where}: label {y[i]} at row index {i} is outside the classes; "
            f"expected an integer in [0, {num_classes}) ({bad.size} such row(s))."
        )


def check_two_classes(y: Any, where: str, class_names: Sequence[str] | None = None) -> None:
    """Raise unless `y` holds at least two distinct classes.

    Args:
        y: array-like. The labels (any values).
        where: str. The file (and split) being checked, used in the message.
        class_names: optional sequence of str. Names of integer class ids, for the message.

    Example:
    >>> check_two_classes(np.array([0, 1, 1]), "train")
    >>> check_two_classes(np.array([1, 1]), "train")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DataValidationError: train: every label is 1; expected at least two classes.
    """
    values = np.unique(np.asarray(y))
    if values.size < 2:
        only = values[0] if values.size else "(none)"
        if values.size and class_names is not None and values.dtype.kind in "iu" and 0 <= only < len(class_names):
            only = repr(class_names[int(only)])
        raise DataValidationError(f"{where}: every label is {only}; expected at least two classes.")


def warn_imbalance(
    y: Any, where: str, threshold: float = 0.05, class_names: Sequence[str] | None = None
) -> bool:
    """Warn (`ImbalanceWarning`) when a class holds less than `threshold` of the rows, or less than half
    a balanced class's share when there are so many classes that a balanced one is under `threshold`
    (24 balanced classes hold 4.2% each: they do not warn; one of them at 2% does).

    Args:
        y: array-like. Integer class ids.
        where: str. The file (and split) being checked, used in the message.
        threshold: float. The smallest class share that does not warn (with few classes).
        class_names: optional sequence of str. Names shown with the counts.

    Returns:
        `True` when it warned.

    Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_imbalance(np.array([0] * 99 + [1]), "train")
    True
    >>> str(caught[0].message)[:54]
    'train: class 1 has 1 of 100 rows (1.0%), below the 5.0'
    """
    y = np.asarray(y)
    if y.size == 0:
        return False
    values, counts = np.unique(y, return_counts=True)
    share = counts / y.size
    balanced = 1.0 / len(values)
    limit = min(threshold, balanced / 2)
    if share.min() >= limit:
        return False
    i = int(np.argmin(share))

    def label(v: Any) -> str:
        if class_names is not None and np.issubdtype(type(v), np.integer) and 0 <= v < len(class_names):
            return str(v) if class_names[v] == str(v) else f"{v} ({class_names[v]})"
        return str(v)

    shown = range(len(values)) if len(values) <= 10 else sorted(np.argsort(counts, kind="stable")[:5])
    listed = ", ".join(f"{label(values[j])}: {counts[j]}" for j in shown)
    what = "class counts" if len(values) <= 10 else f"the 5 smallest of {len(values)} classes"
    warnings.warn(
        f"{where}: class {label(values[i])} has {counts[i]} of {y.size} rows ({100 * share[i]:.1f}%), "
        f"below the {100 * limit:.1f}% threshold"
        + (f" (half a balanced class's {100 * balanced:.1f}%)" if limit < threshold else "")
        + f"; {what} {{{listed}}}. "
        "Accuracy will mislead: report F1, recall or PR-AUC, or weight the classes.",
        ImbalanceWarning,
        stacklevel=2,
    )
    return True


def warn_small_splits(
    splits: Sequence[tuple[str, Any]],
    where: str,
    *,
    min_rows: int = 20,
    class_names: Sequence[str] | None = None,
) -> bool:
    """Warn (`SmallSplitWarning`) when a validation or test split is too small to measure a model on.

    Every split but the first (train) warns below `min_rows` rows; with `class_names`
    (classification), the `"test"` split also warns when a class has no rows in it.

    Args:
        splits: sequence of `(name, Split)`, train first.
        where: str. The file the data came from.
        min_rows: int. The fewest rows whose metrics are worth reporting.
        class_names: optional sequence of str. The classes, for classification.

    Returns:
        `True` when it warned.

    Example:
    >>> import warnings
    >>> from zoo.data.types import Split
    >>> parts = [("train", Split(np.zeros(3), np.array([0, 1, 0]))), ("test", Split(np.zeros(1), np.array([0])))]
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_small_splits(parts, "f.csv", class_names=["no", "yes"])
    True
    >>> [str(w.message)[:40] for w in caught]
    ['f.csv (test): 1 row(s), fewer than 20; m', "f.csv (test): class(es) ['yes'] have no "]
    """
    messages = []
    for name, split in splits[1:]:
        n = len(split.y)
        if 0 < n < min_rows:
            messages.append(
                f"{where} ({name}): {n} row(s), fewer than {min_rows}; metrics on it will be unreliable. "
                f"Use more data or a larger {name}_fraction."
            )
        if name == "test" and class_names is not None and n:
            absent = [c for i, c in enumerate(class_names) if not np.any(np.asarray(split.y) == i)]
            if absent:
                messages.append(
                    f"{where} (test): class(es) {absent} have no test rows, so their recall and F1 are not "
                    "measured. Use more data or a larger test_fraction."
                )
    for message in messages:
        warnings.warn(message, SmallSplitWarning, stacklevel=2)
    return bool(messages)


def warn_high_cardinality(
    values: Any, where: str, column: str, *, max_share: float = 0.5, max_distinct: int = 50
) -> bool:
    """Warn (`HighCardinalityWarning`) when a categorical column has more distinct values than is useful.

    It warns when the distinct values are more than `max_share` of the rows and more than
    `max_distinct`: most categories are then seen once, and a value unseen in training
    (code 0) is common at test time. Such a column is usually an id (drop it) or a number.

    Args:
        values: array-like. The column's values.
        where: str. The file, named in the message.
        column: str. The column, named in the message.
        max_share: float. The largest share of distinct values per row that does not warn.
        max_distinct: int. The largest number of distinct values that never warns.

    Returns:
        `True` when it warned.

    Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_high_cardinality([f"id{i}" for i in range(80)], "f.csv", "customer")
    True
    >>> str(caught[0].message).split(",")[0]
    "f.csv: categorical column 'customer' has 80 distinct values in 80 rows"
    """
    cells = np.asarray(values, dtype=object).reshape(-1)
    distinct = len({str(v) for v in cells})
    if distinct <= max_distinct or distinct <= max_share * len(cells):
        return False
    warnings.warn(
        f"{where}: categorical column '{column}' has {distinct} distinct values in {len(cells)} rows, so "
        "most categories are seen once or never. If it is an id, drop it (the drop option); if it "
        "holds numbers, make it numeric.",
        HighCardinalityWarning,
        stacklevel=2,
    )
    return True


class IdColumnWarning(UserWarning):
    """A numeric input column looks like a row id: the model can memorize rows by it."""


_ID_NAME = re.compile(r"(^|[_\s-])(id|uuid|key|index)$|^(id|idx|index)([_\s-]|$)", re.IGNORECASE)


def warn_id_column(values: np.ndarray, where: str, column: str, *, min_rows: int = 20) -> bool:
    """Warn (`IdColumnWarning`) when a numeric input column looks like a row id: whole numbers, a
    different one on every row, and either named like an id (`customer_id`, `ID`, `index`) or
    running through one unbroken range (1, 2, ..., n in any order).

    Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_id_column(np.arange(100.0), "f.csv", "row"), warn_id_column(np.arange(100.0) % 7, "f.csv", "day")
    (True, False)
    >>> str(caught[0].message).split(").")[0]
    "f.csv: numeric column 'row' looks like a row id (a different whole number on every row, one unbroken range"
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) < min_rows or not np.all(values == np.round(values)) or len(np.unique(values)) != len(values):
        return False
    unbroken = values.max() - values.min() + 1 == len(values)
    if not (unbroken or _ID_NAME.search(column.strip())):
        return False
    warnings.warn(
        f"{where}: numeric column '{column}' looks like a row id (a different whole number on every row"
        + (", one unbroken range" if unbroken else "") + "). As an input it lets the model memorize rows and "
        f"rank them by their number; drop it: --data-options '{{\"drop\": [\"{column}\"]}}' (in Python, "
        "drop=[...]), or list it in categorical if it is a code.",
        IdColumnWarning,
        stacklevel=2,
    )
    return True


def check_image_shape(x: Any, expected: Sequence[int] | None, where: str) -> None:
    """Raise unless `x` is a float batch of images `(n, H, W, C)` in [0, 1] with `(H, W, C) == expected`.

    Args:
        x: array. The images.
        expected: sequence of 3 ints `(H, W, C)`, or `None` to accept any size.
        where: str. The file (and split) being checked, used in the message.

    Example:
    >>> check_image_shape(np.zeros((2, 28, 28, 1), "float32"), (28, 28, 1), "train")
    >>> check_image_shape(np.zeros((2, 28, 28)), (28, 28, 1), "train")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DataValidationError: train: images have shape (2, 28, 28); expected (n, 28, 28, 1).
    """
    x = np.asarray(x)
    want = "(n, H, W, C)" if expected is None else f"(n, {', '.join(str(int(d)) for d in expected)})"
    if x.ndim != 4 or (expected is not None and tuple(x.shape[1:]) != tuple(int(d) for d in expected)):
        raise DataValidationError(f"{where}: images have shape {x.shape}; expected {want}.")
    if x.shape[-1] not in (1, 3, 4):
        first = (f" They look channels-first {x.shape[1:]}: move the channels last (np.moveaxis(x, 1, -1))."
                 if x.shape[1] in (1, 3, 4) else "")
        raise DataValidationError(
            f"{where}: images have {x.shape[-1]} channels; expected 1 (grey), 3 (RGB) or 4 (RGBA).{first}"
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise DataValidationError(f"{where}: images have dtype {x.dtype}; expected float32 scaled to [0, 1].")
    if x.size:
        check_finite(x.reshape(len(x), -1), where)
        low, high = float(x.min()), float(x.max())
        if low < 0.0 or high > 1.0:
            raise DataValidationError(
                f"{where}: pixel values span [{low:g}, {high:g}]; expected them scaled to [0, 1]."
            )


def check_sequence_length(length: int, window: int, where: str) -> None:
    """Raise unless a sequence of `length` steps holds at least one window of `window` steps.

    Args:
        length: int. The number of time steps in the sequence (e.g. one engine's cycles).
        window: int. The window length the model needs.
        where: str. The sequence being checked, e.g. `"test_FD001.txt, engine 12"`.

    Example:
    >>> check_sequence_length(31, 30, "engine 1")
    >>> check_sequence_length(12, 30, "engine 7")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DataValidationError: engine 7: 12 time steps, shorter than the window of 30; ...
    """
    if window < 1:
        raise DataValidationError(f"{where}: window is {window}; expected a positive number of steps.")
    if length < window:
        raise DataValidationError(
            f"{where}: {length} time steps, shorter than the window of {window}; "
            f"expected at least {window}. Use a smaller window, or pad the sequence where the loader "
            "offers it."
        )
