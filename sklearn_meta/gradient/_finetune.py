"""Pretrain-then-fine-tune: the transfer baseline of Chen et al. (2019) on the engine."""

from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ._base import CLASSIFIER_CONSTRAINTS, FINETUNE, REGRESSOR_CONSTRAINTS, _GradientMetaLearner
from ..utils._params import make_init
from ._params import FINETUNE_CLASSIFIER, FINETUNE_REGRESSOR, PARAMS

__all__ = ["FineTuneClassifier", "FineTuneRegressor"]

# Meta-training is ordinary supervised training on the pooled rows of the tasks;
# adaptation is the engine's inner loop (adapt_steps steps of inner_lr) on the support
# set, of the last layer (fine_tune="head") or of every layer (the FINETUNE algorithm).
_FINE_TUNE_CONSTRAINTS = {
    "adapt_steps": [Interval(Integral, 0, None, closed="left")],
    "fine_tune": [StrOptions({"head", "all"})],
}


@fill_doc(**PARAMS)
class FineTuneClassifier(_GradientMetaLearner, BaseMetaClassifier):
    """Pretrain on the pooled tasks, fine-tune on the support set (classification).

    The transfer-learning baseline of few-shot learning [1]_: ``fit`` trains the network on
    all rows of all training tasks together (Adam with ``meta_lr``, minibatches of
    ``meta_batch_size`` tasks); ``adapt`` runs ``adapt_steps`` gradient steps of ``inner_lr``
    on the support set, on the last layer (``fine_tune="head"``) or on every layer.
    When tasks have their own label sets, pretraining has one output per (task, class) and
    adaptation fits a new, zero-initialised ``n_way``-class last layer (Chen et al.'s
    "Baseline"); this needs the default MLP.

    Parameters
    ----------
    %(finetune_classifier_params)s

    Attributes
    ----------
    %(classifier_attributes)s

    See Also
    --------
    MAMLClassifier : Meta-learns the initialisation for fine-tuning instead.
    sklearn_meta.baselines.PerTaskEstimator : No transfer at all.

    References
    ----------
    .. [1] W.-Y. Chen, Y.-C. Liu, Z. Kira, Y.-C. F. Wang and J.-B. Huang, "A Closer Look at
       Few-shot Classification", ICLR 2019.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> from sklearn_meta.gradient import FineTuneClassifier
    >>> data = make_classification_tasks(n_tasks=20, n_features=5, per_task_labels=True,
    ...                                  random_state=0)
    >>> est = FineTuneClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> X_new, y_new = data.tasks[0]
    >>> est.adapt(X_new[:10], y_new[:10]).predict(X_new[10:]).shape
    (30,)
    """

    _algorithm = FINETUNE
    _parameter_constraints = {**CLASSIFIER_CONSTRAINTS, **_FINE_TUNE_CONSTRAINTS}

    __init__ = make_init(FINETUNE_CLASSIFIER)


@fill_doc(**PARAMS)
class FineTuneRegressor(_GradientMetaLearner, BaseMetaRegressor):
    """Pretrain on the pooled tasks, fine-tune on the support set (regression).

    :class:`FineTuneClassifier`'s algorithm and parameters, with the squared error as the
    loss and one output.

    Parameters
    ----------
    %(finetune_regressor_params)s

    Attributes
    ----------
    %(regressor_attributes)s

    See Also
    --------
    FineTuneClassifier : The classification counterpart, with the reference.
    sklearn_meta.baselines.PooledEstimator : The pooled model, refitted with the support
        rows when ``refit=True``.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_regression_tasks
    >>> from sklearn_meta.gradient import FineTuneRegressor
    >>> data = make_regression_tasks(n_tasks=20, n_features=5, random_state=0)
    >>> est = FineTuneRegressor(fine_tune="all", adapt_steps=5, max_iter=20, random_state=0)
    >>> X_new, y_new = data.tasks[0]
    >>> est.fit(data.X, data.y, groups=data.groups).adapt(X_new[:5], y_new[:5]).n_outputs_
    1
    """

    _algorithm = FINETUNE
    _parameter_constraints = {**REGRESSOR_CONSTRAINTS, **_FINE_TUNE_CONSTRAINTS}

    __init__ = make_init(FINETUNE_REGRESSOR)
