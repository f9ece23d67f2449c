"""Model-based ("memory") meta-learners: read the support set, adapt in one forward pass."""

from ._neural_process import NeuralProcessClassifier, NeuralProcessRegressor

__all__ = ["NeuralProcessClassifier", "NeuralProcessRegressor"]
