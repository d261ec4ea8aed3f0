"""Breast Cancer Wisconsin (Diagnostic) (medical, tabular): 569 tumours, malignant or benign.

The copy bundled with scikit-learn (`sklearn.datasets.load_breast_cancer`): 30 numeric features
computed from digitized images of fine-needle aspirates. No data directory is needed, so this is
the zoo's always-available smoke-test dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from zoo.data import common, splits, tabular
from zoo.data.sources import Source, sha256
from zoo.data.types import Dataset

SOURCE = Source(
    name="breast_cancer",
    files={"breast_cancer.csv": "fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed"},
    url="https://archive.ics.uci.edu/static/public/17/breast+cancer+wisconsin+diagnostic.zip",
    license="CC BY 4.0 (UCI); bundled with scikit-learn (BSD-3-Clause)",
    citation=(
        "Wolberg, W., Mangasarian, O., Street, N., Street, W. (1993). Breast Cancer Wisconsin "
        "(Diagnostic). UCI Machine Learning Repository. https://doi.org/10.24432/C5DW2B"
    ),
    redistributable=True,
)

BUNDLED_FILE = "breast_cancer.csv"


def bundled_path() -> Path:
    """Where scikit-learn keeps its copy of the data (read by `load_breast_cancer`).

    Example:
    >>> bundled_path().name
    'breast_cancer.csv'
    """
    import sklearn.datasets

    return Path(sklearn.datasets.__file__).parent / "data" / BUNDLED_FILE


def load(
    data_dir: str | None = None,
    *,
    seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    fold: int | None = None,
    folds: int = 10,
) -> Dataset:
    """Load Breast Cancer Wisconsin as tabular binary classification (sklearn's class order).

    Split: stratified, seeded: `test_fraction` of the 569 rows for test, then `val_fraction` of
    the rest for validation (defaults 64/16/20). With `fold`, test is instead fold `fold` of a
    seeded stratified `folds`-fold split (the published baseline is a 10-fold cross-validation:
    run folds 1..10 and average). Classes are sklearn's: 0 = malignant, 1 = benign.

    Args:
        data_dir: ignored (the data ships with scikit-learn); accepted for a uniform signature.
        seed: int. The split seed.
        test_fraction: float. Share of all rows for test.
        val_fraction: float. Share of the remaining rows for validation.
        fold: int or None. 1..`folds`: test on that cross-validation fold (ignores `test_fraction`).
        folds: int. Number of cross-validation folds when `fold` is given.

    Returns:
        A `Dataset` whose x is `{"numeric": float32 (n, 30)}`.

    Example:
    >>> ds = load(seed=0)
    >>> ds.train.x["numeric"].shape, len(ds.val), len(ds.test), ds.meta["class_names"]
    ((364, 30), 91, 114, ['malignant', 'benign'])
    """
    from sklearn.datasets import load_breast_cancer

    del data_dir  # The data ships with scikit-learn.
    bunch = load_breast_cancer()
    x = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    names = [str(n) for n in bunch.feature_names]
    class_names = [str(n) for n in bunch.target_names]
    index, split = splits.holdout_or_fold(y, seed, test_fraction, val_fraction, fold, folds)
    where = f"{BUNDLED_FILE} (scikit-learn)"
    train, val, test, table_meta = tabular.build_tabular_splits(
        x, np.zeros((len(y), 0), dtype=object), y, index, names, [], where
    )
    common.check_classification([("train", train), ("val", val), ("test", test)], 2, where, class_names)
    path = bundled_path()
    meta: dict[str, Any] = {
        "source": "scikit-learn (bundled)",
        "dataset": SOURCE.name,
        "modality": "tabular",
        "task_type": "classification",
        "split": split,
        "sha256": {BUNDLED_FILE: sha256(path)} if path.is_file() else {},
        "num_classes": 2,
        "class_names": class_names,
        "license": SOURCE.license,
        "citation": SOURCE.citation,
        **table_meta,
    }
    return Dataset(train, val, test, meta)
