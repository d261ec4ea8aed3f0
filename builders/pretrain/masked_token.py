"""Masked-token language modelling (BERT's objective) for a token-input TransformerBackbone."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from builders.backbones.transformer import TransformerBackbone
from builders.errors import ConfigError
from builders.pretrain.base import Pretrainer, check_inputs, fit_pretrainer, sequence_output, shuffled_batches


@keras.saving.register_keras_serializable(package="vertical_zoo")
class MaskedTokenPretrainer(Pretrainer):
    """Predicts masked tokens from the backbone's last encoder output (keras-hub `MaskedLMHead`).

    Batches are masked on the fly by keras-hub's `MaskedLMMaskGenerator` (80% `[MASK]`, 10%
    random token, 10% unchanged, as BERT); the loss is the cross-entropy at the masked positions.

    Args:
        backbone: a `TransformerBackbone` with token input (`vocabulary_size` set).
        mask_token_id: int. Id of the `[MASK]` token in the vocabulary.
        mask_rate: float. Share of eligible tokens selected for prediction.
        unselectable_token_ids: sequence of int. Ids never selected (padding and special tokens).

    Example:
    >>> b = TransformerBackbone(sequence_length=8, vocabulary_size=20, hidden_dim=8, num_layers=1,
    ...                         num_heads=2, intermediate_dim=16)
    >>> p = MaskedTokenPretrainer(b, mask_token_id=4)
    >>> batch = next(iter(p.make_dataset(np.full((3, 8), 7, "int32"), batch_size=3, seed=0)))
    >>> p(batch[0]).shape
    TensorShape([3, 2, 20])
    """

    def __init__(
        self,
        backbone: TransformerBackbone,
        mask_token_id: int,
        mask_rate: float = 0.15,
        unselectable_token_ids: Sequence[int] = (0,),
        **kwargs,
    ):
        vocabulary_size = getattr(backbone, "vocabulary_size", None)
        if not isinstance(backbone, TransformerBackbone) or vocabulary_size is None:
            raise ConfigError("MaskedTokenPretrainer: backbone must be a TransformerBackbone with token input "
                              f"(vocabulary_size set), got {type(backbone).__name__}.")
        if not 0 <= mask_token_id < vocabulary_size:
            raise ConfigError(f"MaskedTokenPretrainer: mask_token_id={mask_token_id} is outside the vocabulary "
                              f"(size {vocabulary_size}).")
        if not 0.0 < mask_rate < 1.0:
            raise ConfigError(f"MaskedTokenPretrainer: mask_rate must be in (0, 1), got {mask_rate}.")
        super().__init__(backbone, **kwargs)

        # === Layers ===
        self.encoder = sequence_output(backbone)
        self.lm_head = keras_hub.layers.MaskedLMHead(
            vocabulary_size=vocabulary_size, intermediate_activation="gelu", name="mlm_head",
            dtype=backbone.dtype_policy,
        )
        self.masker = keras_hub.layers.MaskedLMMaskGenerator(
            vocabulary_size=vocabulary_size,
            mask_selection_rate=mask_rate,
            mask_token_id=mask_token_id,
            mask_selection_length=max(1, int(np.ceil(backbone.sequence_length * mask_rate))),
            unselectable_token_ids=[int(i) for i in unselectable_token_ids],
        )

        # === Config ===
        self.mask_token_id = mask_token_id
        self.mask_rate = mask_rate
        self.unselectable_token_ids = [int(i) for i in unselectable_token_ids]

    def build(self, input_shape=None):
        # The head's weights exist before a saved pretrainer's weights are loaded into it.
        self.lm_head.build((None, None, self.encoder.output.shape[-1]), (None, None))
        self.built = True

    def call(self, inputs, training=None):
        sequence = self.encoder(inputs["token_ids"], training=training)
        return self.lm_head(sequence, mask_positions=inputs["mask_positions"])

    def make_dataset(self, data, batch_size: int, seed: int) -> tf.data.Dataset:
        def mask(token_ids):
            out = self.masker(token_ids)
            x = {"token_ids": out["token_ids"], "mask_positions": out["mask_positions"]}
            return x, out["mask_ids"], out["mask_weights"]

        return shuffled_batches(np.asarray(data, dtype="int32"), batch_size, seed).map(mask)

    def get_config(self) -> dict:
        return {**super().get_config(), "mask_token_id": self.mask_token_id, "mask_rate": self.mask_rate,
                "unselectable_token_ids": self.unselectable_token_ids}


def pretrain_masked_tokens(
    backbone: TransformerBackbone,
    data: np.ndarray,
    *,
    mask_token_id: int,
    unselectable_token_ids: Sequence[int] = (0,),
    mask_rate: float = 0.15,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int | str = 0,
) -> dict[str, list[float]]:
    """Pretrain a token `TransformerBackbone` in place with masked-token language modelling.

    Args:
        backbone: the backbone; its weights are trained in place.
        data: int32 token ids `(n, sequence_length)`, 0 = padding.
        mask_token_id: int. Id of `[MASK]`.
        unselectable_token_ids: sequence of int. Padding and special tokens, never predicted.
        mask_rate: float. Share of tokens to predict.
        epochs, batch_size, learning_rate, seed: the training loop (Adam).
        verbose: Keras `fit` verbosity.

    Returns:
        The history: `loss` (masked-token cross-entropy) and `sparse_categorical_accuracy` per epoch.

    Example:
    >>> b = TransformerBackbone(sequence_length=6, vocabulary_size=12, hidden_dim=8, num_layers=1,
    ...                         num_heads=2, intermediate_dim=16)
    >>> ids = np.random.default_rng(0).integers(5, 12, size=(8, 6)).astype("int32")
    >>> sorted(pretrain_masked_tokens(b, ids, mask_token_id=4, epochs=1))
    ['loss', 'sparse_categorical_accuracy']
    """
    check_inputs(backbone, data, "pretrain_masked_tokens")
    keras.utils.set_random_seed(seed)
    pretrainer = MaskedTokenPretrainer(backbone, mask_token_id, mask_rate, unselectable_token_ids)
    return fit_pretrainer(
        pretrainer, data, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=["sparse_categorical_accuracy"], epochs=epochs, batch_size=batch_size,
        learning_rate=learning_rate, seed=seed, verbose=verbose,
    )
