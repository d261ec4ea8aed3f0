"""Seeded, reproducible splits of row indices (stratified by class or plain random).

The functions return sorted index arrays, so a split is a fact about the data and a seed, not
about the order rows were read in beyond the file's own order.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from zoo.errors import DataValidationError

Seed = int | np.random.Generator


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def check_fraction(fraction: float, name: str = "fraction") -> None:
    """Raise `DataValidationError` unless `fraction` is a number in [0, 1) (not NaN, not text).

    Example:
    >>> check_fraction(0.2, "test_fraction")
    >>> check_fraction("0.2", "test_fraction")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DataValidationError: test_fraction is '0.2'; expected a number in [0, 1).
    """
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0.0 <= fraction < 1.0:
        raise DataValidationError(f"{name} is {fraction!r}; expected a number in [0, 1).")


def random_split(n: int, fraction: float, seed: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices `(keep, held)` of `n` rows with `round(n * fraction)` rows held out at random.

    Args:
        n: int. The number of rows.
        fraction: float. The share of rows to hold out, in [0, 1).
        seed: int or `np.random.Generator`. The seed of the shuffle.

    Example:
    >>> keep, held = random_split(10, 0.2, seed=0)
    >>> len(keep), len(held), sorted(set(keep) | set(held)) == list(range(10))
    (8, 2, True)
    """
    check_fraction(fraction)
    n_held = int(np.floor(n * fraction + 0.5))
    order = _rng(seed).permutation(n)
    return np.sort(order[n_held:]), np.sort(order[:n_held])


