"""A keras-hub text encoder (e.g. a locally saved `BertBackbone` preset) as a Vertical Zoo backbone."""

from __future__ import annotations

from typing import Any

import keras
import keras_hub

from builders.backbones.base import Backbone, layer_kwargs
from builders.checks import check_size
from builders.errors import ConfigError

POOLINGS = ("auto", "mean", "first")


@keras.saving.register_keras_serializable(package="vertical_zoo")
class PaddingMask(keras.layers.Layer):
    """`token_ids != padding_id` as int32: the `padding_mask` keras-hub encoders take.

    Example:
    >>> PaddingMask(padding_id=0)(keras.ops.convert_to_tensor([[5, 7, 0]])).numpy().tolist()
    [[1, 1, 0]]
    """

    def __init__(self, padding_id: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.padding_id = int(padding_id)

    def call(self, token_ids):
        return keras.ops.cast(keras.ops.not_equal(token_ids, self.padding_id), "int32")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "padding_id": self.padding_id}


@keras.saving.register_keras_serializable(package="vertical_zoo")
class HubTextBackbone(Backbone):
    """Wraps a keras-hub text encoder so it maps token ids to one pooled feature vector.

    keras-hub encoders (`BertBackbone`, `RobertaBackbone`, `DistilBertBackbone`, ...) take a dict
    of `token_ids`, `padding_mask` (and for some `segment_ids`) and return the sequence of hidden
    states (and for BERT a `pooled_output`). This backbone takes the token ids alone, as every
    Vertical Zoo text backbone does, builds the padding mask from `padding_id` and zero segment
    ids, and pools: `"auto"` uses the encoder's `pooled_output` when it has one, else the masked
    mean of `sequence_output`. Pack the ids as the encoder was trained (e.g. `[CLS] ... [SEP]`,
    `zoo.transfer.tokenize_for_preset` does this with keras-hub's `StartEndPacker`).

    Args:
        encoder: a keras-hub `Backbone` with a `token_ids` input, or its serialized config
            (how a saved model rebuilds it).
        sequence_length: int. Token ids per example.
        padding_id: int. The id that pads sequences (the tokenizer's `pad_token_id`).
        pooling: str. `"auto"`, `"mean"` (masked mean of the hidden states) or `"first"`
            (the first token's hidden state).
        dtype: str or `keras.DTypePolicy`.

    Example:
    >>> encoder = keras_hub.models.BertBackbone(vocabulary_size=20, num_layers=1, num_heads=2, hidden_dim=8,
    ...                                         intermediate_dim=16, max_sequence_length=12)
    >>> HubTextBackbone(encoder, sequence_length=12).output_shape
    (None, 8)
    """

    registered_name = "hub_text"

    def __init__(
        self,
        encoder: keras_hub.models.Backbone | dict[str, Any],
        sequence_length: int,
        padding_id: int = 0,
        pooling: str = "auto",
        dtype=None,
        **kwargs,
    ):
        if isinstance(encoder, dict):
            encoder = keras.saving.deserialize_keras_object(encoder)
        if not isinstance(encoder, keras_hub.models.Backbone):
            raise ConfigError(f"HubTextBackbone: encoder must be a keras-hub Backbone, got {type(encoder).__name__}.")
        names = set(encoder.input) if isinstance(encoder.input, dict) else set()
        if "token_ids" not in names:
            raise ConfigError(f"HubTextBackbone: {type(encoder).__name__} does not take token ids (its inputs: "
                              f"{', '.join(sorted(names)) or 'one tensor'}); only text encoders are supported.")
        if pooling not in POOLINGS:
            raise ConfigError(f"HubTextBackbone: pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}.")
        sequence_length = check_size("HubTextBackbone", "sequence_length", sequence_length)
        padding_id = check_size("HubTextBackbone", "padding_id", padding_id, minimum=0)
        limit = getattr(encoder, "max_sequence_length", None)
        if limit is not None and sequence_length > limit:
            raise ConfigError(f"HubTextBackbone: sequence_length {sequence_length} is longer than the encoder's "
                              f"max_sequence_length {limit}.")
        kw = layer_kwargs(dtype)

        # === Layers ===
        token_ids = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
        mask = PaddingMask(padding_id, name="padding_mask", **kw)(token_ids)
        feed = {"token_ids": token_ids, "padding_mask": mask}
        if "segment_ids" in names:
            feed["segment_ids"] = keras.ops.zeros_like(token_ids)
        outputs = encoder({k: feed[k] for k in names if k in feed})
        sequence = outputs["sequence_output"] if isinstance(outputs, dict) else outputs
        if pooling == "auto" and isinstance(outputs, dict) and "pooled_output" in outputs:
            features = outputs["pooled_output"]
        elif pooling == "first":
            features = sequence[:, 0]
        else:
            features = keras.layers.GlobalAveragePooling1D(name="pool", **kw)(sequence, mask=mask)

        # === Functional Model ===
        super().__init__(inputs=token_ids, outputs=features, dtype=dtype, **kwargs)

        # === Config ===
        self.encoder = encoder
        self.sequence_length = sequence_length
        self.padding_id = padding_id
        self.pooling = pooling

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            sequence_length=self.sequence_length,
            padding_id=self.padding_id,
            pooling=self.pooling,
        )
        return config
