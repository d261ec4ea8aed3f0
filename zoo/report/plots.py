"""Plots for run reports and notebooks: plain arrays and dicts in, matplotlib `Figure`s out.

Every function builds a `matplotlib.figure.Figure` directly, never through `pyplot`: no global
state, no GUI backend and nothing to close. PNGs are rendered by Agg (`to_png`, `save_png`,
`to_data_uri`), and in Jupyter or Colab a returned figure displays inline (after
`%matplotlib inline`, Colab's default).

Example:
>>> fig = training_curves({"loss": [0.7, 0.5], "val_loss": [0.72, 0.6]})
>>> to_png(fig)[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import base64
import functools
import io
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from zoo.errors import ConfigError
from zoo.report.metrics import lower_is_better

# Colour-blind-safe (Okabe-Ito); the first two are "ours / train / transfer" and "val / scratch".
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
CHANCE_COLOR = "#8c8c8c"
DPI = 144

_STYLE = {
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "axes.edgecolor": "#4d4d4d",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "figure.facecolor": "white",
}

F = TypeVar("F", bound=Callable[..., Figure])


def _styled(fn: F) -> F:
    """Build the figure inside the zoo's rc style, leaving the user's rcParams untouched."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with matplotlib.rc_context(_STYLE):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _title(fig: Figure, title: str | None) -> None:
    if title:
        fig.suptitle(title, fontweight="bold", fontsize=11.5)


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _as_1d(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype="float64")
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ConfigError(f"{name} must be one value per example (shape (n,) or (n, 1)), got shape {array.shape}.")
    return array


def _positive_scores(y_true: Any, score: Any) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels and positive-class scores; `score` may be (n,), (n, 1) or (n, 2) probabilities."""
    score = np.asarray(score, dtype="float64")
    if score.ndim == 2 and score.shape[1] == 2:
        score = score[:, 1]
    y, s = _as_1d(y_true, "y_true").astype(int), _as_1d(score, "score")
    if len(y) != len(s):
        raise ConfigError(f"y_true has {len(y)} examples but score has {len(s)}.")
    present = sorted(set(np.unique(y).tolist()))
    if present != [0, 1]:
        raise ConfigError(f"ROC and PR curves need labels 0 and 1 both present in y_true; found {present}.")
    return y, s


# === Figure output ===


def to_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (rendered by Agg).

    Example:
    >>> len(to_png(feature_importance(["a", "b"], [0.2, 0.1]))) > 1000
    True
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def save_png(fig: Figure, path: str | os.PathLike, dpi: int = DPI) -> Path:
    """Write the figure to `path` as PNG and return the path.

    Example:
    >>> import tempfile
    >>> save_png(feature_importance(["a"], [0.1]), Path(tempfile.mkdtemp()) / "f.png").stat().st_size > 0
    True
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_png(fig, dpi))
    return path


def to_data_uri(fig: Figure, dpi: int = DPI) -> str:
    """The figure as a `data:image/png;base64,...` URI, for a self-contained `<img src=...>`.

    Example:
    >>> to_data_uri(feature_importance(["a"], [0.1]))[:22]
    'data:image/png;base64,'
    """
    return "data:image/png;base64," + base64.b64encode(to_png(fig, dpi)).decode("ascii")


# === Training ===

_NOT_CURVES = {"learning_rate", "lr"}


def _pretty(metric: str) -> str:
    names = {"loss": "Loss", "auc": "ROC-AUC", "accuracy": "Accuracy", "root_mean_squared_error": "RMSE",
             "mean_absolute_error": "MAE", "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "rmse": "RMSE", "mae": "MAE",
             "macro_f1": "Macro-F1", "average_cost": "Average cost"}
    return names.get(metric, _upper_first(metric.replace("_", " ")))