def stratified_split(y: Any, fraction: float, seed: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices `(keep, held)` holding out `fraction` of the rows with class shares preserved.

    `round(n * fraction)` rows are held out in total; each class gives `fraction` of its rows,
    rounded by largest remainder (ties broken by the seed), and every class keeps at least one
    row in `keep` (so a class with a single row is never held out).

    Args:
        y: array-like. The class of each row (any hashable values).
        fraction: float. The share of rows to hold out, in [0, 1).
        seed: int or `np.random.Generator`. The seed of the shuffle.

    Example:
    >>> y = np.array([0] * 8 + [1] * 2)
    >>> keep, held = stratified_split(y, 0.5, seed=0)
    >>> np.bincount(y[held]).tolist(), np.bincount(y[keep]).tolist()
    ([4, 1], [4, 1])
    """
    check_fraction(fraction)
    rng = _rng(seed)
    y = np.asarray(y)
    n = len(y)
    _, inverse = np.unique(y, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse)
    exact = counts * fraction
    quota = np.floor(exact).astype(int)
    remainder = int(np.floor(n * fraction + 0.5)) - int(quota.sum())
    # Largest fractional part first, random among ties; every class keeps at least one row.
    order = np.lexsort((rng.random(len(counts)), -(exact - quota)))
    for c in order:
        if remainder <= 0:
            break
        if exact[c] > quota[c] and quota[c] + 1 < counts[c]:
            quota[c] += 1
            remainder -= 1
    held = [rng.permutation(np.flatnonzero(inverse == c))[: quota[c]] for c in range(len(counts))]
    held_index = np.sort(np.concatenate(held)) if held else np.zeros(0, dtype=int)
    keep_mask = np.ones(n, dtype=bool)
    keep_mask[held_index] = False
    return np.flatnonzero(keep_mask), held_index


def train_val_test(
    y: Any,
    test_fraction: float,
    val_fraction: float,
    seed: Seed = 0,
    *,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices `(train, val, test)`: `test_fraction` of all rows, then `val_fraction` of the rest.

    Args:
        y: array-like. The target of each row (classes when `stratify`).
        test_fraction: float. The share of all rows held out for test.
        val_fraction: float. The share of the remaining rows held out for validation.
        seed: int or `np.random.Generator`. One generator drives both splits.
        stratify: bool. Whether to preserve class shares in each split.

    Example:
    >>> train, val, test = train_val_test(np.array([0, 1] * 50), 0.2, 0.25, seed=0)
    >>> len(train), len(val), len(test)
    (60, 20, 20)
    """
    rng = _rng(seed)
    y = np.asarray(y)
    split = stratified_split if stratify else (lambda t, f, r: random_split(len(t), f, r))
    rest, test = split(y, test_fraction, rng)
    train_pos, val_pos = split(y[rest], val_fraction, rng)
    return rest[train_pos], rest[val_pos], test


def kfold_train_val_test(
    y: Any, fold: int, folds: int, val_fraction: float, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices `(train, val, test)` for fold `fold` (1-based) of a seeded stratified `folds`-fold split.

    Each class's rows are shuffled and dealt to the folds in turn, each class continuing where the
    previous one stopped: every fold holds each class's share within one row, and fold sizes differ
    by at most one.
    Test is fold `fold`; validation is a stratified `val_fraction` of the other folds. Over
    `fold = 1..folds` every row is tested exactly once (cross-validation, as StatLog reports).

    Args:
        y: array-like. The class of each row.
        fold: int. Which fold is the test set, 1..`folds`.
        folds: int. The number of folds (at least 2).
        val_fraction: float. The share of the training folds held out for validation.
        seed: int or `np.random.Generator`. The seed of the fold assignment and the validation split.

    Example:
    >>> y = np.array([0] * 80 + [1] * 20)
    >>> tests = [kfold_train_val_test(y, k, 10, 0.2, seed=0)[2] for k in range(1, 11)]
    >>> sorted(np.concatenate(tests).tolist()) == list(range(100)), np.bincount(y[tests[0]]).tolist()
    (True, [8, 2])
    """
    if isinstance(folds, bool) or not isinstance(folds, numbers.Integral) or folds < 2:
        raise DataValidationError(f"folds is {folds!r}; expected an integer of at least 2.")
    if isinstance(fold, bool) or not isinstance(fold, numbers.Integral) or not 1 <= fold <= folds:
        raise DataValidationError(f"fold is {fold!r}; expected an integer from 1 to {folds}.")
    rng = _rng(seed)
    y = np.asarray(y)
    _, inverse = np.unique(y, return_inverse=True)
    inverse = inverse.reshape(-1)
    assignment = np.empty(len(y), dtype=int)
    dealt = 0
    for c in range(inverse.max() + 1):
        rows = rng.permutation(np.flatnonzero(inverse == c))
        assignment[rows] = (dealt + np.arange(len(rows))) % folds
        dealt += len(rows)
    test = np.flatnonzero(assignment == fold - 1)
    rest = np.flatnonzero(assignment != fold - 1)
    train_pos, val_pos = stratified_split(y[rest], val_fraction, rng)
    return rest[train_pos], rest[val_pos], test


def describe(test_fraction: float, val_fraction: float, seed: int, *, stratify: bool = True) -> str:
    """A sentence describing a `train_val_test` split, for a dataset's `meta["split"]`.

    Args:
        test_fraction: float. As given to `train_val_test`.
        val_fraction: float. As given to `train_val_test`.
        seed: int. The split seed.
        stratify: bool. Whether the split was stratified.

    Example:
    >>> describe(0.2, 0.2, 0)[:60]
    'Stratified random split with seed 0: 20% of rows for test, t'
    """
    kind = "Stratified random" if stratify else "Random"
    train = (1 - test_fraction) * (1 - val_fraction)
    return (
        f"{kind} split with seed {seed}: {100 * test_fraction:.0f}% of rows for test, then "
        f"{100 * val_fraction:.0f}% of the remaining rows for validation "
        f"(train/val/test = {100 * train:.0f}/{100 * (1 - test_fraction - train):.0f}/"
        f"{100 * test_fraction:.0f})."
    )


def describe_kfold(fold: int, folds: int, val_fraction: float, seed: int) -> str:
    """A sentence describing a `kfold_train_val_test` split, for a dataset's `meta["split"]`.

    Args:
        fold: int. The test fold, as given to `kfold_train_val_test`.
        folds: int. The number of folds.
        val_fraction: float. The share of the other folds held out for validation.
        seed: int. The split seed.

    Example:
    >>> describe_kfold(3, 10, 0.2, 0)[:55]
    'Fold 3 of a stratified 10-fold split with seed 0 is the'
    """
    return (
        f"Fold {fold} of a stratified {folds}-fold split with seed {seed} is the test set; "
        f"{100 * val_fraction:.0f}% of the other folds (stratified) for validation."
    )


def holdout_or_fold(
    y: Any,
    seed: int,
    test_fraction: float,
    val_fraction: float,
    fold: int | None = None,
    folds: int = 10,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], str]:
    """A dataset without an official split: a seeded stratified hold-out, or one fold of k-fold CV.

    Returns the indices `(train, val, test)` and the sentence for `meta["split"]`. With `fold`
    None: `train_val_test(y, test_fraction, val_fraction, seed)`. With `fold` in 1..`folds`:
    `kfold_train_val_test(y, fold, folds, val_fraction, seed)` (`test_fraction` is ignored), so
    running folds 1..`folds` tests every row once, as papers that report cross-validation do.

    Example:
    >>> y = np.array([0, 1] * 50)
    >>> (train, val, test), note = holdout_or_fold(y, 0, 0.2, 0.25)
    >>> len(test), note[:17]
    (20, 'Stratified random')
    >>> (train, val, test), note = holdout_or_fold(y, 0, 0.2, 0.2, fold=2, folds=5)
    >>> len(test), note[:20]
    (20, 'Fold 2 of a stratifi')
    """
    if fold is None:
        index = train_val_test(y, test_fraction, val_fraction, seed)
        note = describe(test_fraction, val_fraction, seed)
    else:
        index = kfold_train_val_test(y, fold, folds, val_fraction, seed)
        note = describe_kfold(fold, folds, val_fraction, seed)
    return index, note + " No official split exists."
