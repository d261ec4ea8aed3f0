"""Bag-of-words backbone for token ids: a TF-IDF vector (the classic small-data text baseline)."""

from __future__ import annotations

import keras
import numpy as np

from builders.backbones.base import Backbone, layer_kwargs
from builders.checks import check_size
from builders.errors import ConfigError
from builders.registry import register_backbone


@keras.saving.register_keras_serializable(package="vertical_zoo")
class TermWeighting(keras.layers.Layer):
    """Token ids `(batch, length)` to an L2-normalised `log(1 + count) * idf` vector `(batch, vocabulary_size)`.

    Id 0 is padding and gets weight 0. The inverse document frequencies are a non-trainable weight,
    set from training texts by `set_idf` (all 1 until then); they save and load with the model.

    Args:
        vocabulary_size: int. Number of token ids.

    Example:
    >>> layer = TermWeighting(4)
    >>> layer.set_idf(np.array([[1, 2, 0], [1, 1, 3]]))
    >>> [round(float(v), 3) for v in layer(np.array([[1, 2, 2]]))[0]]
    [0.0, 0.41, 0.912, 0.0]
    """

    def __init__(self, vocabulary_size: int, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.idf = self.add_weight(shape=(vocabulary_size,), initializer=keras.initializers.Constant(_padding_off(vocabulary_size)),
                                   trainable=False, name="idf")

    def set_idf(self, token_ids) -> None:
        """Smoothed inverse document frequencies, `log((1 + n) / (1 + df)) + 1`, from `(n, length)` ids."""
        ids = np.asarray(token_ids)
        in_range = ids.size == 0 or 0 <= ids.min() <= ids.max() < self.vocabulary_size
        if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer) or not in_range:
            shown = f", ids {ids.min()}..{ids.max()}" if ids.size else ""
            raise ConfigError(f"TermWeighting.set_idf: expected integer token ids (texts, length) in [0, "
                              f"{self.vocabulary_size}); got shape {ids.shape}, dtype {ids.dtype}{shown}.")
        ids = np.sort(ids, axis=1)  # memory of the ids, not of texts x vocabulary
        first = np.ones(ids.shape, dtype=bool)
        first[:, 1:] = ids[:, 1:] != ids[:, :-1]  # each id once per text
        df = np.bincount(ids[first], minlength=self.vocabulary_size)
        self.idf.assign((np.log((1 + len(ids)) / (1 + df)) + 1) * _padding_off(self.vocabulary_size))

    def call(self, token_ids):
        # Counts by a scatter that sums repeated (row, id) pairs: unlike CategoryEncoding's bincount it
        # converts to TFLite's built-in ops.
        ids = keras.ops.cast(token_ids, "int32")
        batch, length = keras.ops.shape(ids)[0], keras.ops.shape(ids)[1]
        rows = keras.ops.repeat(keras.ops.arange(batch, dtype="int32"), length)
        pairs = keras.ops.stack([rows, keras.ops.reshape(ids, (-1,))], axis=1)
        ones = keras.ops.ones((batch * length,), dtype=self.compute_dtype)
        counts = keras.ops.scatter(pairs, ones, (batch, self.vocabulary_size))
        x = keras.ops.log1p(counts) * keras.ops.cast(self.idf, self.compute_dtype)
        return x / keras.ops.maximum(keras.ops.norm(x, axis=-1, keepdims=True), 1e-12)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.vocabulary_size)

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size}


def _padding_off(vocabulary_size: int) -> np.ndarray:
    weights = np.ones(vocabulary_size, dtype="float32")
    weights[0] = 0.0
    return weights


@register_backbone("bag_of_words")
@keras.saving.register_keras_serializable(package="vertical_zoo")
class BagOfWordsBackbone(Backbone):
    """Token ids to a TF-IDF vector over the vocabulary, with dropout: word order is ignored.

    On a few hundred labelled texts a linear head on these features (logistic regression) is the
    baseline a Transformer trained from scratch struggles to beat. `adapt(token_ids)` learns the
    inverse document frequencies from the training split.

    Args:
        vocabulary_size: int. Token vocabulary size (id 0 is padding).
        dropout: float. Dropout on the TF-IDF vector while training.
        dtype: str or `keras.DTypePolicy`; forwarded to every layer.

    Example:
    >>> backbone = BagOfWordsBackbone(vocabulary_size=50)
    >>> backbone.adapt(np.array([[3, 4, 0], [3, 5, 6]]))
    >>> backbone.output_shape
    (None, 50)
    """

    def __init__(self, vocabulary_size: int, dropout: float = 0.0, dtype=None, **kwargs):
        vocabulary_size = check_size("BagOfWordsBackbone", "vocabulary_size", vocabulary_size, minimum=2)
        kw = layer_kwargs(dtype)

        # === Layers ===
        inputs = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        x = TermWeighting(vocabulary_size, name="tf_idf", **kw)(inputs)
        features = keras.layers.Dropout(dropout, name="dropout", **kw)(x)

        # === Functional Model ===
        super().__init__(inputs=inputs, outputs=features, dtype=dtype, **kwargs)

        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.dropout = dropout

    def adapt(self, x) -> None:
        """Learn the inverse document frequencies from training token ids `(n, length)`."""
        self.get_layer("tf_idf").set_idf(x)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, dropout=self.dropout)
        return config
