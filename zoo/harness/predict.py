"""Predictions of a saved run for new data, encoded as its training data was.

A run directory keeps what its inputs were (`inputs.json`: column names, category vocabularies,
class names) and, for text, its WordPiece vocabulary (`vocabulary.txt`), so new rows in the
user's own format (a CSV or a pandas DataFrame of the training columns, or a list of texts) are
encoded the way the training rows were and the answer comes back as named classes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data import common, tabular, validate
from zoo.data.generic import is_frame, read_table
from zoo.errors import ConfigError, DataValidationError
from zoo.report.metrics import class_probabilities

INPUTS_FILE = "inputs.json"
# Dataset meta a run keeps to encode new inputs and name its outputs.
INPUT_KEYS = ("modality", "task_type", "class_names", "target_name", "numeric_names", "categorical_names",
              "categorical_vocabularies", "text_column", "feature_names", "window")


def input_spec(meta: dict[str, Any], modality: str) -> dict[str, Any]:
    """What a run writes to `inputs.json`: the dataset meta that encodes new inputs and names outputs.

    Example:
    >>> input_spec({"class_names": ["no", "yes"], "numeric_names": ["age"], "seed": 0}, "tabular")
    {'modality': 'tabular', 'class_names': ['no', 'yes'], 'numeric_names': ['age']}
    """
    return {"modality": modality, **{k: meta[k] for k in INPUT_KEYS if k in meta and k != "modality"}}


def _tabular_inputs(spec: dict[str, Any], rows: Any) -> dict[str, np.ndarray]:
    frame, where = read_table(rows)
    numeric, categorical = spec.get("numeric_names") or [], spec.get("categorical_names") or []
    validate.check_columns(list(frame.columns), [*numeric, *categorical], where, allow_extra=True)
    x: dict[str, np.ndarray] = {}
    if numeric:
        x["numeric"] = np.stack([common.numeric_column(frame[c].to_numpy(dtype=object), where, c)
                                 for c in numeric], axis=1).astype(np.float32)
    if categorical:
        vocabularies = spec["categorical_vocabularies"]
        x["categorical"] = np.stack([
            tabular.encode_categories([v.strip() for v in common.text_column(frame[c].to_numpy(dtype=object),
                                                                             where, c)], vocabulary)
            for c, vocabulary in zip(categorical, vocabularies, strict=True)], axis=1)
    return x


def _texts(spec: dict[str, Any], rows: Any) -> list[str]:
    if isinstance(rows, str):
        raise ConfigError("rows must be a list of texts (or a CSV / DataFrame with the text column), not one str.")
    if isinstance(rows, Sequence | np.ndarray):
        return [str(t) for t in rows]
    frame, where = read_table(rows)
    column = spec.get("text_column") or "text"
    validate.check_columns(list(frame.columns), [column], where, allow_extra=True)
    return list(common.text_column(frame[column].to_numpy(dtype=object), where, column))


def _text_inputs(task: Any, model: Any, run_dir: Path, spec: dict[str, Any], rows: Any) -> np.ndarray:
    from builders import get_backbone
    from zoo.data import text

    tokenizer = text.tokenizer_from_file(run_dir / "vocabulary.txt", int(get_backbone(model).vocabulary_size),
                                         lowercase=bool(task.preprocessing.get("lowercase", True)))
    return text.tokenize(tokenizer, _texts(spec, rows), int(task.preprocessing.get("sequence_length", 128)))


def _read_spec(run_dir: Path, required: bool) -> dict[str, Any]:
    path = run_dir / INPUTS_FILE
    if not path.is_file():
        if not required:
            return {}
        raise ConfigError(f"{run_dir}: no {INPUTS_FILE} (runs trained before it was written cannot encode new "
                          "rows); train the run again, or pass arrays shaped as the model's inputs.")
    return json.loads(path.read_text())


def _frame(spec: dict[str, Any], head: str, outputs: np.ndarray, index: Any) -> Any:
    import pandas as pd

    outputs = np.asarray(outputs, dtype="float64")
    if head in ("binary", "multiclass"):
        proba = class_probabilities(outputs)
        names = spec.get("class_names") or [str(i) for i in range(proba.shape[1])]
        frame = pd.DataFrame({"predicted": [names[i] for i in proba.argmax(axis=1)]}, index=index)
        for i, name in enumerate(names):
            frame[f"probability[{name}]"] = proba[:, i]
        return frame
    if outputs.ndim == 2 and outputs.shape[1] == 1:
        outputs = outputs[:, 0]
    if outputs.ndim == 1:
        return pd.DataFrame({"predicted": outputs}, index=index)
    return pd.DataFrame(outputs.reshape(len(outputs), -1), index=index).add_prefix("predicted_")


def predict(run_dir: str | os.PathLike, rows: Any, *, batch_size: int = 256) -> Any:
    """A saved run's predictions for new data, as a pandas DataFrame with named classes.

    Args:
        run_dir: str or path. A run directory written by `zoo.fit` / `zoo train`.
        rows: tabular runs: a CSV path or a pandas DataFrame with the training columns (others,
            such as the target or ids, are ignored; a category not seen in training is read as
            unseen); text runs: a list of texts, or a CSV / DataFrame with the text column; other
            runs: arrays (or a dict of arrays) shaped as the model's inputs, as the run's loader
            makes them (images scaled to [0, 1], windows of raw sensor values).
        batch_size: int. Examples per prediction step.

    Returns:
        A DataFrame indexed as `rows` (for a DataFrame) or 0..n-1: classification,
        `predicted` (the class name) and `probability[<class>]` per class; regression,
        `predicted`.

    Raises:
        ConfigError or DataValidationError naming the column and row of a bad input.

    Example:
    >>> import tempfile, zoo
    >>> run = zoo.fit("medical/breast_cancer_diagnosis", out_dir=tempfile.mkdtemp(), epochs=1, verbose=0)
    >>> from sklearn.datasets import load_breast_cancer
    >>> rows = load_breast_cancer(as_frame=True).frame.head(3)  # its columns, and a target column (ignored)
    >>> out = predict(run.run_dir, rows)
    >>> list(out.columns), len(out)
    (['predicted', 'probability[malignant]', 'probability[benign]'], 3)
    """
    from zoo.export import load_run_model
    from zoo.harness.fit import load_run_config
    from zoo.harness.pipeline import predict as model_predict
    from zoo.tasks.base import Task

    run_dir = Path(run_dir)
    task = Task.from_dict(load_run_config(run_dir).task)
    model = load_run_model(run_dir)
    arrays = isinstance(rows, np.ndarray | dict) and not (task.modality == "text" and isinstance(rows, np.ndarray)
                                                           and rows.dtype == object)
    spec = _read_spec(run_dir, required=task.modality == "tabular" and not arrays)
    if arrays:
        x = rows
    elif task.modality == "tabular":
        x = _tabular_inputs(spec, rows)
    elif task.modality == "text":
        x = _text_inputs(task, model, run_dir, spec, rows)
    else:
        raise ConfigError(f"{task.name}: give {task.modality} inputs as arrays shaped as the model's inputs.")
    n = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
    if n == 0:
        raise DataValidationError("rows: no rows to predict.")
    index = rows.index if is_frame(rows) else None
    return _frame(spec, task.head.kind, model_predict(model, x, batch_size), index)
