"""Masked-step reconstruction for continuous sequences (sensor windows, time series).

Spans of steps are blanked (set to 0) and the model reconstructs them, as TST
(Zerveas et al. 2021) does for multivariate time series.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from builders.backbones.base import Backbone
from builders.backbones.rnn import RNNBackbone
from builders.backbones.temporal_cnn import TemporalCNNBackbone
from builders.backbones.transformer import TransformerBackbone
from builders.errors import ConfigError
from builders.pretrain.base import Pretrainer, check_inputs, fit_pretrainer, sequence_output, shuffled_batches


def span_mask(batch_size, sequence_length: int, rate: float, span: int) -> tf.Tensor:
    """A float 0/1 mask `(batch, sequence_length)` of random spans covering about `rate` of steps.

    Span starts are drawn with probability `rate / span` and widened to `span` steps, so isolated
    steps (which neighbours would give away) are rare.

    Example:
    >>> m = span_mask(64, 30, rate=0.3, span=5)
    >>> m.shape, 0.15 < float(tf.reduce_mean(m)) < 0.45
    (TensorShape([64, 30]), True)
    """
    starts = tf.cast(tf.random.uniform((batch_size, sequence_length)) < rate / span, tf.float32)
    widened = tf.nn.max_pool1d(starts[..., tf.newaxis], ksize=span, strides=1, padding="SAME")
    return widened[..., 0]


@keras.saving.register_keras_serializable(package="vertical_zoo")
class MaskedStepPretrainer(Pretrainer):
    """Reconstructs blanked spans of a continuous sequence.

    A `TransformerBackbone` reconstructs each step from its own output of the last encoder
    (loss on the blanked steps only). An `RNNBackbone` (feature vector: the final state) or a
    `TemporalCNNBackbone` (its dense layer) reconstructs the whole window from that vector (a
    denoising autoencoder: every step counts, blanked steps `masked_weight` times as much), which
    makes the vector summarize the window.

    Args:
        backbone: a continuous-input `TransformerBackbone`, `RNNBackbone` or `TemporalCNNBackbone`
            (`num_features` set, fixed `sequence_length`).
        mask_rate: float. Share of steps blanked.
        span: int. Length of each blanked span.
        masked_weight: float. Loss weight of a blanked step relative to a visible one (RNN only).

    Example:
    >>> b = RNNBackbone(sequence_length=6, num_features=3, units=4)
    >>> p = MaskedStepPretrainer(b)
    >>> p(np.zeros((2, 6, 3), "float32")).shape
    TensorShape([2, 6, 3])
    """

    def __init__(self, backbone: Backbone, mask_rate: float = 0.3, span: int = 5, masked_weight: float = 3.0,
                 **kwargs):
        windows = (TransformerBackbone, RNNBackbone, TemporalCNNBackbone)
        if not isinstance(backbone, windows) or getattr(backbone, "num_features", None) is None:
            raise ConfigError("MaskedStepPretrainer: backbone must be a TransformerBackbone, RNNBackbone or "
                              "TemporalCNNBackbone with continuous input (num_features set), got "
                              f"{type(backbone).__name__}.")
        if backbone.sequence_length is None:
            raise ConfigError("MaskedStepPretrainer: the backbone needs a fixed sequence_length.")
        if not 0.0 < mask_rate < 1.0 or span < 1:
            raise ConfigError(f"MaskedStepPretrainer: mask_rate must be in (0, 1) and span >= 1, got {mask_rate}, "
                              f"{span}.")
        super().__init__(backbone, **kwargs)
        length, features = backbone.sequence_length, backbone.num_features
        kw = {"dtype": backbone.dtype_policy}

        # === Layers ===
        self.per_step = isinstance(backbone, TransformerBackbone)
        if self.per_step:
            self.encoder = sequence_output(backbone)
            self.decoder = keras.layers.Dense(features, name="step_decoder", **kw)
        else:
            self.encoder = backbone
            self.decoder = keras.Sequential(
                [keras.layers.Dense(length * features, name="window_decoder", **kw),
                 keras.layers.Reshape((length, features), **kw)], name="window_decoder")

        # === Config ===
        self.mask_rate = mask_rate
        self.span = span
        self.masked_weight = masked_weight

    def call(self, inputs, training=None):
        return self.decoder(self.encoder(inputs, training=training))

    def make_dataset(self, data, batch_size: int, seed: int) -> tf.data.Dataset:
        length = self.backbone.sequence_length

        def corrupt(x):
            mask = span_mask(tf.shape(x)[0], length, self.mask_rate, self.span)
            weight = mask if self.per_step else 1.0 + (self.masked_weight - 1.0) * mask
            return x * (1.0 - mask[..., tf.newaxis]), x, weight

        return shuffled_batches(np.asarray(data, dtype="float32"), batch_size, seed).map(corrupt)

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_rate": self.mask_rate, "span": self.span,
                "masked_weight": self.masked_weight}


def pretrain_masked_steps(
    backbone: Backbone,
    data: np.ndarray,
    *,
    mask_rate: float = 0.3,
    span: int = 5,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int | str = 0,
) -> dict[str, list[float]]:
    """Pretrain a continuous-input RNN or Transformer backbone in place by masked-step reconstruction.

    Args:
        backbone: a continuous `RNNBackbone` or `TransformerBackbone`; trained in place.
        data: float32 windows `(n, sequence_length, num_features)`, scaled as the target task's.
        mask_rate, span: see `MaskedStepPretrainer`.
        epochs, batch_size, learning_rate, seed: the training loop (Adam).
        verbose: Keras `fit` verbosity.

    Returns:
        The history: `loss` (weighted mean squared error of the reconstruction) per epoch.

    Example:
    >>> b = RNNBackbone(sequence_length=6, num_features=3, units=4)
    >>> history = pretrain_masked_steps(b, np.random.rand(16, 6, 3).astype("float32"), epochs=2)
    >>> len(history["loss"])
    2
    """
    check_inputs(backbone, data, "pretrain_masked_steps")
    keras.utils.set_random_seed(seed)
    pretrainer = MaskedStepPretrainer(backbone, mask_rate=mask_rate, span=span)
    return fit_pretrainer(pretrainer, data, loss="mse", epochs=epochs, batch_size=batch_size,
                          learning_rate=learning_rate, seed=seed, verbose=verbose)
