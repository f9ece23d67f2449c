"""Pretrain-then-fine-tune: the transfer baseline of Chen et al. (2019) on the engine."""

from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ._base import CLASSIFIER_CONSTRAINTS, FINETUNE, REGRESSOR_CONSTRAINTS, _GradientMetaLearner

__all__ = ["FineTuneClassifier", "FineTuneRegressor"]

# Meta-training is ordinary supervised training on the pooled rows of the tasks;
# adaptation is the engine's inner loop (adapt_steps steps of inner_lr) on the support
# set, of the last layer (fine_tune="head") or of every layer (the FINETUNE algorithm).
_FINE_TUNE_CONSTRAINTS = {
    "adapt_steps": [Interval(Integral, 0, None, closed="left")],
    "fine_tune": [StrOptions({"head", "all"})],
}


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
    hidden_layer_sizes : array-like of int, default=(40, 40)
        Sizes of the hidden layers of the default MLP (ignored when ``module`` is given).
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation between the layers of the default MLP.
    module : callable or None, default=None
        ``module(n_inputs, n_outputs) -> torch.nn.Module`` replacing the default MLP. It is
        called at every ``fit`` (a clone builds fresh weights), with the torch seed set from
        ``random_state``.
    base_estimator : estimator or None, default=None
        Residual mode: a scikit-learn model (e.g. ``HistGradientBoostingClassifier()``)
        fitted on the meta-training rows; the network then meta-learns a correction added
        to its output (to the base model's centred log-probabilities, or its prediction),
        so meta-training starts from the pooled model instead of from scratch. The offsets
        of the training rows are out of fold over 5 folds of tasks; at ``adapt`` and
        ``predict`` they come from the model fitted on all rows (``base_estimator_``).
        Classification needs one label set shared by all tasks.
    n_shots : int, default=5
        Support rows per class (classifiers) or per task (regressors) of the meta-training
        episodes and of the episodes drawn by ``score``.
    n_way : int or None, default=None
        Classes per meta-training episode when tasks have their own label sets (None: the
        most classes of any training task); ``adapt`` then accepts up to ``n_way`` classes.
        Ignored when all tasks share one label set.
    n_queries : int or None, default=None
        Query rows per class (per task for regressors) of a meta-training episode
        (None: ``n_shots``).
    meta_batch_size : int, default=16
        Tasks per meta-iteration, processed together (batched, no Python loop).
    inner_lr : float, default=0.1 (classifiers), 0.05 (regressors)
        Step size of the inner (adaptation) gradient steps (the initial value of the learned
        per-parameter step sizes for Meta-SGD).
    adapt_steps : int or None, default=None
        Gradient steps of ``adapt`` (None: ``inner_steps``; fine-tuning: default 20).
    fine_tune : {"head", "all"}, default="head"
        Layers updated by ``adapt``: the last one, or all of them.
    label_space : {"auto", "shared", "per_task"}, default="auto"
        Label setting of the tasks (see :class:`~sklearn_meta.base.BaseMetaClassifier`).
    unlabeled_weight : float, default=0.0
        Weight of a term on unlabelled rows added to the inner loss (semi-supervised,
        transductive adaptation): information maximisation, i.e. the mean prediction
        entropy (entropy minimisation) minus the entropy of the mean prediction (which keeps
        the rows from all going to one class). ``adapt(..., X_unlabeled=X)`` uses it, and
        meta-training uses the query rows as unlabelled rows when it is > 0.
    meta_lr : float, default=1e-3
        Learning rate of the Adam optimiser of the meta-parameters.
    max_iter : int, default=1000
        Meta-iterations (one meta-batch each). 0 keeps the initial network.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the tasks, score them every
        ``validation_interval`` meta-iterations (adapt on a support set, score its query
        set), stop when the score has not improved by ``tol`` for ``n_iter_no_change``
        checks, and keep the best meta-parameters.
    validation_fraction : float, default=0.1
        Fraction of the tasks held out for early stopping.
    validation_interval : int, default=10
        Meta-iterations between two checks (validation score, or mean training loss
        without early stopping).
    n_iter_no_change : int, default=10
        Validation checks without improvement by ``tol`` before stopping (early stopping).
    tol : float or None, default=1e-4
        Validation-score improvement that counts for early stopping; 0 or None never stops
        before ``max_iter``. Training never stops on the meta-training loss, a noisy sample
        over random episodes.
    lr_schedule : {"constant", "plateau"}, default="constant"
        ``"plateau"`` divides ``meta_lr`` by 5 after ``max(1, n_iter_no_change // 2)`` checks
        without improvement.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where to compute; ``"auto"`` uses CUDA when available. Fitted parameters are stored
        on the CPU, so a model fitted on a GPU pickles and predicts on a CPU-only machine
        (with ``device="auto"`` or ``"cpu"``).
    distributed : {"auto", True, False}, default="auto"
        Meta-train on the ranks of an initialised ``torch.distributed`` process group (a
        script launched with ``torchrun``): every rank draws the same meta-batch and
        computes the meta-gradient of its slice of the tasks, the meta-gradients are
        all-reduced, and all ranks end with the meta-parameters of a one-process fit.
        ``"auto"``: when a process group is initialised; ``True``: an error when none is;
        ``False``: this process alone.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the meta-training episodes and ``score``'s episodes;
        results are reproducible on the CPU for a fixed value.
    verbose : int, default=0
        Show a progress bar with the meta-training loss.
    warm_start : bool, default=False
        Continue from the current meta-parameters at the next ``fit``.
    replay_buffer_size : int, default=100
        Past tasks kept for experience replay by ``partial_fit`` (a uniform sample of the
        stream); 0 disables replay.
    replay_ratio : float, default=0.5
        Fraction of each meta-batch of ``partial_fit`` drawn from the replay buffer.

    Attributes
    ----------
    module_ : torch.nn.Module
        The meta-trained network (CPU).
    params_ : dict of str to torch.Tensor
        The meta-parameters (network weights) as CPU tensors.
    n_outputs_ : int
        Outputs of the network used after adaptation.
    n_iter_ : int
        Meta-iterations run.
    loss_curve_ : list of float
        Meta-training loss of every meta-iteration: the mean query loss after adaptation
        (fine-tuning: the pooled training loss).
    validation_scores_ : list of float or None
        Validation score at every check (accuracy or R^2), with ``early_stopping``.
    best_validation_score_ : float or None
        Best of ``validation_scores_``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen during ``fit`` (DataFrames only).
    classes_ : ndarray
        Labels of the adapted task, else the labels seen in ``fit``.
    meta_classes_ : ndarray
        All labels seen in ``fit``.

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

class FineTuneRegressor(_GradientMetaLearner, BaseMetaRegressor):
    """Pretrain on the pooled tasks, fine-tune on the support set (regression).

    The algorithm [1]_ and its parameters are those of :class:`FineTuneClassifier`, with
    the squared error as the loss and one output.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(40, 40)
        Sizes of the hidden layers of the default MLP (ignored when ``module`` is given).
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation between the layers of the default MLP.
    module : callable or None, default=None
        ``module(n_inputs, n_outputs) -> torch.nn.Module`` replacing the default MLP. It is
        called at every ``fit`` (a clone builds fresh weights), with the torch seed set from
        ``random_state``.
    base_estimator : estimator or None, default=None
        Residual mode: a scikit-learn model (e.g. ``HistGradientBoostingClassifier()``)
        fitted on the meta-training rows; the network then meta-learns a correction added
        to its output (to the base model's centred log-probabilities, or its prediction),
        so meta-training starts from the pooled model instead of from scratch. The offsets
        of the training rows are out of fold over 5 folds of tasks; at ``adapt`` and
        ``predict`` they come from the model fitted on all rows (``base_estimator_``).
        Classification needs one label set shared by all tasks.
    n_shots : int, default=5
        Support rows per class (classifiers) or per task (regressors) of the meta-training
        episodes and of the episodes drawn by ``score``.
    n_queries : int or None, default=None
        Query rows per class (per task for regressors) of a meta-training episode
        (None: ``n_shots``).
    meta_batch_size : int, default=16
        Tasks per meta-iteration, processed together (batched, no Python loop).
    inner_lr : float, default=0.1 (classifiers), 0.05 (regressors)
        Step size of the inner (adaptation) gradient steps (the initial value of the learned
        per-parameter step sizes for Meta-SGD).
    adapt_steps : int or None, default=None
        Gradient steps of ``adapt`` (None: ``inner_steps``; fine-tuning: default 20).
    fine_tune : {"head", "all"}, default="head"
        Layers updated by ``adapt``: the last one, or all of them.
    meta_lr : float, default=1e-3
        Learning rate of the Adam optimiser of the meta-parameters.
    max_iter : int, default=1000
        Meta-iterations (one meta-batch each). 0 keeps the initial network.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the tasks, score them every
        ``validation_interval`` meta-iterations (adapt on a support set, score its query
        set), stop when the score has not improved by ``tol`` for ``n_iter_no_change``
        checks, and keep the best meta-parameters.
    validation_fraction : float, default=0.1
        Fraction of the tasks held out for early stopping.
    validation_interval : int, default=10
        Meta-iterations between two checks (validation score, or mean training loss
        without early stopping).
    n_iter_no_change : int, default=10
        Validation checks without improvement by ``tol`` before stopping (early stopping).
    tol : float or None, default=1e-4
        Validation-score improvement that counts for early stopping; 0 or None never stops
        before ``max_iter``. Training never stops on the meta-training loss, a noisy sample
        over random episodes.
    lr_schedule : {"constant", "plateau"}, default="constant"
        ``"plateau"`` divides ``meta_lr`` by 5 after ``max(1, n_iter_no_change // 2)`` checks
        without improvement.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where to compute; ``"auto"`` uses CUDA when available. Fitted parameters are stored
        on the CPU, so a model fitted on a GPU pickles and predicts on a CPU-only machine
        (with ``device="auto"`` or ``"cpu"``).
    distributed : {"auto", True, False}, default="auto"
        Meta-train on the ranks of an initialised ``torch.distributed`` process group (a
        script launched with ``torchrun``): every rank draws the same meta-batch and
        computes the meta-gradient of its slice of the tasks, the meta-gradients are
        all-reduced, and all ranks end with the meta-parameters of a one-process fit.
        ``"auto"``: when a process group is initialised; ``True``: an error when none is;
        ``False``: this process alone.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the meta-training episodes and ``score``'s episodes;
        results are reproducible on the CPU for a fixed value.
    verbose : int, default=0
        Show a progress bar with the meta-training loss.
    warm_start : bool, default=False
        Continue from the current meta-parameters at the next ``fit``.
    replay_buffer_size : int, default=100
        Past tasks kept for experience replay by ``partial_fit`` (a uniform sample of the
        stream); 0 disables replay.
    replay_ratio : float, default=0.5
        Fraction of each meta-batch of ``partial_fit`` drawn from the replay buffer.

    Attributes
    ----------
    module_ : torch.nn.Module
        The meta-trained network (CPU).
    params_ : dict of str to torch.Tensor
        The meta-parameters (network weights) as CPU tensors.
    n_outputs_ : int
        Outputs of the network used after adaptation.
    n_iter_ : int
        Meta-iterations run.
    loss_curve_ : list of float
        Meta-training loss of every meta-iteration: the mean query loss after adaptation
        (fine-tuning: the pooled training loss).
    validation_scores_ : list of float or None
        Validation score at every check (accuracy or R^2), with ``early_stopping``.
    best_validation_score_ : float or None
        Best of ``validation_scores_``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen during ``fit`` (DataFrames only).

    See Also
    --------
    MAMLRegressor : Meta-learns the initialisation for fine-tuning instead.
    sklearn_meta.baselines.PerTaskEstimator : No transfer at all.

    References
    ----------
    .. [1] W.-Y. Chen, Y.-C. Liu, Z. Kira, Y.-C. F. Wang and J.-B. Huang, "A Closer Look at
       Few-shot Classification", ICLR 2019.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_regression_tasks
    >>> from sklearn_meta.gradient import FineTuneRegressor
    >>> data = make_regression_tasks(n_tasks=20, n_features=5, random_state=0)
    >>> est = FineTuneRegressor(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> est.adapt(data.tasks[0][0][:5], data.tasks[0][1][:5]).predict(data.tasks[0][0]).shape
    (20,)
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
