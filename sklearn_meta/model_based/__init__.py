"""Model-based ("memory") meta-learners: read the support set, adapt in one forward pass."""

from ._heterogeneous import (
    HeterogeneousNeuralProcessClassifier,
    HeterogeneousNeuralProcessRegressor,
)
from ._neural_process import NeuralProcessClassifier, NeuralProcessRegressor

__all__ = [
    "HeterogeneousNeuralProcessClassifier",
    "HeterogeneousNeuralProcessRegressor",
    "NeuralProcessClassifier",
    "NeuralProcessRegressor",
]
