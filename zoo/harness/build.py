"""Turn a task and its data's facts into a compiled Keras model."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from builders import build_backbone, build_head, get_backbone_class, transfer_model
from builders.heads import HeadConfig
from zoo.data.types import Dataset
from zoo.errors import ConfigError
from zoo.harness.pipeline import make_dataset
from zoo.tasks.base import Task, TrainingConfig

# Which dataset facts feed which backbone argument (only arguments the backbone takes are passed).
_DERIVED = {
    "num_numeric": lambda m: len(m.get("numeric_names", [])) if "numeric_names" in m else m.get("num_numeric"),
    "categorical_cardinalities": lambda m: m.get("categorical_cardinalities"),
    "input_shape": lambda m: m.get("input_shape"),
    "vocabulary_size": lambda m: m.get("vocab_size"),
    "sequence_length": lambda m: m.get("sequence_length", m.get("window")),
    "num_features": lambda m: len(m["feature_names"]) if "feature_names" in m else None,
    "num_users": lambda m: m.get("num_users"),
    "num_items": lambda m: m.get("num_items"),
}


def backbone_arguments(task: Task, meta: dict[str, Any]) -> dict[str, Any]:
    """The backbone's constructor arguments: facts from the data, then the task's own params.

    Example:
    >>> from zoo.tasks import get_task
    >>> backbone_arguments(get_task("medical/breast_cancer_diagnosis"), {"numeric_names": list("abc")})["num_numeric"]
    3
    """
    accepted = inspect.signature(get_backbone_class(task.backbone.name).__init__).parameters
    derived = {k: f(meta) for k, f in _DERIVED.items() if k in accepted}
    return {**{k: v for k, v in derived.items() if v is not None}, **task.backbone.params}


def head_config(task: Task, data: Dataset) -> HeadConfig:
    """The task's head with the number of classes and the target scale taken from the data, and, for a
    frozen base, its features standardized (`normalize_features`, adapted on the training features).

    Example:
    >>> from zoo.tasks import get_task
    >>> from zoo.data.types import Split
    >>> s = Split(np.zeros((4, 1)), np.array([1.0, 3.0, 1.0, 3.0]))
    >>> task = get_task("medical/breast_cancer_diagnosis")
    >>> task.head = HeadConfig("regression")
    >>> head_config(task, Dataset(s, s, s)).output_offset
    2.0
    """
    head = task.head
    if task.training.freeze and not head.normalize_features:  # a frozen base's features, standardized
        head = dataclasses.replace(head, normalize_features=True)
    if head.kind == "multiclass" and "num_classes" in data.meta:
        head = dataclasses.replace(head, num_outputs=int(data.meta["num_classes"]))
    if head.kind in ("regression", "forecast") and (head.output_scale, head.output_offset) == (1.0, 0.0):
        y = np.asarray(data.train.y, dtype="float64")
        head = dataclasses.replace(head, output_scale=float(y.std() or 1.0), output_offset=float(y.mean()))
    return head


LEARNING_RATE_SCHEDULES = ("constant", "cosine", "step")


def learning_rate(training: TrainingConfig, steps_per_epoch: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The optimizer's learning rate: a float, or a schedule over `training.epochs` epochs.

    Example:
    >>> from zoo.tasks.base import TrainingConfig
    >>> schedule = learning_rate(TrainingConfig(epochs=10, learning_rate=0.01, learning_rate_schedule="cosine"), 5)
    >>> round(float(schedule(0)), 4), round(float(schedule(25)), 4), round(float(schedule(50)), 4)
    (0.01, 0.005, 0.0)
    >>> step = learning_rate(TrainingConfig(epochs=100, learning_rate=0.01, learning_rate_schedule="step"), 1)
    >>> [round(float(step(epoch)), 6) for epoch in (49, 50, 74, 75)]  # 0-based: the 51st epoch is at 0.001
    [0.01, 0.001, 0.001, 0.0001]
    """
    if training.learning_rate_schedule == "constant":
        return training.learning_rate
    if training.learning_rate_schedule == "cosine":
        steps = max(1, training.epochs * steps_per_epoch)
        return keras.optimizers.schedules.CosineDecay(training.learning_rate, decay_steps=steps)
    if training.learning_rate_schedule == "step":  # MedMNIST's: x0.1 at half and at three quarters of the epochs
        steps = training.epochs * steps_per_epoch  # a step uses rates[i] while its 0-based index <= boundaries[i]
        boundaries = [max(1, steps // 2) - 1, max(1, steps * 3 // 4) - 1]  # a 1-step run keeps the full rate
        rates = [training.learning_rate * factor for factor in (1.0, 0.1, 0.01)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, rates)
    raise ConfigError(f"Unknown learning_rate_schedule '{training.learning_rate_schedule}'; choose one of "
                      f"{', '.join(LEARNING_RATE_SCHEDULES)}.")


def optimizer(training: TrainingConfig, steps_per_epoch: int, dtype: str | None = None) -> keras.optimizers.Optimizer:
    """Adam, or AdamW when `training.weight_decay` > 0, at `learning_rate(training, steps_per_epoch)`.

    Under `dtype="mixed_float16"` it is wrapped in a `LossScaleOptimizer`, so float16 gradients do
    not underflow (Keras wraps it only when the outer model's own policy is mixed_float16, and the
    zoo's models keep float32 outer layers). bfloat16 has float32's range and needs no scaling.

    Example:
    >>> from zoo.tasks.base import TrainingConfig
    >>> type(optimizer(TrainingConfig(), 10)).__name__, type(optimizer(TrainingConfig(weight_decay=0.01), 10)).__name__
    ('Adam', 'AdamW')
    >>> type(optimizer(TrainingConfig(), 10, dtype="mixed_float16")).__name__
    'LossScaleOptimizer'
    """
    rate = learning_rate(training, steps_per_epoch)
    if training.weight_decay:
        chosen = keras.optimizers.AdamW(rate, weight_decay=training.weight_decay)
    else:
        chosen = keras.optimizers.Adam(rate)
    return keras.optimizers.LossScaleOptimizer(chosen) if dtype == "mixed_float16" else chosen


def build_model(task: Task, data: Dataset, *, dtype: str | None = None, jit_compile: bool | str = "auto") -> keras.Model:
    """Backbone (adapted to the training inputs) + head, frozen or not as the task says, compiled.

    Example:
    >>> from zoo.tasks import get_task
    >>> from zoo.data import load_dataset
    >>> task = get_task("medical/breast_cancer_diagnosis")
    >>> build_model(task, load_dataset(task.dataset)).output_shape
    (None, 1)
    """
    if task.backbone.preset:
        backbone = preset_backbone(task.backbone.preset, data, dtype=dtype)
    else:
        backbone = build_backbone(task.backbone.name, dtype=dtype, **backbone_arguments(task, data.meta))
        backbone.adapt(data.train.x)
    head = build_head(head_config(task, data), backbone.output_dim, dtype=dtype)
    model = transfer_model(backbone, head, freeze=task.training.freeze, name=task.name.replace("/", "_"))
    model.compile(
        optimizer=optimizer(task.training, -(-len(data.train) // task.training.batch_size), dtype),
        loss=task.loss,
        metrics=list(task.metrics),
        jit_compile=jit_compile,
    )
    first = keras.tree.map_structure(lambda a: np.asarray(a)[:1], (data.train.x, data.train.y))
    build_training_state(model, make_dataset(*first, batch_size=1).element_spec)
    return model


def preset_backbone(preset_dir: str, data: Dataset, *, dtype: str | None = None) -> Any:
    """A preset's pretrained backbone, checked against the task's inputs (not adapted again: its
    normalization statistics are its pretraining corpus's, as in `zoo transfer`).

    Example:
    >>> import tempfile
    >>> from builders import TabularBackbone
    >>> from zoo.data.types import Split
    >>> from zoo.transfer import save_preset
    >>> path = save_preset(TabularBackbone(num_numeric=3, hidden_units=(4,)), tempfile.mkdtemp())
    >>> s = Split({"numeric": np.zeros((2, 3), "float32")}, np.array([0, 1]))
    >>> preset_backbone(str(path), Dataset(s, s, s)).output_dim
    4
    """
    from builders.pretrain.base import check_inputs
    from zoo.transfer import load_preset

    backbone = load_preset(preset_dir, verify=False, dtype=dtype).backbone  # verified when the run started
    check_inputs(backbone, data.train.x, f"the preset {preset_dir}")
    return backbone


def build_training_state(model: keras.Model, element_spec: Any) -> None:
    """Create a compiled model's optimizer and metric variables now, from its data's element spec.

    Keras otherwise creates them while it traces the first training step, and TensorFlow traces a
    function that creates variables twice: building them first makes the first epoch 1.3-2.2x
    faster here, with the same losses (`benchmarks/first_epoch.py`). Call it again after a
    recompile (e.g. `unfreeze`).

    Args:
        model: a compiled Keras model.
        element_spec: the training dataset's `element_spec`, `(x, y)` or `(x, y, sample_weight)`.

    Example:
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile("adam", "mse", metrics=["mae"])
    >>> build_training_state(model, make_dataset(np.zeros((4, 3), "float32"), np.zeros(4), 2).element_spec)
    >>> model.optimizer.built, len(model.optimizer.variables)
    (True, 6)
    """
    symbolic = tf.nest.map_structure(lambda s: keras.KerasTensor(s.shape, s.dtype.name), element_spec)
    model._symbolic_build(data_batch=symbolic)  # what fit does first under a tf.distribute strategy
