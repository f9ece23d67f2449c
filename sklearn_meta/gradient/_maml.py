"""MAML (Finn et al., 2017), second and first order, on the gradient engine."""

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ._base import CLASSIFIER_CONSTRAINTS, REGRESSOR_CONSTRAINTS, _GradientMetaLearner
from ._docs import PARAMS

__all__ = ["MAMLClassifier", "MAMLRegressor"]


@fill_doc(**PARAMS)
class MAMLClassifier(_GradientMetaLearner, BaseMetaClassifier):
    """Model-agnostic meta-learning (MAML) for classification.

    Meta-learns initial network weights from which ``inner_steps`` gradient steps on a new
    task's support set give a good model of that task: the meta-gradient of the query loss
    after adaptation is backpropagated through the inner steps (second order), or only
    through their end point with ``first_order=True`` [1]_. The tasks of a meta-batch are
    processed together (batched matrix products for the default MLP, ``torch.func.vmap``
    for a custom ``module``). ``adapt`` runs ``adapt_steps`` steps from the meta-learned
    weights on the support set; the meta-learned weights themselves never change.

    Parameters
    ----------
    %(maml_classifier_params)s

    Attributes
    ----------
    %(classifier_attributes)s

    See Also
    --------
    MetaSGDClassifier : MAML with learned per-parameter inner learning rates.
    ANILClassifier : MAML adapting only the last layer.
    ReptileClassifier : First-order meta-learning without query gradients.
    FineTuneClassifier : Pretrain on pooled tasks, fine-tune on the support set.

    References
    ----------
    .. [1] C. Finn, P. Abbeel and S. Levine, "Model-Agnostic Meta-Learning for Fast
       Adaptation of Deep Networks", ICML 2017.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> from sklearn_meta.gradient import MAMLClassifier
    >>> data = make_classification_tasks(n_tasks=20, n_features=5, random_state=0)
    >>> est = MAMLClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> X_new, y_new = data.tasks[0]
    >>> est.adapt(X_new[:10], y_new[:10]).predict(X_new[10:]).shape
    (30,)
    """

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
        first_order=False,
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
        self.first_order = first_order
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
class MAMLRegressor(_GradientMetaLearner, BaseMetaRegressor):
    """Model-agnostic meta-learning (MAML) for regression.

    :class:`MAMLClassifier`'s algorithm and parameters, with the squared error as the
    loss and one output.

    Parameters
    ----------
    %(maml_regressor_params)s

    Attributes
    ----------
    %(regressor_attributes)s

    See Also
    --------
    MAMLClassifier : The classification counterpart, with the reference.
    ReptileRegressor : First-order meta-learning without query gradients.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_sinusoid_tasks
    >>> from sklearn_meta.gradient import MAMLRegressor
    >>> data = make_sinusoid_tasks(n_tasks=20, random_state=0)
    >>> est = MAMLRegressor(inner_lr=0.01, inner_steps=1, max_iter=20, random_state=0)
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> X_new, y_new = data.tasks[0]
    >>> est.adapt(X_new[:5], y_new[:5]).predict(X_new[5:]).shape
    (15,)
    """

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
        first_order=False,
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
        self.first_order = first_order
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
