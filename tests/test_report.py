"""Reports on real runs: plots from plain arrays, explanations of real Keras models, and the HTML
report checked as a browser sees it (self-contained, every image a valid PNG, rendered non-blank
by headless Chromium when it is installed)."""

import argparse
import base64
import html
import json
import shutil
import struct
import subprocess
from html.parser import HTMLParser

import keras
import matplotlib
import matplotlib.container
import matplotlib.image
import numpy as np
import pytest
from sklearn import metrics as skm

import zoo
from builders import HeadConfig, TabularBackbone, build_head, transfer_model
from zoo.data.types import Dataset, Split
from zoo.errors import ConfigError
from zoo.report import explain, plots
from zoo.report.html import PREDICTIONS_FILE, explain_run, load_run, render_html, run_figures, write_report
from zoo.report.metrics import classification_metrics
from zoo.tasks.base import BackboneSpec, Task, TrainingConfig

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return zoo.fit("medical/breast_cancer_diagnosis", out_dir=tmp_path_factory.mktemp("runs"), epochs=2, verbose=0,
                   backbone_params={"hidden_units": [16]})


@pytest.fixture(scope="module")
def report_file(run, tmp_path_factory):
    return write_report(run.run_dir, tmp_path_factory.mktemp("report") / "report.html")


