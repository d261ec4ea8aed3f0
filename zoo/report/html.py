"""A self-contained HTML report of a run directory: metrics, baselines, plots, explanations and
the model card, in one file with every image embedded (no external links, scripts or styles).

The report reads the run directory's fixed files (`config.json`, `report.json`,
`history.json`, `model.keras`) and `predictions.npz` when the harness wrote it; otherwise it
reloads the model (safe mode) and the test split and recomputes the predictions. What cannot be
loaded (e.g. a dataset absent on this machine) is listed in the report instead of failing it.

`write_report` does it all; `load_run`, `explain_run`, `run_figures` and `render_html` are its
steps, each usable alone (e.g. in a notebook to show one plot).
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import importlib
import itertools
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from zoo.data import DATASETS
from zoo.data.types import Dataset
from zoo.errors import ConfigError, ZooError
from zoo.harness.fit import Run, load_run_config, run_data
from zoo.report import explain, plots
from zoo.report.metrics import classification_metrics, regression_metrics
from zoo.tasks.base import Task

PREDICTIONS_FILE = "predictions.npz"
REPORT_FILE = "report.html"


@dataclasses.dataclass
class RunArtifacts:
    """Everything a report needs from one run, loaded once.

    Args:
        run_dir: the run directory.
        config: `config.json` as a dict.
        report: `report.json` as a dict (test metrics and baselines).
        history: `history.json` (per-epoch metrics), empty if absent.
        task: the run's `Task` (after overrides).
        model: the trained model (or any callable `x -> predictions`), or None when it could not be loaded.
        data: the run's prepared `Dataset`, or None when the data is not available here.
        y_true, y_pred: test targets and model outputs, or None.
        predictions_source: `"predictions.npz"`, `"recomputed"` or `"unavailable"`.
        notes: what could not be loaded or computed, and why.
    """

    run_dir: Path
    config: dict[str, Any]
    report: dict[str, Any]
    history: dict[str, list[float]]
    task: Task
    model: explain.Predictor | None = None
    data: Dataset | None = None
    y_true: np.ndarray | None = None
    y_pred: np.ndarray | None = None
    predictions_source: str = "unavailable"
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def class_names(self) -> list[str]:
        """The class names the report's confusion matrix uses (empty for regression)."""
        return list(self.report.get("test", {}).get("confusion_matrix", {}).get("labels", []))


# === Loading ===


def _read_json(path: Path, default: Any = None) -> Any:
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON ({error}).") from None


def _metrics_of(task: Task, y_true: np.ndarray, y_pred: np.ndarray, meta: Mapping[str, Any], names: list[str]) -> dict:
    if task.head.kind in ("binary", "multiclass"):
        return classification_metrics(y_true, y_pred, names, meta.get("cost_matrix"))
    return regression_metrics(y_true, y_pred, rul=meta.get("rul_cap") is not None)


def load_run(
    run: str | os.PathLike | Run,
    *,
    data: Dataset | None = None,
    data_dir: str | None = None,
    load_model: bool = True,
) -> RunArtifacts:
    """Load a run directory (or a `zoo.Run`) for reporting: files, model, data and test predictions.

    Predictions come from `predictions.npz` when present; otherwise they are recomputed with
    the model (reloaded in safe mode) on the test split (reloaded with the run's config, or
    `data`). Recomputed predictions are checked against `report.json`'s primary metric.
    Failures to load the model or the data become `notes`, not exceptions.

    Args:
        run: a run directory or the `Run` that `zoo.fit` returned (its model is reused).
        data: optional `Dataset` to use instead of reloading the run's data.
        data_dir: optional directory to look for the dataset in first.
        load_model: whether to load the model (needed for recomputed predictions and explanations).

    Returns:
        A `RunArtifacts`.

    Example:
    >>> import tempfile, zoo
    >>> run = zoo.fit("medical/breast_cancer_diagnosis", out_dir=tempfile.mkdtemp(), epochs=1, verbose=0)
    >>> artifacts = load_run(run)
    >>> artifacts.y_true.shape, artifacts.y_pred.shape, artifacts.notes
    ((114,), (114, 1), [])
    """
    model = run.model if isinstance(run, Run) else None
    run_dir = Path(run.run_dir if isinstance(run, Run) else run)
    if not run_dir.is_dir():
        raise ConfigError(f"Run directory {run_dir} does not exist.")
    config = load_run_config(run_dir)
    report = _read_json(run_dir / "report.json")
    if report is None:
        raise ConfigError(f"{run_dir} has no report.json: the run did not finish. Resume it or run `zoo evaluate`.")
    artifacts = RunArtifacts(
        run_dir=run_dir, config=_read_json(run_dir / "config.json"), report=report,
        history=_read_json(run_dir / "history.json", {}), task=Task.from_dict(config.task),
    )
    if load_model and model is None:
        from zoo.export import load_run_model

        try:  # checked against report.json's sha256: another run's model would explain other predictions
            model = load_run_model(run_dir)
        except Exception as error:  # a report of what was saved is still useful without the model
            artifacts.notes.append(f"The model could not be loaded, so what needs it is skipped "
                                   f"({type(error).__name__}: {error})")
    artifacts.model = model
    if data_dir:
        config.data_dir = data_dir
    try:
        artifacts.data = run_data(run_dir, artifacts.task, config, data)
    except ZooError as error:
        artifacts.notes.append(f"The test data is not available here, so plots that need it are skipped: {error}")
    _load_predictions(artifacts)
    return artifacts


