"""MovieLens 100K (retail / recommendation): 100,000 ratings (1-5) of 1,682 movies by 943 users.

GroupLens (Harper & Konstan 2015). The official 5-fold cross-validation files u1..u5 split the
ratings 80k/20k with disjoint test sets. Research use only, NOT redistributable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data import common, splits, validate
from zoo.data.sources import Source
from zoo.data.types import Dataset, Split
from zoo.errors import DataValidationError

_FOLD_SHA256 = {
    "u1": (
        "ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a",
        "18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950",
    ),
    "u2": (
        "6c06f0b5df4b256da1a994f3ac66edc8da4d3f09bc9282df6b14d893366d703e",
        "4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3",
    ),
    "u3": (
        "afdc155c291c6edc41c0407e39d7462eb98d341e064f0b0a12175b80b3c4af5d",
        "0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d",
    ),
    "u4": (
        "219f0f4d40dfe9c5141d425f53fa91ee23ed275f14e280bbf1b50117afb064ca",
        "7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9",
    ),
    "u5": (
        "a9574e59ce961eec2121627760b6e9b0974ce1637b3fe69ac32cb14a4bfab485",
        "351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634",
    ),
    "ua": (
        "67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2",
        "d0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42",
    ),
    "ub": (
        "237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881",
        "d54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da",
    ),
}

SOURCE = Source(
    name="movielens_100k",
    files={
        "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
        "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
        "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
        "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
        "u.occupation": "cd5fbec9afe345d993a62fc7817df1a4a9079c4feb267b3118763b8fd942137d",
        "u.info": "5b0a40b2e47a729ee6203063f6dcf8790c2e63f5a18663e6ee318a72c5f3c27b",
        "README": "4883b8cf340ed0059971b33f56ad3adc88a40792108ebca3d24aafc4c82e8b52",
        **{
            f"{fold}.{part}": digest
            for fold, pair in _FOLD_SHA256.items()
            for part, digest in zip(("base", "test"), pair, strict=True)
        },
    },
    url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
    license="GroupLens research-use terms (README): no redistribution or commercial use without permission",
    citation=(
        "Harper, F. M., Konstan, J. A. (2015). The MovieLens Datasets: History and Context. ACM Transactions "
        "on Interactive Intelligent Systems 5(4), Article 19."
    ),
    redistributable=False,
)

FOLDS = ("1", "2", "3", "4", "5", "a", "b")


def read_ratings(path: str | os.PathLike) -> np.ndarray:
    """Parse a tab-separated `user item rating timestamp` file into an int64 array `(n, 4)`.

    Checks ids are positive and ratings are integers 1-5.

    Args:
        path: str or path. A `u.data`, `uN.base` or `uN.test` file.

    Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "u1.test"; _ = p.write_text("1\\t6\\t5\\t887431973\\n")
    >>> read_ratings(p).tolist()
    [[1, 6, 5, 887431973]]
    """
    name = Path(path).name
    try:
        table = np.loadtxt(path, dtype=np.int64, delimiter="\t", ndmin=2)
    except ValueError as error:
        raise DataValidationError(
            f"{name}: could not parse ({error}); expected tab-separated integers user, item, rating, "
            "timestamp."
        ) from None
    if table.shape[1] != 4:
        raise DataValidationError(
            f"{name}: {table.shape[1]} columns; expected 4 (user, item, rating, timestamp)."
        )
    for column, name_of, low, high in ((0, "user", 1, None), (1, "item", 1, None), (2, "rating", 1, 5)):
        values = table[:, column]
        bad = np.flatnonzero((values < low) | ((values > high) if high is not None else False))
        if bad.size:
            i = int(bad[0])
            expected = f"an integer in [{low}, {high}]" if high is not None else f"an id >= {low}"
            raise DataValidationError(
                f"{name}: line {i + 1}, column '{name_of}' is {values[i]}; expected {expected}."
            )
    return table


def load(
    data_dir: str | None = None, *, seed: int = 0, fold: int | str = 1, val_fraction: float = 0.05
) -> Dataset:
    """Load one official MovieLens 100K fold as rating regression from (user, item) ids.

    Split: train and validation come from `u{fold}.base` (a seeded random `val_fraction` of its
    ratings for validation, 5% by default), test is `u{fold}.test`; the five u1..u5 test sets are
    disjoint and cover all 100k ratings. Folds "a" and "b" (10 test ratings per user) also work.

    Args:
        data_dir: optional str. A directory holding `movielens_100k/` or its files.
        seed: int. The validation split seed.
        fold: int or str. 1..5 (or "a", "b").
        val_fraction: float. Share of the base ratings held out for validation.

    Returns:
        A `Dataset` with x `{"user": int32 (n,), "item": int32 (n,)}` (raw 1-based ids) and y
        float32 ratings; meta `num_users` / `num_items` are max id + 1 (embedding table sizes).

    Example:
    >>> ds = load(fold=1)  # doctest: +SKIP
    >>> len(ds.train) + len(ds.val), len(ds.test), ds.meta["num_users"]  # doctest: +SKIP
    (80000, 20000, 944)
    """
    key = str(fold).lower().removeprefix("u")
    if key not in FOLDS:
        raise DataValidationError(f"fold is {fold!r}; expected one of 1, 2, 3, 4, 5 (or 'a', 'b').")
    base_file, test_file = f"u{key}.base", f"u{key}.test"
    directory = common.locate_files(SOURCE, data_dir, [base_file, test_file])
    base = read_ratings(directory / base_file)
    test_table = read_ratings(directory / test_file)
    keep, held = splits.random_split(len(base), val_fraction, seed)

    def make(table: np.ndarray) -> Split:
        x = {"user": table[:, 0].astype(np.int32), "item": table[:, 1].astype(np.int32)}
        return Split(x, table[:, 2].astype(np.float32))

    train, val, test = make(base[keep]), make(base[held]), make(test_table)
    for name, split, where in (
        ("train", train, base_file),
        ("val", val, base_file),
        ("test", test, test_file),
    ):
        validate.check_not_empty(split, f"{where} ({name})")
    num_users = int(max(base[:, 0].max(), test_table[:, 0].max())) + 1
    num_items = int(max(base[:, 1].max(), test_table[:, 1].max())) + 1
    meta: dict[str, Any] = {
        "source": SOURCE.name,
        "modality": "recommendation",
        "task_type": "regression",
        "split": (
            f"Official fold u{key}: test = {test_file} ({len(test)} ratings); {base_file} split at random "
            f"with seed {seed} into train ({len(train)}) and validation ({len(val)}, "
            f"{100 * val_fraction:g}%)."
        ),
        "sha256": common.checksums(directory, SOURCE, [base_file, test_file]),
        "target_name": "rating",
        "rating_range": [1, 5],
        "fold": key,
        "num_users": num_users,
        "num_items": num_items,
        "license": SOURCE.license,
        "citation": SOURCE.citation,
        "redistributable": SOURCE.redistributable,
    }
    return Dataset(train, val, test, meta)
