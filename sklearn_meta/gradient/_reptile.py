"""Reptile (Nichol et al., 2018): move the initialisation toward the adapted weights."""

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ._base import (
    CLASSIFIER_CONSTRAINTS,
    REGRESSOR_CONSTRAINTS,
    REPTILE,
    _GradientMetaLearner,
)
from ..utils._params import make_init
from ._params import PARAMS, REPTILE_CLASSIFIER, REPTILE_REGRESSOR

__all__ = ["ReptileClassifier", "ReptileRegressor"]


@fill_doc(**PARAMS)
class ReptileClassifier(_GradientMetaLearner, BaseMetaClassifier):
    """Reptile for classification.

    For every task of a meta-batch, runs ``inner_steps`` gradient steps from the meta-learned
    weights on its support set (batched over tasks, no graph kept) and moves the weights
    toward the mean of the adapted ones: the pseudo-gradient ``theta - mean(phi)`` is given to
    Adam with ``meta_lr`` [1]_. First order by construction; no query-set gradient. The
    reported loss is the query loss after adaptation.

    Parameters
    ----------
    %(reptile_classifier_params)s

    Attributes
    ----------
    %(classifier_attributes)s

    See Also
    --------
    MAMLClassifier : Backpropagates the query loss through the inner loop.

    References
    ----------
    .. [1] A. Nichol, J. Achiam and J. Schulman, "On First-Order Meta-Learning
       Algorithms", arXiv:1803.02999, 2018.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> from sklearn_meta.gradient import ReptileClassifier
    >>> data = make_classification_tasks(n_tasks=20, n_features=5, random_state=0)
    >>> est = ReptileClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    >>> len(est.fit(data.X, data.y, groups=data.groups).loss_curve_)
    20
    """

    _algorithm = REPTILE
    _parameter_constraints = CLASSIFIER_CONSTRAINTS

    __init__ = make_init(REPTILE_CLASSIFIER)


@fill_doc(**PARAMS)
class ReptileRegressor(_GradientMetaLearner, BaseMetaRegressor):
    """Reptile for regression.

    :class:`ReptileClassifier`'s algorithm and parameters, with the squared error as the
    loss and one output.

    Parameters
    ----------
    %(reptile_regressor_params)s

    Attributes
    ----------
    %(regressor_attributes)s

    See Also
    --------
    ReptileClassifier : The classification counterpart, with the reference.
    MAMLRegressor : Backpropagates the query loss through the inner loop.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_sinusoid_tasks
    >>> from sklearn_meta.gradient import ReptileRegressor
    >>> tasks = make_sinusoid_tasks(n_tasks=20, random_state=0).tasks
    >>> est = ReptileRegressor(inner_lr=0.01, max_iter=10, random_state=0)
    >>> for batch in (tasks[:10], tasks[10:]):
    ...     est = est.partial_fit(batch)
    >>> est.adapt(*tasks[0]).predict(tasks[0][0]).shape
    (20,)
    """

    _algorithm = REPTILE
    _parameter_constraints = REGRESSOR_CONSTRAINTS

    __init__ = make_init(REPTILE_REGRESSOR)
