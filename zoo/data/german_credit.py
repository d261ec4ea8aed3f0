"""Statlog German Credit (finance, tabular credit risk): 1,000 applicants, good or bad risk.

`german.data` holds 20 attributes (7 numeric, 13 categorical with codes `A11`...`A202`
explained in `german.doc`) and the class (1 = good, 2 = bad). There is no official split.
Misclassifying a bad customer as good costs 5, a good one as bad costs 1 (StatLog).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from zoo.data import common, splits, tabular
from zoo.data.sources import Source
from zoo.data.types import Dataset
from zoo.errors import DataValidationError

SOURCE = Source(
    name="german_credit",
    files={
        "german.data": "b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871",
        "german.data-numeric": "2752b044394958ab6dd193a0b56ca0f0b3a2d8bc7cb8c008e35a5e84bbec02f8",
        "german.doc": "69b92cb551111bc37098698288849c96f0fd87ce81a2e54451ff39aa1e53fe49",
    },
    url="https://archive.ics.uci.edu/static/public/144/statlog+german+credit+data.zip",
    license="CC BY 4.0 (as listed by the UCI Machine Learning Repository)",
    citation=(
        "Hofmann, H. (1994). Statlog (German Credit Data). UCI Machine Learning Repository. "
        "https://doi.org/10.24432/C5NC77"
    ),
    redistributable=True,
)

DATA_FILE = "german.data"

# (name, kind, allowed codes) for the 20 attributes, in file order, from german.doc.
ATTRIBUTES: list[tuple[str, str, tuple[str, ...]]] = [
    ("checking_account_status", "categorical", ("A11", "A12", "A13", "A14")),
    ("duration_months", "numeric", ()),
    ("credit_history", "categorical", ("A30", "A31", "A32", "A33", "A34")),
    ("purpose", "categorical", tuple(f"A4{i}" for i in range(11))),
    ("credit_amount", "numeric", ()),
    ("savings", "categorical", ("A61", "A62", "A63", "A64", "A65")),
    ("employment_since", "categorical", ("A71", "A72", "A73", "A74", "A75")),
    ("installment_rate_percent", "numeric", ()),
    ("personal_status_sex", "categorical", ("A91", "A92", "A93", "A94", "A95")),
    ("other_debtors", "categorical", ("A101", "A102", "A103")),
    ("residence_since", "numeric", ()),
    ("property", "categorical", ("A121", "A122", "A123", "A124")),
    ("age_years", "numeric", ()),
    ("other_installment_plans", "categorical", ("A141", "A142", "A143")),
    ("housing", "categorical", ("A151", "A152", "A153")),
    ("existing_credits", "numeric", ()),
    ("job", "categorical", ("A171", "A172", "A173", "A174")),
    ("num_dependents", "numeric", ()),
    ("telephone", "categorical", ("A191", "A192")),
    ("foreign_worker", "categorical", ("A201", "A202")),
]
# What each code means (german.doc), for reports and model cards.
CODE_LABELS: dict[str, dict[str, str]] = {
    "checking_account_status": {
        "A11": "< 0 DM", "A12": "0 to < 200 DM", "A13": ">= 200 DM or salary assignment",
        "A14": "no checking account",
    },
    "credit_history": {
        "A30": "no credits taken / all paid back duly", "A31": "all credits at this bank paid back duly",
        "A32": "existing credits paid back duly till now", "A33": "delay in paying off in the past",
        "A34": "critical account / other credits elsewhere",
    },
    "purpose": {
        "A40": "car (new)", "A41": "car (used)", "A42": "furniture/equipment", "A43": "radio/television",
        "A44": "domestic appliances", "A45": "repairs", "A46": "education", "A47": "vacation",
        "A48": "retraining", "A49": "business", "A410": "others",
    },
    "savings": {
        "A61": "< 100 DM", "A62": "100 to < 500 DM", "A63": "500 to < 1000 DM", "A64": ">= 1000 DM",
        "A65": "unknown / no savings account",
    },
    "employment_since": {
        "A71": "unemployed", "A72": "< 1 year", "A73": "1 to < 4 years", "A74": "4 to < 7 years",
        "A75": ">= 7 years",
    },
    "personal_status_sex": {
        "A91": "male: divorced/separated", "A92": "female: divorced/separated/married", "A93": "male: single",
        "A94": "male: married/widowed", "A95": "female: single",
    },
    "other_debtors": {"A101": "none", "A102": "co-applicant", "A103": "guarantor"},
    "property": {
        "A121": "real estate", "A122": "building society savings / life insurance",
        "A123": "car or other", "A124": "unknown / no property",
    },
    "other_installment_plans": {"A141": "bank", "A142": "stores", "A143": "none"},
    "housing": {"A151": "rent", "A152": "own", "A153": "for free"},
    "job": {
        "A171": "unemployed / unskilled non-resident", "A172": "unskilled resident",
        "A173": "skilled employee / official", "A174": "management / self-employed / highly qualified",
    },
    "telephone": {"A191": "none", "A192": "yes, registered"},
    "foreign_worker": {"A201": "yes", "A202": "no"},
}  # fmt: skip
NUMERIC_NAMES = [name for name, kind, _ in ATTRIBUTES if kind == "numeric"]
CATEGORICAL_NAMES = [name for name, kind, _ in ATTRIBUTES if kind == "categorical"]
CLASS_NAMES = ["good", "bad"]
COST_MATRIX = [[0, 1], [5, 0]]  # rows: true class (good, bad); columns: predicted class.


def read_table(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse `german.data` into numeric (float32), categorical (str codes) and y (0 good, 1 bad).

    Args:
        path: str or path. The `german.data` file.

    Returns:
        `(numeric (n, 7), categorical (n, 13), y (n,))`.

    Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "german.data"
    >>> _ = p.write_text("A11 6 A34 A43 1169 A65 A75 4 A93 A101 4 A121 67 A143 A152 2 A173 1 A192 A201 1\\n")
    >>> numeric, categorical, y = read_table(p)
    >>> numeric.shape, categorical[0, :2].tolist(), y.tolist()
    ((1, 7), ['A11', 'A34'], [0])
    """
    numeric_rows: list[list[float]] = []
    categorical_rows: list[list[str]] = []
    labels: list[int] = []
    name = os.path.basename(path)
    with open(path, encoding="ascii", errors="replace") as f:
        for line_number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != len(ATTRIBUTES) + 1:
                raise DataValidationError(
                    f"{name}: line {line_number} has {len(fields)} fields; expected {len(ATTRIBUTES) + 1} "
                    "(20 attributes and the class)."
                )
            numbers, codes = [], []
            for (column, kind, allowed), value in zip(ATTRIBUTES, fields[:-1], strict=True):
                if kind == "numeric":
                    try:
                        numbers.append(float(value))
                    except ValueError:
                        raise DataValidationError(
                            f"{name}: line {line_number}, column '{column}' is '{value}'; expected a number."
                        ) from None
                elif value not in allowed:
                    raise DataValidationError(
                        f"{name}: line {line_number}, column '{column}' is '{value}'; "
                        f"expected one of {', '.join(allowed)} (german.doc)."
                    )
                else:
                    codes.append(value)
            if fields[-1] not in ("1", "2"):
                raise DataValidationError(
                    f"{name}: line {line_number}, column 'class' is '{fields[-1]}'; expected 1 (good) "
                    "or 2 (bad)."
                )
            numeric_rows.append(numbers)
            categorical_rows.append(codes)
            labels.append(int(fields[-1]) - 1)
    numeric = np.asarray(numeric_rows, dtype=np.float32).reshape(-1, len(NUMERIC_NAMES))
    categorical = np.asarray(categorical_rows, dtype=object).reshape(-1, len(CATEGORICAL_NAMES))
    return numeric, categorical, np.asarray(labels, dtype=np.int64)


