"""Why a model predicts what it does: permutation importance for tabular inputs, occlusion
token attributions for text, and metrics per subgroup for the model card.

Every function takes a Keras model or any callable `x -> predictions`, plain numpy inputs in the
zoo's formats (`zoo.data.types`) and returns JSON-friendly dicts, so results can be printed in a
notebook, plotted (`zoo.report.plots.feature_importance`) or written into a report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import numpy as np

from zoo.data.types import Inputs, num_rows, take
from zoo.errors import ConfigError
from zoo.harness import pipeline
from zoo.report.metrics import classification_metrics, regression_metrics

Predictor = keras.Model | Callable[[Inputs], Any]


def predict(model: Predictor, x: Inputs, batch_size: int = 1024) -> np.ndarray:
    """Predictions of a Keras model (through the zoo's tf.data pipeline) or of any callable.

    Args:
        model: a `keras.Model`, or a callable mapping inputs to an array of predictions.
        x: inputs, an array or a dict of arrays (tabular).
        batch_size: int. Examples per predict step (Keras models only).

    Returns:
        A float numpy array with one row per example.

    Example:
    >>> predict(lambda x: x["numeric"].sum(axis=1), {"numeric": np.ones((3, 2))}).tolist()
    [2.0, 2.0, 2.0]
    """
    if isinstance(model, keras.Model):
        return np.asarray(pipeline.predict(model, x, batch_size), dtype="float64")
    return np.asarray(model(x), dtype="float64")


def class_probabilities(pred: Any) -> np.ndarray:
    """`(n, k)` class probabilities from a sigmoid `(n,)` / `(n, 1)` or a softmax `(n, k)` output.

    Example:
    >>> class_probabilities(np.array([[0.8], [0.3]])).round(2).tolist()
    [[0.2, 0.8], [0.7, 0.3]]
    """
    pred = np.asarray(pred, dtype="float64")
    if pred.ndim == 1 or pred.shape[-1] == 1:
        p1 = pred.reshape(-1)
        return np.stack([1.0 - p1, p1], axis=1)
    return pred


# === Scores ===


def scorer(kind: str, y_true: Any = None) -> tuple[str, Callable[[np.ndarray, np.ndarray], float], bool]:
    """The score permutation importance uses for a head kind: `(name, fn(y, pred), higher_is_better)`.

    Binary: ROC-AUC (accuracy when `y_true` has one class only); multiclass: accuracy;
    regression and forecast: RMSE (lower is better).

    Args:
        kind: str. A head kind (`builders.HEAD_KINDS`).
        y_true: optional labels, to check that ROC-AUC is defined.

    Example:
    >>> name, fn, higher = scorer("regression")
    >>> name, fn(np.array([1.0, 2.0]), np.array([1.0, 4.0])), higher
    ('RMSE', 1.4142135623730951, False)
    """
    from sklearn import metrics as skm

    if kind == "binary" and (y_true is None or len(np.unique(np.asarray(y_true).astype(int))) == 2):
        return "ROC-AUC", lambda y, p: float(skm.roc_auc_score(np.asarray(y).astype(int), class_probabilities(p)[:, 1])), True
    if kind in ("binary", "multiclass"):
        return "accuracy", lambda y, p: float(np.mean(class_probabilities(p).argmax(1) == np.asarray(y).astype(int))), True
    if kind in ("regression", "forecast"):
        return "RMSE", lambda y, p: float(np.sqrt(np.mean((np.asarray(y, "float64").reshape(len(y), -1)
                                                            - np.asarray(p).reshape(len(y), -1)) ** 2))), False
    raise ConfigError(f"No importance score for head kind {kind!r}; expected binary, multiclass, regression or forecast.")


# === Tabular: permutation importance ===


def feature_columns(x: Inputs, meta: Mapping[str, Any] | None = None) -> list[tuple[str, str | None, int]]:
    """`(feature name, input key, column)` for every feature of tabular or multivariate inputs.

    A tabular dict has one feature per column of each array: names from the dataset's
    `meta["numeric_names"]` and `meta["categorical_names"]`, else `"numeric_0"`, ... An array
    `(n, ..., features)` (e.g. time-series windows) has one feature per channel of its last
    axis, named by `meta["feature_names"]`, and input key None.

    Example:
    >>> x = {"numeric": np.zeros((2, 2)), "categorical": np.zeros((2, 1), "int32")}
    >>> feature_columns(x, {"numeric_names": ["age", "income"], "categorical_names": ["Type"]})
    [('age', 'numeric', 0), ('income', 'numeric', 1), ('Type', 'categorical', 0)]
    >>> feature_columns(np.zeros((4, 30, 2)), {"feature_names": ["sensor_2", "sensor_3"]})
    [('sensor_2', None, 0), ('sensor_3', None, 1)]
    """
    meta = meta or {}
    if not isinstance(x, Mapping):
        if np.ndim(x) < 2:
            raise ConfigError(f"Inputs of shape {np.shape(x)} have no feature axis; expected (n, ..., features).")
        names = list(meta.get("feature_names") or [])
        return [(names[j] if j < len(names) else f"feature_{j}", None, j) for j in range(int(np.shape(x)[-1]))]
    columns = []
    for key, array in x.items():
        names = list(meta.get(f"{key}_names") or [])
        width = 1 if np.ndim(array) == 1 else int(np.shape(array)[1])
        columns += [(names[j] if j < len(names) else f"{key}_{j}", key, j) for j in range(width)]
    return columns


def _column(x: Inputs, key: str | None, column: int) -> np.ndarray:
    if key is None:
        return np.asarray(x)[..., column]
    array = np.asarray(x[key])
    return array[:, column] if array.ndim > 1 else array


def _with_column(x: Inputs, key: str | None, column: int, values: np.ndarray) -> Inputs:
    if key is None:
        changed = np.array(x, copy=True)
        changed[..., column] = values
        return changed
    out = dict(x)
    changed = np.array(x[key], copy=True)
    if changed.ndim == 1:
        changed[:] = values
    else:
        changed[:, column] = values
    out[key] = changed
    return out


def _concatenate(parts: list[Inputs]) -> Inputs:
    if isinstance(parts[0], Mapping):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate(parts)


def permutation_importance(
    model: Predictor,
    x: Inputs,
    y: Any,
    *,
    kind: str = "binary",
    meta: Mapping[str, Any] | None = None,
    n_repeats: int = 5,
    seed: int = 0,
    max_rows: int | None = 2000,
    batch_size: int = 4096,
    max_batch_rows: int = 100_000,
) -> dict[str, Any]:
    """How much the score drops when each feature is shuffled (Breiman 2001).

    Each feature (a tabular column, or a channel of time-series windows, moved whole from one
    example to another) is permuted across examples `n_repeats` times, breaking its link with
    the target while keeping its distribution; the importance is the mean drop in the task's score
    (`scorer`): ROC-AUC for binary, accuracy for multiclass, and the rise in RMSE for
    regression, so a larger value always means a more important feature. Compute it on the
    test split, not on training data. Correlated features share credit: shuffling one of two
    copies of a signal costs little.

    Args:
        model: a `keras.Model` or a callable `x -> predictions`.
        x: a tabular input dict, `{"numeric": (n, k), "categorical": (n, m)}`, or an array
            `(n, ..., features)` such as time-series windows.
        y: the targets.
        kind: str. The head kind, which picks the score.
        meta: optional dataset meta with `numeric_names` / `categorical_names` (tabular) or
            `feature_names` (arrays).
        n_repeats: int. Shuffles per column.
        seed: int. Seeds the shuffles and the row sample.
        max_rows: int or None. Use a seeded sample of at most this many rows.
        batch_size: int. Examples per predict step.
        max_batch_rows: int. Rows of shuffled copies held in memory and predicted per call.

    Returns:
        A dict with `metric`, `higher_is_better`, `baseline` (the unshuffled score),
        `num_rows`, `n_repeats` and `features`: a list of `{"name", "input" (the dict key, or
        None), "column", "importance", "std", "scores"}` sorted by importance, largest first.

    Example:
    >>> rng = np.random.default_rng(0)
    >>> x = {"numeric": rng.random((200, 2))}
    >>> y = (x["numeric"][:, 0] > 0.5).astype(int)
    >>> result = permutation_importance(lambda v: v["numeric"][:, 0], x, y, meta={"numeric_names": ["signal", "noise"]})
    >>> [f["name"] for f in result["features"]], result["baseline"], result["features"][1]["importance"]
    (['signal', 'noise'], 1.0, 0.0)
    """
    if n_repeats < 1:
        raise ConfigError(f"permutation_importance: n_repeats must be >= 1, got {n_repeats}.")
    columns = feature_columns(x, meta)
    y = np.asarray(y)
    n = num_rows(x)
    if n != len(y):
        raise ConfigError(f"permutation_importance: x has {n} rows but y has {len(y)}.")
    rng = np.random.default_rng(seed)
    if max_rows is not None and n > max_rows:
        rows = np.sort(rng.choice(n, size=max_rows, replace=False))
        x, y, n = take(x, rows), y[rows], max_rows
    name, score, higher = scorer(kind, y)
    baseline = score(y, predict(model, x, batch_size))
    # Shuffled copies of as many columns as fit in `max_batch_rows` go through one predict call.
    per_column = n * n_repeats
    columns_per_call = max(1, max_batch_rows // per_column)
    features = []
    for start in range(0, len(columns), columns_per_call):
        chunk = columns[start:start + columns_per_call]
        copies = []
        for _, key, column in chunk:
            original = _column(x, key, column)
            copies += [_with_column(x, key, column, original[rng.permutation(n)]) for _ in range(n_repeats)]
        pred = predict(model, _concatenate(copies), batch_size)
        for j, (feature, key, column) in enumerate(chunk):
            scores = [score(y, pred[(j * n_repeats + i) * n:(j * n_repeats + i + 1) * n]) for i in range(n_repeats)]
            drops = [(baseline - s) if higher else (s - baseline) for s in scores]
            features.append({"name": feature, "input": key, "column": column, "importance": float(np.mean(drops)),
                             "std": float(np.std(drops)), "scores": [float(s) for s in scores]})
    features.sort(key=lambda f: -f["importance"])
    return {"metric": name, "higher_is_better": higher, "baseline": float(baseline), "num_rows": int(n),
            "n_repeats": int(n_repeats), "features": features}


# === Text: occlusion token attributions ===


def token_attributions(
    model: Predictor,
    token_ids: Any,
    vocabulary: Sequence[str],
    *,
    class_names: Sequence[str] | None = None,
    labels: Any = None,
    texts: Sequence[str] | None = None,
    pad_id: int = 0,
    subword_prefix: str | None = "##",
    batch_size: int = 512,
) -> list[dict[str, Any]]:
    """Occlusion attributions: how much the predicted class's probability falls without each word.

    For every example, each word (a token and the `##` word pieces that continue it) is replaced
    in turn by the padding id, which the zoo's Transformer masks out, so the word is removed
    while the others keep their positions; then the model is run again. A word's attribution is
    `p(predicted class | text) - p(predicted class | text without the word)`: positive words
    support the prediction, negative ones speak against it. Model-agnostic and exact for one
    word at a time; interactions between words are not captured.

    Args:
        model: a `keras.Model` or a callable mapping `(n, length)` int ids to probabilities.
        token_ids: int array `(n, length)`, padded with `pad_id`.
        vocabulary: the token of each id (`meta["vocabulary"]` or the run's `vocabulary.txt`).
        class_names: optional class names (default: "0", "1", ...).
        labels: optional true class index of each example.
        texts: optional raw text of each example, returned alongside.
        pad_id: int. The padding id.
        subword_prefix: str or None. Marks a word piece that continues the previous token
            (WordPiece's `"##"`); None attributes every token on its own.
        batch_size: int. Examples per predict step.

    Returns:
        One dict per example: `tokens` (words, pieces joined), `attributions`, `predicted`,
        `probability` and, when given, `label` and `text`.

    Example:
    >>> vocab = ["[PAD]", "[UNK]", "profit", "ro", "##se", "fell"]
    >>> model = lambda ids: 0.1 + 0.8 * (ids == 4).any(axis=1, keepdims=True)  # "##se" means up
    >>> out = token_attributions(model, np.array([[2, 3, 4, 0]]), vocab, class_names=["down", "up"])
    >>> out[0]["predicted"], out[0]["tokens"], [round(a, 2) for a in out[0]["attributions"]]
    ('up', ['profit', 'rose'], [0.0, 0.8])
    """
    ids = np.asarray(token_ids)
    if ids.ndim != 2:
        raise ConfigError(f"token_attributions: token_ids must be (n, length) int ids, got shape {ids.shape}.")
    base = class_probabilities(predict(model, ids, batch_size))
    names = list(class_names) if class_names is not None else [str(i) for i in range(base.shape[1])]
    results = []
    for i, row in enumerate(ids):
        words: list[list[int]] = []  # positions of each word's pieces
        pieces: list[str] = []
        for position in np.flatnonzero(row != pad_id):
            piece = vocabulary[row[position]] if 0 <= row[position] < len(vocabulary) else f"[{row[position]}]"
            if subword_prefix and piece.startswith(subword_prefix) and words:
                words[-1].append(int(position))
                pieces[-1] += piece[len(subword_prefix):]
            else:
                words.append([int(position)])
                pieces.append(piece)
        occluded = np.repeat(row[None, :], len(words), axis=0)
        for w, positions in enumerate(words):
            occluded[w, positions] = pad_id
        target = int(base[i].argmax())
        without = class_probabilities(predict(model, occluded, batch_size))[:, target] if words else []
        item: dict[str, Any] = {
            "tokens": pieces,
            "attributions": [float(base[i, target] - p) for p in without],
            "predicted": names[target],
            "probability": float(base[i, target]),
        }
        if labels is not None:
            item["label"] = names[int(np.asarray(labels)[i])]
        if texts is not None:
            item["text"] = str(texts[i])
        results.append(item)
    return results


# === Subgroups for the model card ===


def categorical_groups(
    x: Mapping[str, np.ndarray], meta: Mapping[str, Any], max_categories: int = 12
) -> dict[str, np.ndarray]:
    """The category of each row for every categorical column with few enough categories.

    Codes are decoded with `meta["categorical_vocabularies"]` (code 0 is a value not seen in
    training) and, when the dataset provides them, `meta["categorical_labels"]`
    (`{column: {value: description}}`).

    Args:
        x: a tabular input dict with an int `"categorical"` array `(n, m)`.
        meta: the dataset meta (`categorical_names`, `categorical_vocabularies`).
        max_categories: skip columns with more categories than this.

    Returns:
        `{column name: array of category names, one per row}` (empty when there are none).

    Example:
    >>> meta = {"categorical_names": ["Type"], "categorical_vocabularies": [["H", "L", "M"]]}
    >>> categorical_groups({"categorical": np.array([[2], [1], [0]])}, meta)["Type"].tolist()
    ['L', 'H', '(unseen in training)']
    """
    if not isinstance(x, Mapping) or "categorical" not in x:
        return {}
    names = list(meta.get("categorical_names") or [])
    vocabularies = list(meta.get("categorical_vocabularies") or [])
    described = meta.get("categorical_labels") or {}
    codes = np.asarray(x["categorical"])
    groups = {}
    for j in range(codes.shape[1]):
        name = names[j] if j < len(names) else f"categorical_{j}"
        vocabulary = vocabularies[j] if j < len(vocabularies) else []
        if len(vocabulary) > max_categories:
            continue
        labels = described.get(name, {})
        lookup = ["(unseen in training)"] + [labels.get(v, v) for v in vocabulary]
        groups[name] = np.array([lookup[c] if 0 <= c < len(lookup) else str(c) for c in codes[:, j]], dtype=object)
    return groups


_CLASSIFICATION_KEYS = ("accuracy", "macro_f1", "roc_auc", "pr_auc", "average_cost")
_REGRESSION_KEYS = ("rmse", "mae", "r2")


def subgroup_metrics(
    y_true: Any,
    y_pred: Any,
    groups: Mapping[str, Any],
    *,
    kind: str = "binary",
    class_names: Sequence[str] | None = None,
    cost_matrix: Sequence[Sequence[float]] | None = None,
    min_size: int = 10,
) -> list[dict[str, Any]]:
    """Test metrics within each subgroup (e.g. each machine type or each applicant category).

    Uses the same metric functions as `report.json` (`zoo.report.metrics`). Groups with fewer
    than `min_size` examples get their size but no metrics: their numbers would be noise.
    Classification rows also carry each class's recall and the rate of each predicted and each
    true class: the numbers behind equal-opportunity and demographic-parity checks.

    Args:
        y_true: targets of the examples.
        y_pred: model outputs (probabilities for classification).
        groups: `{column: group label per example}`, e.g. from `categorical_groups`.
        kind: str. The head kind.
        class_names: class names (classification).
        cost_matrix: optional `cost[true][predicted]` (e.g. German credit's).
        min_size: int. The smallest group that gets metrics.

    Returns:
        A list of `{"column", "group", "n", "metrics"}` (metrics empty for small groups),
        ordered by column, then by decreasing size.

    Example:
    >>> rows = subgroup_metrics([0, 1, 1, 0], [0.2, 0.9, 0.4, 0.1], {"site": ["a", "a", "b", "b"]},
    ...                         class_names=["no", "yes"], min_size=2)
    >>> [(r["group"], r["n"], r["metrics"]["accuracy"]) for r in rows]
    [('a', 2, 1.0), ('b', 2, 0.5)]
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classification = kind in ("binary", "multiclass")
    if classification:
        names = list(class_names or [str(i) for i in range(class_probabilities(y_pred).shape[1])])
    rows = []
    for column, labels in groups.items():
        labels = np.asarray(labels, dtype=object)
        if len(labels) != len(y_true):
            raise ConfigError(f"subgroup_metrics: column '{column}' has {len(labels)} labels for {len(y_true)} examples.")
        values, counts = np.unique(labels, return_counts=True)
        for value, count in sorted(zip(values, counts, strict=True), key=lambda vc: (-vc[1], str(vc[0]))):
            mask = labels == value
            metrics: dict[str, Any] = {}
            if count >= min_size:
                if classification:
                    full = classification_metrics(y_true[mask], y_pred[mask], names, cost_matrix)
                    metrics = {k: full[k] for k in _CLASSIFICATION_KEYS if k in full}
                    metrics["recall"] = {n: v["recall"] for n, v in full["per_class"].items()}
                    predicted = class_probabilities(y_pred[mask]).argmax(1)
                    true = np.asarray(y_true[mask]).astype(int)
                    metrics["predicted_rate"] = {n: float(np.mean(predicted == i)) for i, n in enumerate(names)}
                    metrics["true_rate"] = {n: float(np.mean(true == i)) for i, n in enumerate(names)}
                else:
                    full = regression_metrics(y_true[mask], y_pred[mask])
                    metrics = {k: full[k] for k in _REGRESSION_KEYS}
            rows.append({"column": str(column), "group": str(value), "n": int(count), "metrics": metrics})
    return rows
