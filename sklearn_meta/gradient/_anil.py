"""ANIL (Raghu et al., 2020): MAML where only the last layer adapts."""

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ._base import ANIL, CLASSIFIER_CONSTRAINTS, REGRESSOR_CONSTRAINTS, _GradientMetaLearner
from ..utils._params import make_init
from ._params import MAML_CLASSIFIER, MAML_REGRESSOR, PARAMS

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
    %(maml_classifier_params)s

    Attributes
    ----------
    %(classifier_attributes)s

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
    >>> tasks = make_classification_tasks(n_tasks=20, n_features=5, random_state=0).tasks
    >>> est = ANILClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    >>> (X, y), others = tasks[0], tasks[1:]
    >>> est.fit(others).adapt(X[:10], y[:10]).predict_proba(X[10:]).shape
    (30, 2)
    """

    # MAML's parameters, another algorithm
    _algorithm = ANIL
    _parameter_constraints = CLASSIFIER_CONSTRAINTS
    __init__ = make_init(MAML_CLASSIFIER)


@fill_doc(**PARAMS)
class ANILRegressor(_GradientMetaLearner, BaseMetaRegressor):
    """ANIL ("almost no inner loop") for regression: MAML adapting only the head.

    :class:`ANILClassifier`'s algorithm and parameters, with the squared error as the
    loss and one output: adaptation is a few gradient steps of a linear regression on
    the meta-learned features.

    Parameters
    ----------
    %(maml_regressor_params)s

    Attributes
    ----------
    %(regressor_attributes)s

    See Also
    --------
    ANILClassifier : The classification counterpart, with the reference.
    MAMLRegressor : Every layer adapts.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_sinusoid_tasks
    >>> from sklearn_meta.gradient import ANILRegressor
    >>> tasks = make_sinusoid_tasks(n_tasks=20, random_state=0).tasks
    >>> est = ANILRegressor(inner_lr=0.01, max_iter=20, random_state=0).fit(tasks[1:])
    >>> X, y = tasks[0]
    >>> est.adapt(X[:5], y[:5]).predict(X[5:]).shape
    (15,)
    """

    # MAML's parameters, another algorithm
    _algorithm = ANIL
    _parameter_constraints = REGRESSOR_CONSTRAINTS
    __init__ = make_init(MAML_REGRESSOR)
