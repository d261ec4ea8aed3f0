"""Every built-in loader on the real files (skipped, with the reason, where the data is absent).

The data is looked up as the zoo does: `$ZOO_DATA_DIR/<name>/` or `../shared/data/<name>/` beside the
working directory (run the tests from the repository root).
"""

from __future__ import annotations

import collections
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from zoo.data import (
    DATASETS,
    ai4i2020,
    breast_cancer,
    breastmnist,
    cmapss_fd001,
    common,
    financial_phrasebank,
    german_credit,
    load_dataset,
    movielens_100k,
    pubmedqa_pqal,
    sources,
    validate,
)
from zoo.data.types import Dataset
from zoo.errors import ConfigError, DataNotFoundError, DataValidationError, UnknownNameError


def _dir_or_skip(source: sources.Source) -> str:
    """The folder holding the dataset's files, or skip the test saying where we looked."""
    for directory in sources.candidate_dirs(source.name):
        if directory.is_dir() and any(directory.iterdir()):
            return str(directory)
    looked = ", ".join(str(d) for d in sources.candidate_dirs(source.name))
    pytest.skip(
        f"real data for '{source.name}' not found (looked in {looked}); set ZOO_DATA_DIR to run this test"
    )


def _load(module, **options) -> Dataset:
    data_dir = _dir_or_skip(module.SOURCE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", validate.ImbalanceWarning)
        try:
            return module.load(data_dir, **options)
        except DataNotFoundError as error:  # a partial copy: say which file is missing
            pytest.skip(str(error))


def _check_common(ds: Dataset, source: sources.Source, files: list[str]) -> None:
    json.dumps(ds.meta)  # JSON-serializable
    assert ds.meta["source"] == source.name
    assert "seed" in ds.meta["split"] or "official" in ds.meta["split"].lower()
    assert ds.meta["sha256"] == {f: source.files[f] for f in files}
    for split in (ds.train, ds.val, ds.test):
        assert len(split) == len(split.y) > 0


def _rows(split, keys=("numeric",)) -> collections.Counter:
    """Multiset of (inputs..., label) rows, to show splits partition the file."""
    columns = [split.x[k] for k in keys]
    return collections.Counter(
        tuple(np.concatenate([c[i].ravel() for c in columns]).tolist()) + (int(split.y[i]),)
        for i in range(len(split))
    )


def _check_tabular(ds: Dataset, k: int, m: int) -> None:
    for split in (ds.train, ds.val, ds.test):
        assert split.x["numeric"].dtype == np.float32 and split.x["numeric"].shape[1] == k
        assert split.y.dtype == np.int64
        if m:
            codes = split.x["categorical"]
            assert codes.dtype == np.int32 and codes.shape[1] == m
            assert (codes >= 0).all() and (codes < np.array(ds.meta["categorical_cardinalities"])).all()
        else:
            assert "categorical" not in split.x
    assert len(ds.meta["numeric_names"]) == k and len(ds.meta["categorical_names"]) == m
    # Train codes are never 0 (0 is reserved for values unseen in training).
    if m:
        assert (ds.train.x["categorical"] > 0).all()


def test_registry_and_errors():
    builtin = {"ai4i2020", "breast_cancer", "breastmnist", "cmapss_fd001", "financial_phrasebank"}
    builtin |= {"german_credit", "movielens_100k", "pubmedqa_pqal"}
    assert set(DATASETS) == builtin | {"csv_tabular", "csv_text", "csv_timeseries", "images"}
    with pytest.raises(UnknownNameError, match="Known datasets: ai4i2020, breast_cancer"):
        load_dataset("no_such_data")
    with pytest.raises(ConfigError, match="window"):
        load_dataset("breast_cancer", window=3)


def test_breast_cancer_bundled():
    ds = load_dataset("breast_cancer", seed=0)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (364, 91, 114)
    assert ds.meta["source"] == "scikit-learn (bundled)" and ds.meta["class_names"] == ["malignant", "benign"]
    _check_tabular(ds, 30, 0)
    counts = sum(np.bincount(s.y, minlength=2) for s in (ds.train, ds.val, ds.test))
    assert counts.tolist() == [212, 357]
    assert np.bincount(ds.test.y).tolist() == [42, 72]  # stratified
    json.dumps(ds.meta)
    again = breast_cancer.load(seed=0)
    assert np.array_equal(again.test.x["numeric"], ds.test.x["numeric"])  # reproducible
    other = breast_cancer.load(seed=1)
    assert not np.array_equal(other.test.x["numeric"], ds.test.x["numeric"])
    # 10-fold cross-validation (the published baseline's protocol): the folds' tests partition the 569 rows.
    tests = [breast_cancer.load(seed=0, fold=k) for k in range(1, 11)]
    assert [len(f.test) for f in tests] == [57] * 9 + [56] and "Fold 1 of" in tests[0].meta["split"]
    assert sorted(np.bincount(f.test.y, minlength=2)[0] for f in tests) == [21] * 8 + [22] * 2  # 212 malignant
    rows = collections.Counter(tuple(r.tolist()) for f in tests for r in f.test.x["numeric"])
    assert rows == collections.Counter(tuple(r.tolist()) for s in (ds.train, ds.val, ds.test) for r in s.x["numeric"])


def test_german_credit():
    ds = _load(german_credit, seed=0)
    _check_common(ds, german_credit.SOURCE, ["german.data"])
    assert (len(ds.train), len(ds.val), len(ds.test)) == (640, 160, 200)
    _check_tabular(ds, 7, 13)
    assert [np.bincount(s.y).tolist() for s in (ds.train, ds.val, ds.test)] == [
        [448, 192],
        [112, 48],
        [140, 60],
    ]
    assert ds.meta["cost_matrix"] == [[0, 1], [5, 0]] and ds.meta["positive_class"] == 1
    assert ds.meta["class_names"] == ["good", "bad"]
    # The three splits partition the file's rows.
    numeric, _, y = german_credit.read_table(Path(_dir_or_skip(german_credit.SOURCE)) / "german.data")
    whole = collections.Counter(tuple(r.tolist()) + (int(c),) for r, c in zip(numeric, y, strict=True))
    assert _rows(ds.train) + _rows(ds.val) + _rows(ds.test) == whole
    # 10-fold cross-validation (StatLog's protocol): fold k is the test set; the folds' tests partition the file.
    fold = _load(german_credit, seed=0, fold=4)
    assert (len(fold.train), len(fold.val), len(fold.test)) == (720, 180, 100) and "Fold 4 of" in fold.meta["split"]
    tests = collections.Counter()
    for k in range(1, 11):
        tests += _rows(_load(german_credit, seed=0, fold=k).test)
    assert tests == whole


def test_ai4i2020_no_leaky_columns_and_imbalance_warning():
    data_dir = _dir_or_skip(ai4i2020.SOURCE)
    with pytest.warns(validate.ImbalanceWarning, match="failure"):
        ds = ai4i2020.load(data_dir, seed=0)
    _check_common(ds, ai4i2020.SOURCE, ["ai4i2020.csv"])
    assert (len(ds.train), len(ds.val), len(ds.test)) == (6400, 1600, 2000)
    _check_tabular(ds, 5, 1)
    names = ds.meta["numeric_names"] + ds.meta["categorical_names"]
    assert not set(names) & {"TWF", "HDF", "PWF", "OSF", "RNF", "UDI", "Product ID", "Machine failure"}
    assert sum(int(s.y.sum()) for s in (ds.train, ds.val, ds.test)) == 339
    assert int(ds.test.y.sum()) == 68  # stratified: 20% of 339
    assert ds.meta["categorical_cardinalities"] == [4]  # L, M, H + unknown
    key = ("numeric", "categorical")
    assert not (set(_rows(ds.train, key)) & set(_rows(ds.test, key)))
    # 10-fold cross-validation: each fold tests 1,000 rows, 33-34 of them failures, and no fold's test row trains.
    with pytest.warns(validate.ImbalanceWarning):
        fold = ai4i2020.load(data_dir, seed=0, fold=7)
    assert (len(fold.train), len(fold.val), len(fold.test)) == (7200, 1800, 1000) and "Fold 7 of" in fold.meta["split"]
    assert int(fold.test.y.sum()) in (33, 34)
    assert not (set(_rows(fold.train, key)) & set(_rows(fold.test, key)))


def test_breastmnist_official_split():
    ds = _load(breastmnist)
    _check_common(ds, breastmnist.SOURCE, ["breastmnist.npz"])
    for split, n, counts in ((ds.train, 546, [147, 399]), (ds.val, 78, [21, 57]), (ds.test, 156, [42, 114])):
        assert split.x.shape == (n, 28, 28, 1) and split.x.dtype == np.float32
        assert 0.0 <= split.x.min() and split.x.max() <= 1.0
        assert np.bincount(split.y).tolist() == counts and split.y.dtype == np.int64
    assert ds.meta["input_shape"] == [28, 28, 1] and ds.meta["num_classes"] == 2


def test_cmapss_fd001_windows_engines_and_scaler():
    ds = _load(cmapss_fd001, seed=0)
    _check_common(ds, cmapss_fd001.SOURCE, ["train_FD001.txt", "test_FD001.txt", "RUL_FD001.txt"])
    meta = ds.meta
    assert meta["window"] == 30 and meta["rul_cap"] == 125.0 and len(meta["feature_names"]) == 14
    train_units, val_units = set(meta["train_units"]), set(meta["val_units"])
    assert not train_units & val_units and train_units | val_units == set(range(1, 101))
    assert 10 <= len(val_units) <= 20
    assert set(np.unique(ds.extra["train_windows_unit"])) == train_units
    directory = Path(_dir_or_skip(cmapss_fd001.SOURCE))
    engines = cmapss_fd001.read_engines(directory / "train_FD001.txt")
    assert sum(len(e) for e in engines.values()) == 20631
    assert len(ds.train) == sum(len(engines[u]) - 29 for u in train_units)
    assert len(ds.val) == sum(len(engines[u]) - 29 for u in val_units)
    assert (
        ds.train.x.shape[1:] == (30, 14) and ds.train.x.dtype == np.float32 and ds.train.y.dtype == np.float32
    )
    assert ds.train.y.max() == 125.0 and ds.train.y.min() == 0.0
    # Scaler statistics come from the training engines only (not validation, not test).
    train_rows = np.concatenate([engines[u] for u in sorted(train_units)])
    np.testing.assert_allclose(meta["scaler"]["offset"], train_rows.min(axis=0), rtol=1e-6)
    all_rows = np.concatenate(list(engines.values()))
    assert not np.allclose(meta["scaler"]["scale"], all_rows.max(axis=0) - all_rows.min(axis=0))
    assert ds.train.x.min() >= 0.0 and ds.train.x.max() <= 1.0 + 1e-6
    # Test: the last window of each of the 100 test engines, uncapped true RUL.
    assert ds.test.x.shape == (100, 30, 14) and meta["test_units"] == list(range(1, 101))
    assert ds.test.y.min() == 7 and ds.test.y.max() == 145 and abs(ds.test.y.mean() - 75.52) < 1e-3
    test_engines = cmapss_fd001.read_engines(directory / "test_FD001.txt")
    expected_last = common.apply_scaler(test_engines[1][-30:], meta["scaler"])
    np.testing.assert_allclose(ds.test.x[0], expected_last)
    # Different seeds choose different validation engines.
    assert _load(cmapss_fd001, seed=1).meta["val_units"] != meta["val_units"]


def test_cmapss_short_engines_raise_or_pad():
    data_dir = _dir_or_skip(cmapss_fd001.SOURCE)
    with pytest.raises(DataValidationError, match=r"test_FD001.txt, engine \d+: 31 time steps"):
        cmapss_fd001.load(data_dir, window=32)
    padded = cmapss_fd001.load(data_dir, window=32, pad=True)
    assert padded.test.x.shape == (100, 32, 14)
    x = cmapss_fd001.load_unlabelled_trajectories(data_dir)
    assert x.shape == (20631 - 100 * 29 + 13096 - 100 * 29, 30, 14) and x.dtype == np.float32
    ages = cmapss_fd001.trajectory_ages(data_dir)  # one per window, in the same order
    first = len(cmapss_fd001.read_engines(Path(data_dir) / "train_FD001.txt")[1])
    assert ages.shape == (len(x),) and ages[: first - 29].tolist() == list(range(30, first + 1))
    assert ages[first - 29] == 30 and ages.max() == 362
    padded_ages = cmapss_fd001.trajectory_ages(data_dir, window=32, pad=True, stride=2)
    assert len(padded_ages) == len(cmapss_fd001.load_unlabelled_trajectories(data_dir, window=32, pad=True, stride=2))
    assert padded_ages.min() == 31  # a test engine of 31 cycles, padded by one row: its first window ends at cycle 31


def test_cmapss_smoothing_is_causal_over_each_engines_whole_history():
    data_dir = _dir_or_skip(cmapss_fd001.SOURCE)
    raw, smooth = cmapss_fd001.load(data_dir), cmapss_fd001.load(data_dir, smoothing=0.1)
    np.testing.assert_array_equal(raw.train.y, smooth.train.y)  # same windows and labels
    np.testing.assert_array_equal(raw.test.y, smooth.test.y)
    assert smooth.meta["smoothing"] == 0.1 and raw.meta["smoothing"] is None and "smoothed" in smooth.meta["split"]
    engines = cmapss_fd001.read_engines(Path(data_dir) / "test_FD001.txt")
    history = cmapss_fd001.exponential_smoothing(engines[1], 0.1)
    # Causal: smoothing the first cycles alone gives the same rows as smoothing the whole engine.
    np.testing.assert_allclose(cmapss_fd001.exponential_smoothing(engines[1][:40], 0.1), history[:40])
    # The test window is the end of the engine's whole smoothed history (not a window smoothed on its own),
    # scaled with statistics of the smoothed training engines.
    np.testing.assert_allclose(smooth.test.x[0], common.apply_scaler(history[-30:], smooth.meta["scaler"]),
                               rtol=1e-5, atol=1e-6)
    assert smooth.meta["scaler"] != raw.meta["scaler"]
    # Cycle-to-cycle noise falls well below the raw readings' (both min-max scaled to [0, 1]).
    jitter = [np.abs(np.diff(d.train.x, axis=1)).mean() for d in (smooth, raw)]
    assert jitter[0] < 0.5 * jitter[1]
    np.testing.assert_allclose(cmapss_fd001.exponential_smoothing(engines[1], 1.0), engines[1])
    with pytest.raises(DataValidationError, match="smoothing is 0"):
        cmapss_fd001.load(data_dir, smoothing=0.0)
    with pytest.raises(DataValidationError, match="smoothing is True"):
        cmapss_fd001.exponential_smoothing(engines[1], True)
    with pytest.raises(DataValidationError, match=r"at least one cycle; got shape \(0, 14\)"):
        cmapss_fd001.exponential_smoothing(engines[1][:0], 0.1)
    # The pretraining corpus is smoothed the same way (its first window: training engine 1's first 30 cycles).
    trajectories = cmapss_fd001.load_unlabelled_trajectories(data_dir, smoothing=0.1)
    train_engine = cmapss_fd001.read_engines(Path(data_dir) / "train_FD001.txt")[1]
    expected = common.apply_scaler(cmapss_fd001.exponential_smoothing(train_engine, 0.1)[:30],
                                         smooth.meta["scaler"])
    np.testing.assert_allclose(trajectories[0], expected, rtol=1e-5, atol=1e-6)


def test_financial_phrasebank():
    ds = _load(financial_phrasebank, seed=0)
    _check_common(ds, financial_phrasebank.SOURCE, ["Sentences_50Agree.txt"])
    assert ds.meta["class_names"] == ["negative", "neutral", "positive"]
    assert ds.train.x.dtype == object and isinstance(ds.train.x[0], str)
    sizes = (len(ds.train), len(ds.val), len(ds.test))
    assert sum(sizes) == 4836 and sizes == (2902, 967, 967)  # 4846 lines - 6 repeats - 4 conflicting copies
    total = sum(np.bincount(s.y, minlength=3) for s in (ds.train, ds.val, ds.test))
    assert total.tolist() == [604, 2871, 1361]
    seen = [set(s.x.tolist()) for s in (ds.train, ds.val, ds.test)]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    allagree = _load(financial_phrasebank, subset="allagree")
    assert sum(len(s) for s in (allagree.train, allagree.val, allagree.test)) == 2259
    assert allagree.meta["sha256"] == {
        "Sentences_AllAgree.txt": financial_phrasebank.SOURCE.files["Sentences_AllAgree.txt"]
    }
    with pytest.raises(DataValidationError, match="subset"):
        financial_phrasebank.load(subset="90")
    assert financial_phrasebank.SOURCE.redistributable is False


def test_financial_phrasebank_tokenized_quickly():
    from zoo.data.text import tokenize_dataset

    ds = tokenize_dataset(_load(financial_phrasebank, seed=0), vocab_size=8000, sequence_length=64)
    assert ds.train.x.shape == (2902, 64) and ds.train.x.dtype == np.int32
    assert ds.meta["vocabulary"][:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert ds.meta["vocab_size"] == len(ds.meta["vocabulary"]) <= 8000
    assert ds.test.x.max() < ds.meta["vocab_size"]
    json.dumps(ds.meta)


def test_pubmedqa_pqal():
    ds = _load(pubmedqa_pqal, seed=0)
    _check_common(ds, pubmedqa_pqal.SOURCE, ["ori_pqal.json", "test_ground_truth.json"])
    assert (len(ds.train), len(ds.val), len(ds.test)) == (400, 100, 500)
    assert ds.meta["class_names"] == ["no", "maybe", "yes"]
    assert np.bincount(ds.test.y).tolist() == [169, 55, 276]
    total = sum(np.bincount(s.y, minlength=3) for s in (ds.train, ds.val, ds.test))
    assert total.tolist() == [338, 110, 552]
    directory = Path(_dir_or_skip(pubmedqa_pqal.SOURCE))
    truth = json.loads((directory / "test_ground_truth.json").read_text())
    ids = ds.extra["pmids"]
    assert set(ids["test"]) == set(truth)
    assert not (set(ids["train"]) | set(ids["val"])) & set(truth) and not set(ids["train"]) & set(ids["val"])
    items = json.loads((directory / "ori_pqal.json").read_text())
    first = items[ids["test"][0]]
    assert ds.test.x[0].startswith(first["QUESTION"]) and first["LONG_ANSWER"] not in ds.test.x[0]
    texts = pubmedqa_pqal.load_unlabelled_text(str(directory))
    assert texts.shape == (1000,) and texts.dtype == object


def test_movielens_100k_folds():
    ds = _load(movielens_100k, seed=0, fold=1)
    _check_common(ds, movielens_100k.SOURCE, ["u1.base", "u1.test"])
    assert (len(ds.train), len(ds.val), len(ds.test)) == (76000, 4000, 20000)
    assert ds.meta["num_users"] == 944 and ds.meta["num_items"] == 1683
    for split in (ds.train, ds.val, ds.test):
        assert split.x["user"].dtype == np.int32 and split.x["item"].dtype == np.int32
        assert split.y.dtype == np.float32 and split.y.min() >= 1 and split.y.max() <= 5

    def pairs(split):
        return set(zip(split.x["user"].tolist(), split.x["item"].tolist(), strict=True))

    assert not pairs(ds.test) & (pairs(ds.train) | pairs(ds.val))
    assert not pairs(ds.train) & pairs(ds.val)
    tests = [pairs(_load(movielens_100k, fold=f).test) for f in range(1, 6)]
    assert len(set().union(*tests)) == 100_000 and sum(len(t) for t in tests) == 100_000
    with pytest.raises(DataValidationError, match="fold"):
        movielens_100k.load(fold=6)


def test_german_credit_codebook_matches_attributes():
    for name, kind, allowed in german_credit.ATTRIBUTES:
        if kind == "categorical":
            assert set(german_credit.CODE_LABELS[name]) == set(allowed)


def test_a_vocabulary_learned_from_text_with_unicode_spaces_saves_and_loads(tmp_path):
    """PubMedQA abstracts write "p\u00a0<\u00a00.05": keras-hub's pre-tokenizer turns the no-break space into a
    space inside a word, and the learned vocabulary once held "p " beside "p", which broke loading."""
    import keras_hub

    from zoo.data.text import fit_tokenizer

    texts = ["the effect was significant (p\u00a0<\u00a00.05, n\u2009=\u200995 patients)"] * 40
    tokenizer = fit_tokenizer(texts, vocab_size=200)
    vocabulary = tokenizer.get_vocabulary()
    assert len(set(vocabulary)) == len(vocabulary)
    assert not [t for t in vocabulary if any(c.isspace() for c in t)]
    tokenizer.save_assets(str(tmp_path))
    loaded = keras_hub.tokenizers.WordPieceTokenizer(lowercase=True)
    loaded.load_assets(str(tmp_path))  # raised "Tokens in the vocabulary must be unique" before
    np.testing.assert_array_equal(loaded(texts[:1]), tokenizer(texts[:1]))


def test_shared_data_beside_the_checkout_is_found_from_any_directory(tmp_path, monkeypatch):
    """A notebook opened in notebooks/ (or any directory) finds ../shared/data beside the zoo's checkout."""
    if not (sources.CHECKOUT_SHARED / "german_credit").is_dir():
        pytest.skip(f"no German credit data in {sources.CHECKOUT_SHARED}")
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert sources.CHECKOUT_SHARED / "german_credit" in sources.candidate_dirs("german_credit")
    assert len(load_dataset("german_credit").test) == 200