@_styled
def training_curves(history: Mapping[str, Sequence[float]], *, title: str | None = None,
                    monitor: str = "val_loss") -> Figure:
    """Training and validation curves, one panel per metric, as Keras's `History.history` holds them.

    Keys `m` and `val_m` share a panel (train solid, validation dashed). The best epoch by
    `monitor` (the one early stopping restores) is marked on every panel.

    Args:
        history: mapping of metric name to one value per epoch (the run's `history.json`).
        title: optional figure title.
        monitor: the metric early stopping watched (the task's `training.monitor`).

    Returns:
        A `matplotlib.figure.Figure`.

    Example:
    >>> fig = training_curves({"loss": [0.7, 0.5, 0.4], "val_loss": [0.7, 0.6, 0.65],
    ...                        "accuracy": [0.6, 0.8, 0.9], "val_accuracy": [0.6, 0.7, 0.7]})
    >>> [ax.get_title() for ax in fig.axes]
    ['Loss', 'Accuracy']
    """
    curves = {k: [float(v) for v in vals] for k, vals in history.items() if k.removeprefix("val_") not in _NOT_CURVES}
    if not any(curves.values()):
        raise ConfigError("training_curves: the history has no values; expected e.g. {'loss': [...], 'val_loss': [...]}.")
    bases = sorted({k.removeprefix("val_") for k in curves}, key=lambda m: (m != "loss", m))
    cols = min(len(bases), 3)
    rows = -(-len(bases) // cols)
    fig = _figure(3.6 * cols + 0.4, 2.9 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    pick = np.argmin if lower_is_better(monitor) else np.argmax
    best = int(pick(history[monitor])) + 1 if history.get(monitor) else None
    for ax, base in zip(axes, bases, strict=False):
        for key, label, style in ((base, "train", "-"), (f"val_{base}", "validation", "--")):
            values = curves.get(key)
            if not values:
                continue
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, style, label=label, marker="o" if len(values) <= 30 else None, markersize=3.5,
                    linewidth=1.8)
        if best is not None:
            ax.axvline(best, color=CHANCE_COLOR, linestyle=":", linewidth=1.2, label=f"best {monitor} ({best})")
        ax.set_title(_pretty(base))
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="best")
    for ax in axes[len(bases):]:
        ax.set_visible(False)
    _title(fig, title)
    return fig


# === Classification ===


@_styled
def confusion_matrix(
    matrix: Any, class_names: Sequence[str], *, title: str | None = None, max_annotated: int = 25
) -> Figure:
    """A labelled confusion matrix: counts and row-normalized percentages in every cell.

    Rows are the true class, columns the predicted class (as scikit-learn and the run's
    `report.json` store it). Colour is the share of the true class, so a rare class's errors
    are as visible as a common one's; each true-class label carries its number of examples.

    Args:
        matrix: square array-like of counts, `matrix[true][predicted]`.
        class_names: one name per class, in index order.
        title: optional figure title.
        max_annotated: above this many classes the cells are coloured but not annotated.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:
    >>> fig = confusion_matrix([[50, 3], [5, 42]], ["benign", "malignant"])
    >>> [t.get_text() for t in fig.axes[0].texts][:2]
    ['50\\n94.3%', '3\\n5.7%']
    """
    counts = np.asarray(matrix, dtype="int64")
    k = len(class_names)
    if counts.ndim != 2 or counts.shape != (k, k):
        raise ConfigError(f"confusion_matrix: matrix has shape {counts.shape}, expected ({k}, {k}) for {k} class names.")
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape, dtype="float64"), where=totals > 0)
    size = max(3.8, 0.75 * k + 2.6)
    fig = _figure(size + 1.0, size)
    ax = fig.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if k <= max_annotated:
        fontsize = max(6.0, 10.0 - 0.2 * k)
        for i in range(k):
            for j in range(k):
                share = f"{100 * shares[i, j]:.1f}%" if totals[i, 0] else "-"
                ax.text(j, i, f"{counts[i, j]}\n{share}", ha="center", va="center", fontsize=fontsize,
                        color="white" if shares[i, j] > 0.55 else "#1a1a1a")
    long_names = max((len(str(n)) for n in class_names), default=0) > 8 or k > 6
    ax.set_xticks(range(k), [str(n) for n in class_names], rotation=35 if long_names else 0,
                  ha="right" if long_names else "center")
    ax.set_yticks(range(k), [f"{n}\n(n={int(t)})" for n, t in zip(class_names, totals[:, 0], strict=True)])
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    ax.set_title(f"Confusion matrix ({int(counts.sum())} examples)")
    colorbar = fig.colorbar(image, ax=ax, shrink=0.8, format=matplotlib.ticker.PercentFormatter(1.0))
    colorbar.set_label("share of the true class (row %)")
    colorbar.outline.set_visible(False)
    _title(fig, title)
    return fig


