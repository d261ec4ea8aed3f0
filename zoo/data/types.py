"""The in-memory form every loader returns: named splits of inputs and targets."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

Inputs = Any  # a numpy array, or a dict of numpy arrays (tabular: "numeric", "categorical")


def num_rows(x: Inputs) -> int:
    """Number of examples in `x` (an array or a dict of arrays).

    Example:
    >>> num_rows({"numeric": np.zeros((3, 2))})
    3
    """
    if isinstance(x, dict):
        return len(next(iter(x.values())))
    return len(x)


def take(x: Inputs, index: np.ndarray) -> Inputs:
    """Rows `index` of `x` (an array or a dict of arrays).

    Example:
    >>> take(np.arange(5), np.array([0, 4])).tolist()
    [0, 4]
    """
    if isinstance(x, dict):
        return {k: v[index] for k, v in x.items()}
    return x[index]


@dataclasses.dataclass
class Split:
    """One split of a dataset: model inputs `x` and targets `y` (same number of rows)."""

    x: Inputs
    y: np.ndarray

    def __len__(self) -> int:
        return num_rows(self.x)


@dataclasses.dataclass
class Dataset:
    """Train, validation and test splits plus what the model needs to know about them.

    Args:
        train, val, test: the splits. `val` is carved from training data, never from test.
        meta: JSON-serializable facts the model builder needs (e.g. `num_classes`,
            `class_names`, `vocab_size`, `sequence_length`, `input_shape`, `num_numeric`,
            `categorical_cardinalities`) and the report needs (`split`, `sha256`, `source`).
        extra: objects that are not JSON (e.g. a keras-hub tokenizer, test-set groups).
    """

    train: Split
    val: Split
    test: Split
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def subset(self, fraction: float, seed: int = 0) -> Dataset:
        """A copy whose train split keeps `fraction` of its rows (val and test unchanged).

        Example:
        >>> d = Dataset(Split(np.zeros((10, 1)), np.zeros(10)), Split(np.zeros((2, 1)), np.zeros(2)),
        ...             Split(np.zeros((2, 1)), np.zeros(2)))
        >>> len(d.subset(0.5).train)
        5
        """
        n = len(self.train)
        keep = max(1, int(round(n * fraction)))
        index = np.sort(np.random.default_rng(seed).permutation(n)[:keep])
        train = Split(take(self.train.x, index), self.train.y[index])
        return dataclasses.replace(self, train=train)