def _load_predictions(artifacts: RunArtifacts) -> None:
    path = artifacts.run_dir / PREDICTIONS_FILE
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as saved:
                y_true, y_pred = saved["y_true"], saved["y_pred"]
        except (KeyError, ValueError, OSError) as error:
            raise ConfigError(f"{path}: expected an .npz file with arrays 'y_true' and 'y_pred' ({error}).") from None
        if len(y_true) != len(y_pred):
            raise ConfigError(f"{path}: y_true has {len(y_true)} rows but y_pred has {len(y_pred)}.")
        artifacts.y_true, artifacts.y_pred = y_true, y_pred
        artifacts.predictions_source = PREDICTIONS_FILE
        return
    if artifacts.model is None or artifacts.data is None:
        artifacts.notes.append("Test predictions are unavailable (no predictions.npz, and the model or the data could "
                               "not be loaded): ROC/PR and prediction plots are omitted.")
        return
    artifacts.y_true = np.asarray(artifacts.data.test.y)
    artifacts.y_pred = explain.predict(artifacts.model, artifacts.data.test.x, batch_size=256)
    artifacts.predictions_source = "recomputed"
    primary = artifacts.task.primary_metric
    saved = artifacts.report.get("test", {}).get(primary)
    names = artifacts.class_names or list(artifacts.data.meta.get("class_names") or [])
    again = _metrics_of(artifacts.task, artifacts.y_true, artifacts.y_pred, artifacts.data.meta, names).get(primary)
    if saved is not None and again is not None and not np.isclose(saved, again, rtol=1e-4, atol=1e-6):
        artifacts.notes.append(
            f"Recomputed {primary} is {again:.4f} but report.json says {saved:.4f}: the data or the model changed since "
            "the run. The plots show the recomputed predictions."
        )


# === Explanations and figures ===


