"""One battery for every registered task: config round-trip, model card and baselines, and a tiny
end-to-end run (real data, 1 epoch, a tiny backbone) whose report holds the task's metrics."""

import dataclasses
import json

import numpy as np
import pytest

import zoo
from zoo.data import load_dataset
from zoo.data.types import Dataset, Split, take
from zoo.errors import ConfigError, DataNotFoundError, UnknownNameError, ZooError
from zoo.tasks import Task, get_task, list_tasks

TASKS = list_tasks()
CATALOGUE = [n for n in TASKS if get_task(n).industry != "generic"]
GENERIC = [n for n in TASKS if get_task(n).industry == "generic"]

# Backbone overrides that make any task's model tiny (seconds per epoch).
TINY_BACKBONE = {
    "transformer": {"hidden_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 16},
    "rnn": {"units": 4, "num_layers": 1, "embedding_dim": 4},
    "tabular": {"hidden_units": [8], "embedding_dim": 2},
    "cnn": {"filters": [4, 8]},
    "recommender": {"embedding_dim": 4},
    "bag_of_words": {},  # already tiny: one vector over the (tiny) vocabulary
    "temporal_cnn": {"filters": [2], "kernel_size": 3, "dense_units": 4},
}
TINY_TEXT = {"vocab_size": 300, "sequence_length": 16}


def tiny(task: Task) -> Task:
    task = task.with_overrides(backbone_params=TINY_BACKBONE[task.backbone.name], epochs=1, batch_size=32)
    if task.preprocessing:
        task.preprocessing = {**task.preprocessing, **TINY_TEXT}
    return task


def report_metrics(task: Task) -> set[str]:
    """Every metric a report of this task can hold (what `Baseline.metric` may name)."""
    if task.head.kind in ("binary", "multiclass"):
        return {"accuracy", "macro_f1", "roc_auc", "pr_auc", "roc_auc_ovr", "average_cost"}
    return {"rmse", "mae", "r2", "phm08_score"}


def test_catalogue_covers_four_industries_and_every_modality():
    tasks = [get_task(n) for n in CATALOGUE]
    assert len(tasks) >= 10
    assert len({t.industry for t in tasks}) >= 4
    assert {"tabular", "image", "text", "timeseries", "recommendation"} <= {t.modality for t in tasks}
    assert {"tabular/classification", "tabular/regression", "image/classification", "text/classification",
            "timeseries/regression"} <= set(GENERIC)


@pytest.mark.parametrize("name", TASKS)
def test_config_round_trips_through_json(name):
    task = get_task(name)
    back = Task.from_json(task.to_json())
    assert back == task
    assert json.loads(back.to_json()) == json.loads(task.to_json())
    assert get_task(name) is not get_task(name)  # a fresh copy each time: overrides never leak


@pytest.mark.parametrize("name", TASKS)
def test_model_card_and_published_baselines(name):
    task = get_task(name)
    assert task.description and task.intended_use and task.limitations and task.license
    assert task.primary_metric in report_metrics(task)
    if task.industry == "generic":
        assert task.baselines == []  # nobody has published on the user's data
        return
    assert task.baselines, f"{name} has no published baseline"
    assert any(b.metric == task.primary_metric for b in task.baselines)
    for b in task.baselines:
        assert b.model and b.citation and any(ch.isdigit() for ch in b.citation)  # a year at least
        assert b.metric in report_metrics(task)


def test_credit_risk_class_weights_make_argmax_the_bayes_decision_for_the_5_to_1_cost():
    weights = get_task("finance/credit_risk").training.class_weight
    # Weighted cross-entropy is minimized by p' = 5p / (5p + 1 - p); p' > 1/2 exactly when p > 1/6.
    p = np.array([0.10, 1 / 6 - 1e-6, 1 / 6 + 1e-6, 0.5])
    weighted = weights[1] * p / (weights[1] * p + weights[0] * (1 - p))
    assert ((weighted > 0.5) == (p > 1 / 6)).all()


def tiny_slice(task: Task, sizes=(64, 32, 64)) -> Dataset:
    """The task's real data cut to a few rows per split (so tokenizing and evaluating are quick too)."""
    data = load_dataset(task.dataset, seed=0, **task.data_options)
    rng = np.random.default_rng(0)

    def cut(split: Split, n: int) -> Split:
        order = rng.permutation(len(split))
        if task.head.kind in ("binary", "multiclass"):  # one row of every class first, so all metrics exist
            first = [order[np.asarray(split.y)[order] == c][0] for c in np.unique(split.y)]
            order = np.concatenate([first, [i for i in order if i not in set(first)]])
        rows = np.sort(order[:n])
        return Split(take(split.x, rows), split.y[rows])

    return dataclasses.replace(data, **{name: cut(getattr(data, name), n)
                                        for name, n in zip(("train", "val", "test"), sizes, strict=True)})


@pytest.mark.parametrize("name", CATALOGUE)
def test_each_task_trains_end_to_end_on_a_tiny_slice(name, tmp_path):
    task = tiny(get_task(name))
    try:
        data = tiny_slice(task)
    except DataNotFoundError as error:
        pytest.skip(f"dataset '{task.dataset}' is not on this machine: {str(error).splitlines()[0]}")
    run = zoo.fit(task, data=data, out_dir=tmp_path, max_train_examples=64, verbose=0, jit_compile=False)
    report = run.report
    assert report["task"] == name and report["train_examples"] <= 64 and report["epochs_run"] == 1
    assert task.primary_metric in report["test"]
    assert np.isfinite(report["test"][task.primary_metric])
    assert {b["metric"] for b in report["baselines"]} == {b.metric for b in task.baselines}
    assert (run.run_dir / "model.keras").is_file()


# === Generic (bring-your-own-data) tasks on small files written here ===


def _write_generic_data(name: str, folder) -> dict:
    rng = np.random.default_rng(0)
    if name.startswith("tabular/"):
        x = rng.normal(size=(120, 3))
        region = rng.choice(["north", "south"], 120)
        target = (x[:, 0] + (region == "north") > 0.5).astype(int) if name.endswith("classification") else x @ [1, 2, 3]
        rows = [f"{i},{a:.4f},{b:.4f},{c:.4f},{r},{t}" for i, ((a, b, c), r, t) in enumerate(zip(x, region, target, strict=True))]
        path = folder / "table.csv"
        path.write_text("id,a,b,c,region,target\n" + "\n".join(rows) + "\n")
        return {"path": str(path), "target": "target", "drop": ["id"]}
    if name.startswith("text/"):
        words = {0: ["loss", "fell", "weak"], 1: ["profit", "rose", "strong"]}
        rows = [f"{' '.join(rng.choice(words[i % 2], 4))},{['down', 'up'][i % 2]}" for i in range(80)]
        path = folder / "texts.csv"
        path.write_text("text,label\n" + "\n".join(rows) + "\n")
        return {"path": str(path), "text_column": "text", "target": "label"}
    if name.startswith("image/"):
        path = folder / "images.npz"
        y = np.arange(60) % 2
        x = (rng.random((60, 12, 12)) * 100 + 100 * y[:, None, None]).astype(np.uint8)
        np.savez(path, x=x, y=y)
        return {"path": str(path)}
    steps = [f"{m},{t},{np.sin(t / 3) + m:.4f},{30 - t}" for m in range(10) for t in range(30)]
    path = folder / "series.csv"
    path.write_text("machine,cycle,pressure,rul\n" + "\n".join(steps) + "\n")
    return {"path": str(path), "target": "rul", "window": 5, "group": "machine", "time_column": "cycle"}


@pytest.mark.parametrize("name", GENERIC)
def test_each_generic_task_trains_on_a_users_file(name, tmp_path):
    task = tiny(get_task(name))
    task.data_options.update(_write_generic_data(name, tmp_path))
    run = zoo.fit(task, out_dir=tmp_path / "runs", verbose=0, jit_compile=False)
    assert task.primary_metric in run.report["test"]
    assert np.isfinite(run.report["test"][task.primary_metric])
    assert run.report["baselines"] == []


def test_generic_task_without_a_path_names_the_missing_option(tmp_path):
    task = get_task("tabular/classification")
    with pytest.raises(ZooError, match="path"):
        zoo.fit(task, out_dir=tmp_path, epochs=1, verbose=0)


# === Real data to a target metric (short) ===


@pytest.mark.slow
def test_movielens_matrix_factorization_beats_the_rating_mean(tmp_path):
    try:
        run = zoo.fit("retail/movielens", out_dir=tmp_path, epochs=4, verbose=0)
    except DataNotFoundError as error:
        pytest.skip(str(error).splitlines()[0])
    # Predicting every test rating with the training mean scores RMSE ~1.15 on u1; biases alone ~0.95.
    assert run.report["test"]["rmse"] < 0.96


@pytest.mark.slow
def test_generic_tabular_task_on_scikit_learn_wine_csv(tmp_path):
    """A dataset outside the catalogue through the generic path, held to a scikit-learn model on the same split."""
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    task = get_task("tabular/classification")
    frame = load_wine(as_frame=True).frame
    path = tmp_path / "wine.csv"
    frame.to_csv(path, index=False)
    task.data_options.update(path=str(path), target="target")
    run = zoo.fit(task, out_dir=tmp_path / "runs", epochs=60, verbose=0)
    data = load_dataset(task.dataset, seed=0, **task.data_options)
    x_train = np.concatenate([data.train.x["numeric"], data.val.x["numeric"]])
    y_train = np.concatenate([data.train.y, data.val.y])
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    sklearn_accuracy = reference.score(data.test.x["numeric"], data.test.y)
    assert run.report["test"]["accuracy"] >= sklearn_accuracy - 0.06


# === Config validation: refused when the task is made, before any data is read ===


@pytest.mark.parametrize("field, value, message", [
    ("epochs", 0, "epochs must be an integer >= 1, got 0"),
    ("epochs", -1, "epochs must be an integer >= 1"),
    ("epochs", "1", r"epochs must be an integer >= 1, got '1' \(str\)"),
    ("learning_rate", -1.0, "learning_rate must be a finite number > 0"),
    ("learning_rate", float("nan"), "learning_rate must be a finite number > 0, got nan"),
    ("batch_size", 0, "batch_size must be an integer >= 1"),
    ("patience", -3, "patience must be an integer >= 0"),
    ("weight_decay", -0.1, "weight_decay must be a finite number >= 0"),
    ("ensemble", 1.5, "ensemble must be an integer >= 1"),
    ("freeze", "yes", "freeze must be True or False"),
])
def test_training_fields_out_of_range_are_config_errors_naming_the_field(field, value, message):
    with pytest.raises(ConfigError, match=message):
        get_task("medical/breast_cancer_diagnosis").with_overrides(**{field: value})


def test_class_weights_on_a_regression_task_are_refused():
    with pytest.raises(ConfigError, match="class weights need a classification task"):
        get_task("tabular/regression").with_overrides(class_weight="balanced")


@pytest.mark.parametrize("backbone, takes", [("cnn", "images"), ("transformer", "text or time series")])
def test_a_backbone_of_another_modality_is_refused_with_the_compatible_ones(backbone, takes):
    with pytest.raises(ConfigError, match=f"backbone {backbone} takes {takes}; task tabular/classification's data is "
                                          "tabular; compatible backbones: tabular"):
        get_task("tabular/classification").with_overrides(backbone=backbone)
    assert get_task("finance/sentiment").with_overrides(backbone="rnn").backbone.name == "rnn"  # text: fine


@pytest.mark.parametrize("params, message", [([1, 2], "must be a JSON object"), ("64", "must be a JSON object"),
                                             ({"hidden_units": "64"}, r"hidden_units.*must be a list")])
def test_backbone_params_of_the_wrong_shape_are_refused(params, message):
    with pytest.raises(ConfigError, match=message):
        get_task("tabular/classification").with_overrides(backbone_params=params)


def test_unknown_names_suggest_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean 'medical/breast_cancer_diagnosis'"):
        get_task("medical/breast_cancer")
    with pytest.raises(UnknownNameError, match="Did you mean 'tabular'"):
        get_task("tabular/classification").with_overrides(backbone="tabulr")


def test_text_task_without_a_text_column_names_the_flag_and_the_option(tmp_path):
    task = get_task("text/classification")
    task.data_options.update(path=str(tmp_path / "texts.csv"), target="label")
    (tmp_path / "texts.csv").write_text("text,label\ngood,1\n")
    with pytest.raises(ConfigError, match=r"text_column.*--text-column COLUMN.*data_options\['text_column'\]"):
        zoo.fit(task, out_dir=tmp_path / "runs", verbose=0)
    assert not (tmp_path / "runs").exists()


def test_a_data_option_task_that_contradicts_the_task_is_refused(tmp_path):
    task = get_task("timeseries/regression")
    task.data_options.update(path=str(tmp_path / "pumps.csv"), target="rul", group="machine", task="classification")
    with pytest.raises(ConfigError, match="trains a regression head; remove 'task'"):
        zoo.fit(task, out_dir=tmp_path / "runs", verbose=0)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("name, shippable", [("retail/movielens", "no"), ("finance/sentiment", "no"),
                                              ("manufacturing/rul_fd001", "yes")])
def test_model_card_names_the_data_source_download_and_redistribution(name, shippable):
    from zoo.cli.core import model_card
    from zoo.data import source_of

    card, source = model_card(get_task(name)), source_of(get_task(name).dataset)
    assert f"Data source: {source.citation}" in card and f"official download: {source.url}" in card
    assert f"redistributable: {shippable}" in card
    assert "Data source" not in model_card(get_task("tabular/classification"))  # the user's own data


def test_generic_time_series_card_describes_its_own_split():
    assert "chronological" in get_task("timeseries/regression").limitations
    assert "random" in get_task("tabular/classification").limitations
