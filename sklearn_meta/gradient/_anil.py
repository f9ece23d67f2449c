"""ANIL (Raghu et al., 2020): MAML where only the last layer adapts."""

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ._base import ANIL, _GradientMetaLearner
from ._docs import PARAMS
from ._maml import MAMLClassifier, MAMLRegressor

__all__ = ["ANILClassifier", "ANILRegressor"]


@fill_doc(**PARAMS)
class ANILClassifier(_GradientMetaLearner, BaseMetaClassifier):
    """ANIL ("almost no inner loop") for classification: MAML adapting only the head.

    The inner loop updates only the last layer (the parameters of the network's last
    submodule that owns parameters); the body is meta-learned as a shared feature extractor
    [1]_. For the default MLP the body's features are computed once per episode, so the inner
    steps cost a linear model's. Otherwise identical to :class:`MAMLClassifier`.

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
    %(fitted_features)s
    %(classes_attributes)s

    See Also
    --------
    MAMLClassifier : Every layer adapts.

    References
    ----------
    .. [1] A. Raghu, M. Raghu, S. Bengio and O. Vinyals, "Rapid Learning or Feature
       Reuse? Towards Understanding the Effectiveness of MAML", ICLR 2020.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> from sklearn_meta.gradient import ANILClassifier
    >>> data = make_classification_tasks(n_tasks=20, n_features=5, random_state=0)
    >>> est = ANILClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> X_new, y_new = data.tasks[0]
    >>> est.adapt(X_new[:10], y_new[:10]).predict_proba(X_new[10:]).shape
    (30, 2)
    """

    # MAML's parameters, another algorithm
    _algorithm = ANIL
    _parameter_constraints = MAMLClassifier._parameter_constraints
    __init__ = MAMLClassifier.__init__


@fill_doc(**PARAMS)
class ANILRegressor(_GradientMetaLearner, BaseMetaRegressor):
    """ANIL ("almost no inner loop") for regression: MAML adapting only the head.

    The algorithm [1]_ and its parameters are those of :class:`ANILClassifier`, with
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
    %(fitted_features)s

    See Also
    --------
    MAMLRegressor : Every layer adapts.

    References
    ----------
    .. [1] A. Raghu, M. Raghu, S. Bengio and O. Vinyals, "Rapid Learning or Feature
       Reuse? Towards Understanding the Effectiveness of MAML", ICLR 2020.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_sinusoid_tasks
    >>> from sklearn_meta.gradient import ANILRegressor
    >>> data = make_sinusoid_tasks(n_tasks=20, random_state=0)
    >>> est = ANILRegressor(inner_lr=0.01, max_iter=20, random_state=0)
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> est.adapt(data.tasks[0][0][:5], data.tasks[0][1][:5]).predict(data.tasks[0][0]).shape
    (20,)
    """

    # MAML's parameters, another algorithm
    _algorithm = ANIL
    _parameter_constraints = MAMLRegressor._parameter_constraints
    __init__ = MAMLRegressor.__init__