def _choose_examples(y_true: np.ndarray, y_pred: np.ndarray, count: int) -> np.ndarray:
    """Misclassified examples first (the most instructive), then confident correct ones."""
    proba = explain.class_probabilities(y_pred)
    predicted = proba.argmax(1)
    wrong = np.flatnonzero(predicted != y_true.astype(int))
    right = np.flatnonzero(predicted == y_true.astype(int))
    right = right[np.argsort(-proba[right].max(1), kind="stable")]
    chosen = list(wrong[: count // 2]) + list(right[: count - min(len(wrong), count // 2)])
    return np.sort(np.asarray(chosen[:count], dtype=int))


def explain_run(
    artifacts: RunArtifacts, *, n_repeats: int = 5, text_examples: int = 6, max_rows: int = 2000
) -> dict[str, Any]:
    """Explanations for a loaded run: permutation importance (tabular columns, time-series
    channels), word attributions (text) and metrics per subgroup (tabular data with
    categorical columns).

    Args:
        artifacts: from `load_run`.
        n_repeats: int. Shuffles per feature for permutation importance.
        text_examples: int. Test sentences to attribute (misclassified ones first).
        max_rows: int. Test rows used for permutation importance at most.

    Returns:
        A dict with the keys that apply: `permutation_importance`, `token_attributions`,
        `subgroups`.

    Example:
    >>> from zoo.data import load_dataset
    >>> from zoo.tasks import get_task
    >>> data = load_dataset("breast_cancer")
    >>> model = lambda x: 1 / (1 + np.exp(x["numeric"][:, 0] - 14))  # benign when "mean radius" is small
    >>> artifacts = RunArtifacts(Path("."), {}, {}, {}, get_task("medical/breast_cancer_diagnosis"), model, data)
    >>> result = explain_run(artifacts, n_repeats=2)
    >>> result["permutation_importance"]["features"][0]["name"]
    'mean radius'
    """
    out: dict[str, Any] = {}
    data, model, task = artifacts.data, artifacts.model, artifacts.task
    if data is None:
        return out
    kind = task.head.kind
    tabular = isinstance(data.test.x, Mapping)
    windows = task.modality == "timeseries" and np.ndim(data.test.x) == 3
    if (tabular or windows) and model is not None and kind in ("binary", "multiclass", "regression"):
        out["permutation_importance"] = explain.permutation_importance(
            model, data.test.x, data.test.y, kind=kind, meta=data.meta, n_repeats=n_repeats,
            seed=int(artifacts.config.get("seed", 0)), max_rows=max_rows)
    vocabulary = data.meta.get("vocabulary")
    if (task.modality == "text" and model is not None and vocabulary and artifacts.y_pred is not None
            and kind in ("binary", "multiclass")):
        index = _choose_examples(artifacts.y_true, artifacts.y_pred, text_examples)
        texts = data.extra.get("text", {}).get("test")
        out["token_attributions"] = explain.token_attributions(
            model, np.asarray(data.test.x)[index], vocabulary, class_names=artifacts.class_names or None,
            labels=np.asarray(data.test.y)[index], texts=None if texts is None else np.asarray(texts)[index])
    if tabular and artifacts.y_pred is not None:
        groups = explain.categorical_groups(data.test.x, data.meta)
        if groups:
            out["subgroups"] = explain.subgroup_metrics(
                artifacts.y_true, artifacts.y_pred, groups, kind=kind, class_names=artifacts.class_names or None,
                cost_matrix=data.meta.get("cost_matrix"))
    return out


def _change(importance: Mapping[str, Any]) -> str:
    return "Drop" if importance.get("higher_is_better", True) else "Rise"


def _target_name(meta: Mapping[str, Any]) -> str:
    name = str(meta.get("target_name") or "target")
    return f"{name} (cycles)" if meta.get("rul_cap") is not None else name


@dataclasses.dataclass
class ReportFigure:
    """A figure of the report with its heading and caption."""

    title: str
    figure: Figure
    caption: str


def run_figures(artifacts: RunArtifacts, explanations: Mapping[str, Any] | None = None) -> dict[str, ReportFigure]:
    """The plots that apply to a run, by key: `training_curves`, `confusion_matrix`, `roc_pr`,
    `prediction_vs_actual`, `feature_importance`.

    Args:
        artifacts: from `load_run`.
        explanations: optional, from `explain_run` (for the importance plot).

    Returns:
        `{key: ReportFigure}` in display order.

    Example:
    >>> from zoo.tasks import get_task
    >>> report = {"test": {"confusion_matrix": {"labels": ["malignant", "benign"], "matrix": [[40, 3], [2, 69]]}}}
    >>> artifacts = RunArtifacts(Path("."), {}, report, {"loss": [0.6, 0.4]}, get_task("medical/breast_cancer_diagnosis"))
    >>> list(run_figures(artifacts))
    ['training_curves', 'confusion_matrix']
    """
    figures: dict[str, ReportFigure] = {}
    test = artifacts.report.get("test", {})
    meta = artifacts.data.meta if artifacts.data is not None else {}
    if any(artifacts.history.values()):
        monitor = artifacts.task.training.monitor
        figures["training_curves"] = ReportFigure(
            "Training curves", plots.training_curves(artifacts.history, monitor=monitor),
            "Per-epoch metrics on the training split (solid) and the validation split (dashed). The dotted line marks "
            f"the best epoch by {monitor}, the metric early stopping watched (it restores that epoch's weights).")
    if "confusion_matrix" in test:
        cm = test["confusion_matrix"]
        figures["confusion_matrix"] = ReportFigure(
            "Confusion matrix", plots.confusion_matrix(cm["matrix"], cm["labels"]),
            "Test split. Rows are the true class, columns the predicted class (probability 0.5 for binary tasks, the "
            "most probable class otherwise). Each cell shows the count and its share of the row, i.e. the recall of "
            "the true class on the diagonal.")
    have_predictions = artifacts.y_true is not None and artifacts.y_pred is not None
    if have_predictions and artifacts.task.head.kind == "binary" and len(np.unique(artifacts.y_true)) == 2:
        positive = artifacts.class_names[1] if len(artifacts.class_names) == 2 else "class 1"
        figures["roc_pr"] = ReportFigure(
            "ROC and precision-recall curves",
            plots.roc_pr_curves(artifacts.y_true, artifacts.y_pred, positive_name=positive),
            f"Test split, '{positive}' as the positive class. The dot is the operating point at probability 0.5. "
            "Precision-recall is the more informative view when the positive class is rare.")
    if have_predictions and artifacts.task.head.kind in ("regression", "forecast"):
        figures["prediction_vs_actual"] = ReportFigure(
            "Predictions vs actual values",
            plots.prediction_vs_actual(artifacts.y_true, artifacts.y_pred, target_name=_target_name(meta)),
            "Test split. Left: every example against the line of perfect prediction. Right: examples sorted by their "
            "actual value, which shows where in the range the model over- or under-predicts.")
    importance = (explanations or {}).get("permutation_importance")
    if importance:
        features = importance["features"]
        figures["feature_importance"] = ReportFigure(
            "Permutation importance",
            plots.feature_importance([f["name"] for f in features], [f["importance"] for f in features],
                                     [f["std"] for f in features], metric=importance["metric"],
                                     higher_is_better=importance["higher_is_better"]),
            f"{_change(importance)} in test {importance['metric']} (from {importance['baseline']:.4f}) when one "
            f"feature's values are shuffled across {importance['num_rows']} test examples, mean and standard deviation of "
            f"{importance['n_repeats']} shuffles. Correlated features share credit, so a low value does not prove a "
            "feature is unused.")
    return figures


# === HTML ===

_CSS = """
:root{--ink:#1d2733;--muted:#5b6b7c;--line:#e3e8ef;--bg:#f4f6f9;--accent:#0b5cad;--good:#1a7f37;--bad:#b42318}
*{box-sizing:border-box}
body{margin:0;font:14px/1.55 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"DejaVu Sans",sans-serif;
 color:var(--ink);background:var(--bg)}
.wrap{max-width:1120px;margin:0 auto;padding:0 28px}
header.top{background:linear-gradient(135deg,#0b2545 0%,#134074 100%);color:#fff;padding:26px 0 24px}
header .eyebrow{text-transform:uppercase;letter-spacing:.09em;font-size:11.5px;opacity:.75}
header h1{margin:4px 0 6px;font-size:27px;font-weight:650;letter-spacing:-.01em}
header p{margin:0;max-width:900px;opacity:.88}
.chips{margin-top:12px}
.chips span{display:inline-block;background:rgba(255,255,255,.13);border:1px solid rgba(255,255,255,.18);
 border-radius:999px;padding:2px 11px;margin:0 6px 6px 0;font-size:12px}
nav.toc{background:#fff;border-bottom:1px solid var(--line);position:sticky;top:0;z-index:2}
nav.toc a{color:var(--muted);text-decoration:none;margin-right:20px;font-size:13px;display:inline-block;padding:10px 0}
nav.toc a:hover{color:var(--accent)}
section.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin:20px 0;
 box-shadow:0 1px 2px rgba(16,24,40,.05)}
h2{font-size:18px;margin:0 0 14px;font-weight:650}
h3{font-size:14.5px;margin:20px 0 8px;color:#243b53}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px}
.kpi{border:1px solid var(--line);border-radius:8px;padding:12px 14px;background:#fbfcfd}
.kpi .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.kpi .value{font-size:23px;font-weight:650;margin-top:2px;font-variant-numeric:tabular-nums}
.kpi .hint{color:var(--muted);font-size:12px}
.kpi.primary{border-color:#b6d4f2;background:#f2f8fe}
ul.verdicts{margin:14px 0 0;padding-left:18px}
ul.verdicts li{margin:3px 0}
table.compact{width:auto;min-width:460px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:4px 0 8px}
th{text-align:left;color:var(--muted);font-weight:600;border-bottom:2px solid var(--line);padding:6px 10px;
 white-space:nowrap}
td{border-bottom:1px solid var(--line);padding:6px 10px;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.primary td{background:#f2f8fe;font-weight:600}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.good{background:#dafbe1;color:var(--good)}
.badge.bad{background:#ffebe9;color:var(--bad)}
.badge.muted{background:#eef1f5;color:var(--muted)}
.muted{color:var(--muted)}
.small{font-size:12.5px}
figure{margin:18px 0 8px}
figure h3{margin-top:0}
figure img{display:block;max-width:100%;height:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
figcaption{color:var(--muted);font-size:12.5px;margin-top:6px;max-width:900px}
dl.card{display:grid;grid-template-columns:190px 1fr;gap:6px 18px;margin:0}
dl.card dt{color:var(--muted);font-weight:600}
dl.card dd{margin:0}
details{margin:8px 0}
summary{cursor:pointer;color:var(--accent);font-weight:600}
pre{background:#0f1b2d;color:#e6edf3;padding:14px;border-radius:8px;overflow:auto;font-size:12px;line-height:1.45}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12px}
.legend span{display:inline-block;padding:1px 8px;border-radius:3px;margin-right:8px;font-size:12px}
.notes li{margin:4px 0}
footer{color:var(--muted);font-size:12px;padding:8px 0 32px}
@media (max-width:800px){dl.card{grid-template-columns:1fr}}
@media print{nav.toc{display:none}section.card{break-inside:avoid;box-shadow:none}body{background:#fff}}
"""

_METRIC_NAMES = {
    "accuracy": "Accuracy", "macro_f1": "Macro-F1", "roc_auc": "ROC-AUC", "pr_auc": "PR-AUC (average precision)",
    "roc_auc_ovr": "ROC-AUC (one-vs-rest)", "average_cost": "Average cost", "rmse": "RMSE", "mae": "MAE",
    "r2": "R\u00b2", "phm08_score": "PHM08 score", "num_examples": "Test examples",
}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        value = float(value)
        if not np.isfinite(value):
            return "-"
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.2f}"
    return _e(value)


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]], numeric: Iterable[int] = (),
           classes: Iterable[str] | None = None, compact: bool = False) -> str:
    numeric = set(numeric)
    head = "".join(f'<th class="num">{_e(h)}</th>' if i in numeric else f"<th>{_e(h)}</th>"
                   for i, h in enumerate(headers))
    body = []
    for row, css in zip(rows, itertools.repeat("") if classes is None else classes, strict=False):
        cells = "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        body.append(f'<tr class="{css}">{cells}</tr>' if css else f"<tr>{cells}</tr>")
    css_class = ' class="compact"' if compact else ""
    return f"<table{css_class}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _badge(beaten: bool) -> str:
    return '<span class="badge good">meets / beats</span>' if beaten else '<span class="badge bad">falls short</span>'


