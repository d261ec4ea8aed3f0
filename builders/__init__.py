"""Vertical Zoo builders: pure Keras 3 backbones, heads and the frozen-base transfer recipe.

`builders` never imports `zoo`; use it on its own in any Keras project.
"""

from builders import backbones
from builders.backbones import (
    ApplicationBackbone,
    Backbone,
    CNNBackbone,
    HubTextBackbone,
    RecommenderBackbone,
    RNNBackbone,
    TabularBackbone,
    TemporalCNNBackbone,
    TransformerBackbone,
)
from builders.ensemble import average_ensemble
from builders.heads import HEAD_KINDS, HeadConfig, build_head
from builders.registry import build_backbone, get_backbone_class, list_backbones, register_backbone
from builders.transfer import adapt_feature_normalization, get_backbone, transfer_model, unfreeze

__version__ = "0.1.0"

__all__ = [
    "HEAD_KINDS",
    "ApplicationBackbone",
    "Backbone",
    "CNNBackbone",
    "HeadConfig",
    "HubTextBackbone",
    "RNNBackbone",
    "RecommenderBackbone",
    "TabularBackbone",
    "TemporalCNNBackbone",
    "TransformerBackbone",
    "adapt_feature_normalization",
    "average_ensemble",
    "backbones",
    "build_backbone",
    "build_head",
    "get_backbone",
    "get_backbone_class",
    "list_backbones",
    "register_backbone",
    "transfer_model",
    "unfreeze",
]
