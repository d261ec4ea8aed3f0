"""Embedding recommender backbone: (user id, item id) -> features of biased matrix factorization."""

from __future__ import annotations

import keras
import numpy as np

from builders.backbones.base import Backbone, layer_kwargs
from builders.checks import check_size, check_sizes
from builders.errors import ConfigError
from builders.registry import register_backbone


@register_backbone("recommender")
@keras.saving.register_keras_serializable(package="vertical_zoo")
class RecommenderBackbone(Backbone):
    """User and item embeddings whose features make a linear head a biased matrix factorization.

    The input is a dict `{"user": int (batch,), "item": int (batch,)}` of ids in
    `[0, num_users)` and `[0, num_items)`. The feature vector is
    `concat(user_vector * item_vector, user_bias, item_bias)`, of size `embedding_dim + 2`, so a
    `Dense(1)` regression head computes `w . (p_u * q_i) + a * b_u + c * b_i + b`: the biased
    matrix factorization of Koren, Bell and Volinsky (2009), "SVD" in Surprise, with a learned
    per-factor scale `w` that the embeddings can absorb. With `mlp_units` the product is followed
    by ReLU layers (a small neural collaborative filter) and the biases are still appended. With
    `implicit=True` the user's factors also hold what they chose to rate (SVD++, Koren 2008):
    `p_u + |N(u)|^-1/2 * sum of y_j over the items j the user rated in training`, with the
    rated-items matrix learned by `adapt` from the training pairs and saved with the model.

    The L2 penalty is applied to the embedding rows a batch looks up (as stochastic-gradient
    matrix factorization regularizes each rating's factors), not to the whole table, so rare
    users and items are not shrunk on every step.

    Args:
        num_users: int. Size of the user id space (largest id + 1).
        num_items: int. Size of the item id space (largest id + 1).
        embedding_dim: int. Latent factors per user and item.
        l2: float. Weight of the L2 penalty on looked-up factors and biases (mean over the batch).
        dropout: float. Dropout on the factor product (0 for plain matrix factorization).
        mlp_units: sequence of int. Optional ReLU layers on the factor product.
        implicit: bool. Add SVD++'s implicit feedback to the user factors (see above; keeps a
            num_users x num_items matrix, sized for catalogues of thousands, not millions).
        dtype: str or `keras.DTypePolicy`; forwarded to every layer.

    Example:
    >>> import numpy as np
    >>> backbone = RecommenderBackbone(num_users=10, num_items=20, embedding_dim=4)
    >>> backbone({"user": np.array([1, 2]), "item": np.array([3, 19])}).shape
    TensorShape([2, 6])
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 32,
        l2: float = 0.0,
        dropout: float = 0.0,
        mlp_units: tuple[int, ...] | list[int] = (),
        implicit: bool = False,
        dtype=None,
        **kwargs,
    ):
        num_users = check_size("RecommenderBackbone", "num_users", num_users)
        num_items = check_size("RecommenderBackbone", "num_items", num_items)
        embedding_dim = check_size("RecommenderBackbone", "embedding_dim", embedding_dim)
        mlp_units = check_sizes("RecommenderBackbone", "mlp_units", mlp_units)
        if l2 < 0:
            raise ConfigError(f"RecommenderBackbone: l2 must be >= 0, got {l2}.")
        kw = layer_kwargs(dtype)
        init = keras.initializers.RandomNormal(stddev=0.1)

        # === Layers ===
        inputs = {
            "user": keras.Input(shape=(), dtype="int32", name="user"),
            "item": keras.Input(shape=(), dtype="int32", name="item"),
        }
        user_vector = keras.layers.Embedding(num_users, embedding_dim, embeddings_initializer=init,
                                             name="user_embedding", **kw)(inputs["user"])
        if implicit:
            implicit_vector = ImplicitFeedback(num_users, num_items, embedding_dim, name="implicit_feedback",
                                               **kw)(inputs["user"])
            user_vector = keras.layers.Add(name="user_factors", **kw)([user_vector, implicit_vector])
        item_vector = keras.layers.Embedding(num_items, embedding_dim, embeddings_initializer=init,
                                             name="item_embedding", **kw)(inputs["item"])
        user_bias = keras.layers.Embedding(num_users, 1, embeddings_initializer="zeros", name="user_bias",
                                           **kw)(inputs["user"])
        item_bias = keras.layers.Embedding(num_items, 1, embeddings_initializer="zeros", name="item_bias",
                                           **kw)(inputs["item"])
        looked_up = [user_vector, item_vector, user_bias, item_bias]
        if l2:
            looked_up = RowL2Penalty(l2, name="factor_penalty", **kw)(looked_up)
        user_vector, item_vector, user_bias, item_bias = looked_up
        x = keras.layers.Multiply(name="factor_product", **kw)([user_vector, item_vector])
        x = keras.layers.Dropout(dropout, name="product_dropout", **kw)(x)
        for i, units in enumerate(mlp_units):
            x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}", **kw)(x)
        features = keras.layers.Concatenate(name="features", **kw)([x, user_bias, item_bias])

        # === Functional Model ===
        super().__init__(inputs=inputs, outputs=features, dtype=dtype, **kwargs)

        # === Config ===
        self.num_users = num_users
        self.num_items = num_items
        self.embedding_dim = embedding_dim
        self.l2 = l2
        self.dropout = dropout
        self.mlp_units = mlp_units
        self.implicit = bool(implicit)

    def adapt(self, x) -> None:
        """With `implicit`, learn which items each user rated from training pairs `x` (a dict)."""
        if self.implicit:
            self.get_layer("implicit_feedback").adapt(x["user"], x["item"])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            num_users=self.num_users,
            num_items=self.num_items,
            embedding_dim=self.embedding_dim,
            l2=self.l2,
            dropout=self.dropout,
            mlp_units=list(self.mlp_units),
            implicit=self.implicit,
        )
        return config


@keras.saving.register_keras_serializable(package="vertical_zoo")
class ImplicitFeedback(keras.layers.Layer):
    """SVD++'s implicit part of a user's factors: `|N(u)|^-1/2 * sum of y_j for j in N(u)`.

    `N(u)` is the set of items user u rated in the training data, held as a non-trainable
    `num_users x num_items` matrix whose row u is `1 / sqrt(|N(u)|)` at those items (set by
    `adapt`, saved with the model); `y` is a trainable item-factor table. A user with no training
    ratings gets zeros.

    Args:
        num_users, num_items: int. Sizes of the id spaces.
        embedding_dim: int. Factors per item.

    Example:
    >>> layer = ImplicitFeedback(num_users=3, num_items=4, embedding_dim=2)
    >>> layer.adapt(np.array([0, 0, 1]), np.array([1, 2, 3]))
    >>> [round(float(v), 3) for v in np.asarray(layer.rated)[0]]
    [0.0, 0.707, 0.707, 0.0]
    >>> layer(np.array([2])).shape  # user 2 rated nothing: zeros
    TensorShape([1, 2])
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.num_users, self.num_items, self.embedding_dim = int(num_users), int(num_items), int(embedding_dim)
        self.rated = self.add_weight(shape=(self.num_users, self.num_items), initializer="zeros", trainable=False,
                                     name="rated")
        self.item_factors = self.add_weight(shape=(self.num_items, self.embedding_dim), name="item_factors",
                                            initializer=keras.initializers.RandomNormal(stddev=0.1))

    def adapt(self, users, items) -> None:
        users, items = np.asarray(users, "int64").reshape(-1), np.asarray(items, "int64").reshape(-1)
        for name, ids, size in (("user", users, self.num_users), ("item", items, self.num_items)):
            if ids.size and (ids.min() < 0 or ids.max() >= size):
                raise ConfigError(f"ImplicitFeedback.adapt: {name} ids must be in [0, {size}), got "
                                  f"{ids.min()}..{ids.max()}.")
        rated = np.zeros((self.num_users, self.num_items), "float32")
        rated[users, items] = 1.0
        counts = rated.sum(axis=1, keepdims=True)
        self.rated.assign(rated / np.sqrt(np.maximum(counts, 1.0)))

    def call(self, user):
        # Take the batch's rows, then cast: not the whole (users x items) matrix every step under mixed precision.
        rows = keras.ops.cast(keras.ops.take(self.rated, user, axis=0), self.compute_dtype)
        return keras.ops.matmul(rows, keras.ops.cast(self.item_factors, self.compute_dtype))

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_users": self.num_users, "num_items": self.num_items,
                "embedding_dim": self.embedding_dim}


@keras.saving.register_keras_serializable(package="vertical_zoo")
class RowL2Penalty(keras.layers.Layer):
    """Identity on a list of tensors that adds `l2 * mean over the batch of sum(x ** 2)` as a loss.

    Args:
        l2: float. Weight of the penalty.

    Example:
    >>> import numpy as np
    >>> layer = RowL2Penalty(0.5)
    >>> out = layer([np.ones((2, 3), "float32")])
    >>> float(layer.losses[0])
    1.5
    """

    def __init__(self, l2: float, **kwargs):
        super().__init__(**kwargs)
        self.l2 = float(l2)

    def call(self, tensors):
        # In float32 whatever the layer's compute dtype, so a mixed-precision model sums its losses cleanly.
        squares = [keras.ops.square(keras.ops.cast(t, "float32")) for t in tensors]
        penalty = sum(keras.ops.mean(keras.ops.sum(s, axis=-1)) for s in squares)
        self.add_loss(self.l2 * penalty)
        return list(tensors)

    def compute_output_shape(self, input_shape):
        return list(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "l2": self.l2}