def _kpis(artifacts: RunArtifacts) -> str:
    report, task = artifacts.report, artifacts.task
    primary = task.primary_metric
    value = report.get("test", {}).get(primary)
    same = [b for b in report.get("baselines", []) if b["metric"] == primary]
    beaten = sum(bool(b["beaten"]) for b in same)
    verdict = f"beats {beaten} of {len(same)} published baseline(s)" if same else "no published baseline on this metric"
    tiles = [("primary", f"Test {_METRIC_NAMES.get(primary, primary)}", _num(value), verdict)]
    tiles.append(("", "Test examples", _num(report.get("test", {}).get("num_examples")),
                  "held-out test split (see the model card)"))
    ensemble = report.get("ensemble")
    epochs = (f"an ensemble of {ensemble['members']} models, epochs run {_e(ensemble['epochs_run'])} (curves: member 0)"
              if ensemble else f"{_num(report.get('epochs_run'))} epoch(s) run")
    tiles.append(("", "Training examples", _num(report.get("train_examples")), epochs))
    seconds = report.get("train_seconds")
    tiles.append(("", "Training time", f"{seconds:,.1f} s" if seconds is not None else "-",
                  f"{_e(report.get('strategy_used') or report.get('strategy', '-'))} strategy, "
                  f"{_num(report.get('replicas'))} replica(s), "
                  f"{_e(report.get('precision', '-'))}"))
    cards = "".join(f'<div class="kpi {css}"><div class="label">{label}</div><div class="value">{val}</div>'
                    f'<div class="hint">{hint}</div></div>' for css, label, val, hint in tiles)
    return f'<div class="kpis">{cards}</div>'


