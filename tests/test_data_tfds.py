"""TFDS's own builders prepared offline from the zoo's local files, read back by plain `tfds.load`."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

from zoo.data import german_credit, movielens_100k, sources, tfds_builders
from zoo.errors import DataNotFoundError, UnknownNameError

ROOT = Path(__file__).resolve().parents[1]


def _local_dir(source: sources.Source) -> Path:
    for directory in sources.candidate_dirs(source.name):
        if all((directory / f).is_file() for f in source.files):
            return directory
    pytest.skip(f"real data for '{source.name}' not found; set ZOO_DATA_DIR to run this test")


def test_german_credit_numeric_prepared_offline_matches_the_file(tmp_path):
    directory = _local_dir(german_credit.SOURCE)
    builder = tfds_builders.prepare("german_credit", data_dir=directory, tfds_data_dir=tmp_path)
    assert builder.name == "german_credit_numeric" and builder.info.splits["train"].num_examples == 1000
    # What TFDS's own loader reads from that directory, with downloads switched off.
    rows = tfds.as_numpy(tfds.load("german_credit_numeric", split="train", data_dir=str(tmp_path), download=False))
    got = collections.Counter((*r["features"].tolist(), int(r["label"])) for r in rows)
    table = np.loadtxt(directory / "german.data-numeric", dtype=int)
    want = collections.Counter((*r[:-1].tolist(), 2 - int(r[-1])) for r in table)  # TFDS: 1 = good, 0 = bad
    assert got == want
    # The same 1,000 applicants as the zoo's categorical file: 700 good, 300 bad.
    _, _, y = german_credit.read_table(directory / "german.data")
    assert sorted(label for *_, label in got.elements()) == sorted((1 - y).tolist())


@pytest.mark.slow
def test_movielens_100k_prepared_offline_matches_u_data(tmp_path):
    directory = _local_dir(movielens_100k.SOURCE)
    tfds_builders.prepare("movielens_100k", data_dir=directory, tfds_data_dir=tmp_path)
    ds = tfds_builders.load_prepared("movielens_100k", tfds_data_dir=tmp_path)
    triples = ds.map(lambda r: (r["user_id"], r["movie_id"], r["user_rating"])).batch(10_000)
    got = collections.Counter()
    for users, items, ratings in tfds.as_numpy(triples):
        got.update(zip(users.astype(int).tolist(), items.astype(int).tolist(), ratings.tolist(), strict=True))
    table = movielens_100k.read_ratings(directory / "u.data")
    assert got == collections.Counter((int(u), int(i), float(r)) for u, i, r in table[:, :3])


def test_cli_prepares_a_copy_that_tfds_load_reads_and_refuses_unknown_names(tmp_path):
    _local_dir(german_credit.SOURCE)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-m", "zoo", "tfds", "prepare", "german_credit", "--tfds-dir", str(tmp_path)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "german_credit_numeric: 1000 examples in" in out.stdout and "download=False" in out.stdout
    assert len(tfds_builders.load_prepared("german_credit", tfds_data_dir=tmp_path)) == 1000
    out = subprocess.run([sys.executable, "-m", "zoo", "tfds", "prepare", "cmapss_fd001"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "invalid choice: 'cmapss_fd001'" in out.stderr


def test_unprepared_or_unknown_dataset_fails_at_once(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"No prepared TFDS copy of 'movielens/100k-ratings' in .*prepare\("):
        tfds_builders.load_prepared("movielens_100k", tfds_data_dir=tmp_path)
    with pytest.raises(UnknownNameError, match="TFDS has no builder for dataset 'cmapss_fd001'"):
        tfds_builders.tfds_builder("cmapss_fd001")
