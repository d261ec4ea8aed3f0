"""Contrastive image pretraining (SimCLR, Chen et al. 2020) with Keras random augmentation layers."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from builders.backbones.base import Backbone
from builders.errors import ConfigError
from builders.pretrain.base import Pretrainer, check_inputs, fit_pretrainer, shuffled_batches


def augmenter(crop_zoom: float = 0.3, translation: float = 0.1, rotation: float = 0.05, contrast: float = 0.3,
              flip: bool = True, noise: float = 0.02, name: str = "augment") -> keras.Sequential:
    """Random image augmentations (active only when `training=True`) for images in [0, 1].

    Example:
    >>> augmenter()(np.zeros((2, 8, 8, 1), "float32"), training=True).shape
    TensorShape([2, 8, 8, 1])
    """
    layers = [keras.layers.RandomFlip("horizontal")] if flip else []
    layers += [
        keras.layers.RandomZoom((-crop_zoom, 0.0), fill_mode="reflect"),  # zooming in = a random crop
        keras.layers.RandomTranslation(translation, translation, fill_mode="reflect"),
        keras.layers.RandomRotation(rotation, fill_mode="reflect"),
        keras.layers.RandomContrast(contrast, value_range=(0, 1)),
        keras.layers.GaussianNoise(noise),
    ]
    return keras.Sequential(layers, name=name)


def nt_xent(z1, z2, temperature: float):
    """SimCLR's normalized-temperature cross-entropy between two views `(batch, dim)` each.

    Each example's other view is its positive; the other 2(batch - 1) views are negatives.

    Example:
    >>> z = np.eye(4, dtype="float32")
    >>> float(nt_xent(z, z, 0.1)) < float(nt_xent(z, z[::-1], 0.1))
    True
    """
    z = ops.normalize(ops.concatenate([z1, z2], axis=0), axis=-1)
    n = ops.shape(z1)[0]
    logits = ops.matmul(z, ops.transpose(z)) / temperature
    logits = logits - 1e9 * ops.eye(2 * n, dtype=logits.dtype)  # an example is not its own negative
    labels = ops.concatenate([ops.arange(n, 2 * n), ops.arange(0, n)], axis=0)
    return ops.mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))


@keras.saving.register_keras_serializable(package="vertical_zoo")
class ContrastivePretrainer(Pretrainer):
    """Two random augmentations of each image should map to nearby projections (SimCLR).

    The projection MLP sits on the backbone's pooled features and is dropped after pretraining.

    Args:
        backbone: an image backbone (`CNNBackbone`, `ApplicationBackbone`) with inputs in [0, 1].
        projection_units: sequence of int. Widths of the projection MLP (last = projection size).
        temperature: float. Softmax temperature of the NT-Xent loss.
        augmentation: dict. Keyword arguments of `augmenter` (e.g. `{"flip": False}`).

    Example:
    >>> from builders.backbones import CNNBackbone
    >>> p = ContrastivePretrainer(CNNBackbone(input_shape=(8, 8, 1), filters=(4,)), projection_units=(8, 4))
    >>> p(np.zeros((3, 8, 8, 1), "float32")).shape
    TensorShape([6, 4])
    """

    def __init__(self, backbone: Backbone, projection_units: Sequence[int] = (128, 64), temperature: float = 0.2,
                 augmentation: dict | None = None, **kwargs):
        if len(backbone.input.shape) != 4:
            raise ConfigError(f"ContrastivePretrainer: backbone must take images (batch, h, w, c), got input shape "
                              f"{backbone.input.shape}.")
        if temperature <= 0:
            raise ConfigError(f"ContrastivePretrainer: temperature must be > 0, got {temperature}.")
        super().__init__(backbone, **kwargs)

        # === Layers ===
        self.augment = augmenter(**(augmentation or {}))
        units = list(projection_units)
        self.projector = keras.Sequential(
            [keras.layers.Dense(u, activation="relu") for u in units[:-1]] + [keras.layers.Dense(units[-1])],
            name="projector",
        )

        # === Config ===
        self.projection_units = units
        self.temperature = temperature
        self.augmentation = dict(augmentation or {})

    def call(self, images, training=None):
        """Projections of two augmented views, stacked: `(2 * batch, projection size)`."""
        views = [self.augment(images, training=True) for _ in range(2)]
        return ops.concatenate([self.projector(self.backbone(v, training=training)) for v in views], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y_pred is None:
            y_pred = self(x, training=training)
        z1, z2 = ops.split(y_pred, 2, axis=0)
        return nt_xent(z1, z2, self.temperature)

    def make_dataset(self, data, batch_size: int, seed: int) -> tf.data.Dataset:
        if len(data) < 2:
            raise ConfigError("ContrastivePretrainer: needs at least 2 images (the others are the negatives).")
        # Full batches only: every batch has the same number of negatives (and never a lone image).
        return shuffled_batches(np.asarray(data, dtype="float32"), min(batch_size, len(data)), seed,
                                drop_remainder=True)

    def get_config(self) -> dict:
        return {**super().get_config(), "projection_units": self.projection_units, "temperature": self.temperature,
                "augmentation": self.augmentation}


def pretrain_contrastive(
    backbone: Backbone,
    data: np.ndarray,
    *,
    projection_units: Sequence[int] = (128, 64),
    temperature: float = 0.2,
    augmentation: dict | None = None,
    epochs: int = 20,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int | str = 0,
) -> dict[str, list[float]]:
    """Pretrain an image backbone in place with SimCLR's contrastive objective.

    Args:
        backbone: a `CNNBackbone` or `ApplicationBackbone`; trained in place.
        data: float32 images `(n, height, width, channels)` in [0, 1].
        projection_units, temperature, augmentation: see `ContrastivePretrainer`.
        epochs, batch_size, learning_rate, seed: the training loop (Adam); larger batches give
            more negatives.
        verbose: Keras `fit` verbosity.

    Returns:
        The history: `loss` (NT-Xent) per epoch.

    Example:
    >>> from builders.backbones import CNNBackbone
    >>> b = CNNBackbone(input_shape=(8, 8, 1), filters=(4,))
    >>> len(pretrain_contrastive(b, np.random.rand(8, 8, 8, 1).astype("float32"), epochs=2)["loss"])
    2
    """
    check_inputs(backbone, data, "pretrain_contrastive")
    keras.utils.set_random_seed(seed)
    pretrainer = ContrastivePretrainer(backbone, projection_units, temperature, augmentation)
    return fit_pretrainer(pretrainer, data, loss=None, epochs=epochs, batch_size=batch_size,
                          learning_rate=learning_rate, seed=seed, verbose=verbose)
