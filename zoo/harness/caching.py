"""Feature caching for frozen bases: run the backbone once, then train only the head.

A model made by `builders.transfer_model` runs its backbone in inference mode
(`builders.transfer.InferenceMode`), so when the backbone is frozen and the inputs are not
augmented, every epoch of a plain `model.fit` recomputes the same features. `fit_cached`
computes them once (in memory, or in a `.npy` file on disk for large data) and trains the
model's `"head"` on them. The head's layers are the full model's, so training them trains the
full model. The shuffle order (`zoo.harness.pipeline.make_dataset` with the same seed), the
head's dropout masks (its layers' own seed generators) and the optimizer (the model's own) are
those `model.fit` would use, so the trained head matches the uncached path up to float rounding.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from builders.transfer import InferenceMode, adapt_feature_normalization, feature_normalization, get_backbone
from zoo.data.types import Inputs, num_rows
from zoo.harness.build import build_training_state
from zoo.harness.distributed import replay_shuffles
from zoo.harness.pipeline import make_dataset
from zoo.tasks.base import Task

DEFAULT_MAX_MEMORY_BYTES = 2**30  # features above this size go to a file on disk (when a cache_dir is given)
FEATURE_BATCH_SIZE = 128  # batch size of `fit_cached`'s one backbone pass (see its `feature_batch_size`)


def can_cache(task: Task | None, model: keras.Model, *, augment: bool = False) -> tuple[bool, str]:
    """Whether `fit_cached` gives the same head as `model.fit`, and if not, why not.

    Caching is valid when the model is exactly inputs -> frozen backbone in inference mode ->
    head (as `builders.transfer_model` builds it), only the head has trainable weights, the task
    freezes the backbone, and nothing augments the inputs (`augment=True`, or a task
    `preprocessing`/`data_options` key starting with `"augment"` that is set).

    Args:
        task: `Task` or None. The task being trained (None: judge by the model alone).
        model: keras.Model. A compiled model from `builders.transfer_model`.
        augment: bool. Whether the training inputs are augmented (e.g. by a `tf.data` map).

    Returns:
        `(True, "on")` or `(False, "off: <reason>")`.

    Example:
    >>> from builders import CNNBackbone, HeadConfig, build_head, transfer_model
    >>> base = CNNBackbone(input_shape=(8, 8, 1), filters=(4,))
    >>> model = transfer_model(base, build_head(HeadConfig("binary"), base.output_dim), freeze=True)
    >>> model.compile("adam", "binary_crossentropy")
    >>> can_cache(None, model)
    (True, 'on')
    >>> can_cache(None, model, augment=True)
    (False, 'off: the inputs are augmented')
    """
    if task is not None and not task.training.freeze:
        return False, "off: the backbone is trained (freeze=False)"
    if augment or (task is not None and _augmented(task)):
        return False, "off: the inputs are augmented"
    ops = [op for op in model.operations if not isinstance(op, keras.layers.InputLayer)]
    if len(ops) != 2 or not isinstance(ops[0], InferenceMode) or ops[1].name != "head":
        names = ", ".join(op.name for op in ops)
        return False, f"off: the model is not inputs -> frozen backbone -> head (its layers: {names})"
    head_weights = {id(w) for w in ops[1].weights}
    if any(id(w) not in head_weights for w in model.trainable_weights):
        return False, "off: the backbone has trainable weights (unfrozen)"
    if not model.compiled:
        return False, "off: the model is not compiled"
    strategy = model.distribute_strategy
    default = not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy()  # no tf.distribute
    if strategy.num_replicas_in_sync > 1 or not default:
        # The cached head's one-call epochs update variables outside a replica context, which a tf.distribute
        # strategy's variables refuse (MirroredStrategy, even with one replica).
        return False, (f"off: {type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s) (feature "
                       "caching trains the head outside tf.distribute)")
    return True, "on"


def _augmented(task: Task) -> bool:
    options = {**task.data_options, **task.preprocessing}
    return any(key.startswith("augment") and value for key, value in options.items())


class _Inference:
    """`backbone(inputs, training=False)`. An object, not a lambda: TensorFlow counts traces per
    Python code object, so a process that caches features for many models (`zoo transfer`'s
    seeds and label budgets) would otherwise warn of "frequent retracing" (as for `_Epoch`)."""

    def __init__(self, backbone: keras.Model):
        self.backbone = backbone

    def __call__(self, inputs):
        return self.backbone(inputs, training=False)


def _forward(backbone: keras.Model, jit_compile: bool):
    """The backbone's inference pass as a `tf.function`, traced once for every batch size (the
    signature leaves the batch axis free), and the input signature."""
    spec = keras.tree.map_structure(lambda t: tf.TensorSpec((None, *t.shape[1:]), t.dtype), backbone.input)
    fn = tf.function(_Inference(backbone), input_signature=[spec], jit_compile=jit_compile)
    return fn, spec


def padded_batches(ids: np.ndarray, batch_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Batches of 0-padded token ids sorted by length, each cut to its longest row: `(rows, ids)`.

    A backbone that takes any length (its input's length axis is None) gives the same features
    for a row whatever padding follows it, so one pass over sorted, trimmed batches does the
    work of the real tokens only (PhraseBank's training sentences fill 57% of 64 positions).

    Example:
    >>> ids = np.array([[5, 6, 7, 0], [8, 0, 0, 0], [9, 4, 0, 0]])
    >>> [(rows.tolist(), batch.shape) for rows, batch in padded_batches(ids, 2)]
    [([1, 2], (2, 2)), ([0], (1, 3))]
    """
    nonzero = ids != 0
    lengths = np.where(nonzero.any(axis=1), ids.shape[1] - np.argmax(nonzero[:, ::-1], axis=1), 1)
    order = np.argsort(lengths, kind="stable")
    return [(rows, ids[rows, : lengths[rows].max()]) for rows in np.split(order, range(batch_size, len(ids), batch_size))]


