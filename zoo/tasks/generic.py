"""Bring-your-own-data tasks: the same registry, backbones, harness and report on your file.

Each task names a generic loader of `zoo.data.generic`; the command line fills its options:
`--data PATH` (`path`), `--target COL` (`target`), `--text-column COL` (`text_column`) and
`--data-options JSON` (any other loader option, e.g. `{"drop": ["id"]}` or `{"window": 24,
"group": "machine"}`). There is no published baseline for data the zoo has never seen: compare
with a simple model on the same split (the report holds the split and the file's checksum).

Example:
>>> from zoo.tasks import get_task
>>> get_task("tabular/classification").data_options
{'task': 'classification'}
"""

from __future__ import annotations

import inspect
import json

from builders.heads import HeadConfig
from zoo.data import generic as loaders
from zoo.errors import ConfigError
from zoo.tasks.base import BackboneSpec, Task, TrainingConfig
from zoo.tasks.registry import register_task

# The generic datasets' loaders, and the command-line flag of each loader option that has one.
LOADERS = {"csv_tabular": loaders.load_csv_tabular, "csv_text": loaders.load_text_csv,
           "csv_timeseries": loaders.load_timeseries_csv, "images": loaders.load_images}
FLAGS = {"path": "--data PATH", "target": "--target COLUMN", "text_column": "--text-column COLUMN"}


def check_data_options(task: Task) -> None:
    """Raise `ConfigError` naming the command-line flag and the Python option of each option that a
    generic task's loader requires and `task.data_options` lacks (other tasks pass).

    Example:
    >>> from zoo.tasks import get_task
    >>> task = get_task("tabular/classification")
    >>> task.data_options.update(path="customers.csv")
    >>> check_data_options(task)
    Traceback (most recent call last):
    builders.errors.ConfigError: Task tabular/classification needs target of your data. target: on the command line --target COLUMN, in Python task.data_options['target'].
    """
    loader = LOADERS.get(task.dataset)
    if loader is None:
        return
    expected = "regression" if task.head.kind == "regression" else "classification"
    if "task" in inspect.signature(loader).parameters and task.data_options.get("task", expected) != expected:
        raise ConfigError(
            f"Data option 'task' is {task.data_options['task']!r}, but {task.name} trains a {expected} head; remove "
            "'task' from the data options (the task's name sets it)."
        )
    missing = [p.name for p in inspect.signature(loader).parameters.values()
               if p.default is p.empty and p.name not in task.data_options]
    if missing:
        flags = {name: FLAGS.get(name, f"--data-options '{{{json.dumps(name)}: ...}}'") for name in missing}
        how = "; ".join(f"{name}: on the command line {flag}, in Python task.data_options[{name!r}]"
                        for name, flag in flags.items())
        raise ConfigError(f"Task {task.name} needs {', '.join(missing)} of your data. {how}.")

_LIMITS = (
    "No published baseline exists for your data: compare with a simple model (e.g. scikit-learn) on the same "
    "seeded split. {split}"
)
_RANDOM_SPLIT = (
    "The default split is random (stratified for classes); if rows are ordered in time or grouped (patients, "
    "customers, machines), choose a split that keeps the future or the group out of training."
)
_SERIES_SPLIT = (
    "With `group`, whole series go to train, validation or test; without it the split is chronological (the last "
    "windows are the test set), so a series' future never trains the model that is tested on it."
)
_USE = "Your own {what}: a first model with the zoo's harness, report and model card in one command."

_CLASSIFICATION = dict(head=HeadConfig("multiclass", 2), loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"], primary_metric="macro_f1")
_REGRESSION = dict(head=HeadConfig("regression"), loss="mse", metrics=["root_mean_squared_error"],
                   primary_metric="rmse")


def _generic(name: str, modality: str, dataset: str, what: str, description: str, backbone: BackboneSpec,
             outputs: dict, training: TrainingConfig, **fields) -> Task:
    split = _SERIES_SPLIT if modality == "timeseries" else _RANDOM_SPLIT
    return Task(
        name=name, industry="generic", modality=modality, dataset=dataset, description=description,
        backbone=backbone, training=training, intended_use=_USE.format(what=what),
        limitations=_LIMITS.format(split=split),
        license="yours: the zoo ships no data for this task", **outputs, **fields,
    )


@register_task
def tabular_classification() -> Task:
    return _generic(
        "tabular/classification", "tabular", "csv_tabular", "table of numbers and categories",
        "Classify rows of your CSV (`--data file.csv --target label`): numeric columns are normalized on the "
        "train split, text columns become categorical embeddings, then an MLP. Any number of classes.",
        BackboneSpec("tabular", {"hidden_units": [64, 32], "dropout": 0.1}), _CLASSIFICATION,
        TrainingConfig(epochs=100, batch_size=32, learning_rate=1e-3, patience=10),
        data_options={"task": "classification"},
    )


@register_task
def tabular_regression() -> Task:
    return _generic(
        "tabular/regression", "tabular", "csv_tabular", "table of numbers and categories",
        "Predict a numeric column of your CSV (`--data file.csv --target price`) with an MLP on normalized "
        "numeric columns and categorical embeddings; the output starts at the training target's mean and scale.",
        BackboneSpec("tabular", {"hidden_units": [64, 32], "dropout": 0.1}), _REGRESSION,
        TrainingConfig(epochs=200, batch_size=32, learning_rate=1e-3, patience=20),
        data_options={"task": "regression"},
    )


@register_task
def image_classification() -> Task:
    return _generic(
        "image/classification", "image", "images", "labelled images",
        "Classify your images (`--data folder_or.npz`: one sub-folder per class, train/test folders, or an NPZ) "
        "with a small residual CNN trained from scratch.",
        BackboneSpec("cnn", {"filters": [32, 64, 128], "blocks_per_stage": 1, "dropout": 0.2}), _CLASSIFICATION,
        TrainingConfig(epochs=40, batch_size=32, learning_rate=1e-3, patience=8),
    )


@register_task
def text_classification() -> Task:
    return _generic(
        "text/classification", "text", "csv_text", "labelled texts",
        "Classify the texts of your CSV (`--data file.csv --text-column text --target label`) or of a folder of "
        "class subfolders of .txt files (`--data DIR`) with a small "
        "Transformer encoder on WordPiece tokens learned from the train split.",
        BackboneSpec("transformer", {"hidden_dim": 64, "num_layers": 2, "num_heads": 4, "intermediate_dim": 128,
                                     "dropout": 0.2}), _CLASSIFICATION,
        TrainingConfig(epochs=30, batch_size=32, learning_rate=5e-4, patience=5, monitor="val_accuracy"),
        data_options={"task": "classification"}, preprocessing={"vocab_size": 8000, "sequence_length": 128},
    )


@register_task
def timeseries_regression() -> Task:
    return _generic(
        "timeseries/regression", "timeseries", "csv_timeseries", "sensor or sales series",
        "Predict a numeric column at the end of each window of your long-format CSV (`--data file.csv --target "
        "rul --data-options '{\"window\": 30, \"group\": \"machine\", \"time_column\": \"cycle\"}'`) with an "
        "LSTM; with `group`, whole series go to train, validation or test, else the split is chronological.",
        BackboneSpec("rnn", {"cell": "lstm", "units": 64, "num_layers": 1}), _REGRESSION,
        TrainingConfig(epochs=50, batch_size=64, learning_rate=1e-3, patience=8),
        data_options={"task": "regression", "window": 30},
    )
