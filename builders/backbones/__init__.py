"""Backbones: inputs -> pooled feature vector. Importing this package registers them all."""

from builders.backbones.bag_of_words import BagOfWordsBackbone
from builders.backbones.base import Backbone
from builders.backbones.cnn import ApplicationBackbone, CNNBackbone
from builders.backbones.hub import HubTextBackbone
from builders.backbones.recommender import RecommenderBackbone
from builders.backbones.rnn import RNNBackbone
from builders.backbones.tabular import TabularBackbone
from builders.backbones.temporal_cnn import TemporalCNNBackbone
from builders.backbones.transformer import TransformerBackbone

__all__ = [
    "ApplicationBackbone",
    "BagOfWordsBackbone",
    "Backbone",
    "CNNBackbone",
    "HubTextBackbone",
    "RNNBackbone",
    "RecommenderBackbone",
    "TabularBackbone",
    "TemporalCNNBackbone",
    "TransformerBackbone",
]
