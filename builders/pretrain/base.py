"""What every self-supervised objective shares: the pretrainer base class, the sequence-output
sub-model, and one compile-and-fit loop."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from builders.backbones.base import Backbone
from builders.errors import ConfigError


class Pretrainer(keras.Model):
    """A backbone plus a small pretext head, trained with a self-supervised loss.

    The pretext head is thrown away after pretraining; the backbone's weights, trained in
    place, are what a transfer keeps. Subclasses build their pretext layers in `__init__`,
    implement `call` and `make_dataset` (the batches of inputs, targets and weights their loss
    needs, with the random corruption applied on the fly in `tf.data`), and return their
    arguments from `get_config`.

    Args:
        backbone: a `builders` `Backbone`, trained in place.
    """

    def __init__(self, backbone: Backbone, **kwargs):
        if not isinstance(backbone, Backbone):
            raise ConfigError(f"{type(self).__name__}: backbone must be a builders Backbone, got "
                              f"{type(backbone).__name__}.")
        super().__init__(**kwargs)
        self.backbone = backbone

    def make_dataset(self, data: Any, batch_size: int, seed: int) -> tf.data.Dataset:
        """Shuffled, batched, corrupted training batches built from the unlabelled `data`."""
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"backbone": keras.saving.serialize_keras_object(self.backbone), "name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        return cls(**config)


def sequence_output(backbone: Backbone) -> keras.Model:
    """The per-step output of a Transformer backbone (the last encoder, before pooling).

    A sub-model of the backbone's own graph: it shares the backbone's layers and weights, so
    training it trains the backbone.

    Example:
    >>> from builders.backbones import TransformerBackbone
    >>> b = TransformerBackbone(sequence_length=6, num_features=3, hidden_dim=8, num_layers=2, num_heads=2,
    ...                         intermediate_dim=16)
    >>> sequence_output(b).output_shape
    (None, 6, 8)
    """
    num_layers = getattr(backbone, "num_layers", None)
    try:
        last = backbone.get_layer(f"encoder_{num_layers - 1}")
    except (TypeError, ValueError):
        raise ConfigError(
            f"{type(backbone).__name__} '{backbone.name}' has no per-step output (no layer 'encoder_<n-1>'); "
            "per-step objectives need a TransformerBackbone."
        ) from None
    return keras.Model(backbone.input, last.output, name=f"{backbone.name}_sequence")


def shuffled_batches(data: Any, batch_size: int, seed: int, drop_remainder: bool = False) -> tf.data.Dataset:
    """Unlabelled `data` (an array or dict of arrays) as seeded, reshuffled batches.

    Example:
    >>> [int(b.shape[0]) for b in shuffled_batches(np.zeros((5, 2), "float32"), 2, seed=0)]
    [2, 2, 1]
    """
    n = len(next(iter(data.values()))) if isinstance(data, dict) else len(data)
    if n == 0:
        raise ConfigError("pretraining data is empty; expected at least one example.")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}.")
    ds = tf.data.Dataset.from_tensor_slices(data).cache()
    ds = ds.shuffle(min(n, 100_000), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder)


def check_inputs(backbone: Backbone, data: Any, where: str) -> None:
    """Raise a `ConfigError` naming `where` if `data` does not fit the backbone's inputs.

    Example:
    >>> from builders.backbones import RNNBackbone
    >>> check_inputs(RNNBackbone(sequence_length=4, num_features=2, units=3), np.zeros((7, 4, 2)), "demo")
    >>> from builders.backbones import TransformerBackbone
    >>> b = TransformerBackbone(sequence_length=4, vocabulary_size=9, hidden_dim=4, num_heads=1, intermediate_dim=4)
    >>> check_inputs(b, np.ones((2, 6), "int32"), "demo")
    Traceback (most recent call last):
    builders.errors.ConfigError: demo: data has 6 tokens per example; the backbone takes at most 4 (its sequence_length).
    """
    expected = backbone.input if isinstance(backbone.input, dict) else {"": backbone.input}
    given = data if isinstance(data, dict) else {"": data}
    if set(expected) != set(given):
        raise ConfigError(f"{where}: data has inputs {sorted(given)}; the backbone takes {sorted(expected)}.")
    for key, tensor in expected.items():
        shape = tuple(np.shape(given[key]))[1:]
        want = tuple(tensor.shape[1:])
        if len(shape) != len(want) or any(w is not None and w != s for w, s in zip(want, shape, strict=True)):
            label = f" '{key}'" if key else ""
            raise ConfigError(f"{where}: data{label} has example shape {shape}; the backbone expects {want}.")
    limit = getattr(backbone, "sequence_length", None)  # a length axis left open (token ids) still has a maximum
    if limit and not isinstance(data, dict) and np.ndim(data) == 2 and np.shape(data)[1] > limit:
        raise ConfigError(f"{where}: data has {np.shape(data)[1]} tokens per example; the backbone takes at most "
                          f"{limit} (its sequence_length).")


def fit_pretrainer(
    pretrainer: Pretrainer,
    data: Any,
    *,
    loss: Any,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    weighted_metrics: list | None = None,
    callbacks: list | None = None,
    verbose: int | str = 0,
) -> dict[str, list[float]]:
    """Compile `pretrainer` with Adam and train it on its own corrupted batches of `data`.

    Returns:
        The Keras history as plain lists of floats, one value per epoch.
    """
    if epochs < 1:
        raise ConfigError(f"epochs must be >= 1, got {epochs}.")
    pretrainer.backbone.trainable = True
    pretrainer.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, weighted_metrics=weighted_metrics)
    history = pretrainer.fit(pretrainer.make_dataset(data, batch_size, seed), epochs=epochs,
                             callbacks=callbacks, shuffle=False, verbose=verbose).history
    return {k: [float(v) for v in values] for k, values in history.items()}


