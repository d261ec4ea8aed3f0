"""Masked-feature reconstruction for tabular data (VIME-style swap noise, Yoon et al. 2020)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from builders.backbones.tabular import TabularBackbone
from builders.errors import ConfigError
from builders.pretrain.base import Pretrainer, check_inputs, fit_pretrainer, shuffled_batches


def swap_noise(x: tf.Tensor, rate: float) -> tuple[tf.Tensor, tf.Tensor]:
    """Replace about `rate` of the entries of `x` `(batch, columns)` by the same column of a random row.

    Returns the corrupted batch and the float 0/1 mask of replaced entries (a replaced value is
    drawn from the column's own distribution, so it cannot be told apart by its range).

    Example:
    >>> noisy, mask = swap_noise(tf.constant([[1.0, 2.0], [3.0, 4.0]]), 0.5)
    >>> noisy.shape, mask.shape
    (TensorShape([2, 2]), TensorShape([2, 2]))
    """
    rows = tf.random.uniform(tf.shape(x), maxval=tf.shape(x)[0], dtype=tf.int32)
    donor = tf.experimental.numpy.take_along_axis(x, rows, axis=0)
    mask = tf.random.uniform(tf.shape(x)) < rate
    return tf.where(mask, donor, x), tf.cast(mask, tf.float32)


@keras.saving.register_keras_serializable(package="vertical_zoo")
class MaskedFeaturePretrainer(Pretrainer):
    """Corrupts a share of each row's cells with swap noise and reconstructs every cell.

    Numeric cells are reconstructed in the backbone's own normalized units (mean squared error),
    categorical cells as classes (cross-entropy); corrupted cells weigh `masked_weight` times as
    much. Call `backbone.adapt(x)` first (`pretrain_tabular` does): the targets use those statistics.

    Args:
        backbone: a `TabularBackbone`.
        mask_rate: float. Share of cells replaced.
        masked_weight: float. Loss weight of a corrupted cell relative to an intact one.

    Example:
    >>> b = TabularBackbone(num_numeric=3, categorical_cardinalities=[4], hidden_units=(8,))
    >>> b.adapt({"numeric": np.random.rand(10, 3)})
    >>> out = MaskedFeaturePretrainer(b)({"numeric": np.zeros((2, 3)), "categorical": np.zeros((2, 1), "int32")})
    >>> out["numeric"].shape, out["categorical_0"].shape
    (TensorShape([2, 3]), TensorShape([2, 4]))
    """

    def __init__(self, backbone: TabularBackbone, mask_rate: float = 0.3, masked_weight: float = 3.0, **kwargs):
        if not isinstance(backbone, TabularBackbone):
            raise ConfigError(f"MaskedFeaturePretrainer: backbone must be a TabularBackbone, got "
                              f"{type(backbone).__name__}.")
        if not 0.0 < mask_rate < 1.0:
            raise ConfigError(f"MaskedFeaturePretrainer: mask_rate must be in (0, 1), got {mask_rate}.")
        super().__init__(backbone, **kwargs)

        # === Layers ===
        self.numeric_decoder = (
            keras.layers.Dense(backbone.num_numeric, name="numeric_decoder") if backbone.num_numeric else None
        )
        self.categorical_decoders = [
            keras.layers.Dense(card, name=f"categorical_decoder_{j}")
            for j, card in enumerate(backbone.categorical_cardinalities)
        ]

        # === Config ===
        self.mask_rate = mask_rate
        self.masked_weight = masked_weight

    def call(self, inputs, training=None):
        features = self.backbone(inputs, training=training)
        out = {f"categorical_{j}": d(features) for j, d in enumerate(self.categorical_decoders)}
        if self.numeric_decoder is not None:
            out["numeric"] = self.numeric_decoder(features)
        return out

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y_pred is None:
            y_pred = self(x, training=training)
        terms = []
        if "numeric" in y:
            error = ops.square(y_pred["numeric"] - y["numeric"])
            terms.append(ops.sum(error * y["numeric_weight"]) / ops.sum(y["numeric_weight"]))
        for j in range(len(self.categorical_decoders)):
            ce = keras.losses.sparse_categorical_crossentropy(y["categorical"][:, j], y_pred[f"categorical_{j}"],
                                                              from_logits=True)
            weight = y["categorical_weight"][:, j]
            terms.append(ops.sum(ce * weight) / ops.sum(weight))
        return ops.mean(ops.stack(terms))

    def make_dataset(self, data, batch_size: int, seed: int) -> tf.data.Dataset:
        if self.backbone.num_numeric:
            norm = self.backbone.get_layer("normalization")
            mean = np.asarray(norm.mean, "float32").reshape(-1)
            std = np.sqrt(np.maximum(np.asarray(norm.variance, "float32").reshape(-1), 1e-6))
        weight = lambda mask: 1.0 + (self.masked_weight - 1.0) * mask  # noqa: E731

        def corrupt(batch):
            x, y = {}, {}
            if "numeric" in batch:
                x["numeric"], mask = swap_noise(batch["numeric"], self.mask_rate)
                y["numeric"], y["numeric_weight"] = (batch["numeric"] - mean) / std, weight(mask)
            if "categorical" in batch:
                x["categorical"], mask = swap_noise(batch["categorical"], self.mask_rate)
                y["categorical"], y["categorical_weight"] = batch["categorical"], weight(mask)
            return x, y

        data = {k: np.asarray(v, dtype="int32" if k == "categorical" else "float32") for k, v in data.items()}
        return shuffled_batches(data, batch_size, seed).map(corrupt)

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_rate": self.mask_rate, "masked_weight": self.masked_weight}


def pretrain_tabular(
    backbone: TabularBackbone,
    data: dict,
    *,
    mask_rate: float = 0.3,
    adapt: bool = True,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int | str = 0,
) -> dict[str, list[float]]:
    """Pretrain a `TabularBackbone` in place by masked-feature reconstruction.

    Args:
        backbone: a `TabularBackbone`; trained in place.
        data: dict `{"numeric": (n, k), "categorical": (n, m)}` of unlabelled rows.
        mask_rate: float. Share of cells corrupted.
        adapt: bool. First learn the numeric normalization from `data` (`backbone.adapt`).
        epochs, batch_size, learning_rate, seed: the training loop (Adam).
        verbose: Keras `fit` verbosity.

    Returns:
        The history: `loss` per epoch.

    Example:
    >>> b = TabularBackbone(num_numeric=3, categorical_cardinalities=[4], hidden_units=(8,))
    >>> rng = np.random.default_rng(0)
    >>> rows = {"numeric": rng.normal(size=(16, 3)), "categorical": rng.integers(0, 4, (16, 1))}
    >>> len(pretrain_tabular(b, rows, epochs=2)["loss"])
    2
    """
    if not isinstance(data, dict):
        raise ConfigError(f"pretrain_tabular: data must be a dict of 'numeric'/'categorical' arrays, got "
                          f"{type(data).__name__}.")
    check_inputs(backbone, data, "pretrain_tabular")
    keras.utils.set_random_seed(seed)
    if adapt:
        backbone.adapt(data)
    pretrainer = MaskedFeaturePretrainer(backbone, mask_rate)
    return fit_pretrainer(pretrainer, data, loss=None, epochs=epochs, batch_size=batch_size,
                          learning_rate=learning_rate, seed=seed, verbose=verbose)
