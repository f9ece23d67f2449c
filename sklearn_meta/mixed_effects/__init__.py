"""Mixed effects: a pooled model plus per-task random effects with a learned prior."""

from ._classifier import MixedEffectsClassifier
from ._regressor import MixedEffectsRegressor

__all__ = ["MixedEffectsClassifier", "MixedEffectsRegressor"]