def load(
    data_dir: str | None = None,
    *,
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    fold: int | None = None,
    folds: int = 10,
) -> Dataset:
    """Load German Credit as tabular classification (0 = good, 1 = bad).

    Split: stratified, seeded: `test_fraction` of the 1,000 rows for test, then `val_fraction` of
    the rest for validation (defaults 64/16/20). With `fold`, test is instead fold `fold` of a
    seeded stratified `folds`-fold split (StatLog's protocol is 10-fold cross-validation: run
    folds 1..10 and average). Category codes are learned from train only.

    Args:
        data_dir: optional str. A directory holding `german_credit/` or its files.
        seed: int. The split seed.
        test_fraction: float. Share of all rows for test.
        val_fraction: float. Share of the remaining rows for validation.
        fold: int or None. 1..`folds`: test on that cross-validation fold (ignores `test_fraction`).
        folds: int. Number of cross-validation folds when `fold` is given.

    Returns:
        A `Dataset` whose x is `{"numeric": float32 (n, 7), "categorical": int32 (n, 13)}`; meta
        includes `cost_matrix` (rows true good/bad, columns predicted) and `positive_class` 1.

    Example:
    >>> ds = load(seed=0)  # doctest: +SKIP
    >>> ds.train.x["numeric"].shape, ds.meta["class_names"]  # doctest: +SKIP
    ((640, 7), ['good', 'bad'])
    """
    directory = common.locate_files(SOURCE, data_dir, [DATA_FILE])
    numeric, categorical, y = read_table(directory / DATA_FILE)
    if len(y) != 1000:
        raise DataValidationError(f"{DATA_FILE}: {len(y)} rows; expected 1000.")
    index, split = splits.holdout_or_fold(y, seed, test_fraction, val_fraction, fold, folds)
    train, val, test, table_meta = tabular.build_tabular_splits(
        numeric, categorical, y, index, NUMERIC_NAMES, CATEGORICAL_NAMES, DATA_FILE
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
        "cost_matrix": [list(row) for row in COST_MATRIX],
        "cost_matrix_note": "rows are the true class (good, bad), columns the predicted class",
        "categorical_labels": {name: dict(codes) for name, codes in CODE_LABELS.items()},
        "license": SOURCE.license,
        "citation": SOURCE.citation,
        **table_meta,
    }
    return Dataset(train, val, test, meta)
