"""Recurrent backbone (LSTM or GRU, optionally bidirectional) for sequences and time series."""

from __future__ import annotations

import keras

from builders.backbones.base import Backbone, layer_kwargs
from builders.checks import check_size
from builders.errors import ConfigError
from builders.registry import register_backbone


@register_backbone("rnn")
@keras.saving.register_keras_serializable(package="vertical_zoo")
class RNNBackbone(Backbone):
    """Stacked LSTM or GRU layers; the last layer's final state is the feature vector.

    With `vocabulary_size` the input is token ids `(batch, sequence_length)` embedded with a
    masked `Embedding` (id 0 is padding); otherwise continuous `(batch, sequence_length,
    num_features)` steps (e.g. sensor windows).

    Args:
        sequence_length: int or None. Steps per sequence (None allows any length).
        num_features: int or None. Features per step for continuous input.
        vocabulary_size: int or None. Token vocabulary size for token input.
        embedding_dim: int. Token embedding width (token input only).
        cell: str. `"lstm"` or `"gru"`.
        units: int. Units of each recurrent layer (per direction).
        num_layers: int. Number of stacked recurrent layers.
        bidirectional: bool. Wrap each layer in `keras.layers.Bidirectional`.
        dropout: float. Dropout between layers and on the output.
        output: str. `"last"`: the last layer's final state. `"all"` (continuous input only): that
            state, the window's last step and its mean over steps, concatenated: a skip from the
            inputs, as LSTNet's autoregressive component (Lai et al. 2018), so a frozen pretrained
            base still shows its head the current readings.
        dtype: str or `keras.DTypePolicy`; forwarded to every layer.

    Example:
    >>> RNNBackbone(sequence_length=30, num_features=14, units=8, bidirectional=True).output_shape
    (None, 16)
    >>> RNNBackbone(sequence_length=30, num_features=14, units=8, output="all").output_shape  # 8 + 14 + 14
    (None, 36)
    """

    def __init__(
        self,
        sequence_length: int | None = None,
        num_features: int | None = None,
        vocabulary_size: int | None = None,
        embedding_dim: int = 64,
        cell: str = "lstm",
        units: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        output: str = "last",
        dtype=None,
        **kwargs,
    ):
        if (vocabulary_size is None) == (num_features is None):
            raise ConfigError("RNNBackbone: give exactly one of vocabulary_size (tokens) or num_features.")
        if output not in ("last", "all") or (output == "all" and vocabulary_size is not None):
            raise ConfigError(f"RNNBackbone: output must be 'last', or 'all' with continuous input (num_features); "
                              f"got output={output!r}.")
        sequence_length = check_size("RNNBackbone", "sequence_length", sequence_length, optional=True)
        num_features = check_size("RNNBackbone", "num_features", num_features, optional=True)
        vocabulary_size = check_size("RNNBackbone", "vocabulary_size", vocabulary_size, minimum=2, optional=True)
        embedding_dim = check_size("RNNBackbone", "embedding_dim", embedding_dim)
        units = check_size("RNNBackbone", "units", units)
        num_layers = check_size("RNNBackbone", "num_layers", num_layers)
        layer_cls = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}.get(cell)
        if layer_cls is None:
            raise ConfigError(f"RNNBackbone: cell must be 'lstm' or 'gru', got {cell!r}.")
        kw = layer_kwargs(dtype)

        # === Layers ===
        if vocabulary_size is not None:
            inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
            x = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="embedding", **kw)(inputs)
        else:
            inputs = keras.Input(shape=(sequence_length, num_features), name="steps")
            x = inputs
        for i in range(num_layers):
            last = i == num_layers - 1
            layer = layer_cls(units, return_sequences=not last, name=f"{cell}_{i}", **kw)
            if bidirectional:
                layer = keras.layers.Bidirectional(layer, name=f"bi{cell}_{i}", **kw)
            x = layer(x)
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}", **kw)(x)
        if output == "all":
            window_mean = keras.layers.GlobalAveragePooling1D(name="window_mean", **kw)(inputs)
            x = keras.layers.Concatenate(name="with_inputs", **kw)([x, inputs[:, -1, :], window_mean])

        # === Functional Model ===
        super().__init__(inputs=inputs, outputs=x, dtype=dtype, **kwargs)

        # === Config ===
        self.sequence_length = sequence_length
        self.num_features = num_features
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.output_mode = output

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            sequence_length=self.sequence_length,
            num_features=self.num_features,
            vocabulary_size=self.vocabulary_size,
            embedding_dim=self.embedding_dim,
            cell=self.cell,
            units=self.units,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            output=self.output_mode,
        )
        return config
