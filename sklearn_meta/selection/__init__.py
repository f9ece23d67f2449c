"""Meta-parameter and meta-knowledge learning: choose hyperparameters or estimators per task."""

from ._algorithm import AlgorithmSelector
from ._warm_start import HyperparameterWarmStart

__all__ = ["HyperparameterWarmStart", "AlgorithmSelector"]