def _extract(forward, x: Inputs, dim: int, batch_size: int, path: str | os.PathLike | None) -> np.ndarray:
    fn, spec = forward
    n = num_rows(x)
    if path is None:
        out = np.empty((n, dim), dtype="float32")
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        out = np.lib.format.open_memmap(path, mode="w+", dtype="float32", shape=(n, dim))
    if isinstance(spec, tf.TensorSpec) and spec.shape.rank == 2 and spec.shape[1] is None and spec.dtype.is_integer:
        for rows, ids in padded_batches(np.asarray(x), batch_size):  # token ids, any length: skip the padding
            out[rows] = fn(tf.constant(ids, spec.dtype)).numpy()
    else:
        start = 0
        for batch in make_dataset(x, None, batch_size):
            features = fn(keras.tree.map_structure(lambda t, s: tf.cast(t, s.dtype), batch, spec)).numpy()
            out[start : start + len(features)] = features
            start += len(features)
    if path is not None:
        out.flush()
    return out


def extract_features(
    backbone: keras.Model,
    x: Inputs,
    *,
    batch_size: int = 32,
    jit_compile: bool = False,
    path: str | os.PathLike | None = None,
) -> np.ndarray:
    """The backbone's float32 features of `x` in inference mode, one row per example, in order.

    Args:
        backbone: keras.Model. Maps inputs to a feature vector (e.g. a `builders` backbone).
        x: array or dict of arrays. The inputs.
        batch_size: int. Examples per forward pass (the rows do not depend on it beyond float
            rounding).
        jit_compile: bool. Compile the forward pass with XLA.
        path: str or None. Write the features to this `.npy` file and return it memory-mapped,
            instead of holding them in memory.

    Returns:
        A float32 array `(num_rows(x), feature_dim)` (a `np.memmap` when `path` is given).

    Example:
    >>> from builders import CNNBackbone
    >>> extract_features(CNNBackbone(input_shape=(8, 8, 1), filters=(4,)), np.zeros((5, 8, 8, 1))).shape
    (5, 4)
    """
    return _extract(_forward(backbone, jit_compile), x, int(backbone.output.shape[-1]), batch_size, path)


def cached_dataset(
    features: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
) -> tf.data.Dataset:
    """`make_dataset(features, y, ...)`, batches in the same order as the uncached inputs'.

    In-memory features are sliced directly; memory-mapped ones (`np.memmap`) are gathered per
    batch from the file by row index, so they are never loaded whole. `tf.data`'s shuffle
    permutes positions whatever the elements are, so the order matches
    `make_dataset(x, y, batch_size, shuffle=shuffle, seed=seed)` over the original inputs.

    Example:
    >>> ds = cached_dataset(np.zeros((5, 3), "float32"), np.arange(5), batch_size=2)
    >>> [tuple(xb.shape) for xb, _ in ds]
    [(2, 3), (2, 3), (1, 3)]
    """
    if not isinstance(features, np.memmap):
        return make_dataset(features, y, batch_size, shuffle=shuffle, seed=seed, sample_weight=sample_weight)
    dim = features.shape[1]

    def gather(index, *rest):
        rows = tf.numpy_function(lambda i: np.asarray(features[i]), [index], tf.float32, stateful=False)
        rows.set_shape((None, dim))
        return rows, *rest

    index = np.arange(len(features), dtype="int64")
    return make_dataset(index, y, batch_size, shuffle=shuffle, seed=seed, sample_weight=sample_weight).map(gather)


