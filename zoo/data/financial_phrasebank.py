"""Financial PhraseBank v1.0 (finance, text): sentiment of sentences from financial news.

About 4,840 English sentences labelled negative / neutral / positive by 5-8 annotators
(Malo et al. 2014). Four nested files keep the sentences on which at least 50%, 66%, 75% or all
annotators agreed. CC BY-NC-SA 3.0: never bundle these files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data import common, splits
from zoo.data.sources import Source
from zoo.data.types import Dataset, Split
from zoo.errors import DataValidationError

SOURCE = Source(
    name="financial_phrasebank",
    files={
        "Sentences_50Agree.txt": "13388b8bf2f878c68fb4d47564fa0072756eb4e9ba4a16467d6d7f0a29a6a742",
        "Sentences_66Agree.txt": "6fcda6c07b5731fa075c81372413c921f95057b89ed611be0b2d1620ac94ac09",
        "Sentences_75Agree.txt": "8aa3210c6fc324ec2f5bd903f7767543280525cd88bb6cbed5d39b33f01a4f05",
        "Sentences_AllAgree.txt": "3d1acdf23036bdbfb48713548731b1ae82664e551081fec2f20bfe722d274d9a",
        "README.txt": "80241dd9639af987cd87bbb2d8872392c6d45596a488ebefca2d425da46f5809",
        "License.txt": "fa4f941ef92f40d55dd34ddea45d96a20672607d152698bc160f8db3af5e36c7",
    },
    url="https://huggingface.co/datasets/takala/financial_phrasebank/resolve/main/data/FinancialPhraseBank-v1.0.zip",
    license="CC BY-NC-SA 3.0 (non-commercial; do not redistribute the files)",
    citation=(
        "Malo, P., Sinha, A., Korhonen, P., Wallenius, J., Takala, P. (2014). Good debt or bad debt: "
        "Detecting semantic orientations in economic texts. Journal of the Association for Information "
        "Science and Technology 65(4): 782-796."
    ),
    redistributable=False,
)

SUBSETS = {
    "all": "Sentences_50Agree.txt",
    "50": "Sentences_50Agree.txt",
    "66": "Sentences_66Agree.txt",
    "75": "Sentences_75Agree.txt",
    "allagree": "Sentences_AllAgree.txt",
}
CLASS_NAMES = ["negative", "neutral", "positive"]


def read_sentences(path: str | os.PathLike) -> tuple[list[str], list[int]]:
    """Parse a `sentence@label` file (Latin-1), splitting each line on its LAST "@".

    Args:
        path: str or path. One of the `Sentences_*.txt` files.

    Returns:
        `(sentences, labels)` with labels 0 negative, 1 neutral, 2 positive, in file order.

    Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.txt"
    >>> _ = p.write_bytes("Profit @ 5 % rose .@positive\\nSales fell .@negative\\n".encode("latin-1"))
    >>> read_sentences(p)
    (['Profit @ 5 % rose .', 'Sales fell .'], [2, 0])
    """
    name = Path(path).name
    sentences, labels = [], []
    with open(path, encoding="latin-1") as f:
        for line_number, line in enumerate(f, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            sentence, at, label = line.rpartition("@")
            if not at:
                raise DataValidationError(
                    f"{name}: line {line_number} has no '@'; expected 'sentence@label' with label one of "
                    f"{', '.join(CLASS_NAMES)}."
                )
            label = label.strip()
            if label not in CLASS_NAMES:
                raise DataValidationError(
                    f"{name}: line {line_number}, label '{label}'; expected one of {', '.join(CLASS_NAMES)}."
                )
            if not sentence.strip():
                raise DataValidationError(f"{name}: line {line_number} has an empty sentence; expected text.")
            sentences.append(sentence.strip())
            labels.append(CLASS_NAMES.index(label))
    return sentences, labels


def deduplicate(sentences: list[str], labels: list[int]) -> tuple[list[str], list[int], dict[str, int]]:
    """Keep the first copy of each repeated sentence; drop sentences whose copies disagree.

    A sentence that appears twice with different labels cannot be trusted either way, and
    keeping one copy would be an arbitrary choice, so every copy goes.

    Args:
        sentences: list of str. In file order.
        labels: list of int. One per sentence.

    Returns:
        `(sentences, labels, counts)` where counts has `repeats_dropped` and `conflicts_dropped`.

    Example:
    >>> deduplicate(["a", "b", "a", "c", "c"], [1, 0, 1, 2, 0])
    (['a', 'b'], [1, 0], {'repeats_dropped': 1, 'conflicts_dropped': 2})
    """
    seen: dict[str, set[int]] = {}
    for s, y in zip(sentences, labels, strict=True):
        seen.setdefault(s, set()).add(y)
    kept, kept_labels, emitted = [], [], set()
    repeats = conflicts = 0
    for s, y in zip(sentences, labels, strict=True):
        if len(seen[s]) > 1:
            conflicts += 1
        elif s in emitted:
            repeats += 1
        else:
            emitted.add(s)
            kept.append(s)
            kept_labels.append(y)
    return kept, kept_labels, {"repeats_dropped": repeats, "conflicts_dropped": conflicts}


def load(
    data_dir: str | None = None,
    *,
    seed: int = 0,
    subset: str = "all",
    test_fraction: float = 0.2,
    val_fraction: float = 0.25,
) -> Dataset:
    """Load Financial PhraseBank as 3-class text classification (negative, neutral, positive).

    Split: stratified, seeded 60/20/20 train/val/test by default (`test_fraction` of the
    deduplicated sentences, then `val_fraction` of the rest), the protocol of FinBERT
    (Araci 2019) as SOURCE.md recommends; FinBERT itself used 20% test and 20% of the rest for
    validation (64/16/20). Exact repeats are dropped (first copy kept) before splitting, and
    sentences whose copies carry different labels are dropped entirely, so no sentence can be
    in two splits.

    Args:
        data_dir: optional str. A directory holding `financial_phrasebank/` or its files.
        seed: int. The split seed.
        subset: str. Annotator agreement: `"all"` (= `"50"`), `"66"`, `"75"` or `"allagree"`.
        test_fraction: float. Share of all sentences for test.
        val_fraction: float. Share of the remaining sentences for validation.

    Returns:
        A `Dataset` whose x are numpy arrays of Python str (dtype object); tokenize them with
        `zoo.data.text.tokenize_dataset`.

    Example:
    >>> ds = load(subset="allagree")  # doctest: +SKIP
    >>> ds.meta["class_names"], ds.train.x.dtype  # doctest: +SKIP
    (['negative', 'neutral', 'positive'], dtype('O'))
    """
    key = str(subset).lower()
    if key not in SUBSETS:
        raise DataValidationError(f"subset is {subset!r}; expected one of {', '.join(SUBSETS)}.")
    file = SUBSETS[key]
    directory = common.locate_files(SOURCE, data_dir, [file])
    sentences, labels, dropped = deduplicate(*read_sentences(directory / file))
    x = np.array(sentences, dtype=object)
    y = np.array(labels, dtype=np.int64)
    train_i, val_i, test_i = splits.train_val_test(y, test_fraction, val_fraction, seed)
    train, val, test = (Split(x[i], y[i]) for i in (train_i, val_i, test_i))
    common.check_classification([("train", train), ("val", val), ("test", test)], 3, file, CLASS_NAMES)
    meta: dict[str, Any] = {
        "source": SOURCE.name,
        "modality": "text",
        "task_type": "classification",
        "subset": file.removeprefix("Sentences_").removesuffix(".txt"),
        "split": (
            splits.describe(test_fraction, val_fraction, seed)
            + f" Read {file}; dropped {dropped['repeats_dropped']} repeated sentence(s) and "
            f"{dropped['conflicts_dropped']} copies of sentences with conflicting labels before splitting."
        ),
        "sha256": common.checksums(directory, SOURCE, [file]),
        "num_classes": 3,
        "class_names": list(CLASS_NAMES),
        "num_examples": len(y),
        **dropped,
        "license": SOURCE.license,
        "citation": SOURCE.citation,
        "redistributable": SOURCE.redistributable,
    }
    return Dataset(train, val, test, meta)
