"""Self-supervised pretraining: one objective per backbone family, training the backbone in place.

The pretext heads are thrown away; the pretrained weights live in the backbone object, so the
usual `transfer_model(backbone, head, freeze=True)` and `unfreeze` follow. Save a pretrained
backbone with `backbone.save_to_preset(dir)`.

| family | objective |
|---|---|
| `TransformerBackbone` (tokens) | masked-token language modelling (keras-hub `MaskedLMMaskGenerator` + `MaskedLMHead`) |
| `TransformerBackbone` (continuous), `RNNBackbone`, `TemporalCNNBackbone` | masked-step reconstruction (span masking, default) or window-age regression |
| `CNNBackbone`, `ApplicationBackbone` | SimCLR contrastive (default) or masked-patch reconstruction |
| `TabularBackbone` | masked-feature reconstruction (swap noise) |
"""

from builders.pretrain.base import Pretrainer, sequence_output
from builders.pretrain.contrastive import ContrastivePretrainer, augmenter, nt_xent, pretrain_contrastive
from builders.pretrain.masked_feature import MaskedFeaturePretrainer, pretrain_tabular, swap_noise
from builders.pretrain.masked_image import MaskedImagePretrainer, patch_mask, pretrain_masked_image
from builders.pretrain.masked_step import MaskedStepPretrainer, pretrain_masked_steps, span_mask
from builders.pretrain.masked_token import MaskedTokenPretrainer, pretrain_masked_tokens
from builders.pretrain.objectives import (
    FAMILIES,
    pretrain_backbone,
    pretrain_cnn,
    pretrain_rnn,
    pretrain_transformer,
    pretrain_windows,
)
from builders.pretrain.window_age import WindowAgePretrainer, pretrain_window_age

__all__ = [
    "FAMILIES",
    "ContrastivePretrainer",
    "MaskedFeaturePretrainer",
    "MaskedImagePretrainer",
    "MaskedStepPretrainer",
    "MaskedTokenPretrainer",
    "Pretrainer",
    "WindowAgePretrainer",
    "augmenter",
    "nt_xent",
    "patch_mask",
    "pretrain_backbone",
    "pretrain_cnn",
    "pretrain_contrastive",
    "pretrain_masked_image",
    "pretrain_masked_steps",
    "pretrain_masked_tokens",
    "pretrain_rnn",
    "pretrain_tabular",
    "pretrain_transformer",
    "pretrain_window_age",
    "pretrain_windows",
    "sequence_output",
    "span_mask",
    "swap_noise",
]