def _summary_sentence(artifacts: RunArtifacts) -> str:
    report = artifacts.report
    lines = []
    for b in report.get("baselines", []):
        better = "higher" if b.get("higher_is_better", True) else "lower"
        lines.append(f"<li>{_e(_METRIC_NAMES.get(b['metric'], b['metric']))}: ours <b>{_num(b['ours'])}</b> vs "
                     f"published {_num(b['value'])} ({_e(b['model'])}; {better} is better) {_badge(b['beaten'])}</li>")
    if not lines:
        return ""
    return '<ul class="verdicts">' + "".join(lines) + "</ul>"


def _metrics_section(artifacts: RunArtifacts) -> str:
    test = artifacts.report.get("test", {})
    primary = artifacts.task.primary_metric
    keys = [k for k in _METRIC_NAMES if k in test]
    rows = [[_e(_METRIC_NAMES[k]) + (' <span class="badge muted">primary</span>' if k == primary else ""), _num(test[k])]
            for k in keys]
    highlight = ["primary" if k == primary else "" for k in keys]
    parts = [_table(["Metric", "Test value"], rows, numeric=[1], classes=highlight, compact=True)]
    per_class = test.get("per_class")
    if per_class:
        rows = [[_e(name), _num(v["precision"]), _num(v["recall"]), _num(v["f1"]), _num(v["support"])]
                for name, v in per_class.items()]
        parts.append("<h3>Per class</h3>" + _table(["Class", "Precision", "Recall", "F1", "Support"], rows, [1, 2, 3, 4],
                                                     compact=True))
    if "confusion_matrix" in test:
        parts.append(_confusion_table(test["confusion_matrix"]))
    if "average_cost" in test:
        parts.append('<p class="small muted">Average cost uses the dataset\'s cost matrix (rows: true class, columns: '
                     "predicted class); lower is better.</p>")
    source = {"predictions.npz": "saved by the harness", "recomputed": "recomputed from the saved model",
              "unavailable": "unavailable"}[artifacts.predictions_source]
    parts.append(f'<p class="small muted">Metrics from report.json; test predictions for the plots: {source}.</p>')
    return "".join(parts)


def _confusion_table(cm: Mapping[str, Any]) -> str:
    """The confusion matrix as a table of counts with each cell's share of its row (the plot's numbers in
    text: readable without the image, by a screen reader, and copied into a document)."""
    labels, matrix = list(cm["labels"]), np.asarray(cm["matrix"], dtype=int)
    totals = matrix.sum(axis=1)
    rows = [[f"<b>{_e(label)}</b>", *(f"{n} ({100 * n / t:.0f}%)" if t else str(n) for n in row), str(t)]
            for label, row, t in zip(labels, matrix, totals, strict=True)]
    return ("<h3>Confusion matrix (test)</h3>"
            + _table(["true \\ predicted", *labels, "total"], rows, numeric=range(1, len(labels) + 2), compact=True)
            + '<p class="small muted">Rows: true class; columns: predicted class; each cell: count (share of its '
              "row: the diagonal is each class's recall).</p>")


def _baselines_section(artifacts: RunArtifacts) -> str:
    baselines = artifacts.report.get("baselines", [])
    if not baselines:
        return '<p class="muted">This task has no published baseline on a metric the report computes.</p>'
    rows = []
    for b in baselines:
        metric = _METRIC_NAMES.get(b["metric"], b["metric"]) + (" (higher is better)" if b.get("higher_is_better", True)
                                                                 else " (lower is better)")
        citation = _e(b["citation"]) + (f'<div class="small muted">{_e(b["note"])}</div>' if b.get("note") else "")
        rows.append([_e(metric), _e(b["model"]), citation, _num(b["value"]), _num(b["ours"]), _badge(b["beaten"])])
    return _table(["Metric", "Published model", "Source", "Published", "Ours", "Verdict"], rows, numeric=[3, 4])


def _figure_html(item: ReportFigure) -> str:
    # Rendered at plots.DPI for sharp text on high-density screens, shown at 96 CSS pixels per inch.
    width = int(round(item.figure.get_size_inches()[0] * 96))
    return (f"<figure><h3>{_e(item.title)}</h3><img alt=\"{_e(item.title)}\" width=\"{width}\" "
            f"src=\"{plots.to_data_uri(item.figure)}\"><figcaption>{_e(item.caption)}</figcaption></figure>")


_TOKEN_STYLE = "padding:2px 4px;border-radius:3px;line-height:2.1"
_VERDICT_STYLE = "border-radius:999px;padding:1px 8px;font-size:12px;font-weight:600;white-space:nowrap"


def _words_html(item: Mapping[str, Any]) -> str:
    scores = np.asarray(item["attributions"], dtype="float64")
    scale = float(np.abs(scores).max()) if len(scores) and np.abs(scores).max() > 0 else 1.0
    spans = []
    for token, score in zip(item["tokens"], scores, strict=True):
        alpha = 0.85 * min(1.0, abs(score) / scale)
        rgb = "0,114,178" if score >= 0 else "213,94,0"
        color = "#fff" if alpha > 0.55 else "inherit"
        spans.append(f'<span style="{_TOKEN_STYLE};background:rgba({rgb},{alpha:.2f});color:{color}" '
                     f'title="{score:+.4f}">{_e(token)}</span>')
    text = f'<div style="color:#5b6b7c;font-size:12.5px">{_e(item["text"])}</div>' if item.get("text") else ""
    return " ".join(spans) + text


