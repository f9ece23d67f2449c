"""Pretrain-then-fine-tune: the transfer baseline of Chen et al. (2019) on the engine."""

from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ._base import CLASSIFIER_CONSTRAINTS, FINETUNE, REGRESSOR_CONSTRAINTS, _GradientMetaLearner
from ._docs import PARAMS

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
        adapt_steps=20,
        fine_tune="head",
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
        self.adapt_steps = adapt_steps
        self.fine_tune = fine_tune
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
        adapt_steps=20,
        fine_tune="head",
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
        self.adapt_steps = adapt_steps
        self.fine_tune = fine_tune
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
