"""Neural-process in-context learners: ``adapt`` is one forward pass over the support set."""

import math
from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import HasMethods, Interval

from .._nn import _residual
from .._nn._sampler import SUPPORT_CONSTRAINT
from .._nn._params import (EPISODES_CLASSIFIER, EPISODES_REGRESSOR, EPISODIC_TRAINING, REPLAY,
                          RUNTIME)
from .._torch import _TORCH_PARAMETER_CONSTRAINTS, _build_module, _TorchMetaLearnerMixin
from ..base import BaseMetaClassifier, BaseMetaRegressor
from .._nn._prototypes import borrow_rows, logits_loss
from ..utils._docstrings import fill_doc
from ..utils._math import decision_from_logits, softmax
from ..utils._params import make_init
from ._attention import NeuralProcessNet

__all__ = ["NeuralProcessClassifier", "NeuralProcessRegressor"]

_COMMON_CONSTRAINTS = {
    **_TORCH_PARAMETER_CONSTRAINTS,
    "n_queries": [Interval(Integral, 1, None, closed="left")],
    "base_estimator": [HasMethods(["fit", "predict"]), None],
    "embedding_dim": [Interval(Integral, 1, None, closed="left")],
    "n_heads": [Interval(Integral, 1, None, closed="left")],
    "n_layers": [Interval(Integral, 0, None, closed="left")],
    "meta_batch_size": [Interval(Integral, 1, None, closed="left")],
}


def gaussian_nll(mean, std, y, m):
    """Mean Gaussian negative log-likelihood over the real rows of each task, then tasks."""
    nll = 0.5 * ((y - mean) / std) ** 2 + torch.log(std) + 0.5 * math.log(2 * math.pi)
    w = m / m.sum(-1, keepdim=True).clamp_min(1.0)
    return (w * nll).sum(-1).mean()


def _episode_mse(mean, y, m):
    """Mean squared error of every episode's real query rows (T,)."""
    return (m * (mean - y) ** 2).sum(-1) / m.sum(-1).clamp_min(1.0)


def _zero_shot_rows(y, n_classes, n_shots):
    """Training rows of the zero-shot context (shared labels): up to ``n_shots`` random
    rows of every class (a fixed seed, so a refit gives the same context)."""
    rng = np.random.default_rng(0)
    return np.concatenate([rng.permutation(np.flatnonzero(y == c))[:n_shots]
                           for c in range(n_classes)])


class _NeuralProcessMixin(_TorchMetaLearnerMixin):
    """What the neural-process classifier and regressor share."""

    _target = None  # "class" or "value"

    def _check_heads(self):
        if self.embedding_dim % self.n_heads:
            raise ValueError(
                f"embedding_dim={self.embedding_dim} must be a multiple of "
                f"n_heads={self.n_heads} (each attention head gets embedding_dim / n_heads "
                "dimensions); change one of them."
            )

    def _build_network(self, n_features, seed):
        encoder = _build_module(  # the row encoder reads the features, not the offsets
            self.module, _residual.n_network_inputs(self, n_features), self.embedding_dim,
            hidden_layer_sizes=self.hidden_layer_sizes, activation=self.activation,
            seed=seed,
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1)
            return NeuralProcessNet(
                encoder, self.embedding_dim, self._target, self.n_heads, self.n_layers
            ).float()

    def _with_base(self, tasks, warm):
        """base_estimator: offsets as columns (classifier) or residual targets."""
        if self._target == "class":
            return _residual.prepare(self, tasks, warm)
        return _residual.residual_targets(self, tasks, warm)

    def _meta_fit(self, tasks):
        self._check_heads()
        tasks = self._with_base(tasks, warm=False)
        self._prepare(tasks)
        self._fit_network(tasks, warm=self.warm_start and hasattr(self, "network_"))

    def _partial_meta_fit(self, tasks, replay, task_picker, first):
        self._check_heads()
        tasks = self._with_base(tasks, warm=not first)
        if first:
            self._prepare(tasks)
        super()._partial_meta_fit(tasks, replay, task_picker, first)

    def _context(self, X, y, n_classes=None):
        """The network's context of one support set (CPU tensors: the adapted state)."""
        net = self._device_network()
        with torch.no_grad():
            X_t = self._tensor(_residual.split(self, X)[0])[None]
            dtype = torch.int64 if self._target == "class" else torch.float64
            y_t = self._tensor(y, dtype)[None]
            ctx = net.encode(X_t, y_t, torch.ones_like(X_t[..., 0]), n_classes)
        return {k: v.cpu() for k, v in ctx.items()}

    def _decode(self, X, context):
        net = self._device_network()
        device = self._device()
        X, offsets = _residual.split(self, X)
        with torch.no_grad():
            out = net.decode(self._tensor(X)[None], {k: v.to(device) for k, v in context.items()})
        return out if offsets is None else out + self._tensor(offsets)[None]