@_styled
def roc_pr_curves(
    y_true: Any, score: Any, *, positive_name: str = "positive", threshold: float = 0.5, title: str | None = None
) -> Figure:
    """ROC and precision-recall curves of a binary classifier side by side.

    The ROC panel shows the area under the curve and the chance diagonal; the PR panel the
    average precision and the chance level (the positive share). The operating point at
    `threshold` (what `report.json`'s accuracy and confusion matrix use) is marked on both.

    Args:
        y_true: 0/1 labels.
        score: predicted probability of class 1, shape (n,), (n, 1) or (n, 2).
        positive_name: the name of class 1, for the axis labels.
        threshold: the decision threshold to mark.
        title: optional figure title.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:
    >>> fig = roc_pr_curves([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], positive_name="malignant")
    >>> [ax.get_title() for ax in fig.axes]
    ['ROC curve (AUC 0.750)', 'Precision-recall (AP 0.833)']
    """
    from sklearn import metrics as skm

    y, s = _positive_scores(y_true, score)
    fpr, tpr, _ = skm.roc_curve(y, s)
    precision, recall, _ = skm.precision_recall_curve(y, s)
    auc, ap = skm.roc_auc_score(y, s), skm.average_precision_score(y, s)
    predicted = s >= threshold
    tp, fp = int(np.sum(predicted & (y == 1))), int(np.sum(predicted & (y == 0)))
    op_tpr, op_fpr = tp / max(1, int(np.sum(y == 1))), fp / max(1, int(np.sum(y == 0)))
    op_precision = tp / (tp + fp) if tp + fp else 1.0
    prevalence = float(np.mean(y))

    fig = _figure(8.6, 3.9)
    roc, pr = fig.subplots(1, 2)
    roc.plot(fpr, tpr, color=PALETTE[0], linewidth=2, label=f"model (AUC {auc:.3f})")
    roc.plot([0, 1], [0, 1], color=CHANCE_COLOR, linestyle="--", linewidth=1, label="chance")
    roc.plot([op_fpr], [op_tpr], "o", color=PALETTE[5], label=f"threshold {threshold:g}")
    roc.set(xlabel="False positive rate", ylabel=f"True positive rate (recall of {positive_name})",
            xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), title=f"ROC curve (AUC {auc:.3f})")
    roc.set_aspect("equal")
    roc.legend(loc="lower right")
    pr.step(recall, precision, where="post", color=PALETTE[0], linewidth=2, label=f"model (AP {ap:.3f})")
    pr.axhline(prevalence, color=CHANCE_COLOR, linestyle="--", linewidth=1, label=f"chance ({prevalence:.2f})")
    pr.plot([op_tpr], [op_precision], "o", color=PALETTE[5], label=f"threshold {threshold:g}")
    pr.set(xlabel=f"Recall of {positive_name}", ylabel="Precision", xlim=(-0.01, 1.01), ylim=(-0.01, 1.01),
           title=f"Precision-recall (AP {ap:.3f})")
    pr.set_aspect("equal")
    pr.legend(loc="lower left")
    _title(fig, title)
    return fig


# === Regression and time series ===