def word_attributions_html(items: Sequence[Mapping[str, Any]]) -> str:
    """An HTML table of occlusion word attributions, styled inline so it looks the same in the
    report and in a notebook (`IPython.display.HTML(word_attributions_html(items))`).

    Blue words support the predicted class, orange words speak against it; the colour's
    strength is the attribution relative to the sentence's largest (hover a word for its value).

    Args:
        items: from `zoo.report.explain.token_attributions` (or `explain_run`'s
            `"token_attributions"`).

    Returns:
        str. An HTML `<table>`.

    Example:
    >>> item = {"tokens": ["profit", "rose"], "attributions": [0.0, 0.8], "predicted": "up", "probability": 0.9,
    ...         "label": "up"}
    >>> "background:rgba(0,114,178,0.85)" in word_attributions_html([item])
    True
    """
    rows = []
    for item in items:
        right = item.get("label") == item["predicted"]
        style = "background:#dafbe1;color:#1a7f37" if right else "background:#ffebe9;color:#b42318"
        verdict = "" if "label" not in item else (
            f'<span style="{_VERDICT_STYLE};{style}">{"correct" if right else "wrong"}</span>')
        rows.append([_e(item.get("label", "-")), f"{_e(item['predicted'])} ({100 * item['probability']:.0f}%) {verdict}",
                     _words_html(item)])
    return _table(["True class", "Predicted", "Words as the model sees them (original below)"], rows)


def _explanations_section(artifacts: RunArtifacts, explanations: Mapping[str, Any],
                          figures: Mapping[str, ReportFigure]) -> str:
    parts = []
    if "feature_importance" in figures:
        parts.append(_figure_html(figures["feature_importance"]))
        importance = explanations["permutation_importance"]
        rows = [[_e(f["name"]), _e(f["input"] or "channel"), _num(f["importance"]), _num(f["std"])]
                for f in importance["features"]]
        parts.append(f"<details><summary>All {len(rows)} features</summary>"
                     + _table(["Feature", "Input", f"{_change(importance)} in {importance['metric']}", "Std"], rows, [2, 3],
                              compact=True) + "</details>")
    attributions = explanations.get("token_attributions")
    if attributions:
        parts.append(
            "<h3>Word attributions (occlusion)</h3><p class=\"small muted\">Each word is removed in turn (masked as "
            "padding) and the test sentence scored again. Blue words support the predicted class, orange words speak "
            "against it; the stronger the colour, the larger the change in its probability (hover for the value). "
            "Misclassified sentences are shown first.</p>"
            '<p class="legend"><span style="background:rgba(0,114,178,.6)">supports prediction</span>'
            '<span style="background:rgba(213,94,0,.6)">against prediction</span></p>')
        parts.append(word_attributions_html(attributions))
    if not parts:
        modality = artifacts.task.modality
        reason = ("the model or the test data could not be loaded" if artifacts.model is None or artifacts.data is None
                  else f"no explanation method is implemented for {modality} inputs yet")
        parts.append(f'<p class="muted">No explanations: {_e(reason)}.</p>')
    return "".join(parts)


def _dataset_info(artifacts: RunArtifacts) -> dict[str, Any]:
    meta = dict(artifacts.data.meta) if artifacts.data is not None else {}
    loader = DATASETS.get(artifacts.task.dataset)
    source = getattr(importlib.import_module(loader.__module__), "SOURCE", None) if loader else None
    saved = artifacts.config.get("data", {}) or {}
    return {
        "name": artifacts.task.dataset,
        "license": meta.get("license") or getattr(source, "license", "") or artifacts.task.license,
        "citation": meta.get("citation") or getattr(source, "citation", ""),
        "url": getattr(source, "url", ""),
        "split": meta.get("split") or saved.get("split") or artifacts.report.get("split", ""),
        "sha256": meta.get("sha256") or saved.get("sha256") or {},
        "redistributable": getattr(source, "redistributable", None),
    }


def _gap(group: list[dict[str, Any]], key: str) -> float:
    scored = [r["metrics"][key] for r in group if r["metrics"] and r["metrics"].get(key) is not None]
    return max(scored) - min(scored) if len(scored) > 1 else 0.0


