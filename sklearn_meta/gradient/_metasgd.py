"""Meta-SGD (Li et al., 2017): MAML with learned per-parameter inner learning rates."""

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ._base import CLASSIFIER_CONSTRAINTS, METASGD, REGRESSOR_CONSTRAINTS, _GradientMetaLearner
from ..utils._params import make_init
from ._params import MAML_CLASSIFIER, MAML_REGRESSOR, PARAMS

__all__ = ["MetaSGDClassifier", "MetaSGDRegressor"]


@fill_doc(**PARAMS)
class MetaSGDClassifier(_GradientMetaLearner, BaseMetaClassifier):
    """Meta-SGD for classification: MAML whose inner learning rates are meta-learned.

    Every network parameter gets its own inner step size (a tensor of its shape, initialised
    at ``inner_lr``), meta-learned with the initial weights by backpropagating the query loss
    through the inner steps [1]_. Otherwise identical to :class:`MAMLClassifier` (same engine,
    same parameters).

    Parameters
    ----------
    %(maml_classifier_params)s

    Attributes
    ----------
    %(classifier_attributes)s
    %(learned_lrs)s

    See Also
    --------
    MAMLClassifier : The same with a fixed inner learning rate.

    References
    ----------
    .. [1] Z. Li, F. Zhou, F. Chen and H. Li, "Meta-SGD: Learning to Learn Quickly for
       Few-Shot Learning", arXiv:1707.09835, 2017.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> from sklearn_meta.gradient import MetaSGDClassifier
    >>> data = make_classification_tasks(n_tasks=20, n_features=5, random_state=0)
    >>> est = MetaSGDClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    >>> sorted(est.fit(data.X, data.y, groups=data.groups).inner_lrs_)
    ['0.bias', '0.weight', '2.bias', '2.weight']
    """

    # MAML's parameters, another algorithm
    _algorithm = METASGD
    _parameter_constraints = CLASSIFIER_CONSTRAINTS
    __init__ = make_init(MAML_CLASSIFIER)


@fill_doc(**PARAMS)
class MetaSGDRegressor(_GradientMetaLearner, BaseMetaRegressor):
    """Meta-SGD for regression: MAML whose inner learning rates are meta-learned.

    :class:`MetaSGDClassifier`'s algorithm and parameters, with the squared error as the
    loss and one output.

    Parameters
    ----------
    %(maml_regressor_params)s

    Attributes
    ----------
    %(regressor_attributes)s
    %(learned_lrs)s

    See Also
    --------
    MetaSGDClassifier : The classification counterpart, with the reference.
    MAMLRegressor : The same with a fixed inner learning rate.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_sinusoid_tasks
    >>> from sklearn_meta.gradient import MetaSGDRegressor
    >>> tasks = make_sinusoid_tasks(n_tasks=20, random_state=0).tasks
    >>> est = MetaSGDRegressor(inner_lr=0.01, inner_steps=1, max_iter=20, random_state=0)
    >>> bool((est.fit(tasks).inner_lrs_["0.weight"] != 0.01).any())
    True
    """

    # MAML's parameters, another algorithm
    _algorithm = METASGD
    _parameter_constraints = REGRESSOR_CONSTRAINTS
    __init__ = make_init(MAML_REGRESSOR)
