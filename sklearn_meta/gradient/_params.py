"""Parameters of the gradient-based learners: their sets and their paragraphs.

Each class's docstring stands in its class body, with placeholder lines ``%(name)s``
(:func:`sklearn_meta.utils._docstrings.fill_doc`) for a parameter or a group of them.
"""

from .._nn._params import EPISODES_CLASSIFIER, EPISODES_REGRESSOR, REPLAY, RUNTIME, TRAINING
from ..utils._docstrings import PARAGRAPHS

PARAMS = {
    "hidden_layer_sizes": """hidden_layer_sizes : array-like of int, default=(40, 40)
    Sizes of the hidden layers of the default MLP (ignored when ``module`` is given).""",
    "activation": """activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
    Activation between the layers of the default MLP.""",
    "module": """module : callable or None, default=None
    ``module(n_inputs, n_outputs) -> torch.nn.Module`` replacing the default MLP. It is
    called at every ``fit`` (a clone builds fresh weights), with the torch seed set from
    ``random_state``.""",
    "n_shots": """n_shots : int, default=5
    Support rows per class (classifiers) or per task (regressors) of the meta-training
    episodes and of the episodes drawn by ``score``.""",
    "n_way": """n_way : int or None, default=None
    Classes per meta-training episode when tasks have their own label sets (None: the
    most classes of any training task); ``adapt`` then accepts up to ``n_way`` classes.
    Ignored when all tasks share one label set.""",
    "n_queries": """n_queries : int or None, default=None
    Query rows per class (per task for regressors) of a meta-training episode
    (None: ``n_shots``).""",
    "support": PARAGRAPHS["meta_support"],
    "meta_batch_size": """meta_batch_size : int, default=16
    Tasks per meta-iteration, processed together (batched, no Python loop).""",
    "inner_lr": """inner_lr : float, default=0.1
    Step size of the inner (adaptation) gradient steps (the initial value of the learned
    per-parameter step sizes for Meta-SGD).""",
    "inner_lr=0.05": """inner_lr : float, default=0.05
    Step size of the inner (adaptation) gradient steps (the initial value of the learned
    per-parameter step sizes for Meta-SGD).""",
    "inner_steps": """inner_steps : int, default=5
    Inner gradient steps on a support set during meta-training.""",
    "adapt_steps": """adapt_steps : int or None, default=None
    Gradient steps of ``adapt`` (None: ``inner_steps``).""",
    "adapt_steps=20": """adapt_steps : int, default=20
    Gradient steps of ``adapt`` on the support set (0 keeps the pretrained network).""",
    "fine_tune": """fine_tune : {"head", "all"}, default="head"
    Layers updated by ``adapt``: the last one, or all of them.""",
    "first_order": """first_order : bool, default=False
    Drop the second-order terms of the meta-gradient (first-order MAML): faster, and its
    memory does not grow with ``inner_steps``.""",
    "label_space": """label_space : {"auto", "shared", "per_task"}, default="auto"
    Label setting of the tasks (see :class:`~sklearn_meta.base.BaseMetaClassifier`).""",
    "unlabeled_weight": """unlabeled_weight : float, default=0.0
    Weight of a term on unlabelled rows added to the inner loss (semi-supervised,
    transductive adaptation): information maximisation, i.e. the mean prediction
    entropy (entropy minimisation) minus the entropy of the mean prediction (which keeps
    the rows from all going to one class). ``adapt(..., X_unlabeled=X)`` uses it, and
    meta-training uses the query rows as unlabelled rows when it is > 0.""",
    "meta_lr": """meta_lr : float, default=1e-3
    Learning rate of the Adam optimiser of the meta-parameters.""",
    "max_iter": """max_iter : int, default=1000
    Meta-iterations (one meta-batch each). 0 keeps the initial network.""",
    "early_stopping": """early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the tasks, score them every
    ``validation_interval`` meta-iterations (adapt on a support set, score its query
    set), stop when the score has not improved by ``tol`` for ``n_iter_no_change``
    checks, and keep the best meta-parameters.""",
    "validation_fraction": """validation_fraction : float, default=0.1
    Fraction of the tasks held out for early stopping.""",
    "validation_interval": """validation_interval : int, default=10
    Meta-iterations between two checks (validation score, or mean training loss
    without early stopping).""",
    "n_iter_no_change": """n_iter_no_change : int, default=10
    Validation checks without improvement by ``tol`` before stopping (early stopping).""",
    "tol": """tol : float or None, default=1e-4
    Validation-score improvement that counts for early stopping; 0 or None never stops
    before ``max_iter``. Training never stops on the meta-training loss, a noisy sample
    over random episodes.""",
    "lr_schedule": """lr_schedule : {"constant", "plateau"}, default="constant"
    ``"plateau"`` divides ``meta_lr`` by 5 after ``max(1, n_iter_no_change // 2)`` checks
    without improvement.""",
    "base_estimator": """base_estimator : estimator or None, default=None
    Residual mode: a scikit-learn model (e.g. ``HistGradientBoostingClassifier()``)
    fitted on the meta-training rows; the network then meta-learns a correction added
    to its output (to the base model's centred log-probabilities, or its prediction),
    so meta-training starts from the pooled model instead of from scratch. The offsets
    of the training rows are out of fold over 5 folds of tasks; at ``adapt`` and
    ``predict`` they come from the model fitted on all rows (``base_estimator_``).
    Classification needs one label set shared by all tasks.""",
    "device": """device : {"auto", "cpu", "cuda"}, default="auto"
    Where to compute; ``"auto"`` uses CUDA when available. Fitted parameters are stored
    on the CPU, so a model fitted on a GPU pickles and predicts on a CPU-only machine
    (with ``device="auto"`` or ``"cpu"``).""",
    "distributed": """distributed : {"auto", True, False}, default="auto"
    Meta-train on the ranks of an initialised ``torch.distributed`` process group (a
    script launched with ``torchrun``): every rank draws the same meta-batch and
    computes the meta-gradient of its slice of the tasks, the meta-gradients are
    all-reduced, and all ranks end with the meta-parameters of a one-process fit.
    ``"auto"``: when a process group is initialised; ``True``: an error when none is;
    ``False``: this process alone.""",
    "random_state": """random_state : int, RandomState instance or None, default=None
    Seeds the initial weights, the meta-training episodes and ``score``'s episodes;
    results are reproducible on the CPU for a fixed value.""",
    "verbose": """verbose : int, default=0
    Show a progress bar with the meta-training loss.""",
    "warm_start": """warm_start : bool, default=False
    Continue from the current meta-parameters at the next ``fit``.""",
    "replay_buffer_size": """replay_buffer_size : int, default=100
    Past tasks kept for experience replay by ``partial_fit`` (a uniform sample of the
    stream); 0 disables replay.""",
    "replay_ratio": """replay_ratio : float, default=0.5
    Fraction of each meta-batch of ``partial_fit`` drawn from the replay buffer.""",
}

