"""The base class of every Vertical Zoo backbone (keras-hub's `Backbone` contract)."""

from __future__ import annotations

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
        super().__init__(*args, **kwargs)
        # Set after building so the flag reaches every sub-layer: a frozen backbone stays frozen when
        # a saved model is loaded (passing trainable=False to keras.Model only marks the outer model).
        self.trainable = trainable

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
