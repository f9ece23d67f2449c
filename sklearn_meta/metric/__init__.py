"""Metric-based meta-learners: classify by distances in a meta-learned embedding."""

from ._protonet import ProtoNetClassifier

__all__ = ["ProtoNetClassifier"]
