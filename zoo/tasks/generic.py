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

from builders.heads import HeadConfig
from zoo.tasks.base import BackboneSpec, Task, TrainingConfig
from zoo.tasks.registry import register_task

_LIMITS = (
    "No published baseline exists for your data: compare with a simple model (e.g. scikit-learn) on the same "
    "seeded split. The default split is random (stratified for classes); if rows are ordered in time or grouped "
    "(patients, customers, machines), choose a split that keeps the future or the group out of training."
)
_USE = "Your own {what}: a first model with the zoo's harness, report and model card in one command."

_CLASSIFICATION = dict(head=HeadConfig("multiclass", 2), loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"], primary_metric="macro_f1")
_REGRESSION = dict(head=HeadConfig("regression"), loss="mse", metrics=["root_mean_squared_error"],
                   primary_metric="rmse")


def _generic(name: str, modality: str, dataset: str, what: str, description: str, backbone: BackboneSpec,
             outputs: dict, training: TrainingConfig, **fields) -> Task:
    return Task(
        name=name, industry="generic", modality=modality, dataset=dataset, description=description,
        backbone=backbone, training=training, intended_use=_USE.format(what=what), limitations=_LIMITS,
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
        "Classify the texts of your CSV (`--data file.csv --text-column text --target label`) with a small "
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
