"""Tabular backbone: normalized numeric features + categorical embeddings, then an MLP or a
small feature-token Transformer (FT-Transformer style)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import keras
import keras_hub
import numpy as np

from builders.backbones.base import Backbone, ReplaceOutOfRange, layer_kwargs
from builders.checks import check_size, check_sizes
from builders.errors import ConfigError
from builders.registry import register_backbone

INTERACTIONS = ("product", "difference")


@keras.saving.register_keras_serializable(package="vertical_zoo")
class NumericInteractions(keras.layers.Layer):
    """Products and differences of pairs of raw numeric columns, computed inside the model.

    Gives a network the quantities its target is known to depend on (a machine's power is torque
    times speed) while the saved model, and so serving, still takes the raw columns. Computes in
    float32 whatever the policy: products of raw readings overflow float16.

    Args:
        interactions: sequence of `(op, i, j)`: op `"product"` makes column i x column j,
            `"difference"` column i - column j (0-based indices of the numeric columns).

    Example:
    >>> layer = NumericInteractions([("product", 0, 1), ("difference", 1, 0)])
    >>> layer(np.array([[2.0, 5.0]], "float32")).numpy().tolist()
    [[10.0, 3.0]]
    """

    def __init__(self, interactions: Sequence[Sequence], **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.interactions = [(str(op), int(i), int(j)) for op, i, j in interactions]

    def call(self, x):
        columns = [x[:, i : i + 1] * x[:, j : j + 1] if op == "product" else x[:, i : i + 1] - x[:, j : j + 1]
                   for op, i, j in self.interactions]
        return keras.ops.concatenate(columns, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(self.interactions))

    def get_config(self) -> dict:
        return {**super().get_config(), "interactions": [list(t) for t in self.interactions]}


def _check_interactions(interactions, num_numeric: int) -> list[list]:
    checked = []
    for entry in interactions:
        ok = isinstance(entry, Sequence) and not isinstance(entry, str) and len(entry) == 3
        if ok:
            op, i, j = entry
            ok = op in INTERACTIONS and all(
                isinstance(k, numbers.Integral) and not isinstance(k, bool) and 0 <= k < num_numeric for k in (i, j)
            )
        if not ok:
            raise ConfigError(f"TabularBackbone: each interaction is [op, i, j] with op one of {INTERACTIONS} and "
                              f"i, j column indices in 0..{num_numeric - 1}; got {entry!r}.")
        checked.append([op, int(i), int(j)])
    return checked


@register_backbone("tabular")
@keras.saving.register_keras_serializable(package="vertical_zoo")
class TabularBackbone(Backbone):
    """Maps a dict `{"numeric": (batch, k), "categorical": (batch, m)}` to a feature vector.

    Numeric columns pass through a `keras.layers.Normalization` whose statistics are learned by
    `adapt()` on the training split (and saved with the model). Each categorical column has its
    own `Embedding` (code 0 is reserved for unknown categories; any code outside `[0, cardinality)`,
    such as the -1 pandas gives a missing value, is read as 0 inside the model). With `architecture="mlp"` the
    parts are concatenated and fed to Dense layers; with `"transformer"` every feature becomes a
    token (numeric: a per-feature linear map, `EinsumDense`) and keras-hub `TransformerEncoder`
    layers mix them.

    Args:
        num_numeric: int. Number of numeric columns (0 for none).
        categorical_cardinalities: sequence of int. Number of codes of each categorical column.
        embedding_dim: int. Embedding width (also the token width of the Transformer).
        hidden_units: sequence of int. MLP layer widths.
        dropout: float. Dropout after each MLP layer / inside the encoder.
        architecture: str. `"mlp"` or `"transformer"`.
        num_layers: int. Encoder layers (transformer only).
        num_heads: int. Attention heads (transformer only); must divide `embedding_dim`.
        interactions: sequence of `[op, i, j]` (see `NumericInteractions`): extra numeric columns
            computed in the model from the raw ones (`"product"` or `"difference"` of columns i
            and j), normalized with statistics of their own, and fed beside the columns.
        output: str. `"last"`: the last layer's output. `"all"` (mlp only): the MLP's input
            (normalized numeric columns and embeddings) and every hidden layer's output,
            concatenated, as the denoising-autoencoder features of Jahrer's Porto Seguro solution:
            a frozen pretrained base then still shows its head the columns themselves.
        dtype: str or `keras.DTypePolicy`; forwarded to every layer.

    Example:
    >>> b = TabularBackbone(num_numeric=3, categorical_cardinalities=[4], hidden_units=(8,))
    >>> b.adapt({"numeric": np.random.rand(10, 3).astype("float32")})
    >>> b({"numeric": np.zeros((2, 3)), "categorical": np.zeros((2, 1), "int32")}).shape
    TensorShape([2, 8])
    >>> TabularBackbone(num_numeric=3, hidden_units=(8, 4), output="all").output_dim  # 3 + 8 + 4
    15
    >>> TabularBackbone(num_numeric=3, hidden_units=(8,), interactions=[["product", 0, 1]], output="all").output_dim
    12
    """

    def __init__(
        self,
        num_numeric: int,
        categorical_cardinalities: Sequence[int] = (),
        embedding_dim: int = 8,
        hidden_units: Sequence[int] = (128, 64),
        dropout: float = 0.1,
        architecture: str = "mlp",
        num_layers: int = 2,
        num_heads: int = 2,
        interactions: Sequence[Sequence] = (),
        output: str = "last",
        dtype=None,
        **kwargs,
    ):
        num_numeric = check_size("TabularBackbone", "num_numeric", num_numeric, minimum=0)
        cards = list(check_sizes("TabularBackbone", "categorical_cardinalities", categorical_cardinalities))
        embedding_dim = check_size("TabularBackbone", "embedding_dim", embedding_dim)
        hidden_units = check_sizes("TabularBackbone", "hidden_units", hidden_units)
        num_layers = check_size("TabularBackbone", "num_layers", num_layers)
        num_heads = check_size("TabularBackbone", "num_heads", num_heads)
        interactions = _check_interactions(interactions, num_numeric)
        if num_numeric == 0 and not cards:
            raise ConfigError("TabularBackbone: needs at least one numeric or categorical column.")
        if architecture not in ("mlp", "transformer"):
            raise ConfigError(f"TabularBackbone: architecture must be 'mlp' or 'transformer', got {architecture!r}.")
        if architecture == "transformer" and embedding_dim % num_heads:
            raise ConfigError(f"TabularBackbone: num_heads={num_heads} must divide embedding_dim={embedding_dim}.")
        if output not in ("last", "all") or (output == "all" and architecture != "mlp"):
            raise ConfigError(f"TabularBackbone: output must be 'last', or 'all' with architecture='mlp'; got "
                              f"output={output!r}, architecture={architecture!r}.")
        kw = layer_kwargs(dtype)

        # === Layers ===
        inputs, parts = {}, []
        if num_numeric > 0:
            inputs["numeric"] = keras.Input(shape=(num_numeric,), name="numeric")
            # float32 under any policy: raw columns overflow float16 (an area near 2,500 has a variance of 10^5,
            # above float16's 65,504, and came out of a float16 normalization as exactly 0).
            numeric = keras.layers.Normalization(name="normalization", dtype="float32")(inputs["numeric"])
            if interactions:
                derived = NumericInteractions(interactions, name="interactions")(inputs["numeric"])
                derived = keras.layers.Normalization(name="interaction_normalization", dtype="float32")(derived)
                numeric = keras.layers.Concatenate(name="numeric_and_interactions", **kw)([numeric, derived])
            columns = num_numeric + len(interactions)
            if architecture == "transformer":
                tokens = keras.layers.Reshape((columns, 1), name="numeric_columns")(numeric)
                numeric = keras.layers.EinsumDense(
                    "bki,kid->bkd", output_shape=(columns, embedding_dim), bias_axes="kd",
                    name="numeric_tokens", **kw
                )(tokens)
            parts.append(numeric)
        if cards:
            inputs["categorical"] = keras.Input(shape=(len(cards),), dtype="int32", name="categorical")
            codes = ReplaceOutOfRange(cards, 0, name="unseen_codes", **kw)(inputs["categorical"])
            for j, card in enumerate(cards):
                code = codes[:, j : j + 1]
                emb = keras.layers.Embedding(card, embedding_dim, name=f"categorical_{j}", **kw)(code)
                parts.append(emb if architecture == "transformer" else keras.layers.Reshape((embedding_dim,), **kw)(emb))
        if architecture == "mlp":
            x = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="concat", **kw)(parts)
            layers = [x]
            for i, units in enumerate(hidden_units):
                x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}", **kw)(x)
                x = keras.layers.Dropout(dropout, name=f"dropout_{i}", **kw)(x)
                layers.append(x)
            if output == "all" and len(layers) > 1:
                x = keras.layers.Concatenate(name="all_layers", **kw)(layers)
        else:
            x = parts[0] if len(parts) == 1 else keras.layers.Concatenate(axis=1, name="tokens", **kw)(parts)
            for i in range(num_layers):
                x = keras_hub.layers.TransformerEncoder(
                    2 * embedding_dim, num_heads, dropout=dropout, name=f"encoder_{i}", **kw
                )(x)
            x = keras.layers.GlobalAveragePooling1D(name="pool", **kw)(x)

        # === Functional Model ===
        super().__init__(inputs=inputs, outputs=x, dtype=dtype, **kwargs)

        # === Config ===
        self.num_numeric = num_numeric
        self.categorical_cardinalities = cards
        self.embedding_dim = embedding_dim
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.architecture = architecture
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.interactions = interactions
        self.output_mode = output

    def adapt(self, x) -> None:
        """Learn the numeric columns' (and interactions') mean and variance from training inputs `x` (a dict)."""
        if self.num_numeric > 0:
            numeric = np.asarray(x["numeric"], dtype="float32")
            self.get_layer("normalization").adapt(numeric)
            if self.interactions:
                derived = keras.ops.convert_to_numpy(self.get_layer("interactions")(numeric))
                self.get_layer("interaction_normalization").adapt(derived)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            num_numeric=self.num_numeric,
            categorical_cardinalities=self.categorical_cardinalities,
            embedding_dim=self.embedding_dim,
            hidden_units=list(self.hidden_units),
            dropout=self.dropout,
            architecture=self.architecture,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            interactions=self.interactions,
            output=self.output_mode,
        )
        return config
