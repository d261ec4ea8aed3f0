"""Datasets by name: each loader returns a `zoo.data.types.Dataset` of validated splits.

Built-in datasets read their pinned, checksummed files (see `zoo.data.sources`); the generic
entries (`csv_tabular`, `csv_text`, `csv_timeseries`, `images`) read the user's own file given
as `path=`. Text is returned raw and tokenized by `zoo.data.text.tokenize_dataset`. Where TFDS
catalogues a dataset, `zoo.data.tfds_builders` prepares TFDS's own copy from the same local files.

Example:
>>> from zoo.data import DATASETS, load_dataset
>>> "german_credit" in DATASETS
True
>>> load_dataset("breast_cancer").meta["num_classes"]
2
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo.data import (
    ai4i2020,
    breast_cancer,
    breastmnist,
    cmapss_fd001,
    financial_phrasebank,
    generic,
    german_credit,
    movielens_100k,
    pubmedqa_pqal,
    sources,
)
from zoo.data.types import Dataset, Split
from zoo.errors import ConfigError, DataNotFoundError, UnknownNameError

DATASETS: dict[str, Callable[..., Dataset]] = {
    "ai4i2020": ai4i2020.load,
    "breast_cancer": breast_cancer.load,
    "breastmnist": breastmnist.load,
    "cmapss_fd001": cmapss_fd001.load,
    "financial_phrasebank": financial_phrasebank.load,
    "german_credit": german_credit.load,
    "movielens_100k": movielens_100k.load,
    "pubmedqa_pqal": pubmedqa_pqal.load,
    # Bring your own data: `path=` names the file or folder (the CLI's --data).
    "csv_tabular": generic.csv_tabular,
    "csv_text": generic.csv_text,
    "csv_timeseries": generic.csv_timeseries,
    "images": generic.images,
}


def load_dataset(name: str, data_dir: str | None = None, **options: Any) -> Dataset:
    """Load a registered dataset by name.

    Args:
        name: str. A key of `DATASETS`, e.g. `"german_credit"`.
        data_dir: optional str. Where the dataset's files are (see `zoo.data.sources.locate`).
        **options: keyword arguments of that loader, e.g. `seed=0`, `subset="allagree"`.

    Returns:
        The loader's `Dataset`.

    Example:
    >>> load_dataset("breast_cancer", seed=1).meta["source"]
    'scikit-learn (bundled)'
    >>> load_dataset("nope")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    UnknownNameError: Unknown dataset 'nope'. Known datasets: ai4i2020, ...
    """
    if name not in DATASETS:
        raise UnknownNameError(f"Unknown dataset '{name}'. Known datasets: {', '.join(sorted(DATASETS))}.")
    loader = DATASETS[name]
    if loader.__module__ == generic.__name__:  # checks its options against the wrapped loader
        return loader(data_dir, **options)
    try:
        inspect.signature(loader).bind(data_dir, **options)
    except TypeError as error:
        allowed = [p for p in inspect.signature(loader).parameters if p != "data_dir"]
        raise ConfigError(f"Dataset '{name}': {error}. Its options are: {', '.join(allowed)}.") from None
    return loader(data_dir, **options)


def source_of(name: str) -> sources.Source | None:
    """A built-in dataset's `Source` (URL, checksums, license, citation); None for the bring-your-own loaders.

    Example:
    >>> source_of("german_credit").license
    'CC BY 4.0 (as listed by the UCI Machine Learning Repository)'
    >>> source_of("csv_tabular") is None
    True
    """
    if name not in DATASETS:
        raise UnknownNameError(f"Unknown dataset '{name}'. Known datasets: {', '.join(sorted(DATASETS))}.")
    return getattr(sys.modules[DATASETS[name].__module__], "SOURCE", None)


def fetch(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The directory of a built-in dataset's files: the local copy if there is one, else the download.

    Looks where `zoo.data.sources.locate` looks; only when none holds the files does it download
    the canonical release once into the Keras cache (`keras.utils.get_file`), verify every file's
    sha256 and return that folder, where later offline runs find it. The CLI's `--download` calls
    this. Needs network access only for the download.

    Args:
        name: str. A built-in dataset, e.g. `"movielens_100k"`.
        data_dir: optional str or path. Looked in first, as `--data-dir`.

    Example:
    >>> fetch("breast_cancer").name  # ships with scikit-learn: nothing to download
    'data'
    >>> fetch("csv_tabular")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    DataNotFoundError: Dataset 'csv_tabular' reads your own file ...
    """
    source = source_of(name)
    module = sys.modules[DATASETS[name].__module__]
    if hasattr(module, "bundled_path"):  # ships with a dependency (scikit-learn's breast cancer)
        return module.bundled_path().parent
    if source is None:
        raise DataNotFoundError(f"Dataset '{name}' reads your own file (--data PATH); there is nothing to download.")
    return sources.locate(source, data_dir, allow_download=True)


__all__ = ["DATASETS", "Dataset", "Split", "fetch", "load_dataset", "source_of"]
