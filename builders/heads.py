"""Heads: a feature vector -> the task's output. They know nothing of data or industries."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence

import keras

from builders.checks import check_size, is_int
from builders.errors import ConfigError

HEAD_KINDS = ("binary", "multiclass", "multilabel", "regression", "forecast")
FEATURE_NORMALIZATION = "feature_normalization"


@dataclasses.dataclass
class HeadConfig:
    """What a head predicts; JSON-serializable with `dataclasses.asdict`.

    Args:
        kind: one of `HEAD_KINDS`.
        num_outputs: classes (multiclass), labels (multilabel), targets (regression/forecast);
            1 for binary.
        horizon: forecast steps (forecast only).
        hidden_units: widths of optional Dense layers before the output.
        dropout: dropout before each Dense layer.
        output_scale, output_offset: regression/forecast outputs are `raw * scale + offset`, so
            a head can be initialised at the target's scale (e.g. the training mean and std).
        normalize_features: centre the features and bring them to unit overall scale first (a
            `Normalization` layer named `feature_normalization`, set from the training features by
            `builders.adapt_feature_normalization`): the head of a frozen base, whose features
            may vary over a range far from 1 that a head at the usual learning rate barely moves in.

    Example:
    >>> HeadConfig("multiclass", 3).activation
    'softmax'
    """

    kind: str
    num_outputs: int = 1
    horizon: int = 1
    hidden_units: Sequence[int] = ()
    dropout: float = 0.0
    output_scale: float = 1.0
    output_offset: float = 0.0
    normalize_features: bool = False

    def __post_init__(self):
        if not isinstance(self.kind, str) or self.kind not in HEAD_KINDS:
            raise ConfigError(f"HeadConfig.kind must be one of {HEAD_KINDS}, got {self.kind!r}.")
        for field in ("num_outputs", "horizon"):
            value = getattr(self, field)
            if not is_int(value) or value < 1:
                raise ConfigError(f"HeadConfig: num_outputs and horizon must be integers >= 1, got {field}={value!r}.")
        if self.kind == "binary" and self.num_outputs != 1:
            raise ConfigError(f"HeadConfig: a binary head has one output (got num_outputs={self.num_outputs}).")
        if self.kind == "multiclass" and self.num_outputs < 2:
            raise ConfigError("HeadConfig: a multiclass head needs num_outputs >= 2 (use kind='binary' for two classes).")
        try:
            units = None if isinstance(self.hidden_units, str | bytes) else list(self.hidden_units)
        except TypeError:
            units = None
        if units is None or not all(is_int(u) and u >= 1 for u in units):
            raise ConfigError(f"HeadConfig.hidden_units must be a list of integers >= 1, got {self.hidden_units!r}.")
        if not _is_real(self.dropout) or not 0 <= self.dropout < 1:
            raise ConfigError(f"HeadConfig.dropout must be a number in [0, 1), got {self.dropout!r}.")
        for field in ("output_scale", "output_offset"):
            if not _is_real(getattr(self, field)) or not math.isfinite(getattr(self, field)):
                raise ConfigError(f"HeadConfig.{field} must be a finite number, got {getattr(self, field)!r}.")
        if not isinstance(self.normalize_features, bool):
            raise ConfigError(f"HeadConfig.normalize_features must be true or false, got {self.normalize_features!r}.")
        self.hidden_units = [int(u) for u in units]

    @property
    def activation(self) -> str | None:
        return {"binary": "sigmoid", "multiclass": "softmax", "multilabel": "sigmoid"}.get(self.kind)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def build_head(config: HeadConfig, input_dim: int, dtype=None, name: str = "head") -> keras.Sequential:
    """A `keras.Sequential` head for features of size `input_dim`.

    The output layer always computes in float32, so mixed-precision backbones keep a stable
    loss (Keras's mixed-precision guide).

    Example:
    >>> build_head(HeadConfig("forecast", num_outputs=2, horizon=5), input_dim=8).output_shape
    (None, 5, 2)
    """
    input_dim = check_size("build_head", "input_dim", input_dim)
    kw = {"dtype": dtype} if dtype is not None else {}
    layers: list = [keras.Input(shape=(input_dim,), name="features")]
    if config.normalize_features:  # float32 statistics under any policy (float16 squares overflow at 256)
        layers.append(keras.layers.Normalization(name=FEATURE_NORMALIZATION, dtype="float32"))
    for i, units in enumerate(config.hidden_units):
        layers += [
            keras.layers.Dropout(config.dropout, name=f"head_dropout_{i}", **kw),
            keras.layers.Dense(units, activation="relu", name=f"head_dense_{i}", **kw),
        ]
    layers.append(keras.layers.Dropout(config.dropout, name="head_dropout_out", **kw))
    units = config.num_outputs * (config.horizon if config.kind == "forecast" else 1)
    layers.append(keras.layers.Dense(units, activation=config.activation, dtype="float32", name="predictions"))
    if config.activation is None and (config.output_scale, config.output_offset) != (1.0, 0.0):
        layers.append(
            keras.layers.Rescaling(config.output_scale, config.output_offset, dtype="float32", name="target_scale")
        )
    if config.kind == "forecast":
        layers.append(keras.layers.Reshape((config.horizon, config.num_outputs), dtype="float32", name="forecast"))
    return keras.Sequential(layers, name=name)
