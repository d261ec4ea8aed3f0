"""TensorFlow Datasets builders for the zoo's datasets that TFDS catalogues, prepared from local files.

TFDS has two of the zoo's datasets: MovieLens 100K (`movielens/100k-ratings`) and the numeric
variant of German credit (`german_credit_numeric`). Its own builders download the files, which
fails behind a firewall, and a `tfds.load` of data that is not prepared waits minutes for the
network before it fails. `tfds_builder(name)` is TFDS's own builder (same name, config, version
and features) reading the zoo's local copy instead (`--data-dir`, `ZOO_DATA_DIR`, `../shared/data`,
checksums verified): `download_and_prepare()` then runs offline and writes the same dataset
TFDS's download would, which `tfds.load(..., download=False)` and `load_prepared` read.
`load_prepared` reads a prepared copy and, where there is none, fails at once with a
`DataNotFoundError` naming the directory it looked in and how to prepare it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from zoo.data import common, german_credit, movielens_100k
from zoo.data.sources import Source
from zoo.errors import DataNotFoundError, UnknownNameError


@dataclasses.dataclass(frozen=True)
class _Entry:
    tfds_name: str  # "name" or "name/config", as for tfds.load
    source: Source
    files: tuple[str, ...]  # the files TFDS's builder reads
    gen_kwargs: Callable[[Path], dict]  # keyword arguments of the builder's _generate_examples


def _german_records(directory: Path) -> dict:
    lines = (directory / "german.data-numeric").read_text(encoding="ascii").split("\n")
    return {"records": [line for line in lines if line]}  # as TFDS's builder parses its download


TFDS_DATASETS: dict[str, _Entry] = {
    "movielens_100k": _Entry(
        "movielens/100k-ratings", movielens_100k.SOURCE, ("u.data", "u.item", "u.user"),
        lambda directory: {"dir_path": str(directory)},
    ),
    "german_credit": _Entry(
        "german_credit_numeric", german_credit.SOURCE, ("german.data-numeric",), _german_records,
    ),
}


def _tfds_builder_class(name: str, tfds_data_dir: str | os.PathLike | None) -> tuple[_Entry, type, dict]:
    """The zoo dataset's entry, TFDS's builder class for it, and that class's constructor arguments."""
    import tensorflow_datasets as tfds

    if name not in TFDS_DATASETS:
        raise UnknownNameError(
            f"TFDS has no builder for dataset '{name}'; it has: {', '.join(sorted(TFDS_DATASETS))}."
        )
    entry = TFDS_DATASETS[name]
    builder_name, _, config = entry.tfds_name.partition("/")
    kwargs = {"config": config or None, "data_dir": None if tfds_data_dir is None else str(tfds_data_dir)}
    return entry, tfds.builder_cls(builder_name), kwargs


def tfds_builder(name: str, *, data_dir: str | os.PathLike | None = None,
                 tfds_data_dir: str | os.PathLike | None = None):
    """TFDS's builder for zoo dataset `name`, fed from the zoo's local files instead of a download.

    Args:
        name: str. A key of `TFDS_DATASETS` (`"movielens_100k"`, `"german_credit"`).
        data_dir: str or None. Where the zoo looks for the files first (then `ZOO_DATA_DIR`,
            `../shared/data`, the Keras cache), as for `zoo.data.load_dataset`.
        tfds_data_dir: str or None. TFDS's data directory (default: TFDS's, `~/tensorflow_datasets`).

    Returns:
        A `tfds.core.DatasetBuilder` with TFDS's name, config, version and features; its
        `download_and_prepare()` reads the local files (their sha256 checked) and needs no network.

    Example:
    >>> import tempfile
    >>> builder = tfds_builder("german_credit", tfds_data_dir=tempfile.mkdtemp())  # doctest: +SKIP
    >>> builder.download_and_prepare()  # doctest: +SKIP
    >>> builder.info.splits["train"].num_examples  # doctest: +SKIP
    1000
    """
    import tensorflow_datasets as tfds

    entry, base, kwargs = _tfds_builder_class(name, tfds_data_dir)
    directory = common.locate_files(entry.source, data_dir, entry.files)

    class LocalFiles(base, skip_registration=True):
        __doc__ = f"TFDS's `{entry.tfds_name}` builder reading {directory} instead of downloading."
        name = base.name  # TFDS's own name, so the prepared data lands where `tfds.load` reads it

        def _split_generators(self, dl_manager):
            del dl_manager  # nothing to download: the files are local
            return [tfds.core.SplitGenerator(name=tfds.Split.TRAIN, gen_kwargs=entry.gen_kwargs(directory))]

    return LocalFiles(**kwargs)


def prepare(name: str, *, data_dir: str | os.PathLike | None = None,
            tfds_data_dir: str | os.PathLike | None = None):
    """Write TFDS's prepared copy of `name` from the local files, offline; returns the builder.

    Example:
    >>> import tempfile
    >>> prepare("german_credit", tfds_data_dir=tempfile.mkdtemp()).info.splits["train"].num_examples  # doctest: +SKIP
    1000
    """
    import tensorflow_datasets as tfds

    builder = tfds_builder(name, data_dir=data_dir, tfds_data_dir=tfds_data_dir)
    # try_download_gcs=False: TFDS would otherwise ask Google's servers for a prepared copy first.
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    return builder


def load_prepared(name: str, *, split: str = "train", tfds_data_dir: str | os.PathLike | None = None) -> tf.data.Dataset:
    """The prepared TFDS copy of zoo dataset `name` as a `tf.data.Dataset` of feature dicts.

    Reads only what is on disk: a copy TFDS prepared with network access once, one copied from
    such a machine, or one `prepare` wrote. With none, raises `DataNotFoundError` at once (no
    download is attempted), naming the directory and the call that prepares it.

    Args:
        name: str. A key of `TFDS_DATASETS`.
        split: str. A TFDS split (both datasets have one, `"train"`; slices like `"train[:80%]"` work).
        tfds_data_dir: str or None. TFDS's data directory (default: TFDS's).

    Example:
    >>> import tempfile
    >>> load_prepared("german_credit", tfds_data_dir=tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    zoo.errors.DataNotFoundError: No prepared TFDS copy of 'german_credit_numeric' in ...
    """
    entry, base, kwargs = _tfds_builder_class(name, tfds_data_dir)
    builder = base(**kwargs)
    if not builder.is_prepared():
        raise DataNotFoundError(
            f"No prepared TFDS copy of '{entry.tfds_name}' in {builder.data_dir}. Prepare it from the zoo's local "
            f"files with zoo.data.tfds_builders.prepare({name!r}, tfds_data_dir=...), or with network access "
            f"with tfds.builder({entry.tfds_name!r}).download_and_prepare()."
        )
    return builder.as_dataset(split=split, shuffle_files=False)
