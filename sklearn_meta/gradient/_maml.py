"""MAML (Finn et al., 2017), second and first order, on the gradient engine."""

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ._base import CLASSIFIER_CONSTRAINTS, REGRESSOR_CONSTRAINTS, _GradientMetaLearner

__all__ = ["MAMLClassifier", "MAMLRegressor"]


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
    inner_steps : int, default=5
        Inner gradient steps on a support set during meta-training.
    adapt_steps : int or None, default=None
        Gradient steps of ``adapt`` (None: ``inner_steps``; fine-tuning: default 20).
    first_order : bool, default=False
        Drop the second-order terms of the meta-gradient (first-order MAML): faster, and its
        memory does not grow with ``inner_steps``.
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


class MAMLRegressor(_GradientMetaLearner, BaseMetaRegressor):
    """Model-agnostic meta-learning (MAML) for regression.

    The algorithm [1]_ and its parameters are those of :class:`MAMLClassifier`, with
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
    inner_steps : int, default=5
        Inner gradient steps on a support set during meta-training.
    adapt_steps : int or None, default=None
        Gradient steps of ``adapt`` (None: ``inner_steps``; fine-tuning: default 20).
    first_order : bool, default=False
        Drop the second-order terms of the meta-gradient (first-order MAML): faster, and its
        memory does not grow with ``inner_steps``.
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
    MetaSGDRegressor : MAML with learned per-parameter inner learning rates.
    ANILRegressor : MAML adapting only the last layer.
    ReptileRegressor : First-order meta-learning without query gradients.
    FineTuneRegressor : Pretrain on pooled tasks, fine-tune on the support set.

    References
    ----------
    .. [1] C. Finn, P. Abbeel and S. Levine, "Model-Agnostic Meta-Learning for Fast
       Adaptation of Deep Networks", ICML 2017.

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