@_styled
def prediction_vs_actual(
    y_true: Any, y_pred: Any, *, target_name: str = "target", max_points: int = 2000, title: str | None = None
) -> Figure:
    """Predicted against actual values for a regression task (e.g. remaining useful life).

    Left: each test example as a point, with the line of perfect prediction and RMSE/MAE.
    Right: the examples sorted by their actual value, actual as a line and predictions as
    points joined to it by their error, which shows where in the range the model is biased.

    Args:
        y_true: actual values, shape (n,) or (n, 1).
        y_pred: predicted values, same shape.
        target_name: what the values are, for the axis labels (e.g. `"RUL (cycles)"`).
        max_points: plot a seeded sample of at most this many examples (RMSE and MAE always
            use all of them).
        title: optional figure title.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:
    >>> fig = prediction_vs_actual([10.0, 50.0, 90.0], [12.0, 45.0, 80.0], target_name="RUL")
    >>> fig.axes[0].get_title()
    'Predicted vs actual (RMSE 6.56, MAE 5.67)'
    """
    actual, predicted = _as_1d(y_true, "y_true"), _as_1d(y_pred, "y_pred")
    if len(actual) != len(predicted):
        raise ConfigError(f"y_true has {len(actual)} values but y_pred has {len(predicted)}.")
    if not len(actual):
        raise ConfigError("prediction_vs_actual: no values to plot.")
    rmse = float(np.sqrt(np.mean((actual - predicted) ** 2)))
    mae = float(np.mean(np.abs(actual - predicted)))
    shown = ""
    if len(actual) > max_points:
        keep = np.sort(np.random.default_rng(0).choice(len(actual), size=max_points, replace=False))
        shown = f" ({max_points:,} of {len(actual):,} shown)"
        actual, predicted = actual[keep], predicted[keep]
    fig = _figure(9.6, 3.9)
    scatter, ordered = fig.subplots(1, 2, width_ratios=[1, 1.5])
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    pad = 0.04 * (high - low or 1.0)
    scatter.plot([low - pad, high + pad], [low - pad, high + pad], color=CHANCE_COLOR, linestyle="--", linewidth=1,
                 label="perfect prediction")
    scatter.scatter(actual, predicted, s=14 if len(actual) < 500 else 6, alpha=0.7 if len(actual) < 500 else 0.35, color=PALETTE[0], edgecolor="none", label="test example")
    scatter.set(xlabel=f"Actual {target_name}", ylabel=f"Predicted {target_name}",
                xlim=(low - pad, high + pad), ylim=(low - pad, high + pad),
                title=f"Predicted vs actual (RMSE {rmse:.3g}, MAE {mae:.3g})")
    scatter.set_aspect("equal")
    scatter.legend(loc="upper left")
    order = np.argsort(actual, kind="stable")
    index = np.arange(len(actual))
    ordered.vlines(index, actual[order], predicted[order], color=PALETTE[1], alpha=0.35, linewidth=1)
    ordered.plot(index, actual[order], color="#1a1a1a", linewidth=1.8, label="actual")
    ordered.scatter(index, predicted[order], s=12, color=PALETTE[1], zorder=3, label="predicted")
    ordered.set(xlabel="Test examples, sorted by actual value", ylabel=_upper_first(target_name),
                title=f"Predictions along the range{shown}")
    ordered.legend(loc="upper left")
    _title(fig, title)
    return fig


