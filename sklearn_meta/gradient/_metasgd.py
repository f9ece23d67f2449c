"""Meta-SGD (Li et al., 2017): MAML with learned per-parameter inner learning rates."""

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ._base import METASGD, _GradientMetaLearner
from ._docs import PARAMS
from ._maml import MAMLClassifier, MAMLRegressor

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
    %(network_params)s
    %(episode_params)s
    %(inner_params)s
    %(label_params)s
    %(training_params)s
    %(replay_params)s

    Attributes
    ----------
    %(gradient_attributes)s
    inner_lrs_ : dict of str to torch.Tensor
        The meta-learned inner step sizes: one tensor of the shape of each adapted
        parameter (CPU).
    %(fitted_features)s
    %(classes_attributes)s

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
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> sorted(est.inner_lrs_)
    ['0.bias', '0.weight', '2.bias', '2.weight']
    """

    # MAML's parameters, another algorithm
    _algorithm = METASGD
    _parameter_constraints = MAMLClassifier._parameter_constraints
    __init__ = MAMLClassifier.__init__


@fill_doc(**PARAMS)
class MetaSGDRegressor(_GradientMetaLearner, BaseMetaRegressor):
    """Meta-SGD for regression: MAML whose inner learning rates are meta-learned.

    The algorithm [1]_ and its parameters are those of :class:`MetaSGDClassifier`, with
    the squared error as the loss and one output.

    Parameters
    ----------
    %(network_params)s
    %(n_shots)s
    %(n_queries)s
    %(meta_batch_size)s
    %(inner_params)s
    %(training_params)s
    %(replay_params)s

    Attributes
    ----------
    %(gradient_attributes)s
    inner_lrs_ : dict of str to torch.Tensor
        The meta-learned inner step sizes: one tensor of the shape of each adapted
        parameter (CPU).
    %(fitted_features)s

    See Also
    --------
    MAMLRegressor : The same with a fixed inner learning rate.

    References
    ----------
    .. [1] Z. Li, F. Zhou, F. Chen and H. Li, "Meta-SGD: Learning to Learn Quickly for
       Few-Shot Learning", arXiv:1707.09835, 2017.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_sinusoid_tasks
    >>> from sklearn_meta.gradient import MetaSGDRegressor
    >>> data = make_sinusoid_tasks(n_tasks=20, random_state=0)
    >>> est = MetaSGDRegressor(inner_lr=0.01, inner_steps=1, max_iter=20, random_state=0)
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> est.adapt(data.tasks[0][0][:5], data.tasks[0][1][:5]).predict(data.tasks[0][0]).shape
    (20,)
    """

    # MAML's parameters, another algorithm
    _algorithm = METASGD
    _parameter_constraints = MAMLRegressor._parameter_constraints
    __init__ = MAMLRegressor.__init__
