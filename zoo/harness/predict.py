"""Predictions of a saved run for new data, encoded as its training data was.

A run directory keeps what its inputs were (`inputs.json`: column names, category vocabularies,
class names, how its CSV was read; for series, the window, group and time columns and any
smoothing and scaling done outside the model) and, for text, its WordPiece vocabulary
(`vocabulary.txt`), so new rows in the user's own format (a CSV or a pandas DataFrame of the
training columns, a list of texts, a long-format table of series) are encoded the way the
training rows were and the answer comes back as named classes.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from zoo.data import cmapss_fd001, common, tabular, validate
from zoo.data.generic import is_frame, read_new_images, read_table, series_rows
from zoo.errors import ConfigError, DataNotFoundError, DataValidationError
from zoo.report.metrics import class_probabilities

INPUTS_FILE = "inputs.json"
# Dataset meta a run keeps to encode new inputs and name its outputs.
INPUT_KEYS = ("modality", "task_type", "class_names", "target_name", "numeric_names", "categorical_names",
              "categorical_vocabularies", "text_column", "feature_names", "csv_options", "window", "group_column",
              "time_column", "smoothing", "scaler", "padded", "sequence_length", "tokenizer", "image_size")


def input_spec(meta: dict[str, Any], modality: str) -> dict[str, Any]:
    """What a run writes to `inputs.json`: the dataset meta that encodes new inputs and names outputs.

    Example:
    >>> input_spec({"class_names": ["no", "yes"], "numeric_names": ["age"], "seed": 0}, "tabular")
    {'modality': 'tabular', 'class_names': ['no', 'yes'], 'numeric_names': ['age']}
    """
    return {"modality": modality, **{k: meta[k] for k in INPUT_KEYS if k in meta and k != "modality"}}


def _read_rows(spec: dict[str, Any], rows: Any) -> tuple[Any, str]:
    return read_table(rows, **spec.get("csv_options", {}))


def _tabular_inputs(spec: dict[str, Any], rows: Any) -> dict[str, np.ndarray]:
    frame, where = _read_rows(spec, rows)
    numeric, categorical = spec.get("numeric_names") or [], spec.get("categorical_names") or []
    validate.check_columns(list(frame.columns), [*numeric, *categorical], where, allow_extra=True)
    x: dict[str, np.ndarray] = {}
    if numeric:
        x["numeric"] = np.stack([common.numeric_column(frame[c].to_numpy(dtype=object), where, c)
                                 for c in numeric], axis=1).astype(np.float32)
    if categorical:
        vocabularies = spec["categorical_vocabularies"]
        x["categorical"] = np.stack([
            tabular.encode_categories(_known_spelling(common.text_column(frame[c].to_numpy(dtype=object), where, c),
                                                      vocabulary, where, c), vocabulary)
            for c, vocabulary in zip(categorical, vocabularies, strict=True)], axis=1)
    return x


def _known_spelling(values: np.ndarray, vocabulary: Sequence[str], where: str, column: str) -> list[str]:
    """A categorical column's new values as the training vocabulary spells them, warning of any it lacks.

    A number is matched by value ("2.0" from a float column is the training "2"); a value still
    unknown is encoded as unseen, and `UnseenCategoryWarning` names the column and the values.
    """
    known = set(vocabulary)
    by_number: dict[float, str] = {}
    for v in vocabulary:
        with contextlib.suppress(ValueError):
            by_number.setdefault(float(v), v)
    out, unseen = [], {}
    for v in (str(v).strip() for v in values):
        if v not in known:
            with contextlib.suppress(ValueError):
                v = by_number.get(float(v), v)
        if v not in known:
            unseen[v] = unseen.get(v, 0) + 1
        out.append(v)
    if unseen:
        names = ", ".join(repr(v) for v in list(unseen)[:5]) + (" ..." if len(unseen) > 5 else "")
        warnings.warn(f"{where}: column '{column}' has {sum(unseen.values())} row(s) with value(s) the model never "
                      f"saw in training ({names}); they are read as one 'unseen' category, so their predictions "
                      f"rest on the other columns.", validate.UnseenCategoryWarning, stacklevel=4)
    return out


def _texts(spec: dict[str, Any], rows: Any) -> list[str]:
    column = spec.get("text_column") or "text"
    if isinstance(rows, str) and not Path(rows).is_file():
        raise ConfigError(f"rows is one str that names no file ({rows[:60]!r}); pass a list of texts, or a CSV path "
                          f"or pandas DataFrame with the '{column}' column.")
    if isinstance(rows, Sequence | np.ndarray) and not isinstance(rows, str) or type(rows).__name__ == "Series":
        return _listed_texts(rows)  # a list, an array of str or a pandas Series of texts
    frame, where = _read_rows(spec, rows)
    validate.check_columns(list(frame.columns), [column], where, allow_extra=True)
    return list(common.text_column(frame[column].to_numpy(dtype=object), where, column))


def _listed_texts(rows: Sequence[Any] | np.ndarray) -> list[str]:
    """A list of texts as str, refusing a missing one (None, NaN, empty or blank): the model has no
    tokens to read there, and its masked mean over none is NaN."""
    texts = list(rows)
    missing = np.flatnonzero(common.missing_cells(texts))
    if missing.size:
        raise DataValidationError(f"text {missing[0]} (0-based) is missing (None, NaN, empty or blank; "
                                  f"{missing.size} such text(s)); expected a text to classify in every row.")
    return [str(t) for t in texts]


def _text_inputs(model: Any, run_dir: Path, spec: dict[str, Any], rows: Any) -> np.ndarray:
    from builders import get_backbone
    from zoo.data import text

    if "sequence_length" not in spec or not (run_dir / "vocabulary.txt").is_file():
        raise ConfigError(f"{run_dir}: inputs.json and vocabulary.txt do not say how the run tokenized its texts "
                          "(runs trained before they did cannot encode new texts); train the run again, or pass "
                          "token ids shaped as the model's inputs.")
    settings = spec["tokenizer"]
    if not text.from_vocabulary_file(settings):
        raise ConfigError(f"{run_dir}: the run's texts were tokenized by its preset's own {settings.get('kind')} "
                          "(a keras-hub preset), which predict does not rebuild; pass token ids shaped as the "
                          "model's inputs (zoo.transfer.tokenize_for_preset makes them).")
    tokenizer = text.tokenizer_from_file(run_dir / "vocabulary.txt", int(get_backbone(model).vocabulary_size),
                                         lowercase=bool(settings["lowercase"]))
    return text.tokenize(tokenizer, _texts(spec, rows), int(spec["sequence_length"]))


class Series(NamedTuple):
    """New series in time order: `{id: (steps, features)}`, `{id: the time of each step}`, names for messages."""

    steps: dict[Any, np.ndarray]
    times: dict[Any, np.ndarray]
    group: str | None
    time: str
    where: str


def _series(dataset: str, spec: dict[str, Any], rows: Any) -> Series:
    import pandas as pd

    if dataset == cmapss_fd001.SOURCE.name and isinstance(rows, str | os.PathLike) \
            and Path(rows).suffix.lower() != ".csv":  # NASA's own format, as test_FD001.txt
        engines = cmapss_fd001.read_engines(rows)
        return Series(engines, {u: np.arange(1, len(v) + 1) for u, v in engines.items()}, "unit", "cycle",
                      Path(rows).name)
    frame, where = _read_rows(spec, rows)
    features, group, time_column = spec["feature_names"], spec["group_column"], spec.get("time_column")
    validate.check_columns(list(frame.columns), [*features, *(c for c in (group, time_column) if c)], where,
                           allow_extra=True)
    x, ids, order = series_rows(frame, features, where, group=group, time_column=time_column)
    times = frame[time_column].to_numpy(dtype=object)[order] if time_column else np.arange(len(order))
    if time_column:
        with contextlib.suppress(ValueError, TypeError):  # numbers as numbers; ISO 8601 dates stay as written
            times = pd.to_numeric(pd.Series(times)).to_numpy()
    if ids is None:
        return Series({0: x}, {0: times}, None, time_column or "row", where)
    in_file_order = dict.fromkeys(ids[np.argsort(order, kind="stable")])
    return Series({g: x[ids == g] for g in in_file_order}, {g: times[ids == g] for g in in_file_order}, group,
                  time_column or "row", where)


def _timeseries_inputs(dataset: str, spec: dict[str, Any], rows: Any, every_window: bool) -> tuple[np.ndarray, Any]:
    """Each series' last window (or every window), smoothed and scaled as the run's loader did: `(windows, index)`."""
    import pandas as pd

    if "group_column" not in spec:
        raise ConfigError("this run's inputs.json does not say how its series were read (runs trained before it "
                          "did cannot encode new rows); train the run again, or pass windows shaped as the model's "
                          "inputs.")
    series = _series(dataset, spec, rows)
    window, xs, keys = int(spec["window"]), [], []
    for key, steps in series.steps.items():
        times = series.times[key]
        if spec.get("smoothing") is not None:
            steps = cmapss_fd001.exponential_smoothing(steps, float(spec["smoothing"]))
        if spec.get("padded"):
            steps = cmapss_fd001.left_pad(steps, window)
            times = np.concatenate([np.repeat(times[:1], len(steps) - len(times)), times])
        if len(steps) < window:
            raise DataValidationError(f"{series.where}, {series.group or 'the series'} {key}: {len(steps)} time "
                                      f"steps; the run's model reads windows of {window}, so each series needs at "
                                      f"least {window}.")
        if spec.get("scaler") is not None:
            steps = common.apply_scaler(steps, spec["scaler"])
        cut = cmapss_fd001.windows(steps, window) if every_window else steps[None, -window:]
        xs.append(cut)
        keys += [(key, t) for t in times[len(times) - len(cut):]] if every_window else [key]
    x = np.concatenate(xs).astype(np.float32)
    if every_window:
        return x, pd.MultiIndex.from_tuples(keys, names=[series.group or "series", series.time])
    return x, pd.Index(keys, name=series.group)


def _image_inputs(model: Any, spec: dict[str, Any], rows: Any) -> tuple[np.ndarray, Any]:
    import pandas as pd

    shape = tuple(model.input_shape[1:])
    if None in shape:
        raise ConfigError(f"the run's model reads images of shape {shape}; pass an array of them.")
    x, names = read_new_images(rows, shape, resize=spec.get("image_size") is not None)
    return x, None if names is None else pd.Index(names, name="image")


def _recommendation_inputs(model: Any, spec: dict[str, Any], rows: Any) -> dict[str, np.ndarray]:
    """`user` and `item` id columns, checked against the id spaces the model has factors for."""
    from builders import get_backbone

    frame, where = _read_rows(spec, rows)
    validate.check_columns(list(frame.columns), ["user", "item"], where, allow_extra=True)
    backbone, x = get_backbone(model), {}
    for column, size in (("user", backbone.num_users), ("item", backbone.num_items)):
        ids = common.numeric_column(frame[column].to_numpy(dtype=object), where, column)
        bad = np.flatnonzero((ids != np.round(ids)) | (ids < 0) | (ids >= size))
        if bad.size:
            i = int(bad[0])
            raise DataValidationError(
                f"{where}: column '{column}', {common.csv_row(i)} is {ids[i]:g}; the run's model has factors for "
                f"{column} ids up to {size - 1} only (those of its data): a new {column} needs training again.")
        x[column] = ids.astype(np.int32)
    return x


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


def predict(run_dir: str | os.PathLike, rows: Any, *, batch_size: int = 256, every_window: bool = False) -> Any:
    """A saved run's predictions for new data, as a pandas DataFrame with named classes.

    Args:
        run_dir: str or path. A run directory written by `zoo.fit` / `zoo train`.
        rows: tabular runs: a CSV path or a pandas DataFrame with the training columns (others,
            such as the target or ids, are ignored; a category not seen in training is read as
            unseen, with an `UnseenCategoryWarning`); text runs: a list of texts, or a CSV / DataFrame with the text column;
            time-series runs: a long-format CSV / DataFrame with the feature columns and the
            run's group and time columns (C-MAPSS runs also read NASA's own text format, as
            `test_FD001.txt`), each series from its first step when the run smoothed its
            series (over their whole history); image runs: a folder of image files (subfolders
            included), an image file, a list of them, or an array of images (uint8 0-255 or
            floats in [0, 1]), of the training images' size unless the run resized its own;
            recommendation runs: a CSV / DataFrame with `user` and `item` id columns; any run:
            arrays (or a dict of arrays) shaped as the model's inputs, as the run's loader makes
            them (series windows smoothed and scaled as the loader did).
        batch_size: int. Examples per prediction step.
        every_window: bool. Time-series runs: a prediction for every window of each series (its
            trajectory, e.g. an engine's RUL cycle by cycle), indexed by group and the time of
            the window's last step, instead of one from its last window.

    Returns:
        A DataFrame indexed as `rows` (for a DataFrame) or 0..n-1, for series by their group
        (one row per series, from its last window), for image files by their path:
        classification, `predicted` (the class name) and `probability[<class>]` per class;
        regression, `predicted`.

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
    if isinstance(rows, str | os.PathLike) and not Path(rows).exists() and task.modality != "text":  # (text: _texts reads one str)
        raise DataNotFoundError(f"{rows}: no such file or folder (relative paths are from {Path.cwd()}); give the "
                                "path of the new data, e.g. the full path of test_FD001.txt in the data directory.")
    model = load_run_model(run_dir)
    arrays = isinstance(rows, dict) or (isinstance(rows, np.ndarray) and task.modality != "image"
                                        and not (task.modality == "text" and rows.dtype.kind in "OUS"))
    if every_window and (arrays or task.modality != "timeseries"):
        raise ConfigError("every_window is for time-series runs given long-format rows (a CSV / DataFrame of series).")
    spec = _read_spec(run_dir, required=not arrays and not isinstance(rows, np.ndarray))
    index = rows.index if is_frame(rows) else None
    if task.modality == "text" and isinstance(rows, str | os.PathLike) and Path(rows).is_dir():
        import pandas as pd

        from zoo.data.generic import read_new_texts

        rows, names = read_new_texts(rows)  # a folder of .txt files, as a text folder is trained from
        index = pd.Index(names, name="file")
    if arrays:
        x = rows
    elif task.modality == "tabular":
        x = _tabular_inputs(spec, rows)
    elif task.modality == "text":
        x = _text_inputs(model, run_dir, spec, rows)
    elif task.modality == "timeseries":
        x, index = _timeseries_inputs(task.dataset, spec, rows, every_window)
    elif task.modality == "image":
        x, index = _image_inputs(model, spec, rows)
    elif task.modality == "recommendation":
        x = _recommendation_inputs(model, spec, rows)
    else:
        raise ConfigError(f"{task.name}: give {task.modality} inputs as arrays shaped as the model's inputs.")
    n = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
    if n == 0:
        raise DataValidationError("rows: no rows to predict.")
    return _frame(spec, task.head.kind, model_predict(model, x, batch_size), index)
