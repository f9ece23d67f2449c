"""ANIL (Raghu et al., 2020): MAML where only the last layer adapts."""

from ._docs import document
from ..base import BaseMetaClassifier, BaseMetaRegressor
from ._base import ANIL, _GradientMetaLearner
from ._maml import MAMLClassifier, MAMLRegressor

__all__ = ["ANILClassifier", "ANILRegressor"]

_SUMMARY = """ANIL ("almost no inner loop") {what}: MAML adapting only the head.

The inner loop updates only the last layer (the parameters of the network's last
submodule that owns parameters); the body is meta-learned as a shared feature extractor
[1]_. For the default MLP the body's features are computed once per episode, so the inner
steps cost a linear model's. Otherwise identical to :class:`MAML{kind}`."""

_REFS = """.. [1] A. Raghu, M. Raghu, S. Bengio and O. Vinyals, "Rapid Learning or Feature
   Reuse? Towards Understanding the Effectiveness of MAML", ICLR 2020."""


@document(
    _SUMMARY.format(what="for classification", kind="Classifier"),
    see_also="MAMLClassifier : Every layer adapts.",
    references=_REFS,
    examples="""
    %(fit_classifier)s
    >>> X_new, y_new = data.tasks[0]
    >>> est.adapt(X_new[:10], y_new[:10]).predict_proba(X_new[10:]).shape
    (30, 2)
    """,
)
class ANILClassifier(_GradientMetaLearner, BaseMetaClassifier):
    # MAML's parameters, another algorithm
    _algorithm = ANIL
    _parameter_constraints = MAMLClassifier._parameter_constraints
    __init__ = MAMLClassifier.__init__


@document(
    _SUMMARY.format(what="for regression", kind="Regressor"),
    see_also="MAMLRegressor : Every layer adapts.",
    references=_REFS,
    examples="""
    %(sinusoid_data)s
    >>> est = ANILRegressor(inner_lr=0.01, max_iter=20, random_state=0)
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> est.adapt(data.tasks[0][0][:5], data.tasks[0][1][:5]).predict(data.tasks[0][0]).shape
    (20,)
    """,
)
class ANILRegressor(_GradientMetaLearner, BaseMetaRegressor):
    # MAML's parameters, another algorithm
    _algorithm = ANIL
    _parameter_constraints = MAMLRegressor._parameter_constraints
    __init__ = MAMLRegressor.__init__
