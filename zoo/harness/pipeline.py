"""tf.data input pipelines: slices -> cache -> shuffle (seeded) -> batch -> prefetch."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.data.types import Inputs, num_rows


def make_dataset(
    x: Inputs,
    y: np.ndarray | None,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    cache: bool = True,
    sample_weight: np.ndarray | None = None,
) -> tf.data.Dataset:
    """A batched, prefetched `tf.data.Dataset` of `(x, y[, sample_weight])`.

    Sharding across workers is by data (`AutoShardPolicy.DATA`), since in-memory slices have
    no files to shard by.

    Example:
    >>> ds = make_dataset(np.zeros((10, 3), "float32"), np.arange(10), batch_size=4)
    >>> [int(xb.shape[0]) for xb, _ in ds]
    [4, 4, 2]
    """
    parts = (x,) if y is None else (x, y) if sample_weight is None else (x, y, sample_weight)
    ds = tf.data.Dataset.from_tensor_slices(parts if len(parts) > 1 else parts[0])
    if cache:
        ds = ds.cache()
    if shuffle:
        n = len(y) if y is not None else int(ds.cardinality())
        ds = ds.shuffle(min(n, 100_000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = True
    return ds.with_options(options)


def predict(model, x: Inputs, batch_size: int = 256) -> np.ndarray:
    """`model.predict` over `make_dataset(x, None, batch_size)`, its last batch padded to full size.

    Keras traces its predict step on the first batch's shape and again on a smaller last batch.
    With every batch the same size each model is traced once, and a process that trains many
    models (seeds, ensemble members) no longer gets TensorFlow's "frequent retracing" warning.
    The padding rows (zeros) are predicted and dropped; no layer mixes rows at inference.

    Example:
    >>> import keras
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones")])
    >>> predict(model, np.ones((5, 2), "float32"), batch_size=4).ravel().tolist()
    [2.0, 2.0, 2.0, 2.0, 2.0]
    """
    n = num_rows(x)
    batch_size = max(1, min(batch_size, n))

    def pad(t):
        rows = batch_size - tf.shape(t)[0]
        return tf.pad(t, [[0, rows]] + [[0, 0]] * (t.shape.rank - 1))

    ds = make_dataset(x, None, batch_size).map(lambda batch: tf.nest.map_structure(pad, batch))
    return model.predict(ds, verbose=0)[:n]