@_styled
def forecast_vs_actual(
    history: Any,
    actual: Any,
    forecast: Any,
    *,
    lower: Any = None,
    upper: Any = None,
    target_name: str = "value",
    title: str | None = None,
) -> Figure:
    """One series: the observed context, then the actual future beside the forecast.

    Steps are numbered relative to the forecast origin: the context is steps `-len(history)`
    to -1, the horizon 0 to `len(actual) - 1`. `lower`/`upper` draw an interval band.

    Args:
        history: the observed values before the forecast origin.
        actual: the actual values over the horizon.
        forecast: the predicted values over the horizon (same length as `actual`).
        lower, upper: optional interval bounds over the horizon.
        target_name: what the values are, for the axis label.
        title: optional figure title.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:
    >>> fig = forecast_vs_actual([1.0, 2.0, 3.0], [4.0, 5.0], [4.2, 4.7], target_name="demand")
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:3]
    ['history', 'actual', 'forecast']
    """
    past, future, predicted = _as_1d(history, "history"), _as_1d(actual, "actual"), _as_1d(forecast, "forecast")
    if len(future) != len(predicted):
        raise ConfigError(f"actual has {len(future)} steps but forecast has {len(predicted)}.")
    fig = _figure(8.0, 3.4)
    ax = fig.subplots()
    steps = np.arange(len(future))
    ax.plot(np.arange(-len(past), 0), past, color="#1a1a1a", linewidth=1.6, label="history")
    ax.plot(steps, future, color="#1a1a1a", linewidth=1.6, linestyle="--", marker="o", markersize=3, label="actual")
    ax.plot(steps, predicted, color=PALETTE[0], linewidth=2, marker="o", markersize=3, label="forecast")
    if lower is not None and upper is not None:
        ax.fill_between(steps, _as_1d(lower, "lower"), _as_1d(upper, "upper"), color=PALETTE[0], alpha=0.18,
                        label="interval")
    ax.axvline(-0.5, color=CHANCE_COLOR, linestyle=":", linewidth=1.2)
    ax.set(xlabel="Step (0 = first forecast step)", ylabel=_upper_first(target_name), title="Forecast vs actual")
    ax.legend(loc="best")
    _title(fig, title)
    return fig


# === Transfer and explanations ===


@_styled
def transfer_gain(
    results: Mapping[str, Mapping[float, Sequence[float]]],
    *,
    metric: str = "accuracy",
    higher_is_better: bool = True,
    title: str | None = None,
) -> Figure:
    """Grouped bars of a metric by label fraction, one bar per arm (e.g. scratch vs transfer).

    Each bar is the mean over seeds, with an error bar of one standard deviation. When both a
    `"scratch"` and a `"transfer"` arm are given, each group is labelled with the gain of transfer
    over scratch: positive when transfer is better (for a lower-is-better metric such as RMSE,
    scratch minus transfer), as in the transfer report's table.

    Args:
        results: `{arm: {label_fraction: [score per seed, ...]}}`, e.g.
            `{"scratch": {0.1: [0.71, 0.74]}, "transfer": {0.1: [0.80, 0.82]}}`.
        metric: the metric's name, for the axis label.
        higher_is_better: the metric's direction (False for RMSE, MAE, cost).
        title: optional figure title.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:
    >>> fig = transfer_gain({"scratch": {0.1: [0.70, 0.72], 1.0: [0.86, 0.88]},
    ...                      "transfer": {0.1: [0.80, 0.84], 1.0: [0.89, 0.90]}})
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['gain +0.110', 'gain +0.025']
    >>> fig = transfer_gain({"scratch": {0.1: [20.0]}, "transfer": {0.1: [18.0]}}, metric="rmse", higher_is_better=False)
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['gain +2.000']
    """
    arms = [a for a in results if results[a]]
    if not arms:
        raise ConfigError("transfer_gain: no results; expected {arm: {label_fraction: [scores...]}}.")
    fractions = sorted({float(f) for arm in arms for f in results[arm]})
    fig = _figure(max(4.8, 1.3 * len(fractions) + 2.4), 3.7)
    ax = fig.subplots()
    width = 0.8 / len(arms)
    tops = np.zeros(len(fractions))
    means: dict[str, dict[float, float]] = {}
    for i, arm in enumerate(arms):
        scores = {float(f): np.asarray(v, dtype="float64") for f, v in results[arm].items()}
        mean = np.array([scores[f].mean() if f in scores else np.nan for f in fractions])
        # One seed has no spread: NaN draws no error bar (a zero-width one looked like a measured spread of 0).
        std = np.array([scores[f].std(ddof=1) if f in scores and len(scores[f]) > 1 else np.nan for f in fractions])
        seeds = sorted({len(v) for v in scores.values()})
        positions = np.arange(len(fractions)) + (i - (len(arms) - 1) / 2) * width
        ax.bar(positions, mean, width * 0.92, yerr=std, capsize=3, color=PALETTE[i % len(PALETTE)],
               label=f"{arm} (n={'/'.join(map(str, seeds))} seed{'s' if seeds != [1] else ''})",
               error_kw={"linewidth": 1, "ecolor": "#333333"})
        tops = np.fmax(tops, np.nan_to_num(mean + np.nan_to_num(std)))
        means[arm] = dict(zip(fractions, mean.tolist(), strict=True))
    if "scratch" in means and "transfer" in means:
        for j, f in enumerate(fractions):
            gain = (means["transfer"][f] - means["scratch"][f]) * (1.0 if higher_is_better else -1.0)
            if np.isfinite(gain):
                ax.annotate(f"gain {gain:+.3f}", (j, tops[j]), xytext=(0, 4), textcoords="offset points",
                            ha="center", va="bottom", fontsize=8.5, fontweight="bold")
    ax.set_xticks(range(len(fractions)), [f"{100 * f:g}%" for f in fractions])
    # Head room above the bars for the gain labels, and the legend below the axes so it hides none of them.
    ax.set_ylim(0, float(np.nanmax(tops)) * 1.15 or 1.0)
    direction = "higher" if higher_is_better else "lower"
    ax.set(xlabel="Share of training labels used", ylabel=f"{_pretty(metric)} ({direction} is better)",
           title=f"{_pretty(metric)} by label budget")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=len(arms), frameon=False)
    _title(fig, title)
    return fig


