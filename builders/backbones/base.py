"""The base class of every Vertical Zoo backbone (keras-hub's `Backbone` contract)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import keras
import keras_hub


class Backbone(keras_hub.models.Backbone):
    """A functional `keras.Model` mapping inputs to a pooled feature vector.

    Subclasses build their layers in `__init__` from plain arguments and return those
    arguments from `get_config()`, so a backbone round-trips through `from_config`,
    `model.keras` (safe mode) and keras-hub presets (`save_to_preset` / `from_preset`
    on a local directory).
    """

    registered_name = "backbone"

    def __init__(self, *args, **kwargs):
        # A stable name ("cnn_backbone", not "cnn_backbone_3"), so saved models and layer look-ups
        # do not depend on how many models were built before.
        kwargs.setdefault("name", f"{self.registered_name}_backbone")
        trainable = kwargs.pop("trainable", True)
        frozen = set(kwargs.pop("frozen_layers", ()))
        super().__init__(*args, **kwargs)
        # Set after building so the flag reaches every sub-layer: a frozen backbone stays frozen when
        # a saved model is loaded (passing trainable=False to keras.Model only marks the outer model).
        self.trainable = trainable
        for layer in self._flatten_layers(include_self=False, recursive=True):
            if layer.name in frozen:
                layer.trainable = False

    def get_config(self) -> dict:
        """The constructor's arguments, plus `frozen_layers`: the sub-layers a trainable backbone keeps
        frozen (e.g. BatchNorm after `builders.unfreeze`), so a reloaded model trains the same weights."""
        config = super().get_config()
        frozen = sorted({layer.name for layer in self._flatten_layers(include_self=False, recursive=True)
                         if not layer.trainable}) if self.trainable else []
        if frozen:
            config["frozen_layers"] = frozen
        return config

    @property
    def output_dim(self) -> int:
        """Size of the feature vector."""
        return int(self.output.shape[-1])

    def adapt(self, x) -> None:  # noqa: B027 - optional hook, most backbones learn nothing here
        """Learn data statistics (e.g. normalization) from training inputs `x`; default: nothing."""


def layer_kwargs(dtype) -> dict:
    """Keyword arguments every sub-layer gets, so a mixed-precision `dtype` reaches all of them.

    Example:
    >>> layer_kwargs("mixed_float16")
    {'dtype': 'mixed_float16'}
    """
    return {"dtype": dtype} if dtype is not None else {}


def serialize_dtype(dtype):
    """A JSON-friendly form of a dtype or dtype policy (None stays None).

    Example:
    >>> serialize_dtype(None) is None
    True
    """
    if dtype is None or isinstance(dtype, str):
        return dtype
    return keras.dtype_policies.serialize(dtype)


@keras.saving.register_keras_serializable(package="vertical_zoo")
class ReplaceOutOfRange(keras.layers.Layer):
    """Integer ids outside `[0, num_ids)` become `replacement`; the others pass unchanged.

    Put in front of an `Embedding`, it makes every id a client can send valid inside the model
    (so Keras, a SavedModel and TFLite agree): a negative id is not read from the end of the
    table, and one past its end does not fail the lookup. A compare and a select per id, in
    TFLite's built-in ops.

    Args:
        num_ids: int or sequence of int. Size of the id space, or one size per column of the
            last axis.
        replacement: int. The id out-of-range ids become (e.g. 0, "unseen", or a tokenizer's
            out-of-vocabulary id).

    Example:
    >>> ReplaceOutOfRange([4, 3])(keras.ops.convert_to_tensor([[-1, 2], [4, 3]])).numpy().tolist()
    [[0, 2], [0, 0]]
    """

    def __init__(self, num_ids: int | Sequence[int], replacement: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.num_ids = int(num_ids) if isinstance(num_ids, numbers.Integral) else [int(n) for n in num_ids]
        self.replacement = int(replacement)

    def call(self, ids):
        limit = keras.ops.convert_to_tensor(self.num_ids, dtype=ids.dtype)
        known = keras.ops.logical_and(keras.ops.greater_equal(ids, 0), keras.ops.less(ids, limit))
        return keras.ops.where(known, ids, keras.ops.full_like(ids, self.replacement))

    def get_config(self) -> dict:
        return {**super().get_config(), "num_ids": self.num_ids, "replacement": self.replacement}
