"""Turn a table of numeric and categorical columns into the zoo's tabular inputs.

Tabular inputs are a dict `{"numeric": float32 (n, k), "categorical": int32 (n, m)}` (a key is
left out when it has no columns). Numbers are NOT normalized here: the model's `Normalization`
layer adapts on the train split. Category codes are learned from the train split only:
code 0 is reserved for a value never seen in training, and the `i`-th training value (sorted)
gets code `i + 1`, so column `j` has codes in `[0, categorical_cardinalities[j])`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zoo.data import validate
from zoo.data.types import Split
from zoo.errors import DataValidationError


def fit_vocabulary(values: Any) -> list[str]:
    """The sorted distinct values of one categorical column, as str (code `i + 1` each).

    Args:
        values: array-like. The training rows of the column.

    Example:
    >>> fit_vocabulary(np.array(["b", "a", "b"], dtype=object))
    ['a', 'b']
    """
    return sorted({str(v) for v in np.asarray(values, dtype=object).reshape(-1)})


def encode_categories(values: Any, vocabulary: Sequence[str]) -> np.ndarray:
    """Int32 codes of `values`: `vocabulary.index(v) + 1`, or 0 for a value not in `vocabulary`.

    Args:
        values: array-like. The column's values (compared as str).
        vocabulary: sequence of str. From `fit_vocabulary` on the train split.

    Example:
    >>> encode_categories(["a", "c", "b"], ["a", "b"]).tolist()
    [1, 0, 2]
    """
    lookup = {v: i + 1 for i, v in enumerate(vocabulary)}
    return np.array([lookup.get(str(v), 0) for v in np.asarray(values, dtype=object).reshape(-1)], np.int32)


def build_tabular_splits(
    numeric: np.ndarray,
    categorical: np.ndarray,
    y: np.ndarray,
    index: tuple[np.ndarray, np.ndarray, np.ndarray],
    numeric_names: Sequence[str],
    categorical_names: Sequence[str],
    where: str,
) -> tuple[Split, Split, Split, dict[str, Any]]:
    """Split rows into train/val/test tabular inputs, encoding categories on train only.

    Args:
        numeric: float array `(n, k)`. The numeric columns (checked finite).
        categorical: object array `(n, m)`. The categorical columns' raw values.
        y: array `(n,)`. The targets.
        index: `(train, val, test)` row indices.
        numeric_names: sequence of str. The `k` numeric column names.
        categorical_names: sequence of str. The `m` categorical column names.
        where: str. The source file, named in error messages.

    Returns:
        `(train, val, test, meta)` where meta holds `numeric_names`, `categorical_names`,
        `categorical_cardinalities`, `categorical_vocabularies` and `num_numeric`.

    Example:
    >>> num = np.arange(8, dtype="float32").reshape(4, 2)
    >>> cat = np.array([["a"], ["b"], ["a"], ["c"]], dtype=object)
    >>> idx = (np.array([0, 1]), np.array([2]), np.array([3]))
    >>> tr, va, te, meta = build_tabular_splits(num, cat, np.arange(4), idx, ["u", "v"], ["w"], "demo")
    >>> tr.x["categorical"].ravel().tolist(), te.x["categorical"].ravel().tolist()
    ([1, 2], [0])
    >>> meta["categorical_cardinalities"]
    [3]
    """
    numeric = np.asarray(numeric, dtype=np.float32).reshape(len(y), len(numeric_names))
    categorical = np.asarray(categorical, dtype=object).reshape(len(y), len(categorical_names))
    validate.check_finite(numeric, where, list(numeric_names))
    train_index = index[0]
    vocabularies = [fit_vocabulary(categorical[train_index, j]) for j in range(len(categorical_names))]

    def inputs(rows: np.ndarray) -> dict[str, np.ndarray]:
        x: dict[str, np.ndarray] = {}
        if len(numeric_names):
            x["numeric"] = np.ascontiguousarray(numeric[rows])
        if len(categorical_names):
            codes = [encode_categories(categorical[rows, j], v) for j, v in enumerate(vocabularies)]
            x["categorical"] = np.stack(codes, axis=1).astype(np.int32)
        if not x:
            raise DataValidationError(f"{where}: no feature columns; expected at least one.")
        return x

    train, val, test = (Split(inputs(rows), np.asarray(y)[rows]) for rows in index)
    meta = {
        "num_numeric": len(numeric_names),
        "numeric_names": [str(n) for n in numeric_names],
        "categorical_names": [str(n) for n in categorical_names],
        "categorical_cardinalities": [len(v) + 1 for v in vocabularies],
        "categorical_vocabularies": vocabularies,
    }
    return train, val, test, meta
