"""Checks that every loader runs on its splits before returning them.

Small pure functions in the spirit of scikit-learn's `check_array`: each takes the data and a
`where` string (a file name, optionally with a split, e.g. `"german.data (train)"`) and raises
`zoo.errors.DataValidationError` with a message that names the file, column, row index and the
value expected. Inside the zoo, code trusts data that has passed these checks.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from zoo.errors import DataValidationError


class ImbalanceWarning(UserWarning):
    """A class is rare enough that accuracy alone will mislead; report F1, recall or PR-AUC."""


def check_columns(
    found: Sequence[str], expected: Sequence[str], where: str, *, allow_extra: bool = False
) -> None:
    """Raise unless the columns `found` are exactly `expected` (order ignored).

    Args:
        found: sequence of str. The column names read from the file.
        expected: sequence of str. The column names the loader needs.
        where: str. The file (and split) being checked, used in the message.
        allow_extra: bool. Whether columns beyond `expected` are allowed.

    Example:
    >>> check_columns(["a", "b"], ["b", "a"], "f.csv")
    >>> check_columns(["a"], ["a", "b"], "f.csv")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DataValidationError: f.csv: missing column(s) ['b']; expected columns ['a', 'b'].
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
        raise DataValidationError(f"{where}: {'; '.join(problems)}; expected columns {list(expected)}.")


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


def check_two_classes(y: Any, where: str) -> None:
    """Raise unless `y` holds at least two distinct classes.

    Args:
        y: array-like. The labels (any values).
        where: str. The file (and split) being checked, used in the message.

    Example:
    >>> check_two_classes(np.array([0, 1, 1]), "train")
    >>> check_two_classes(np.array([1, 1]), "train")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DataValidationError: train: every label is 1; expected at least two classes.
    """
    values = np.unique(np.asarray(y))
    if values.size < 2:
        only = values[0] if values.size else "(none)"
        raise DataValidationError(f"{where}: every label is {only}; expected at least two classes.")


def warn_imbalance(
    y: Any, where: str, threshold: float = 0.05, class_names: Sequence[str] | None = None
) -> bool:
    """Warn (`ImbalanceWarning`) when a class holds less than `threshold` of the rows.

    Args:
        y: array-like. Integer class ids.
        where: str. The file (and split) being checked, used in the message.
        threshold: float. The smallest class share that does not warn.
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
    if share.min() >= threshold:
        return False
    i = int(np.argmin(share))

    def label(v: Any) -> str:
        if class_names is not None and np.issubdtype(type(v), np.integer) and 0 <= v < len(class_names):
            return f"{v} ({class_names[v]})"
        return str(v)

    all_counts = ", ".join(f"{label(v)}: {c}" for v, c in zip(values, counts, strict=True))
    warnings.warn(
        f"{where}: class {label(values[i])} has {counts[i]} of {y.size} rows ({100 * share[i]:.1f}%), "
        f"below the {100 * threshold:.1f}% threshold; class counts {{{all_counts}}}. "
        "Accuracy will mislead: report F1, recall or PR-AUC, or weight the classes.",
        ImbalanceWarning,
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
        raise DataValidationError(
            f"{where}: images have {x.shape[-1]} channels; expected 1 (grey), 3 (RGB) or 4 (RGBA)."
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
