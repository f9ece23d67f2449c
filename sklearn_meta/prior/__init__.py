"""Meta-parameter learning: linear models whose prior is learned from past tasks."""

from ._logistic import MetaPriorLogisticRegression
from ._ridge import MetaPriorRidge

__all__ = ["MetaPriorRidge", "MetaPriorLogisticRegression"]