# Parameter paragraphs shared by the classifier and the regressor.
# The network parameters of both neural processes (utils._params.make_init).
_NETWORK = {"embedding_dim": 64, "n_heads": 4, "n_layers": 2, "hidden_layer_sizes": (64,),
            "activation": "relu", "module": None, "base_estimator": None}

_DOCS = {
    "network": """\
embedding_dim : int, default=64
    Width of the row encodings, tokens and attention.
n_heads : int, default=4
    Attention heads (must divide ``embedding_dim``).
n_layers : int, default=2
    Self-attention blocks over the support tokens.
hidden_layer_sizes : array-like of shape (n_layers,), default=(64,)
    Hidden layers of the default row-encoder MLP.
activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
    Activation of the default row encoder.
module : callable, default=None
    ``module(n_features, embedding_dim) -> torch.nn.Module``: your row encoder.
base_estimator : estimator or None, default=None
    Residual mode: a scikit-learn model fitted on the meta-training rows (out of fold
    over 5 folds of tasks for the training episodes; ``base_estimator_`` on all rows
    at ``adapt``/``predict``). The classifier adds the network's logits to the base
    model's centred log-probabilities; the regressor reads and predicts the residuals
    ``y - base prediction``. Needs one label set shared by all tasks.""",
    "meta_lr": """\
meta_lr : float, default=1e-3
    Adam learning rate.""",
    "tol": """\
tol : float or None, default=1e-4
    Stop when the monitored score has not improved by ``tol`` for
    ``n_iter_no_change`` checks; None trains ``max_iter`` iterations.""",
}