class Page(HTMLParser):
    """Every tag, id and URL-bearing attribute of an HTML document."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.ids, self.urls, self.images = [], set(), [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id":
                self.ids.add(value)
            if name in ("src", "href", "srcset", "action", "poster", "data"):
                self.urls.append((tag, name, value))
                if tag == "img" and name == "src":
                    self.images.append(value)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC, "not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    return width, height


# === Plots ===


def test_plots_build_labelled_figures_without_touching_global_style():
    before = dict(matplotlib.rcParams)
    fig = plots.training_curves({"loss": [0.9, 0.5, 0.6], "val_loss": [1.0, 0.7, 0.8], "auc": [0.6, 0.8, 0.9]})
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["Loss", "ROC-AUC"]
    loss_axis = fig.axes[0]
    assert [line.get_label() for line in loss_axis.get_lines()] == ["train", "validation", "best val_loss (2)"]
    np.testing.assert_allclose(loss_axis.get_lines()[1].get_ydata(), [1.0, 0.7, 0.8])
    by_auc = plots.training_curves({"loss": [0.9, 0.5, 0.6], "val_auc": [0.6, 0.9, 0.7]}, monitor="val_auc")
    assert by_auc.axes[0].get_lines()[-1].get_label() == "best val_auc (2)"  # higher AUC is better
    assert dict(matplotlib.rcParams) == before
    assert png_size(plots.to_png(fig))[0] > 500


def test_confusion_matrix_cells_show_counts_and_row_percentages():
    rng = np.random.default_rng(3)
    matrix = rng.integers(0, 60, size=(4, 4))
    matrix[2] = 0  # a class absent from the test split must not divide by zero
    names = ["machine failure", "ok", "tool wear", "heat"]
    fig = plots.confusion_matrix(matrix, names)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    expected = []
    for row in matrix:
        for count in row:
            expected.append(f"{count}\n{100 * count / row.sum():.1f}%" if row.sum() else f"{count}\n-")
    assert texts == expected
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert [t.get_text() for t in ax.get_yticklabels()][0] == f"machine failure\n(n={matrix[0].sum()})"
    assert ax.get_xlabel() == "Predicted class" and ax.get_ylabel() == "True class"


def test_roc_pr_curves_report_the_areas_sklearn_computes():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    score = np.clip(0.35 * y + 0.65 * rng.random(300), 0, 1)
    fig = plots.roc_pr_curves(y, score[:, None], positive_name="fraud")
    roc, pr = fig.axes
    assert roc.get_title() == f"ROC curve (AUC {skm.roc_auc_score(y, score):.3f})"
    assert pr.get_title() == f"Precision-recall (AP {skm.average_precision_score(y, score):.3f})"
    assert "fraud" in roc.get_ylabel() and "fraud" in pr.get_xlabel()


def test_transfer_gain_bars_are_seed_means_with_one_std_error_bars():
    results = {"scratch": {0.1: [0.60, 0.66, 0.63], 1.0: [0.88, 0.90, 0.86]},
               "transfer": {0.1: [0.75, 0.79, 0.77], 1.0: [0.91, 0.90, 0.92]}}
    ax = plots.transfer_gain(results, metric="accuracy").axes[0]
    bars = [c for c in ax.containers if isinstance(c, matplotlib.container.BarContainer)]
    assert len(bars) == 2
    for container, arm in zip(bars, ("scratch", "transfer"), strict=True):
        heights = [p.get_height() for p in container.patches]
        assert heights == pytest.approx([np.mean(v) for v in results[arm].values()])
        half_spans = [(s[1, 1] - s[0, 1]) / 2 for s in container.errorbar.lines[2][0].get_segments()]
        assert half_spans == pytest.approx([np.std(v, ddof=1) for v in results[arm].values()])
    assert [t.get_text() for t in ax.texts] == ["gain +0.140", "gain +0.030"]
    # Lower is better (RMSE): transfer 2 cycles below scratch is a gain of +2, as the report's table says (the plot
    # said -2, the opposite of the table).
    rmse = plots.transfer_gain({"scratch": {0.1: [20.0, 22.0]}, "transfer": {0.1: [18.0, 20.0]}}, metric="rmse",
                               higher_is_better=False).axes[0]
    assert [t.get_text() for t in rmse.texts] == ["gain +2.000"] and "lower is better" in rmse.get_ylabel()
    # One seed: no error bar at all (a zero-width bar read as a measured spread of 0), and the legend says "1 seed".
    one = plots.transfer_gain({"scratch": {0.1: [0.6]}, "transfer": {0.1: [0.7]}}).axes[0]
    bars = [c for c in one.containers if isinstance(c, matplotlib.container.BarContainer)]
    assert all(len(c.errorbar.lines[2][0].get_segments()[0]) == 0 for c in bars)
    assert [t.get_text() for t in one.get_legend().get_texts()] == ["scratch (n=1 seed)", "transfer (n=1 seed)"]
    assert one.get_ylim()[1] == pytest.approx(0.7 * 1.15)


def test_regression_and_forecast_plots():
    actual = np.linspace(5, 140, 50)
    fig = plots.prediction_vs_actual(actual, actual + 10, target_name="RUL (cycles)")
    assert fig.axes[0].get_title() == "Predicted vs actual (RMSE 10, MAE 10)"
    assert fig.axes[1].get_ylabel() == "RUL (cycles)"
    fig = plots.forecast_vs_actual(np.arange(20.0), [20.0, 21.0], [19.5, 21.5], lower=[19, 20], upper=[21, 23])
    assert len(fig.axes[0].collections) == 1  # the interval band


@pytest.mark.parametrize("call, message", [
    (lambda: plots.training_curves({}), "history has no values"),
    (lambda: plots.confusion_matrix([[1, 2], [3, 4]], ["a", "b", "c"]), r"expected \(3, 3\)"),
    (lambda: plots.roc_pr_curves([1, 1, 1], [0.2, 0.5, 0.9]), "labels 0 and 1 both present"),
    (lambda: plots.prediction_vs_actual([1.0, 2.0], [1.0]), "y_true has 2 values but y_pred has 1"),
    (lambda: plots.feature_importance(["a", "b"], [0.1]), "2 names but 1 importances"),
    (lambda: plots.transfer_gain({}), "no results"),
])
def test_plot_input_errors_name_the_problem(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


# === Explanations ===


def test_permutation_importance_finds_the_column_a_trained_keras_model_uses():
    rng = np.random.default_rng(0)
    n = 600
    x = {"numeric": rng.normal(size=(n, 3)).astype("float32"), "categorical": rng.integers(1, 4, (n, 1)).astype("int32")}
    y = (x["numeric"][:, 1] > 0).astype("int64")  # only column 1 ("signal") decides the label
    keras.utils.set_random_seed(0)
    base = TabularBackbone(num_numeric=3, categorical_cardinalities=[4], hidden_units=(16,), dropout=0.0)
    base.adapt(x)
    model = transfer_model(base, build_head(HeadConfig("binary"), base.output_dim), freeze=False)
    model.compile(keras.optimizers.Adam(0.02), "binary_crossentropy")
    model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    meta = {"numeric_names": ["noise_a", "signal", "noise_b"], "categorical_names": ["site"]}
    result = explain.permutation_importance(model, x, y, kind="binary", meta=meta, n_repeats=3)
    features = {f["name"]: f for f in result["features"]}
    assert result["metric"] == "ROC-AUC" and result["baseline"] > 0.95
    assert result["features"][0]["name"] == "signal" and features["signal"]["importance"] > 0.3
    assert max(features[k]["importance"] for k in ("noise_a", "noise_b", "site")) < 0.1
    assert len(features["signal"]["scores"]) == 3


def test_permutation_importance_of_time_series_channels_under_rmse():
    rng = np.random.default_rng(4)
    windows = rng.normal(size=(300, 10, 3)).astype("float32")
    y = 3.0 * windows[:, :, 1].mean(axis=1)  # only channel 1 ("vibration") carries the target
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10, 3)), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.05), "mse")
    model.fit(windows, y, epochs=25, batch_size=64, verbose=0)
    meta = {"feature_names": ["temperature", "vibration", "pressure"]}
    result = explain.permutation_importance(model, windows, y, kind="regression", meta=meta, n_repeats=2)
    assert result["metric"] == "RMSE" and result["higher_is_better"] is False
    assert [f["name"] for f in result["features"]][0] == "vibration"
    top, *rest = result["features"]
    assert top["input"] is None and top["importance"] > 5 * max(abs(f["importance"]) for f in rest)
    fig = plots.feature_importance([f["name"] for f in result["features"]], [f["importance"] for f in result["features"]],
                                   metric="RMSE", higher_is_better=False)
    assert fig.axes[0].get_xlabel() == "Rise in RMSE when the feature is shuffled"


def test_occlusion_attributions_point_at_the_decisive_word():
    rng = np.random.default_rng(1)
    ids = rng.integers(4, 20, size=(400, 8)).astype("int32")
    ids[:, 6:] = 0  # padding
    ids[ids == 3] = 4
    positive = rng.random(400) < 0.5
    ids[positive, rng.integers(0, 6, positive.sum())] = 3  # "surge" (id 3) makes the label positive
    y = positive.astype("int64")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,), dtype="int32"), keras.layers.Embedding(20, 8, mask_zero=True),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy")
    model.fit(ids, y, epochs=20, batch_size=64, verbose=0)
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "surge"] + [f"w{i}" for i in range(4, 20)]
    examples = np.flatnonzero(positive)[:5]
    out = explain.token_attributions(model, ids[examples], vocabulary, class_names=["down", "up"], labels=y[examples])
    for item in out:
        assert item["predicted"] == item["label"] == "up"
        assert len(item["tokens"]) == 6 and len(item["attributions"]) == 6
        assert item["tokens"][int(np.argmax(item["attributions"]))] == "surge"


def test_subgroup_metrics_equal_the_metrics_of_each_slice():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 90)
    proba = np.clip(0.5 * y + 0.5 * rng.random(90), 0, 1)
    meta = {"categorical_names": ["Type", "id"], "categorical_vocabularies": [["H", "L", "M"], [str(i) for i in range(40)]]}
    codes = np.stack([rng.integers(0, 4, 90), rng.integers(1, 41, 90)], axis=1)
    groups = explain.categorical_groups({"categorical": codes}, meta)
    assert list(groups) == ["Type"]  # "id" has too many categories to be a subgroup
    assert set(groups["Type"]) <= {"H", "L", "M", "(unseen in training)"}
    rows = explain.subgroup_metrics(y, proba, groups, class_names=["ok", "failure"], min_size=5)
    assert sum(r["n"] for r in rows) == 90
    for r in rows:
        mask = groups["Type"] == r["group"]
        assert r["n"] == mask.sum()
        if r["metrics"]:
            expected = classification_metrics(y[mask], proba[mask], ["ok", "failure"])
            assert r["metrics"]["accuracy"] == expected["accuracy"]
            assert r["metrics"]["true_rate"]["failure"] == pytest.approx(y[mask].mean())
            assert r["metrics"]["recall"]["failure"] == expected["per_class"]["failure"]["recall"]


# === The HTML report of a real run ===


def test_recomputed_predictions_reproduce_report_json(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run.run_dir, copy)
    (copy / PREDICTIONS_FILE).unlink(missing_ok=True)  # when the harness saves them, recompute anyway
    artifacts = load_run(copy)
    assert artifacts.predictions_source == "recomputed" and artifacts.notes == []
    names = artifacts.class_names
    again = classification_metrics(artifacts.y_true, artifacts.y_pred, names)
    assert again["accuracy"] == run.report["test"]["accuracy"]
    assert again["confusion_matrix"] == run.report["test"]["confusion_matrix"]


def test_report_is_self_contained_with_every_image_a_valid_png(run, report_file):
    text = report_file.read_text(encoding="utf-8")
    page = Page(text)
    assert not {"script", "link", "iframe", "object", "embed", "base"} & set(page.tags)
    assert "url(" not in text and "@import" not in text
    for tag, attribute, value in page.urls:
        if tag == "img":
            assert value.startswith("data:image/png;base64,"), value[:60]
        else:
            assert attribute == "href" and value.startswith("#") and value[1:] in page.ids, value
    assert len(page.images) == 4  # training curves, confusion matrix, ROC/PR, permutation importance
    for uri in page.images:
        width, height = png_size(base64.b64decode(uri.split(",", 1)[1], validate=True))
        assert width > 300 and height > 200
    task = run.report["task"]
    assert f"<h1>{task}</h1>" in text
    card = zoo.get_task(task)
    for fact in (card.intended_use, card.limitations, card.baselines[0].model, "CC BY 4.0"):
        assert html.escape(fact) in text, fact
    assert f"{run.report['test']['accuracy']:.4f}" in text
    assert "mean radius" in text or "worst area" in text  # permutation importance names real features
    assert "Metrics per subgroup" in text


def test_report_renders_in_headless_chromium(report_file, tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    shot = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1200,3000"]
    done = subprocess.run([CHROMIUM, *flags, report_file.resolve().as_uri()], capture_output=True, text=True,
                          timeout=120)
    assert shot.is_file(), done.stderr[-2000:]
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape == (3000, 1200, 3)
    assert pixels[:80].mean() < 0.35  # the navy header band: the inline CSS was applied
    body = pixels[400:]
    assert (np.abs(body - body[5, 5]).sum(axis=-1) > 0.1).mean() > 0.1  # plenty of content, not a blank page
    # The plots' own blue (#0072B2) appears only if the embedded PNGs decoded and rendered.
    plot_blue = np.abs(body - np.array([0.0, 0x72 / 255, 0xB2 / 255])).max(axis=-1) < 0.08
    assert plot_blue.sum() > 500


def test_saved_predictions_are_used_and_missing_data_is_a_note_not_a_crash(run, tmp_path, no_local_data):
    copy = tmp_path / "run"
    shutil.copytree(run.run_dir, copy)
    y_true = zoo.data.load_dataset("breast_cancer").test.y
    np.savez(copy / PREDICTIONS_FILE, y_true=y_true, y_pred=y_true[:, None].astype("float32"))  # a perfect model
    config = json.loads((copy / "config.json").read_text())
    config["task"]["dataset"] = "breastmnist"  # as if the run came from a machine that had other data
    (copy / "config.json").write_text(json.dumps(config))
    artifacts = load_run(copy, load_model=False)
    assert artifacts.data is None and artifacts.predictions_source == PREDICTIONS_FILE
    assert any("not available" in note for note in artifacts.notes)
    figures = run_figures(artifacts, explain_run(artifacts))
    assert list(figures) == ["training_curves", "confusion_matrix", "roc_pr"]
    assert figures["roc_pr"].figure.axes[0].get_title() == "ROC curve (AUC 1.000)"
    text = render_html(artifacts, explain_run(artifacts), figures)
    assert 'id="notes"' in text and "Not computed: the test data could not be loaded here." in text
    np.savez(copy / PREDICTIONS_FILE, y_true=y_true, y_pred=y_true[:5])
    with pytest.raises(ConfigError, match="y_true has 114 rows but y_pred has 5"):
        load_run(copy, load_model=False)


def test_text_report_shows_word_attributions(tmp_path):
    rng = np.random.default_rng(0)
    words = {0: ["profit", "fell", "loss", "warning"], 1: ["profit", "rose", "record", "growth"]}
    fillers = ["the", "company", "said", "quarter", "sales", "in", "its"]

    def split(n):
        y = rng.integers(0, 2, n)
        x = [" ".join(rng.choice(fillers, 3).tolist() + rng.choice(words[int(c)], 2).tolist()) for c in y]
        return Split(np.array(x, dtype=object), y.astype("int64"))

    data = Dataset(split(160), split(40), split(40), {"class_names": ["negative", "positive"], "num_classes": 2,
                                                      "source": "synthetic"})
    task = Task("test/news_sentiment", "finance", "text", "synthetic", "Synthetic news sentiment.",
                BackboneSpec("transformer", {"hidden_dim": 16, "num_layers": 1, "num_heads": 2,
                                             "intermediate_dim": 16}),
                HeadConfig("binary"), "binary_crossentropy", ["accuracy"], "accuracy",
                training=TrainingConfig(epochs=3, batch_size=32, learning_rate=5e-3),
                preprocessing={"vocab_size": 60, "sequence_length": 8})
    text_run = zoo.fit(task, data=data, out_dir=tmp_path, verbose=0)
    artifacts = load_run(text_run, data=data)
    explanations = explain_run(artifacts, text_examples=4)
    items = explanations["token_attributions"]
    assert len(items) == 4 and all(len(i["tokens"]) == len(i["attributions"]) > 0 for i in items)
    assert all(i["text"].split()[-1] in i["tokens"] for i in items)  # words, not word pieces
    page = Page(render_html(artifacts, explanations))
    assert page.tags.count("span") >= sum(len(i["tokens"]) for i in items)


def test_german_credit_report_has_metrics_per_subgroup(tmp_path):
    try:
        data = zoo.data.load_dataset("german_credit")
    except zoo.errors.DataNotFoundError as error:
        pytest.skip(f"German credit data not available: {error}")
    task = Task("test/credit", "finance", "tabular", "german_credit", "Credit risk (test config).",
                BackboneSpec("tabular", {"hidden_units": [8]}), HeadConfig("binary"), "binary_crossentropy",
                ["accuracy"], "average_cost", training=TrainingConfig(epochs=1))
    credit = zoo.fit(task, data=data, out_dir=tmp_path, verbose=0)
    artifacts = load_run(credit, data=data)
    rows = explain_run(artifacts, n_repeats=1)["subgroups"]
    by_column = {}
    for r in rows:
        by_column.setdefault(r["column"], []).append(r)
    assert {"personal_status_sex", "foreign_worker", "housing"} <= set(by_column)
    assert "purpose" in by_column  # 10 categories, within the limit
    assert all(sum(r["n"] for r in group) == len(data.test) for group in by_column.values())
    assert all("average_cost" in r["metrics"] for r in rows if r["metrics"])
    text = render_html(artifacts, {"subgroups": rows})
    assert "<summary>personal_status_sex" in text and "Avg cost" in text and "Recall of &#x27;bad&#x27;" in text


def test_report_command_writes_the_file(run, tmp_path, capsys):
    from zoo.cli import COMMAND_MODULES
    from zoo.cli import report as report_cli

    parser = argparse.ArgumentParser(prog="zoo")
    report_cli.add_commands(parser.add_subparsers(dest="command"))
    out = tmp_path / "nested" / "r.html"
    args = parser.parse_args(["report", str(run.run_dir), "--out", str(out), "--no-explain"])
    assert args.func(args) == 0
    assert f"report: {out}" in capsys.readouterr().out
    assert "Permutation importance" not in out.read_text() and "Confusion matrix" in out.read_text()
    if "zoo.cli.report" in COMMAND_MODULES:  # the user-facing path: an error is a message and status 2
        from zoo.cli import main

        assert main(["report", str(tmp_path / "missing")]) == 2
        assert "does not exist" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="does not exist"):
        write_report(tmp_path / "missing")


def test_the_confusion_matrix_is_in_the_page_as_text_not_only_a_picture():
    """Its counts were only pixels of a PNG (alt text "Confusion matrix"): unreadable by a screen reader,
    and not copyable into a document."""
    from pathlib import Path

    from zoo.report.html import RunArtifacts, render_html

    report = {"test": {"accuracy": 0.96, "confusion_matrix": {"labels": ["malignant", "benign"],
                                                              "matrix": [[40, 3], [2, 69]]}}}
    page = render_html(RunArtifacts(Path("."), {}, report, {}, zoo.get_task("medical/breast_cancer_diagnosis")),
                       figures={})
    assert "<b>malignant</b></td><td class=\"num\">40 (93%)</td><td class=\"num\">3 (7%)</td>" in page
