"""Meta-SGD (Li et al., 2017): MAML with learned per-parameter inner learning rates."""

from ._docs import document
from ._maml import MAMLClassifier, MAMLRegressor

__all__ = ["MetaSGDClassifier", "MetaSGDRegressor"]

_SUMMARY = """Meta-SGD {what}: MAML whose inner learning rates are meta-learned.

Every network parameter gets its own inner step size (a tensor of its shape, initialised
at ``inner_lr``), meta-learned with the initial weights by backpropagating the query loss
through the inner steps [1]_. Otherwise identical to :class:`MAML{kind}` (same engine,
same parameters)."""

_REFS = """.. [1] Z. Li, F. Zhou, F. Chen and H. Li, "Meta-SGD: Learning to Learn Quickly for
   Few-Shot Learning", arXiv:1707.09835, 2017."""

_LR_NOTE = (", including the learned inner step sizes under the keys ``'lr:<parameter "
            "name>'``")


@document(
    _SUMMARY.format(what="for classification", kind="Classifier"),
    see_also="MAMLClassifier : The same with a fixed inner learning rate.",
    references=_REFS,
    lr_note=_LR_NOTE,
    examples="""
    %(fit_classifier)s
    >>> sorted(k for k in est.params_ if k.startswith("lr:"))
    ['lr:0.bias', 'lr:0.weight', 'lr:2.bias', 'lr:2.weight']
    """,
)
class MetaSGDClassifier(MAMLClassifier):
    _learned_lr = True


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
class MetaSGDRegressor(MAMLRegressor):
    _learned_lr = True
