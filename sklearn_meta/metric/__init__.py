"""Metric-based meta-learners: classify by distances in a meta-learned embedding."""

from ._modules import ConvEmbedding
from ._protonet import ProtoNetClassifier

__all__ = ["ConvEmbedding", "ProtoNetClassifier"]
