"""Reptile (Nichol et al., 2018): move the initialisation toward the adapted weights."""

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ._base import (
    CLASSIFIER_CONSTRAINTS,
    REGRESSOR_CONSTRAINTS,
    REPTILE,
    _GradientMetaLearner,
)
from ._docs import PARAMS

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

    def __init__(
        self,
        *,
        hidden_layer_sizes=(40, 40),
        activation="relu",
        module=None,
        base_estimator=None,
        n_shots=5,
        n_way=None,
        n_queries=None,
        support="auto",
        meta_batch_size=16,
        inner_lr=0.1,
        inner_steps=5,
        adapt_steps=None,
        label_space="auto",
        unlabeled_weight=0.0,
        meta_lr=1e-3,
        max_iter=1000,
        early_stopping=False,
        validation_fraction=0.1,
        validation_interval=10,
        n_iter_no_change=10,
        tol=1e-4,
        lr_schedule="constant",
        device="auto",
        distributed="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        replay_buffer_size=100,
        replay_ratio=0.5,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.module = module
        self.base_estimator = base_estimator
        self.n_shots = n_shots
        self.n_way = n_way
        self.n_queries = n_queries
        self.support = support
        self.meta_batch_size = meta_batch_size
        self.inner_lr = inner_lr
        self.inner_steps = inner_steps
        self.adapt_steps = adapt_steps
        self.label_space = label_space
        self.unlabeled_weight = unlabeled_weight
        self.meta_lr = meta_lr
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_interval = validation_interval
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.lr_schedule = lr_schedule
        self.device = device
        self.distributed = distributed
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.replay_buffer_size = replay_buffer_size
        self.replay_ratio = replay_ratio


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

    def __init__(
        self,
        *,
        hidden_layer_sizes=(40, 40),
        activation="relu",
        module=None,
        base_estimator=None,
        n_shots=5,
        n_queries=None,
        meta_batch_size=16,
        inner_lr=0.05,
        inner_steps=5,
        adapt_steps=None,
        meta_lr=1e-3,
        max_iter=1000,
        early_stopping=False,
        validation_fraction=0.1,
        validation_interval=10,
        n_iter_no_change=10,
        tol=1e-4,
        lr_schedule="constant",
        device="auto",
        distributed="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        replay_buffer_size=100,
        replay_ratio=0.5,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.module = module
        self.base_estimator = base_estimator
        self.n_shots = n_shots
        self.n_queries = n_queries
        self.meta_batch_size = meta_batch_size
        self.inner_lr = inner_lr
        self.inner_steps = inner_steps
        self.adapt_steps = adapt_steps
        self.meta_lr = meta_lr
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_interval = validation_interval
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.lr_schedule = lr_schedule
        self.device = device
        self.distributed = distributed
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.replay_buffer_size = replay_buffer_size
        self.replay_ratio = replay_ratio
