"""Transformer encoder backbone for token sequences or continuous steps (time series, patches)."""

from __future__ import annotations

import keras
import keras_hub

from builders.backbones.base import Backbone, ReplaceOutOfRange, layer_kwargs
from builders.checks import check_size
from builders.errors import ConfigError
from builders.registry import register_backbone


@register_backbone("transformer")
@keras.saving.register_keras_serializable(package="vertical_zoo")
class TransformerBackbone(Backbone):
    """A stack of keras-hub `TransformerEncoder` layers, pooled to one vector.

    With `vocabulary_size` the input is integer token ids `(batch, length)`, any length up to
    `sequence_length` (as keras-hub's backbones take), embedded with keras-hub
    `TokenAndPositionEmbedding` (id 0 is padding and is masked). An id outside
    `[0, vocabulary_size)` becomes `oov_id` inside the model rather than failing the lookup. Without it the
    input is continuous `(batch, sequence_length, num_features)`, projected by a `Dense` layer
    and given learned position embeddings (time-series steps or image patches).

    Args:
        sequence_length: int. Length of every input sequence.
        vocabulary_size: int or None. Token vocabulary size (token input), or None (continuous).
        num_features: int or None. Features per step for continuous input.
        hidden_dim: int. Width of the encoder (`d_model`).
        num_layers: int. Number of encoder layers (0: the pooled token embeddings alone).
        num_heads: int. Attention heads per layer; must divide `hidden_dim`.
        intermediate_dim: int. Width of each feed-forward block.
        dropout: float. Dropout rate inside the encoder.
        pooling: str. `"mean"` (masked mean over steps) or `"first"` (first token, as BERT's CLS).
        oov_id: int or None. The id out-of-vocabulary ids become (the tokenizer's unknown token,
            e.g. 1 for the zoo's `"[UNK]"`); None: 0, padding, so they are ignored.
        dtype: str or `keras.DTypePolicy`, e.g. `"mixed_float16"`; forwarded to every layer.

    Example:
    >>> backbone = TransformerBackbone(sequence_length=8, vocabulary_size=50, hidden_dim=16,
    ...                                num_layers=1, num_heads=2, intermediate_dim=32)
    >>> backbone.output_shape
    (None, 16)
    >>> oov = backbone(keras.ops.array([[7, 50, -3]])) - backbone(keras.ops.array([[7, 0, 0]]))
    >>> float(keras.ops.max(keras.ops.abs(oov)))  # ids 50 and -3 are outside the vocabulary: padding
    0.0
    """

    def __init__(
        self,
        sequence_length: int,
        vocabulary_size: int | None = None,
        num_features: int | None = None,
        hidden_dim: int = 128,
        num_layers: int = 2,
        num_heads: int = 4,
        intermediate_dim: int = 256,
        dropout: float = 0.1,
        pooling: str = "mean",
        oov_id: int | None = None,
        dtype=None,
        **kwargs,
    ):
        if (vocabulary_size is None) == (num_features is None):
            raise ConfigError("TransformerBackbone: give exactly one of vocabulary_size (tokens) or num_features.")
        sequence_length = check_size("TransformerBackbone", "sequence_length", sequence_length)
        vocabulary_size = check_size("TransformerBackbone", "vocabulary_size", vocabulary_size, minimum=2,
                                     optional=True)
        num_features = check_size("TransformerBackbone", "num_features", num_features, optional=True)
        hidden_dim = check_size("TransformerBackbone", "hidden_dim", hidden_dim)
        num_layers = check_size("TransformerBackbone", "num_layers", num_layers, minimum=0)  # 0: a bag of embeddings
        num_heads = check_size("TransformerBackbone", "num_heads", num_heads)
        intermediate_dim = check_size("TransformerBackbone", "intermediate_dim", intermediate_dim)
        if hidden_dim % num_heads:
            raise ConfigError(f"TransformerBackbone: num_heads={num_heads} must divide hidden_dim={hidden_dim}.")
        if pooling not in ("mean", "first"):
            raise ConfigError(f"TransformerBackbone: pooling must be 'mean' or 'first', got {pooling!r}.")
        oov_id = check_size("TransformerBackbone", "oov_id", oov_id, minimum=0, optional=True)
        if oov_id is not None and (vocabulary_size is None or oov_id >= vocabulary_size):
            raise ConfigError(f"TransformerBackbone: oov_id must be a token id in [0, vocabulary_size) with token "
                              f"input; got oov_id={oov_id}, vocabulary_size={vocabulary_size}.")
        kw = layer_kwargs(dtype)

        # === Layers ===
        padding_mask = None
        if vocabulary_size is not None:
            # Any length up to `sequence_length`, as keras-hub's backbones: the position embedding is
            # sliced to the input, so a batch cut to its longest text gives the same features.
            inputs = keras.Input(shape=(None,), dtype="int32", name="token_ids")
            token_ids = ReplaceOutOfRange(vocabulary_size, oov_id or 0, name="vocabulary_ids", **kw)(inputs)
            # The padding mask goes to the encoders and the pooling explicitly, as keras-hub's BertBackbone
            # passes it: with mask_zero=True the embedding's mask reached its inner position embedding, which
            # warned that it "will destroy the mask information" (keras#19794) though the mask was kept.
            padding_mask = keras.ops.not_equal(token_ids, 0)
            x = keras_hub.layers.TokenAndPositionEmbedding(
                vocabulary_size, sequence_length, hidden_dim, name="embedding", **kw
            )(token_ids)
        else:
            inputs = keras.Input(shape=(sequence_length, num_features), name="steps")
            x = keras.layers.Dense(hidden_dim, name="step_projection", **kw)(inputs)
            x = x + keras_hub.layers.PositionEmbedding(sequence_length, name="position_embedding", **kw)(x)
        x = keras.layers.Dropout(dropout, name="embedding_dropout", **kw)(x)
        for i in range(num_layers):
            x = keras_hub.layers.TransformerEncoder(
                intermediate_dim, num_heads, dropout=dropout, name=f"encoder_{i}", **kw
            )(x, padding_mask=padding_mask)
        if pooling == "mean":
            features = keras.layers.GlobalAveragePooling1D(name="pool", **kw)(x, mask=padding_mask)
        else:
            features = x[:, 0]

        # === Functional Model ===
        super().__init__(inputs=inputs, outputs=features, dtype=dtype, **kwargs)

        # === Config ===
        self.sequence_length = sequence_length
        self.vocabulary_size = vocabulary_size
        self.num_features = num_features
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.pooling = pooling
        self.oov_id = oov_id

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            sequence_length=self.sequence_length,
            vocabulary_size=self.vocabulary_size,
            num_features=self.num_features,
            hidden_dim=self.hidden_dim,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            intermediate_dim=self.intermediate_dim,
            dropout=self.dropout,
            pooling=self.pooling,
            oov_id=self.oov_id,
        )
        return config
