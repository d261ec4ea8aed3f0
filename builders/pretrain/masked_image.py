"""Masked-image reconstruction: blank random patches, rebuild the image from the pooled features."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from builders.backbones.base import Backbone
from builders.errors import ConfigError
from builders.pretrain.base import Pretrainer, check_inputs, fit_pretrainer, shuffled_batches


def patch_mask(batch_size, height: int, width: int, patch: int, rate: float) -> tf.Tensor:
    """A float 0/1 mask `(batch, height, width, 1)` blanking about `rate` of `patch` x `patch` squares.

    Example:
    >>> patch_mask(2, 8, 8, patch=4, rate=0.5).shape
    TensorShape([2, 8, 8, 1])
    """
    rows, cols = -(-height // patch), -(-width // patch)
    grid = tf.cast(tf.random.uniform((batch_size, rows, cols, 1)) < rate, tf.float32)
    grid = tf.repeat(tf.repeat(grid, patch, axis=1), patch, axis=2)
    return grid[:, :height, :width]


@keras.saving.register_keras_serializable(package="vertical_zoo")
class MaskedImagePretrainer(Pretrainer):
    """Rebuilds a whole image from the backbone's pooled features after random patches were blanked.

    The decoder is one `Dense` layer from the feature vector to every pixel (sized for small
    images such as 28x28); blanked pixels weigh `masked_weight` times as much as visible ones.

    Args:
        backbone: an image backbone with inputs in [0, 1].
        patch: int. Side of the blanked squares.
        mask_rate: float. Share of squares blanked.
        masked_weight: float. Loss weight of a blanked pixel relative to a visible one.

    Example:
    >>> from builders.backbones import CNNBackbone
    >>> p = MaskedImagePretrainer(CNNBackbone(input_shape=(8, 8, 1), filters=(4,)), patch=4)
    >>> p(np.zeros((2, 8, 8, 1), "float32")).shape
    TensorShape([2, 8, 8, 1])
    """

    def __init__(self, backbone: Backbone, patch: int = 4, mask_rate: float = 0.5, masked_weight: float = 3.0,
                 **kwargs):
        shape = tuple(backbone.input.shape[1:])
        if len(shape) != 3 or None in shape:
            raise ConfigError(f"MaskedImagePretrainer: backbone must take fixed-size images, got input shape {shape}.")
        if patch < 1 or not 0.0 < mask_rate < 1.0:
            raise ConfigError(f"MaskedImagePretrainer: patch must be >= 1 and mask_rate in (0, 1), got {patch}, "
                              f"{mask_rate}.")
        super().__init__(backbone, **kwargs)

        # === Layers ===
        self.decoder = keras.Sequential(
            [keras.layers.Dense(int(np.prod(shape)), activation="sigmoid"), keras.layers.Reshape(shape)],
            name="pixel_decoder")

        # === Config ===
        self.patch = patch
        self.mask_rate = mask_rate
        self.masked_weight = masked_weight

    def call(self, images, training=None):
        return self.decoder(self.backbone(images, training=training))

    def make_dataset(self, data, batch_size: int, seed: int) -> tf.data.Dataset:
        height, width = self.backbone.input.shape[1:3]

        def corrupt(x):
            mask = patch_mask(tf.shape(x)[0], height, width, self.patch, self.mask_rate)
            return x * (1.0 - mask), x, (1.0 + (self.masked_weight - 1.0) * mask)[..., 0]

        return shuffled_batches(np.asarray(data, dtype="float32"), batch_size, seed).map(corrupt)

    def get_config(self) -> dict:
        return {**super().get_config(), "patch": self.patch, "mask_rate": self.mask_rate,
                "masked_weight": self.masked_weight}


def pretrain_masked_image(
    backbone: Backbone,
    data: np.ndarray,
    *,
    patch: int = 4,
    mask_rate: float = 0.5,
    epochs: int = 20,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int | str = 0,
) -> dict[str, list[float]]:
    """Pretrain an image backbone in place by masked-patch reconstruction.

    Args:
        backbone: a `CNNBackbone` or `ApplicationBackbone`; trained in place.
        data: float32 images `(n, height, width, channels)` in [0, 1].
        patch, mask_rate: see `MaskedImagePretrainer`.
        epochs, batch_size, learning_rate, seed: the training loop (Adam).
        verbose: Keras `fit` verbosity.

    Returns:
        The history: `loss` (weighted pixel mean squared error) per epoch.

    Example:
    >>> from builders.backbones import CNNBackbone
    >>> b = CNNBackbone(input_shape=(8, 8, 1), filters=(4,))
    >>> len(pretrain_masked_image(b, np.random.rand(8, 8, 8, 1).astype("float32"), epochs=2)["loss"])
    2
    """
    check_inputs(backbone, data, "pretrain_masked_image")
    keras.utils.set_random_seed(seed)
    pretrainer = MaskedImagePretrainer(backbone, patch, mask_rate)
    return fit_pretrainer(pretrainer, data, loss="mse", epochs=epochs, batch_size=batch_size,
                          learning_rate=learning_rate, seed=seed, verbose=verbose)