@fill_doc(**_DOCS)
class NeuralProcessClassifier(_NeuralProcessMixin, BaseMetaClassifier):
    """Attentive neural-process classifier: reads the support set, no gradient steps.

    A model-based ("memory") meta-learner. The support set is written into a memory: each
    labelled row becomes a token (its encoding plus the mean encoding of its class, so
    labels need no fixed vocabulary), and self-attention blocks (Set Transformer style)
    let every token see the whole task. Query rows cross-attend to the memory and are
    classified by their distance to each class's mean memory token. ``adapt`` is a
    single forward pass, so adapting to a new task costs milliseconds; it works for any
    number of classes and shots.

    Read more in the :ref:`User Guide <model_based_learners>`.

    Parameters
    ----------
    n_shots : int, default=5
        Support rows per class of the meta-training episodes and of ``score``.
    n_way : int, default=None
        Classes per meta-training episode with per-task label sets; None: all classes
        of a task.
    n_queries : int, default=5
        Query rows per class of the meta-training episodes.
    %(meta_support)s
    %(network)s
    meta_batch_size : int, default=8
        Episodes per meta-iteration.
    %(meta_lr)s
    max_iter : int, default=500
        Meta-iterations (per call of ``partial_fit``).
    %(tol)s
    early_stopping : bool, default=False
        Keep the network with the best episode accuracy on held-out tasks.
    %(validation_monitoring)s
    %(replay)s
    label_space : {"auto", "shared", "per_task"}, default="auto"
        Whether tasks share one label set.
    %(torch_runtime)s

    Attributes
    ----------
    network_ : torch.nn.Module
        The meta-trained network (on the CPU).
    %(episodic_classifier_attributes)s

    See Also
    --------
    NeuralProcessRegressor : The regression counterpart, with predictive uncertainty.
    sklearn_meta.metric.ProtoNetClassifier : Prototypes in a meta-learned embedding.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> from sklearn_meta.model_based import NeuralProcessClassifier
    >>> data = make_classification_tasks(n_tasks=20, n_classes=3,
    ...                                  per_task_labels=True, random_state=0)
    >>> clf = NeuralProcessClassifier(n_shots=3, max_iter=10, random_state=0)
    >>> clf = clf.fit(data.tasks[:16])
    >>> X_new, y_new = data.tasks[16]
    >>> clf.adapt(X_new[:12], y_new[:12]).predict_proba(X_new[12:]).shape
    (28, 3)
    """

    _target = "class"

    _parameter_constraints: dict = {
        **BaseMetaClassifier._parameter_constraints,
        **_COMMON_CONSTRAINTS,
        "n_way": [Interval(Integral, 2, None, closed="left"), None],
        **SUPPORT_CONSTRAINT,
    }

    __init__ = make_init({
        **EPISODES_CLASSIFIER, "n_queries": 5, **_NETWORK, **EPISODIC_TRAINING,
        "meta_batch_size": 8, "max_iter": 500, **REPLAY, "label_space": "auto", **RUNTIME})

    def _prepare(self, tasks):
        self._default_support = None
        if tasks.label_space == "shared":
            rows = _zero_shot_rows(tasks.y, len(self.meta_classes_), self.n_shots)
            self._default_support = (tasks.X[rows], tasks.y[rows])

    def _episode_loss(self, net, ep, n_classes):
        X_q, offsets = _residual.split(self, ep.X_q)
        X_s, y_s, m_s = ep.X_s, ep.y_s, ep.m_s
        if ep.class_mask is None:  # shared labels: borrow classes the support set lacks
            X_s, y_s, m_s = borrow_rows(X_s, y_s, m_s, n_classes, self.n_shots)
        context = net.encode(_residual.split(self, X_s)[0], y_s, m_s, n_classes)
        if ep.class_mask is not None:
            context["valid"] = context["valid"] & ep.class_mask
        logits = net.decode(X_q, context)
        if offsets is not None:  # base_estimator: the network corrects its logits
            logits = logits + offsets
        return logits_loss(logits, ep.y_q, ep.m_q, context["valid"])

    def _adapt(self, X, y, X_unlabeled):
        X = _residual.augment(self, X)
        shared = self._label_space_ == "shared"
        n_classes = len(self.meta_classes_) if shared else int(y.max()) + 1
        if shared:
            # classes absent from the support set: borrow training rows of them
            X_d, y_d = self._default_support
            missing = ~np.isin(y_d, y)
            X, y = np.vstack([X, X_d[missing]]), np.concatenate([y, y_d[missing]])
        return self._context(X, y, n_classes)

    def _predict_proba(self, X, state, n_classes):
        return softmax(self._logits(X, state), axis=1)

    def _decision_function(self, X, state, n_classes):
        return decision_from_logits(self._logits(X, state), n_classes)

    def _logits(self, X, state):
        X = _residual.augment(self, X)
        if state is None:
            X_d, y_d = self._default_support
            state = self._context(X_d, y_d, len(self.meta_classes_))
        return self._decode(X, state)[0].double().cpu().numpy()