@_styled
def feature_importance(
    names: Sequence[str],
    importance: Any,
    std: Any = None,
    *,
    metric: str = "score",
    higher_is_better: bool = True,
    top: int = 20,
    title: str | None = None,
) -> Figure:
    """Horizontal bars of per-feature importance (e.g. permutation importance), largest on top.

    Args:
        names: feature names.
        importance: one value per feature (e.g. the drop in the metric when it is shuffled).
        std: optional standard deviation per feature, drawn as error bars.
        metric: what the importance is measured in, for the axis label.
        higher_is_better: whether the metric is a score (importance = its drop) or an error
            such as RMSE (importance = its rise).
        top: show at most this many features.
        title: optional figure title.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:
    >>> fig = feature_importance(["age", "income", "tenure"], [0.01, 0.08, 0.03], metric="ROC-AUC")
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['income', 'tenure', 'age']
    """
    values = _as_1d(importance, "importance")
    if len(values) != len(names):
        raise ConfigError(f"feature_importance: {len(names)} names but {len(values)} importances.")
    errors = np.zeros_like(values) if std is None else _as_1d(std, "std")
    order = np.argsort(-values, kind="stable")[:top]
    fig = _figure(6.4, 0.28 * len(order) + 1.3)
    ax = fig.subplots()
    y = np.arange(len(order))
    colors = [PALETTE[0] if values[i] >= 0 else PALETTE[5] for i in order]
    ax.barh(y, values[order], xerr=errors[order], color=colors, capsize=2, height=0.7,
            error_kw={"linewidth": 0.9, "ecolor": "#333333"})
    ax.set_yticks(y, [str(names[i]) for i in order])
    ax.invert_yaxis()
    ax.axvline(0, color="#4d4d4d", linewidth=0.8)
    ax.grid(axis="y", visible=False)
    ax.set(xlabel=f"{'Drop' if higher_is_better else 'Rise'} in {metric} when the feature is shuffled",
           title=f"Permutation importance (top {len(order)} of {len(values)})")
    _title(fig, title)
    return fig
