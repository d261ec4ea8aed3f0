"""One self-supervised objective per backbone family, and `pretrain_backbone` that picks it."""

from __future__ import annotations

from typing import Any

import numpy as np

from builders.backbones.base import Backbone
from builders.errors import ConfigError
from builders.pretrain.contrastive import pretrain_contrastive
from builders.pretrain.masked_feature import pretrain_tabular
from builders.pretrain.masked_image import pretrain_masked_image
from builders.pretrain.masked_step import pretrain_masked_steps
from builders.pretrain.masked_token import pretrain_masked_tokens
from builders.pretrain.window_age import pretrain_window_age

IMAGE_OBJECTIVES = {"contrastive": pretrain_contrastive, "masked": pretrain_masked_image}
WINDOW_OBJECTIVES = {"masked": pretrain_masked_steps, "age": pretrain_window_age}


def pretrain_windows(backbone: Backbone, data: np.ndarray, *, objective: str = "masked",
                     **options: Any) -> dict[str, list[float]]:
    """Pretrain a continuous-input sequence backbone in place: `"masked"` (masked-step reconstruction)
    or `"age"` (regress each window's age, given as `ages=`; see `pretrain_window_age`).

    Example:
    >>> from builders.backbones import TemporalCNNBackbone
    >>> b = TemporalCNNBackbone(sequence_length=6, num_features=2, filters=(4,), dense_units=8)
    >>> x = np.random.rand(8, 6, 2).astype("float32")
    >>> len(pretrain_windows(b, x, objective="age", ages=np.arange(8) + 6, epochs=1)["loss"])
    1
    """
    if objective not in WINDOW_OBJECTIVES:
        raise ConfigError(f"pretrain_windows: objective must be one of {sorted(WINDOW_OBJECTIVES)}, got "
                          f"{objective!r}.")
    return WINDOW_OBJECTIVES[objective](backbone, data, **options)


def pretrain_transformer(backbone: Backbone, data: np.ndarray, **options: Any) -> dict[str, list[float]]:
    """Pretrain a `TransformerBackbone` in place: masked tokens (token input) or masked steps (continuous).

    Args:
        backbone: a `TransformerBackbone`.
        data: token ids `(n, sequence_length)` or windows `(n, sequence_length, num_features)`.
        **options: `epochs`, `batch_size`, `learning_rate`, `seed`, `verbose`, and the objective's own
            (`mask_token_id`, `unselectable_token_ids`, `mask_rate` for tokens; for windows see
            `pretrain_windows`).

    Returns:
        The training history, one value per epoch.

    Example:
    >>> from builders.backbones import TransformerBackbone
    >>> b = TransformerBackbone(sequence_length=6, num_features=2, hidden_dim=8, num_layers=1, num_heads=2,
    ...                         intermediate_dim=16)
    >>> len(pretrain_transformer(b, np.random.rand(8, 6, 2).astype("float32"), epochs=1)["loss"])
    1
    """
    if getattr(backbone, "vocabulary_size", None) is not None:
        if "mask_token_id" not in options:
            raise ConfigError("pretrain_transformer: token input needs mask_token_id (the id of '[MASK]').")
        return pretrain_masked_tokens(backbone, data, **options)
    return pretrain_windows(backbone, data, **options)


def pretrain_rnn(backbone: Backbone, data: np.ndarray, **options: Any) -> dict[str, list[float]]:
    """Pretrain a continuous-input `RNNBackbone` in place (see `pretrain_windows`; default: masked steps).

    Token-input RNNs have no per-token output to predict masked tokens from: use a
    `TransformerBackbone` for text pretraining.

    Example:
    >>> from builders.backbones import RNNBackbone
    >>> b = RNNBackbone(sequence_length=6, num_features=2, units=4)
    >>> len(pretrain_rnn(b, np.random.rand(8, 6, 2).astype("float32"), epochs=1)["loss"])
    1
    """
    if getattr(backbone, "vocabulary_size", None) is not None:
        raise ConfigError("pretrain_rnn: masked-token pretraining needs per-token outputs, which a token-input "
                          "RNNBackbone does not expose; pretrain a TransformerBackbone for text instead.")
    return pretrain_windows(backbone, data, **options)


def pretrain_cnn(backbone: Backbone, data: np.ndarray, *, objective: str = "contrastive",
                 **options: Any) -> dict[str, list[float]]:
    """Pretrain an image backbone in place: `"contrastive"` (SimCLR) or `"masked"` (patch reconstruction).

    Example:
    >>> from builders.backbones import CNNBackbone
    >>> b = CNNBackbone(input_shape=(8, 8, 1), filters=(4,))
    >>> len(pretrain_cnn(b, np.random.rand(8, 8, 8, 1).astype("float32"), epochs=1)["loss"])
    1
    """
    if objective not in IMAGE_OBJECTIVES:
        raise ConfigError(f"pretrain_cnn: objective must be one of {sorted(IMAGE_OBJECTIVES)}, got {objective!r}.")
    return IMAGE_OBJECTIVES[objective](backbone, data, **options)


FAMILIES = {
    "transformer": pretrain_transformer,
    "rnn": pretrain_rnn,
    "temporal_cnn": pretrain_windows,
    "cnn": pretrain_cnn,
    "application": pretrain_cnn,
    "tabular": pretrain_tabular,
}


def pretrain_backbone(backbone: Backbone, data: Any, **options: Any) -> dict[str, list[float]]:
    """Pretrain any registered backbone in place with its family's objective (see `FAMILIES`).

    Args:
        backbone: a registered `builders` backbone.
        data: unlabelled inputs shaped as the backbone's inputs.
        **options: passed to the family's function (`epochs`, `batch_size`, `learning_rate`, `seed`, ...).

    Returns:
        The training history, one value per epoch.

    Example:
    >>> from builders.backbones import TabularBackbone
    >>> b = TabularBackbone(num_numeric=2, hidden_units=(4,))
    >>> len(pretrain_backbone(b, {"numeric": np.random.rand(8, 2)}, epochs=1)["loss"])
    1
    """
    family = getattr(backbone, "registered_name", None)
    if family not in FAMILIES:
        raise ConfigError(f"pretrain_backbone: no objective for {type(backbone).__name__}; families with one: "
                          f"{', '.join(sorted(FAMILIES))}.")
    if not backbone.trainable_weights:  # e.g. a TabularBackbone without hidden layers: a preset would learn nothing
        raise ConfigError(f"pretrain_backbone: this {type(backbone).__name__} has no trainable weights, so there is "
                          "nothing to pretrain; give it some (e.g. hidden_units=[64, 32] for a tabular backbone).")
    try:
        return FAMILIES[family](backbone, data, **options)
    except TypeError as e:  # an option the objective does not take: name the objective
        raise ConfigError(f"pretrain_backbone ({family}): {e}.") from None
