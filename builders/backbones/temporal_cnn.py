"""Temporal CNN backbone for multivariate time-series windows (the DCNN of the RUL literature)."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from builders.backbones.base import Backbone, layer_kwargs
from builders.checks import check_size, check_sizes
from builders.registry import register_backbone


@register_backbone("temporal_cnn")
@keras.saving.register_keras_serializable(package="vertical_zoo")
class TemporalCNNBackbone(Backbone):
    """Convolutions along the time axis of `(steps, features)` windows, then one dense layer.

    The deep CNN of Li, Ding and Sun (2018) for remaining useful life: the window is a
    `(sequence_length, num_features)` image with one channel and every convolution slides a
    `kernel_size` x 1 filter along time, shared by all features, so features are mixed only by
    the dense layer after flattening. The defaults are that paper's (four layers of 10 filters of
    10 x 1, a last layer of 1 filter of 3 x 1, tanh, dropout 0.5, 100 dense units).

    Args:
        sequence_length: int. Steps per window (fixed: the features are flattened).
        num_features: int. Features per step.
        filters: sequence of int. Filters of each time convolution.
        kernel_size: int. Steps each of those convolutions spans.
        final_filters: int. Filters of the last convolution (0: none).
        final_kernel_size: int. Steps the last convolution spans.
        activation: str. Activation of every convolution and of the dense layer.
        dense_units: int. Width of the dense layer, the feature vector (0: the flattened maps).
        dropout: float. Dropout on the flattened maps.
        dtype: str or `keras.DTypePolicy`; forwarded to every layer.

    Example:
    >>> TemporalCNNBackbone(sequence_length=30, num_features=14).output_shape
    (None, 100)
    >>> TemporalCNNBackbone(sequence_length=30, num_features=14, final_filters=2, dense_units=0).output_shape
    (None, 840)
    """

    def __init__(
        self,
        sequence_length: int | None = None,
        num_features: int | None = None,
        filters: Sequence[int] = (10, 10, 10, 10),
        kernel_size: int = 10,
        final_filters: int = 1,
        final_kernel_size: int = 3,
        activation: str = "tanh",
        dense_units: int = 100,
        dropout: float = 0.5,
        dtype=None,
        **kwargs,
    ):
        # Both fixed: the window is flattened.
        sequence_length = check_size("TemporalCNNBackbone", "sequence_length", sequence_length)
        num_features = check_size("TemporalCNNBackbone", "num_features", num_features)
        filters = check_sizes("TemporalCNNBackbone", "filters", filters)
        kernel_size = check_size("TemporalCNNBackbone", "kernel_size", kernel_size)
        final_filters = check_size("TemporalCNNBackbone", "final_filters", final_filters, minimum=0)
        final_kernel_size = check_size("TemporalCNNBackbone", "final_kernel_size", final_kernel_size)
        dense_units = check_size("TemporalCNNBackbone", "dense_units", dense_units, minimum=0)
        kw = layer_kwargs(dtype)

        # === Layers ===
        inputs = keras.Input(shape=(sequence_length, num_features), name="steps")
        x = keras.layers.Reshape((sequence_length, num_features, 1), name="as_image", **kw)(inputs)
        convolutions = [(f, kernel_size) for f in filters] + ([(final_filters, final_kernel_size)] if final_filters else [])
        for i, (f, k) in enumerate(convolutions):
            x = keras.layers.Conv2D(f, (k, 1), padding="same", activation=activation, name=f"time_conv_{i}", **kw)(x)
        x = keras.layers.Flatten(name="flatten", **kw)(x)
        x = keras.layers.Dropout(dropout, name="dropout", **kw)(x)
        if dense_units:
            x = keras.layers.Dense(dense_units, activation=activation, name="dense", **kw)(x)

        # === Functional Model ===
        super().__init__(inputs=inputs, outputs=x, dtype=dtype, **kwargs)

        # === Config ===
        self.sequence_length = sequence_length
        self.num_features = num_features
        self.filters = filters
        self.kernel_size = kernel_size
        self.final_filters = final_filters
        self.final_kernel_size = final_kernel_size
        self.activation = activation
        self.dense_units = dense_units
        self.dropout = dropout

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            sequence_length=self.sequence_length,
            num_features=self.num_features,
            filters=list(self.filters),
            kernel_size=self.kernel_size,
            final_filters=self.final_filters,
            final_kernel_size=self.final_kernel_size,
            activation=self.activation,
            dense_units=self.dense_units,
            dropout=self.dropout,
        )
        return config