def _subgroup_html(artifacts: RunArtifacts, rows: list[dict[str, Any]]) -> str:
    classification = artifacts.task.head.kind in ("binary", "multiclass")
    names = artifacts.class_names
    positive = names[1] if classification and len(names) == 2 else None
    key = "accuracy" if classification else "rmse"
    by_column: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_column.setdefault(r["column"], []).append(r)
    # Open the columns the dataset marks as sensitive, and the one with the widest gap; sensitive ones first.
    meta = artifacts.data.meta if artifacts.data is not None else {}
    sensitive = [c for c in meta.get("sensitive_columns", []) if c in by_column]
    widest = max(by_column, key=lambda c: _gap(by_column[c], key))
    opened = set(sensitive) | {widest}
    order = sensitive + [c for c in by_column if c not in sensitive]
    parts = []
    for column in order:
        group = by_column[column]
        if classification:
            headers = ["Group", "n", "Accuracy", "ROC-AUC"]
            if positive:
                headers += [f"Recall of '{positive}'", f"Predicted '{positive}'", f"Actual '{positive}'"]
            if any("average_cost" in r["metrics"] for r in group):
                headers.append("Avg cost")
        else:
            headers = ["Group", "n", "RMSE", "MAE", "R\u00b2"]
        table_rows = []
        for r in group:
            m = r["metrics"]
            if not m:
                table_rows.append([_e(r["group"]), _num(r["n"])] + ['<span class="muted">too few</span>']
                                  + [""] * (len(headers) - 3))
                continue
            if classification:
                cells = [_num(m.get("accuracy")), _num(m.get("roc_auc"))]
                if positive:
                    cells += [_num(m["recall"][positive]), _num(m["predicted_rate"][positive]),
                              _num(m["true_rate"][positive])]
                if "Avg cost" in headers:
                    cells.append(_num(m.get("average_cost")))
            else:
                cells = [_num(m["rmse"]), _num(m["mae"]), _num(m["r2"])]
            table_rows.append([_e(r["group"]), _num(r["n"])] + cells)
        scored = [(r["metrics"][key], r["group"]) for r in group if r["metrics"]]
        spread = ""
        if len(scored) > 1:
            (low, low_g), (high, high_g) = min(scored), max(scored)
            spread = (f' <span class="muted small">{_e(_METRIC_NAMES[key])} from {_num(low)} ({_e(low_g)}) to '
                      f"{_num(high)} ({_e(high_g)}), a gap of {_num(high - low)}</span>")
        label = f"{_e(column)} ({len(group)} groups)" + (" &middot; sensitive" if column in sensitive else "")
        table = _table(headers, table_rows, numeric=range(1, len(headers)))
        parts.append(f"<details{' open' if column in opened else ''}><summary>{label}</summary>{spread}{table}</details>")
    return "".join(parts)