# The parameter sets of the gradient learners, ``{name: default}`` in signature order: each
# is a class's ``__init__`` (utils._params.make_init) and, in the same order, the paragraph
# list of its docstring (one placeholder line, e.g. ``%(maml_classifier_params)s``): the
# paragraph of a parameter is ``PARAMS["name=default"]`` where a set's default differs
# from the common one, else ``PARAMS["name"]``.
# MAML's sets are also Meta-SGD's and ANIL's. tests/test_structure.py checks every
# documented list against the __init__ it documents.
_NETWORK = {"hidden_layer_sizes": (40, 40), "activation": "relu", "module": None,
            "base_estimator": None}
_LABELS = {"label_space": "auto", "unlabeled_weight": 0.0}
_TAIL = {**TRAINING, **REPLAY, **RUNTIME}
_CLASSIFIER = {**_NETWORK, **EPISODES_CLASSIFIER, "inner_lr": 0.1}
_REGRESSOR = {**_NETWORK, **EPISODES_REGRESSOR, "inner_lr": 0.05}
_INNER = {"inner_steps": 5, "adapt_steps": None}
_FINE_TUNE = {"adapt_steps": 20, "fine_tune": "head"}

MAML_CLASSIFIER = {**_CLASSIFIER, **_INNER, "first_order": False, **_LABELS, **_TAIL}
MAML_REGRESSOR = {**_REGRESSOR, **_INNER, "first_order": False, **_TAIL}
REPTILE_CLASSIFIER = {**_CLASSIFIER, **_INNER, **_LABELS, **_TAIL}
REPTILE_REGRESSOR = {**_REGRESSOR, **_INNER, **_TAIL}
FINETUNE_CLASSIFIER = {**_CLASSIFIER, **_FINE_TUNE, **_LABELS, **_TAIL}
FINETUNE_REGRESSOR = {**_REGRESSOR, **_FINE_TUNE, **_TAIL}

_SETS = {"maml_classifier": MAML_CLASSIFIER, "maml_regressor": MAML_REGRESSOR,
         "reptile_classifier": REPTILE_CLASSIFIER, "reptile_regressor": REPTILE_REGRESSOR,
         "finetune_classifier": FINETUNE_CLASSIFIER, "finetune_regressor": FINETUNE_REGRESSOR}
PARAMS.update({f"{name}_params": "\n".join(PARAMS.get(f"{p}={default!r}", PARAMS[p])
                                            for p, default in params.items())
               for name, params in _SETS.items()})

PARAMS["regressor_attributes"] = """\
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
""" + PARAGRAPHS["fitted_features"]

PARAMS["classifier_attributes"] = PARAMS["regressor_attributes"] + """
classes_ : ndarray
    Labels of the adapted task, else the labels seen in ``fit``.
meta_classes_ : ndarray
    All labels seen in ``fit``."""

PARAMS["learned_lrs"] = """\
inner_lrs_ : dict of str to torch.Tensor
    The meta-learned inner step sizes: one tensor of the shape of each adapted
    parameter (CPU)."""
