"""Meta-SGD (Li et al., 2017): MAML with learned per-parameter inner learning rates."""

from ._docs import document
from ..base import BaseMetaClassifier, BaseMetaRegressor
from ._base import METASGD, _GradientMetaLearner
from ._maml import MAMLClassifier, MAMLRegressor

__all__ = ["MetaSGDClassifier", "MetaSGDRegressor"]

_SUMMARY = """Meta-SGD {what}: MAML whose inner learning rates are meta-learned.

Every network parameter gets its own inner step size (a tensor of its shape, initialised
at ``inner_lr``), meta-learned with the initial weights by backpropagating the query loss
through the inner steps [1]_. Otherwise identical to :class:`MAML{kind}` (same engine,
same parameters)."""

_REFS = """.. [1] Z. Li, F. Zhou, F. Chen and H. Li, "Meta-SGD: Learning to Learn Quickly for
   Few-Shot Learning", arXiv:1707.09835, 2017."""

_LR_NOTE = (";\ninner_lrs_ : dict of str to torch.Tensor\n    The meta-learned inner step "
            "sizes, one tensor of the shape of each adapted parameter (CPU)")


@document(
    _SUMMARY.format(what="for classification", kind="Classifier"),
    see_also="MAMLClassifier : The same with a fixed inner learning rate.",
    references=_REFS,
    lr_note=_LR_NOTE,
    examples="""
    %(fit_classifier)s
    >>> sorted(est.inner_lrs_)
    ['0.bias', '0.weight', '2.bias', '2.weight']
    """,
)
class MetaSGDClassifier(_GradientMetaLearner, BaseMetaClassifier):
    # MAML's parameters, another algorithm
    _algorithm = METASGD
    _parameter_constraints = MAMLClassifier._parameter_constraints
    __init__ = MAMLClassifier.__init__


@document(
    _SUMMARY.format(what="for regression", kind="Regressor"),
    see_also="MAMLRegressor : The same with a fixed inner learning rate.",
    references=_REFS,
    lr_note=_LR_NOTE,
    examples="""
    %(sinusoid_data)s
    >>> est = MetaSGDRegressor(inner_lr=0.01, inner_steps=1, max_iter=20, random_state=0)
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> est.adapt(data.tasks[0][0][:5], data.tasks[0][1][:5]).predict(data.tasks[0][0]).shape
    (20,)
    """,
)
class MetaSGDRegressor(_GradientMetaLearner, BaseMetaRegressor):
    # MAML's parameters, another algorithm
    _algorithm = METASGD
    _parameter_constraints = MAMLRegressor._parameter_constraints
    __init__ = MAMLRegressor.__init__