def head_trainer(model: keras.Model) -> keras.Model:
    """A model of the head's layers alone, compiled as `model` is and sharing its optimizer.

    The layers (and so the weights and dropout seed generators) are the head's own: fitting the
    trainer trains `model`'s head, and `model.optimizer` keeps the state a plain `fit` would
    leave. The head itself stays uncompiled, so `model.keras` saves as before.

    Example:
    >>> from builders import CNNBackbone, HeadConfig, build_head, transfer_model
    >>> base = CNNBackbone(input_shape=(8, 8, 1), filters=(4,))
    >>> model = transfer_model(base, build_head(HeadConfig("binary"), base.output_dim))
    >>> model.compile("adam", "binary_crossentropy")
    >>> head_trainer(model).get_layer("predictions") is model.get_layer("head").get_layer("predictions")
    True
    """
    head = model.get_layer("head")
    config = model.get_compile_config() or {}

    def restore(key):
        return keras.saving.deserialize_keras_object(config.get(key))

    with model.distribute_strategy.scope():  # where the model and its optimizer were made
        trainer = keras.Model(head.inputs, head.outputs, name=f"{head.name}_on_features")
        trainer.compile(
            optimizer=model.optimizer,
            loss=restore("loss"),
            loss_weights=config.get("loss_weights"),
            metrics=restore("metrics"),
            weighted_metrics=restore("weighted_metrics"),
            jit_compile=model.jit_compile,
        )
    return trainer


def class_weights_to_sample_weights(y: np.ndarray, class_weight: dict[int, float]) -> np.ndarray:
    """One float32 weight per example, as `model.fit(class_weight=...)` derives them.

    The class of a row is its label rounded (sparse or a `(n, 1)` column), or the argmax of a
    one-hot row; classes missing from `class_weight` weigh 1.

    Example:
    >>> class_weights_to_sample_weights(np.array([0, 1, 1]), {0: 1.0, 1: 0.5}).tolist()
    [1.0, 0.5, 0.5]
    """
    y = np.asarray(y)
    if y.ndim > 1:
        y = y.argmax(axis=-1) if y.shape[-1] > 1 else y[..., 0]
    classes = np.round(y).astype("int64")
    return np.array([class_weight.get(int(c), 1.0) for c in classes], dtype="float32")


class _Epoch:
    """One whole epoch, head training then validation, for a single `tf.function` call.

    A call drains the iterators it is given (made in Python, one per epoch as `fit` makes them,
    so a shuffled dataset draws the same permutations), runs the trainer's own `train_step` /
    `test_step` per batch (XLA-compiled when the trainer is) and returns the training and
    validation metric results. Keras's `fit` makes one call per step (or per
    `steps_per_execution` steps) and creates its iterators, evaluates and resets metrics from
    Python each epoch; on a head of a few thousand weights that fixed cost is most of the epoch.
    (An object, not a closure: TensorFlow counts traces per Python code object and would warn of
    "frequent retracing" when many short runs each trace their own new epoch function.)
    """

    def __init__(self, trainer: keras.Model):
        self.trainer = trainer
        jit = bool(trainer.jit_compile)
        self.train_step = tf.function(trainer.train_step, jit_compile=True) if jit else trainer.train_step
        self.test_step = tf.function(trainer.test_step, jit_compile=True) if jit else trainer.test_step

    def drain(self, iterator: tf.data.Iterator, step) -> dict:
        for metric in self.trainer.metrics:
            metric.reset_state()

        def body(batch):
            step(batch.get_value())
            return [iterator.get_next_as_optional()]

        tf.while_loop(lambda batch: batch.has_value(), body, [iterator.get_next_as_optional()])
        return self.trainer.get_metrics_result()

    def __call__(self, train: tf.data.Iterator, validation: tf.data.Iterator | None):
        logs = self.drain(train, self.train_step)
        return logs, (None if validation is None else self.drain(validation, self.test_step))