@fill_doc(**_DOCS)
class NeuralProcessRegressor(_NeuralProcessMixin, BaseMetaRegressor):
    """Attentive neural-process regressor with predictive uncertainty.

    A model-based ("memory") meta-learner. The support rows, each encoded with its
    target, are written into a memory mixed by self-attention (Set Transformer style);
    query rows cross-attend to it and a head outputs a Gaussian mean and standard
    deviation. ``adapt`` is one forward pass (milliseconds, no gradient steps), works
    for any number of support rows (meta-training shows between 0 and ``n_shots``) and
    ``predict(X, return_std=True)`` returns the predictive standard deviation as
    :class:`~sklearn.gaussian_process.GaussianProcessRegressor` does. Before any
    ``adapt`` it predicts from an empty memory (the meta-learned prior mean).

    Targets are standardised with the mean and scale of the meta-training targets.

    Read more in the :ref:`User Guide <model_based_learners>`.

    Parameters
    ----------
    n_shots : int, default=5
        Support rows of the meta-training episodes (at most; the number varies from
        0 to ``n_shots``) and of ``score``.
    n_queries : int, default=10
        Query rows per meta-training episode.
    %(network)s
    meta_batch_size : int, default=16
        Episodes per meta-iteration.
    %(meta_lr)s
    max_iter : int, default=1000
        Meta-iterations (per call of ``partial_fit``).
    %(tol)s
    early_stopping : bool, default=False
        Keep the network with the lowest query mean squared error on held-out tasks.
    %(validation_monitoring)s
    %(replay)s
    %(torch_runtime)s

    Attributes
    ----------
    network_ : torch.nn.Module
        The meta-trained network (on the CPU).
    y_mean_ : float
        Mean of the meta-training targets.
    y_scale_ : float
        Their standard deviation (1 when constant).
    n_iter_ : int
        Meta-iterations run.
    loss_curve_ : list of float
        Training loss (Gaussian negative log-likelihood) of every meta-iteration.
    validation_scores_ : list of float or None
        Negative validation mean squared error at every check (``early_stopping``).
    best_validation_score_ : float or None
        Best of them.
    %(fitted_features)s

    See Also
    --------
    NeuralProcessClassifier : The classification counterpart.
    sklearn.gaussian_process.GaussianProcessRegressor : ``return_std`` the same way.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_sinusoid_tasks
    >>> from sklearn_meta.model_based import NeuralProcessRegressor
    >>> data = make_sinusoid_tasks(n_tasks=20, random_state=0)
    >>> reg = NeuralProcessRegressor(n_shots=5, max_iter=10, random_state=0)
    >>> reg = reg.fit(data.tasks[:16])
    >>> X_new, y_new = data.tasks[16]
    >>> mean, std = reg.adapt(X_new[:5], y_new[:5]).predict(X_new[5:], return_std=True)
    >>> mean.shape, bool((std > 0).all())
    ((15,), True)
    """

    _target = "value"

    _parameter_constraints: dict = {
        **BaseMetaRegressor._parameter_constraints,
        **_COMMON_CONSTRAINTS,
    }

    __init__ = make_init({
        **EPISODES_REGRESSOR, "n_queries": 10, **_NETWORK, **EPISODIC_TRAINING, **REPLAY,
        **RUNTIME})

    def _prepare(self, tasks):
        self.y_mean_ = float(np.mean(tasks.y))
        scale = float(np.std(tasks.y))
        self.y_scale_ = scale if scale > 0 else 1.0

    def _scaled(self, y):
        return (y - self.y_mean_) / self.y_scale_

    def _episode_loss(self, net, ep, n_classes):
        # a random number (0..n_support) of support rows per episode: the learner must
        # read support sets of every size, including the empty one (zero-shot)
        n_s = ep.m_s.shape[1]
        keep = torch.randint(0, n_s + 1, (ep.m_s.shape[0], 1), device=ep.m_s.device)
        rank = torch.argsort(torch.rand(ep.m_s.shape, device=ep.m_s.device), dim=1)
        m_s = ep.m_s * (rank < keep).to(ep.m_s.dtype)
        mean, std = net(ep.X_s, self._scaled(ep.y_s), m_s, ep.X_q)
        y_q = self._scaled(ep.y_q)
        loss = gaussian_nll(mean, std, y_q, ep.m_q)
        with torch.no_grad():
            mse = _episode_mse(mean, y_q, ep.m_q).mean()
        return loss, -mse

    def _adapt(self, X, y, X_unlabeled):
        return self._context(X, self._scaled(y - _residual.base_prediction(self, X)))

    def _predict(self, X, state, return_std=False):
        """Predictive mean (and standard deviation) of the query rows."""
        if state is None:
            state = self._context(X[:0], np.zeros(0))
        mean, std = self._decode(X, state)
        mean = mean[0].double().cpu().numpy() * self.y_scale_ + self.y_mean_
        mean = mean + _residual.base_prediction(self, X)  # base_estimator's part
        if not return_std:
            return mean
        return mean, std[0].double().cpu().numpy() * self.y_scale_

    @fill_doc
    def predict(self, X, return_std=False):
        """Predict with the adapted model (the prior mean before any ``adapt``).

        Parameters
        ----------
        %(query_rows)s
        return_std : bool, default=False
            Also return the predictive standard deviation of every row.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
            Predictive means.
        y_std : ndarray of shape (n_samples,)
            Predictive standard deviations; only when ``return_std`` is True.
        """
        return super().predict(X, return_std=return_std)
