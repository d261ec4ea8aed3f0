"""Test-split metrics for the run report, computed with scikit-learn from predictions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import metrics as skm

LOWER_IS_BETTER = ("loss", "rmse", "mae", "mse", "phm08_score", "average_cost", "error")


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of `metric` (or of Keras's `val_<metric>`) is the better one.

    Example:
    >>> lower_is_better("val_rmse"), lower_is_better("val_auc")
    (True, False)
    """
    name = metric.removeprefix("val_")
    return any(name == m or name.endswith(f"_{m}") for m in LOWER_IS_BETTER)


def class_probabilities(proba: np.ndarray) -> np.ndarray:
    """Float64 `(n, classes)` probabilities from a classifier's outputs: a sigmoid's `(n,)` or `(n, 1)`
    (the probability of class 1) becomes two columns, `1 - p` and `p`; a softmax's pass as they are.

    Example:
    >>> class_probabilities(np.array([[0.2], [0.9]])).tolist()
    [[0.8, 0.2], [0.09999999999999998, 0.9]]
    """
    proba = np.asarray(proba, dtype="float64")
    if proba.ndim == 1 or proba.shape[-1] == 1:
        p1 = proba.reshape(-1)
        proba = np.stack([1 - p1, p1], axis=1)
    return proba


def classification_metrics(
    y_true: np.ndarray,
    proba: np.ndarray,
    class_names: Sequence[str],
    cost_matrix: Sequence[Sequence[float]] | None = None,
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1, a labelled confusion matrix, and
    ROC-AUC / PR-AUC for two classes (positive = class 1, named in `positive_class`), plus average cost given a
    `cost_matrix[true][predicted]`.

    Example:
    >>> r = classification_metrics(np.array([0, 1, 1]), np.array([0.2, 0.9, 0.4]), ["no", "yes"])
    >>> r["accuracy"], r["confusion_matrix"]["matrix"]
    (0.6666666666666666, [[1, 0], [1, 1]])
    >>> classification_metrics(np.array([0, 1]), np.eye(3)[:2], ["a", "b", "rare"])["macro_f1"]  # no "rare" rows
    1.0
    >>> classification_metrics(np.array([0, 1]), np.eye(3)[:2], ["a", "b", "rare"])["per_class"]["rare"]["f1"] is None
    True
    """
    y_true = np.asarray(y_true).astype(int).reshape(-1)
    proba = class_probabilities(proba)
    y_pred = proba.argmax(axis=1)
    labels = list(range(len(class_names)))
    p, r, f, support = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    report: dict[str, Any] = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        # Over the classes that occur (true or predicted), as scikit-learn's default: a class with no test rows that
        # is never predicted has no F1 to average (a 0 there would lower a perfect score).
        "macro_f1": float(skm.f1_score(y_true, y_pred, labels=sorted(set(y_true) | set(y_pred)), average="macro",
                                       zero_division=0)),
        # A class with no test rows has no recall or F1 (None, shown as "-"), rather than a 0 beside a perfect macro-F1.
        "per_class": {
            name: {"precision": float(p[i]), "recall": float(r[i]) if support[i] else None,
                   "f1": float(f[i]) if support[i] else None, "support": int(support[i])}
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": {
            "rows": "true class",
            "columns": "predicted class",
            "labels": list(class_names),
            "matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        },
        "num_examples": int(len(y_true)),
    }
    if len(class_names) == 2 and len(np.unique(y_true)) == 2:
        report["roc_auc"] = float(skm.roc_auc_score(y_true, proba[:, 1]))
        report["pr_auc"] = float(skm.average_precision_score(y_true, proba[:, 1]))
        report["positive_class"] = str(class_names[1])  # what ROC-AUC and PR-AUC score
    elif len(np.unique(y_true)) == len(class_names) > 2:
        report["roc_auc_ovr"] = float(skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels))
    if cost_matrix is not None:
        cost = np.asarray(cost_matrix, dtype="float64")
        report["average_cost"] = float(cost[y_true, y_pred].mean())
    return report


def phm08_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The PHM08 asymmetric RUL score (late predictions cost more): sum of exp(-d/13)-1 for
    early and exp(d/10)-1 for late predictions, d = predicted - true.

    Example:
    >>> round(phm08_score(np.array([10.0, 10.0]), np.array([0.0, 20.0])), 3)
    2.876
    """
    d = np.asarray(y_pred, dtype="float64") - np.asarray(y_true, dtype="float64")
    return float(np.sum(np.where(d < 0, np.exp(-d / 13.0) - 1, np.exp(d / 10.0) - 1)))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, rul: bool = False) -> dict[str, Any]:
    """RMSE, MAE and R^2 (and the PHM08 score for remaining-useful-life tasks).

    Example:
    >>> regression_metrics(np.array([1.0, 2.0]), np.array([1.0, 4.0]))["rmse"]
    1.4142135623730951
    """
    y_true = np.asarray(y_true, dtype="float64").reshape(-1)
    y_pred = np.asarray(y_pred, dtype="float64").reshape(-1)
    report = {
        "rmse": float(np.sqrt(np.mean((y_true - y_pred) ** 2))),
        "mae": float(np.mean(np.abs(y_true - y_pred))),
        "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
        "num_examples": int(len(y_true)),
    }
    if rul:
        report["phm08_score"] = phm08_score(y_true, y_pred)
    return report
