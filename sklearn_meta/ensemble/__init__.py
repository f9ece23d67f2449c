"""Model fusion: ensembles and mixtures of scikit-learn experts across tasks."""

from ._mixture import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from ._task_ensemble import TaskEnsembleClassifier, TaskEnsembleRegressor

__all__ = [
    "TaskEnsembleClassifier",
    "TaskEnsembleRegressor",
    "MixtureOfExpertsClassifier",
    "MixtureOfExpertsRegressor",
]
