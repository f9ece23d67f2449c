"""Baselines every meta-learner should beat."""

from ._per_task import PerTaskEstimator
from ._pooled import PooledEstimator

__all__ = ["PerTaskEstimator", "PooledEstimator"]
