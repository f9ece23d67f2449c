"""Gradient-based ("model update") meta-learners on one batched ``torch.func`` engine.

MAML (second and first order), Meta-SGD, ANIL, Reptile and the pretrain-then-fine-tune
baseline, each a classifier and a regressor. They share one inner-loop engine
(:mod:`sklearn_meta.gradient._engine`) and differ only in which parameters adapt,
whether the inner learning rates are learned and the outer update.
"""

from ._anil import ANILClassifier, ANILRegressor
from ._finetune import FineTuneClassifier, FineTuneRegressor
from ._maml import MAMLClassifier, MAMLRegressor
from ._metasgd import MetaSGDClassifier, MetaSGDRegressor
from ._reptile import ReptileClassifier, ReptileRegressor

__all__ = [
    "ANILClassifier",
    "ANILRegressor",
    "FineTuneClassifier",
    "FineTuneRegressor",
    "MAMLClassifier",
    "MAMLRegressor",
    "MetaSGDClassifier",
    "MetaSGDRegressor",
    "ReptileClassifier",
    "ReptileRegressor",
]