def _numpy_logs(logs: dict) -> dict:
    """Metric results as Python floats (scalars) or NumPy arrays (e.g. per-class metrics)."""
    arrays = {name: np.asarray(value) for name, value in logs.items()}
    return {name: float(a) if a.ndim == 0 else a for name, a in arrays.items()}


def fit_head(
    trainer: keras.Model,
    train: tf.data.Dataset,
    validation: tf.data.Dataset | None = None,
    *,
    epochs: int = 1,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int | str = "auto",
) -> keras.callbacks.History:
    """`trainer.fit(train, validation_data=validation, ...)` with each epoch one `tf.function` call.

    The same steps, in the same order, with the same metrics, history and callbacks at epoch and
    training boundaries (`EarlyStopping`, `BackupAndRestore` with `save_freq="epoch"`,
    checkpoints, progress per epoch); callbacks see no per-batch events. For models whose steps
    take microseconds, such as a head on cached features, where `fit`'s per-epoch work in
    Python (iterators, evaluation set-up, metric resets) dominates.

    Example:
    >>> trainer = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> trainer.compile("sgd", "mse")
    >>> ds = tf.data.Dataset.from_tensor_slices((np.ones((8, 3), "float32"), np.ones((8, 1), "float32"))).batch(4)
    >>> history = fit_head(trainer, ds, ds, epochs=2, verbose=0)
    >>> sorted(history.history), len(history.history["loss"])
    (['loss', 'val_loss'], 2)
    """
    epoch_fn = tf.function(_Epoch(trainer), autograph=False)
    steps = int(train.cardinality())
    steps = steps if steps > 0 else None  # unknown (-2) or infinite (-1)
    callback_list = keras.callbacks.CallbackList(
        list(callbacks), add_history=True, add_progbar=verbose != 0, verbose=verbose, epochs=epochs, steps=steps,
        model=trainer,
    )
    trainer.stop_training = False
    callback_list.on_train_begin()
    logs = None
    first = getattr(trainer, "_initial_epoch", None) or 0  # set by BackupAndRestore on resuming
    replay_shuffles(train, first)  # a resumed run's next epoch gets the batches it would have had
    for epoch in range(first, epochs):
        if epoch > first and steps:
            # Keras 3's `fit` makes an iterator at the end of each epoch of known length that it never
            # uses, so its epochs draw every other shuffle permutation: skip one too, for the same batches.
            iter(train)
        callback_list.on_epoch_begin(epoch)
        train_logs, val_logs = epoch_fn(iter(train), None if validation is None else iter(validation))
        logs = _numpy_logs(train_logs)
        if val_logs is not None:
            callback_list.on_test_begin()
            val_logs = _numpy_logs(val_logs)
            callback_list.on_test_end(val_logs)
            logs.update({f"val_{name}": value for name, value in val_logs.items()})
        callback_list.on_epoch_end(epoch, logs)
        if trainer.stop_training:
            break
    if epochs > 0:
        trainer.optimizer.finalize_variable_values(trainer.trainable_weights)
    callback_list.on_train_end(logs)
    return trainer.history


def adapt_frozen_head(model: keras.Model, x: Inputs, batch_size: int = FEATURE_BATCH_SIZE) -> bool:
    """Standardize a frozen-base model's head input (`HeadConfig(normalize_features=True)`) with the
    backbone's features of the training inputs `x`, computed here: what `fit_cached` does with the
    features it caches, for the uncached path. Nothing happens (False) when the head has no
    standardization or the backbone is not frozen (fine-tuning keeps the frozen head's statistics).

    Example:
    >>> from builders import CNNBackbone, HeadConfig, build_head, transfer_model
    >>> base = CNNBackbone(input_shape=(8, 8, 1), filters=(4,))
    >>> model = transfer_model(base, build_head(HeadConfig("binary", normalize_features=True), base.output_dim))
    >>> adapt_frozen_head(model, np.random.rand(10, 8, 8, 1))
    True
    """
    backbone = get_backbone(model)
    if backbone.trainable or feature_normalization(model) is None:
        return False
    features = extract_features(backbone, x, batch_size=batch_size, jit_compile=bool(model.jit_compile))
    return adapt_feature_normalization(model, features)