def _model_card_section(artifacts: RunArtifacts, explanations: Mapping[str, Any]) -> str:
    task = artifacts.task
    info = _dataset_info(artifacts)
    checksums = "".join(f"<div><code>{_e(f)}</code> <code class=\"muted\">{_e(h)}</code></div>"
                        for f, h in (info["sha256"].items() if isinstance(info["sha256"], Mapping) else []))
    redistribution = {True: "the files may be redistributed", False: "the files may NOT be redistributed; the zoo never "
                      "ships them", None: "-"}[info["redistributable"]]
    entries = [
        ("Task", f"{_e(task.name)} <span class=\"muted\">({_e(task.industry)}, {_e(task.modality)})</span>"),
        ("Description", _e(task.description)),
        ("Model", f"{_e(task.backbone.describe())} backbone + "
                  f"{_e(task.head.kind)} head; loss {_e(task.loss)}; trained "
                  f"{'frozen-base' if task.training.freeze else 'end to end'}"),
        ("Intended use", _e(task.intended_use or "-")),
        ("Limitations", _e(task.limitations or "-")),
        ("Data", f"{_e(info['name'])}" + (f' <span class="muted">({_e(info["url"])})</span>' if info["url"] else "")),
        ("License", f"{_e(info['license'] or '-')} <span class=\"muted small\">({_e(redistribution)})</span>"),
        ("Citation", _e(info["citation"] or "-")),
        ("Split", _e(info["split"] or "-")),
        ("Checksums (sha256)", checksums or "-"),
    ]
    parts = ['<dl class="card">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in entries) + "</dl>"]
    parts.append("<h3>Metrics per subgroup</h3>")
    subgroups = explanations.get("subgroups")
    if subgroups:
        parts.append('<p class="small muted">Test metrics within each category of the data\'s categorical columns. '
                     "Recall of the positive class per group is the equal-opportunity view; the predicted and actual "
                     "positive rates, the demographic-parity view. Groups under 10 examples get no metrics. "
                     "Differences between groups on a test split this size can be noise; check them on more data "
                     "before drawing conclusions.</p>")
        parts.append(_subgroup_html(artifacts, subgroups))
    elif artifacts.data is None:
        parts.append('<p class="muted">Not computed: the test data could not be loaded here.</p>')
    else:
        parts.append('<p class="muted">The data has no categorical column to form subgroups from (no demographic or '
                     "site attributes are recorded), so performance across subpopulations cannot be checked here.</p>")
    return "".join(parts)


def _config_section(artifacts: RunArtifacts) -> str:
    config, task, report = artifacts.config, artifacts.task, artifacts.report
    tc = task.training
    versions = config.get("versions", {})
    rows = [
        ["Backbone", _e(task.backbone.describe())],
        # report.json's head is the one built (outputs and target scale from the data); config.json's, the recipe's
        ["Head", f"<code>{_e(json.dumps(report.get('head') or dataclasses.asdict(task.head)))}</code>"],
        ["Loss / metrics", f"{_e(task.loss)} / {_e(', '.join(task.metrics))}"],
        ["Training", f"{tc.epochs} epochs max, batch {tc.batch_size}, learning rate {tc.learning_rate:g} "
                     f"({_e(tc.learning_rate_schedule)}), weight decay {tc.weight_decay:g}, "
                     f"early-stopping patience {tc.patience} on {_e(tc.monitor)}, class weight {_e(tc.class_weight)}"],
        ["Transfer", f"freeze {tc.freeze}, fine-tune {tc.fine_tune_epochs} epoch(s) at {tc.fine_tune_learning_rate:g}"
                     + (f"; preset pretrained by {_e(config['preset'].get('objective', '?'))} on "
                        f"{_e(config['preset'].get('corpus', '?'))}" if config.get("preset") else "")],
        ["Run", f"seed {_e(config.get('seed'))}, strategy {_e(config.get('strategy'))}, precision "
                f"{_e(config.get('precision') or 'auto')}, XLA {_e(config.get('jit_compile'))}"
                + (f" (used: {_e(report['xla'])})" if "xla" in report else "") + ", deterministic "
                f"{_e(config.get('deterministic'))}, max train examples {_e(config.get('max_train_examples'))}"],
        ["Versions", _e(", ".join(f"{k} {v}" for k, v in versions.items()) or "-")],
        ["Run directory", f"<code>{_e(artifacts.run_dir.resolve())}</code>"],
    ]
    table = _table(["Setting", "Value"], rows)
    raw = _e(json.dumps(config, indent=2, default=str))
    return (f"{table}<details><summary>config.json</summary><pre><code>{raw}</code></pre></details>"
            '<p class="small muted">Rebuild this run exactly with <code>zoo.harness.fit.run(load_run_config(RUN_DIR))'
            "</code> on the same data.</p>")


def render_html(
    artifacts: RunArtifacts,
    explanations: Mapping[str, Any] | None = None,
    figures: Mapping[str, ReportFigure] | None = None,
) -> str:
    """The report as one HTML string: inline CSS, images as base64 PNG data URIs, no scripts or links.

    Args:
        artifacts: from `load_run`.
        explanations: optional, from `explain_run`.
        figures: optional, from `run_figures` (computed when not given).

    Returns:
        str. A complete HTML document.

    Example:
    >>> from zoo.tasks import get_task
    >>> report = {"test": {"accuracy": 0.96, "num_examples": 114}, "baselines": []}
    >>> page = render_html(RunArtifacts(Path("."), {}, report, {}, get_task("medical/breast_cancer_diagnosis")))
    >>> page.startswith("<!DOCTYPE html>"), "<script" in page, "0.9600" in page
    (True, False, True)
    """
    explanations = explanations or {}
    figures = dict(figures if figures is not None else run_figures(artifacts, explanations))
    task = artifacts.task
    report_file = artifacts.run_dir / "report.json"
    created = (datetime.datetime.fromtimestamp(report_file.stat().st_mtime) if report_file.is_file()
               else datetime.datetime.now())
    chips = [task.industry, task.modality, f"data: {task.dataset}", f"backbone: {task.backbone.name}",
             f"head: {task.head.kind}", f"seed {artifacts.config.get('seed')}", created.strftime("%Y-%m-%d %H:%M")]
    plot_keys = [k for k in ("training_curves", "confusion_matrix", "roc_pr", "prediction_vs_actual") if k in figures]
    sections = [
        ("summary", "Summary", _kpis(artifacts) + _summary_sentence(artifacts)),
        ("metrics", "Test metrics", _metrics_section(artifacts)),
        ("baselines", "Published baselines", _baselines_section(artifacts)),
        ("plots", "Plots", "".join(_figure_html(figures[k]) for k in plot_keys) or '<p class="muted">No plots.</p>'),
        ("explanations", "Explanations", _explanations_section(artifacts, explanations, figures)),
        ("model-card", "Model card", _model_card_section(artifacts, explanations)),
        ("config", "Configuration", _config_section(artifacts)),
    ]
    if artifacts.notes:
        sections.append(("notes", "Notes", '<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in artifacts.notes)
                         + "</ul>"))
    nav = "".join(f'<a href="#{key}">{_e(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section class="card" id="{key}"><h2>{_e(title)}</h2>{content}</section>'
                   for key, title, content in sections)
    from zoo import __version__

    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(task.name)} - Vertical Zoo run report</title><style>{_CSS}</style></head><body>"
        f'<header class="top"><div class="wrap"><div class="eyebrow">Vertical Zoo &middot; run report</div>'
        f"<h1>{_e(task.name)}</h1><p>{_e(task.description)}</p>"
        f'<div class="chips">{"".join(f"<span>{_e(c)}</span>" for c in chips)}</div></div></header>'
        f'<nav class="toc"><div class="wrap">{nav}</div></nav>'
        f'<main class="wrap">{body}</main>'
        f'<footer class="wrap">Generated by Vertical Zoo {_e(__version__)} (<code>zoo report</code>) on '
        f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} from <code>{_e(artifacts.run_dir.name)}</code>. "
        "Self-contained: no external resources.</footer>"
        "</body></html>\n"
    )


def write_report(
    run: str | os.PathLike | Run,
    out: str | os.PathLike | None = None,
    *,
    data: Dataset | None = None,
    data_dir: str | None = None,
    explain_model: bool = True,
) -> Path:
    """Write the self-contained HTML report of a run and return its path.

    Args:
        run: a run directory or the `Run` that `zoo.fit` returned.
        out: the HTML file to write (default: `<run_dir>/report.html`).
        data: optional `Dataset` to use instead of reloading the run's data.
        data_dir: optional directory to look for the dataset in first.
        explain_model: compute explanations (permutation importance, token attributions,
            subgroup metrics); False makes the report faster.

    Returns:
        The path of the HTML file.

    Example:
    >>> import tempfile, zoo
    >>> run = zoo.fit("medical/breast_cancer_diagnosis", out_dir=tempfile.mkdtemp(), epochs=1, verbose=0)
    >>> path = write_report(run.run_dir)
    >>> path.name, "data:image/png;base64," in path.read_text()
    ('report.html', True)
    """
    artifacts = load_run(run, data=data, data_dir=data_dir)
    explanations = explain_run(artifacts) if explain_model else {}
    path = Path(out) if out is not None else artifacts.run_dir / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(artifacts, explanations), encoding="utf-8")
    return path
