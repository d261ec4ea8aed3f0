"""PubMedQA, expert-labelled subset PQA-L (medical text): yes / no / maybe answers from abstracts.

1,000 questions (PubMed titles phrased as questions) with the abstract's context paragraphs and
an expert yes/no/maybe label (Jin et al. 2019); 500 of them are the official test set. The
standard "reasoning-required" input is QUESTION + CONTEXTS, without the LONG_ANSWER (the
abstract's conclusion, which gives the answer away).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data import common, splits
from zoo.data.sources import Source
from zoo.data.types import Dataset, Split
from zoo.errors import DataValidationError

SOURCE = Source(
    name="pubmedqa_pqal",
    files={
        "ori_pqal.json": "8b3276be8942ebbd77f3ddcda12c1749bf0e490045a736fd8438ee40cf37a41d",
        "test_ground_truth.json": "939fe566f09017d13b1ca64d2ddfee0bc2374b366048152997669cccedc44d51",
    },
    url="https://github.com/pubmedqa/pubmedqa/archive/1cbae8e92f72f20c8d3747cbb3bf5bc53554d997.zip",
    license="MIT (the PubMedQA repository); abstracts from PubMed",
    citation=(
        "Jin, Q., Dhingra, B., Liu, Z., Cohen, W. W., Lu, X. (2019). PubMedQA: A Dataset for Biomedical "
        "Research Question Answering. EMNLP-IJCNLP 2019, pp. 2567-2577."
    ),
    redistributable=True,
)

DATA_FILE, TEST_FILE = "ori_pqal.json", "test_ground_truth.json"
CLASS_NAMES = ["no", "maybe", "yes"]
REQUIRED_FIELDS = ("QUESTION", "CONTEXTS", "final_decision")


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataValidationError(f"{path.name}: not valid UTF-8 JSON ({error}).") from None


def read_instances(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The PQA-L instances keyed by PMID, checked for QUESTION, CONTEXTS and final_decision.

    Args:
        path: str or path. `ori_pqal.json`.

    Example:
    >>> import tempfile, pathlib, json
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "q.json"
    >>> _ = p.write_text(json.dumps({"1": {"QUESTION": "Q?", "CONTEXTS": ["c"], "final_decision": "yes"}}))
    >>> list(read_instances(p))
    ['1']
    """
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict):
        raise DataValidationError(
            f"{path.name}: top level is {type(data).__name__}; expected an object keyed by PMID."
        )
    for pmid, item in data.items():
        if not isinstance(item, dict):
            raise DataValidationError(
                f"{path.name}: PMID {pmid} is {type(item).__name__}; expected an object."
            )
        for field in REQUIRED_FIELDS:
            if field not in item:
                raise DataValidationError(f"{path.name}: PMID {pmid} has no field '{field}'.")
        if not isinstance(item["CONTEXTS"], list) or not all(isinstance(c, str) for c in item["CONTEXTS"]):
            raise DataValidationError(f"{path.name}: PMID {pmid}, field 'CONTEXTS'; expected a list of str.")
        if item["final_decision"] not in CLASS_NAMES:
            raise DataValidationError(
                f"{path.name}: PMID {pmid}, field 'final_decision' is {item['final_decision']!r}; "
                f"expected one of {', '.join(CLASS_NAMES)}."
            )
    return data


def input_text(item: dict[str, Any]) -> str:
    """The model input of one instance: QUESTION + " " + the CONTEXTS joined by spaces.

    Args:
        item: dict. One instance of `ori_pqal.json`.

    Example:
    >>> input_text({"QUESTION": "Does it work?", "CONTEXTS": ["We tried.", "It did."]})
    'Does it work? We tried. It did.'
    """
    return " ".join([item["QUESTION"].strip(), *(c.strip() for c in item["CONTEXTS"])]).strip()