def fit_cached(
    model: keras.Model,
    train: tuple[Inputs, np.ndarray],
    validation_data: tuple[Inputs, np.ndarray] | None = None,
    *,
    batch_size: int = 32,
    epochs: int = 1,
    seed: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    class_weight: dict[int, float] | None = None,
    verbose: int | str = "auto",
    cache_dir: str | os.PathLike | None = None,
    max_memory_bytes: int = DEFAULT_MAX_MEMORY_BYTES,
    feature_batch_size: int = FEATURE_BATCH_SIZE,
    jit_compile: bool | None = None,
    keep_files: bool = False,
) -> keras.callbacks.History:
    """Train a frozen-base model's head on backbone features computed once.

    Does what `model.fit(make_dataset(x, y, batch_size, shuffle=True, seed=seed), ...)` does
    for a model that `can_cache` accepts, in a fraction of the time: the backbone runs once over
    the training and validation inputs instead of once per epoch, and each epoch of head
    training and validation is one `tf.function` call (`fit_head`). Callbacks act on the head
    at epoch boundaries (`EarlyStopping(restore_best_weights=True)` restores the head's weights,
    which are the model's; `BackupAndRestore` backs up the head and the shared optimizer).

    Args:
        model: keras.Model. A compiled frozen-base model (`can_cache(task, model)` is true).
        train: `(x, y)`. Training inputs (array or dict of arrays) and targets.
        validation_data: `(x, y)` or None.
        batch_size: int. Training batch size (as for the uncached path).
        epochs: int. Epochs of head training.
        seed: int. Shuffle seed (as for `make_dataset`).
        callbacks: Keras callbacks, set on the head trainer.
        class_weight: dict or None. As for `model.fit`.
        verbose: as for `model.fit`.
        cache_dir: str or None. Where features larger than `max_memory_bytes` go
            (`train_features.npy`, `val_features.npy`, deleted after training unless `keep_files`);
            None keeps them in memory.
        max_memory_bytes: int. The largest feature array held in memory when `cache_dir` is given.
        feature_batch_size: int. Batch size of the one backbone pass (the features do not depend
            on it beyond float rounding). On this 2-core CPU, batches of 128 took the same CPU time
            as batches of 32 but ran the CNN's pass on both cores, where batches of 32 often used one.
        jit_compile: bool or None. XLA for the backbone pass; None: as `model.jit_compile`.
        keep_files: bool. Keep the feature files in `cache_dir` after training (default: delete them).

    Returns:
        The head trainer's `keras.callbacks.History`, with the same keys as `model.fit`'s.

    Example:
    >>> from builders import CNNBackbone, HeadConfig, build_head, transfer_model
    >>> base = CNNBackbone(input_shape=(8, 8, 1), filters=(4,))
    >>> model = transfer_model(base, build_head(HeadConfig("binary"), base.output_dim))
    >>> model.compile("adam", "binary_crossentropy")
    >>> x, y = np.random.rand(20, 8, 8, 1), np.arange(20) % 2
    >>> history = fit_cached(model, (x, y), (x, y), batch_size=8, epochs=2, verbose=0)
    >>> sorted(history.history)
    ['loss', 'val_loss']
    """
    backbone = get_backbone(model)
    forward = _forward(backbone, bool(model.jit_compile if jit_compile is None else jit_compile))
    dim = int(backbone.output.shape[-1])

    def features(x, name: str) -> np.ndarray:
        on_disk = cache_dir is not None and num_rows(x) * dim * 4 > max_memory_bytes
        path = Path(cache_dir) / f"{name}_features.npy" if on_disk else None
        return _extract(forward, x, dim, feature_batch_size, path)

    x, y = train
    try:
        # Finite datasets, as the uncached path: each epoch iterates anew (and so draws the next
        # shuffle permutation) as Keras does for the uncached one.
        weights = None if class_weight is None else class_weights_to_sample_weights(y, class_weight)
        train_features = features(x, "train")
        adapt_feature_normalization(model, train_features)  # as adapt_frozen_head does on the uncached path
        train_ds = cached_dataset(train_features, y, batch_size, shuffle=True, seed=seed, sample_weight=weights)
        val_ds = None
        if validation_data is not None:
            x_val, y_val = validation_data
            val_ds = cached_dataset(features(x_val, "val"), y_val, batch_size)
        trainer = head_trainer(model)
        with model.distribute_strategy.scope():
            build_training_state(trainer, train_ds.element_spec)
            return fit_head(trainer, train_ds, val_ds, epochs=epochs, callbacks=callbacks, verbose=verbose)
    finally:  # feature files are scratch: a resumed run recomputes them
        for name in ("train", "val"):
            if cache_dir is not None and not keep_files:
                (Path(cache_dir) / f"{name}_features.npy").unlink(missing_ok=True)
