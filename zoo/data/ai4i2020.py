"""AI4I 2020 Predictive Maintenance (manufacturing, tabular): does the milling machine fail?

10,000 synthetic process records (Matzka 2020), 339 failures (3.39%). Inputs are the five process
measurements and the product quality `Type` (L/M/H). The failure-mode flags TWF, HDF, PWF, OSF
and RNF are never inputs (they leak the label), nor are the identifiers UDI and Product ID.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zoo.data import common, splits, tabular, validate
from zoo.data.sources import Source
from zoo.data.types import Dataset
from zoo.errors import DataValidationError

SOURCE = Source(
    name="ai4i2020",
    files={"ai4i2020.csv": "dc6630cd9b1f0f853922fad78a1b6436570d3f1ec863f1dd5c4340ac56bc8a8e"},
    url="https://archive.ics.uci.edu/static/public/601/ai4i+2020+predictive+maintenance+dataset.zip",
    license="CC BY 4.0",
    citation=(
        "Matzka, S. (2020). Explainable Artificial Intelligence for Predictive Maintenance Applications. "
        "Third International Conference on Artificial Intelligence for Industries (AI4I 2020), IEEE, "
        "pp. 69-74. UCI Machine Learning Repository, https://doi.org/10.24432/C5HS5C"
    ),
    redistributable=True,
)

DATA_FILE = "ai4i2020.csv"
NUMERIC_NAMES = [
    "Air temperature [K]",
    "Process temperature [K]",
    "Rotational speed [rpm]",
    "Torque [Nm]",
    "Tool wear [min]",
]
CATEGORICAL_NAMES = ["Type"]
TARGET = "Machine failure"
FAILURE_MODES = ["TWF", "HDF", "PWF", "OSF", "RNF"]
IDENTIFIERS = ["UDI", "Product ID"]
COLUMNS = [*IDENTIFIERS, "Type", *NUMERIC_NAMES, TARGET, *FAILURE_MODES]
TYPES = ("L", "M", "H")
CLASS_NAMES = ["no failure", "failure"]


def load(
    data_dir: str | None = None,
    *,
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    fold: int | None = None,
    folds: int = 10,
) -> Dataset:
    """Load AI4I 2020 as tabular binary classification (1 = machine failure).

    Split: stratified, seeded: `test_fraction` of the rows for test, then `val_fraction` of the
    rest for validation (defaults 64/16/20). With `fold`, test is instead fold `fold` of a
    seeded stratified `folds`-fold split (run folds 1..10 and average for 10-fold
    cross-validation, where every one of the 10,000 rows is tested once). Warns
    `ImbalanceWarning` (3.4% failures): report F1, recall or PR-AUC, not accuracy.

    Args:
        data_dir: optional str. A directory holding `ai4i2020/` or its file.
        seed: int. The split seed.
        test_fraction: float. Share of all rows for test.
        val_fraction: float. Share of the remaining rows for validation.
        fold: int or None. 1..`folds`: test on that cross-validation fold (ignores `test_fraction`).
        folds: int. Number of cross-validation folds when `fold` is given.

    Returns:
        A `Dataset` whose x is `{"numeric": float32 (n, 5), "categorical": int32 (n, 1)}`.

    Example:
    >>> ds = load(seed=0)  # doctest: +SKIP
    >>> ds.meta["numeric_names"][0], int(ds.test.y.sum())  # doctest: +SKIP
    ('Air temperature [K]', 68)
    """
    import pandas as pd

    directory = common.locate_files(SOURCE, data_dir, [DATA_FILE])
    frame = pd.read_csv(directory / DATA_FILE, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    validate.check_columns(list(frame.columns), COLUMNS, DATA_FILE)
    numeric = np.stack([common.numeric_column(frame[c], DATA_FILE, c) for c in NUMERIC_NAMES], axis=1)
    kinds = frame["Type"].to_numpy(dtype=object)
    bad = np.flatnonzero(~np.isin(kinds, TYPES))
    if bad.size:
        i = int(bad[0])
        raise DataValidationError(
            f"{DATA_FILE}: column 'Type', {common.csv_row(i)} is '{kinds[i]}'; expected one of L, M, H."
        )
    target = common.numeric_column(frame[TARGET], DATA_FILE, TARGET)
    bad = np.flatnonzero(~np.isin(target, (0.0, 1.0)))
    if bad.size:
        i = int(bad[0])
        raise DataValidationError(
            f"{DATA_FILE}: column '{TARGET}', {common.csv_row(i)} is {target[i]:g}; expected 0 or 1."
        )
    y = target.astype(np.int64)
    index, split = splits.holdout_or_fold(y, seed, test_fraction, val_fraction, fold, folds)
    train, val, test, table_meta = tabular.build_tabular_splits(
        numeric, kinds.reshape(-1, 1), y, index, NUMERIC_NAMES, CATEGORICAL_NAMES, DATA_FILE
    )
    common.check_classification([("train", train), ("val", val), ("test", test)], 2, DATA_FILE, CLASS_NAMES)
    meta: dict[str, Any] = {
        "source": SOURCE.name,
        "modality": "tabular",
        "task_type": "classification",
        "split": split,
        "sha256": common.checksums(directory, SOURCE, [DATA_FILE]),
        "num_classes": 2,
        "class_names": list(CLASS_NAMES),
        "positive_class": 1,
        "target_column": TARGET,
        "excluded_columns": [*IDENTIFIERS, *FAILURE_MODES],
        "note": "Synthetic data (Matzka 2020). Failure-mode flags are excluded: they leak the label.",
        "license": SOURCE.license,
        "citation": SOURCE.citation,
        **table_meta,
    }
    return Dataset(train, val, test, meta)