def load(data_dir: str | None = None, *, seed: int = 0, val_fraction: float = 0.2) -> Dataset:
    """Load PubMedQA PQA-L as 3-class text classification (no, maybe, yes).

    Split: test = the 500 official test PMIDs of `test_ground_truth.json`; the other 500 are
    split stratified and seeded into train and validation (`val_fraction`, 400/100 by default).
    The authors' own 10-fold split of those 500 is not reproduced.

    Args:
        data_dir: optional str. A directory holding `pubmedqa_pqal/` or its files.
        seed: int. The train/validation split seed.
        val_fraction: float. Share of the 500 non-test instances for validation.

    Returns:
        A `Dataset` whose x are numpy arrays of Python str (question and contexts) and y int64
        class ids; `extra["pmids"]` maps each split's rows to PMIDs.

    Example:
    >>> ds = load()  # doctest: +SKIP
    >>> len(ds.train), len(ds.val), len(ds.test)  # doctest: +SKIP
    (400, 100, 500)
    """
    directory = common.locate_files(SOURCE, data_dir, [DATA_FILE, TEST_FILE])
    items = read_instances(directory / DATA_FILE)
    truth = _read_json(directory / TEST_FILE)
    if not isinstance(truth, dict):
        raise DataValidationError(f"{TEST_FILE}: expected an object mapping PMID to label.")
    for pmid, label in truth.items():
        if pmid not in items:
            raise DataValidationError(f"{TEST_FILE}: PMID {pmid} is not in {DATA_FILE}.")
        if label != items[pmid]["final_decision"]:
            raise DataValidationError(
                f"{TEST_FILE}: PMID {pmid} has label {label!r} but {DATA_FILE} says "
                f"{items[pmid]['final_decision']!r}; expected them to agree."
            )
    test_ids = [p for p in items if p in truth]
    rest_ids = [p for p in items if p not in truth]
    rest_y = np.array([CLASS_NAMES.index(items[p]["final_decision"]) for p in rest_ids], dtype=np.int64)
    train_pos, val_pos = splits.stratified_split(rest_y, val_fraction, seed)
    ids = {
        "train": [rest_ids[i] for i in train_pos],
        "val": [rest_ids[i] for i in val_pos],
        "test": test_ids,
    }

    def make(pmids: list[str]) -> Split:
        x = np.array([input_text(items[p]) for p in pmids], dtype=object)
        return Split(
            x, np.array([CLASS_NAMES.index(items[p]["final_decision"]) for p in pmids], dtype=np.int64)
        )

    train, val, test = (make(ids[name]) for name in ("train", "val", "test"))
    common.check_classification([("train", train), ("val", val), ("test", test)], 3, DATA_FILE, CLASS_NAMES)
    meta: dict[str, Any] = {
        "source": SOURCE.name,
        "modality": "text",
        "task_type": "classification",
        "split": (
            f"Test: the {len(test_ids)} official test PMIDs of {TEST_FILE}. The other {len(rest_ids)} "
            f"instances: stratified random split with seed {seed}, {100 * val_fraction:.0f}% for validation."
        ),
        "input": "QUESTION + ' ' + ' '.join(CONTEXTS) (reasoning-required setting; LONG_ANSWER excluded)",
        "sha256": common.checksums(directory, SOURCE, [DATA_FILE, TEST_FILE]),
        "num_classes": 3,
        "class_names": list(CLASS_NAMES),
        "license": SOURCE.license,
        "citation": SOURCE.citation,
    }
    return Dataset(train, val, test, meta, {"pmids": ids})


def load_unlabelled_text(data_dir: str | None = None, *, include_long_answer: bool = False) -> np.ndarray:
    """The text of all 1,000 instances (question + contexts), labels left out, for pretraining.

    This corpus includes the test instances' inputs on purpose (a transductive pretraining
    corpus); it never includes labels. LONG_ANSWER is left out by default because it is the
    abstract's conclusion and states the answer (for test instances, that leaks the label).

    Args:
        data_dir: optional str. A directory holding `pubmedqa_pqal/` or its files.
        include_long_answer: bool. Append each instance's LONG_ANSWER too.

    Returns:
        A numpy array of 1,000 Python str (dtype object), in file order.

    Example:
    >>> texts = load_unlabelled_text()  # doctest: +SKIP
    >>> texts.shape  # doctest: +SKIP
    (1000,)
    """
    directory = common.locate_files(SOURCE, data_dir, [DATA_FILE])
    items = read_instances(directory / DATA_FILE)
    texts = []
    for item in items.values():
        text = input_text(item)
        if include_long_answer and isinstance(item.get("LONG_ANSWER"), str):
            text = f"{text} {item['LONG_ANSWER'].strip()}"
        texts.append(text)
    return np.array(texts, dtype=object)
