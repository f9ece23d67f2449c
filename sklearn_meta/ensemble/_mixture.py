"""Mixture of experts: K experts over clusters of tasks and a learned gate."""

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy.special import logsumexp
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ..utils._math import softmax
from ..utils._params import make_init
from ..utils._seeds import seed_of
from ._members import (
    _MEMBER_CONSTRAINTS,
    _ClassifierMembers,
    _MemberEnsemble,
    _RegressorMembers,
    _refuse_per_task,
)


class _MixtureOfExperts(_MemberEnsemble):
    """Hard-to-soft EM over tasks: each task belongs to one of K experts.

    The generative model: a task picks expert ``k`` with probability given by
    the gate, then all its rows follow expert ``k``. ``fit`` runs EM over
    tasks (E-step: each task's posterior over experts from its rows'
    likelihood; M-step: each expert refitted on all rows, weighted by their
    task's responsibility), then fits the gate, a multinomial logistic
    regression from a row's features to the responsibility of its task.
    ``adapt`` computes the new task's posterior over experts: the gate's
    prior (averaged over its support and unlabelled rows) times the
    likelihood of its support rows.
    """

    _parameter_constraints: dict = {
        **_MEMBER_CONSTRAINTS,
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }

    def _meta_fit(self, tasks):
        _refuse_per_task(tasks, type(self).__name__)
        members = self._members()
        rng = check_random_state(self.random_state)
        n_tasks = tasks.n_tasks
        K = min(self.n_experts, n_tasks)
        tidx = tasks.task_index
        X, y = tasks.X, tasks.y
        resp = self._initial_responsibilities(members, tasks, K, rng)
        variances = None
        self.loss_curve_ = []
        for it in range(self.max_iter):
            experts = Parallel(n_jobs=self.n_jobs)(
                delayed(members.fit)(X, y, resp[tidx, k]) for k in range(K)
            )
            outputs = members.outputs(experts, X)
            if not members.is_classifier:
                sq = (outputs - y) ** 2
                w = resp[tidx].T
                variances = np.maximum((w * sq).sum(1) / np.maximum(w.sum(1), 1e-12),
                                       1e-6 * max(np.var(y), 1e-12))
            nll = members.nll(outputs, y, variances)         # (K, n)
            task_nll = np.add.reduceat(nll, tasks.starts[:-1], axis=1).T  # (T, K)
            log_prior = np.log(np.maximum(resp.mean(axis=0), 1e-12))
            scores = log_prior - task_nll / self.temperature
            new_resp = softmax(scores)
            self.loss_curve_.append(float(-logsumexp(scores, axis=1).sum() / len(y)))
            converged = np.array_equal(new_resp.argmax(1), resp.argmax(1)) and it > 0
            resp = new_resp
            # an expert left without tasks takes over the worst-explained task
            empty = np.flatnonzero(resp.sum(axis=0) < 0.5)
            if empty.size:
                worst = np.argsort(-(task_nll * resp).sum(axis=1) / tasks.sizes)
                for k, t in zip(empty, worst):
                    resp[t] = 0.0
                    resp[t, k] = 1.0
                converged = False
            if converged:
                break
        self.experts_ = experts
        self.expert_variances_ = variances
        self.task_responsibilities_ = resp
        self.mixing_weights_ = resp.mean(axis=0)
        self.n_iter_ = it + 1
        self.gate_ = self._fit_gate(X, resp[tidx])

    def _initial_responsibilities(self, members, tasks, K, rng):
        """Cluster the tasks by what their own models predict (k-means).

        Each task's model, fitted on its rows alone, is described by its
        outputs on the same random sample of training rows; tasks whose
        models agree start with the same expert.
        """
        resp = np.zeros((tasks.n_tasks, K))
        if K == 1:
            resp[:] = 1.0
            return resp
        models = members.fit_per_task(tasks)
        ref = tasks.X[rng.choice(tasks.X.shape[0], min(200, tasks.X.shape[0]), replace=False)]
        signature = members.outputs(models, ref)
        if signature.ndim == 3 and signature.shape[2] == 2:
            # binary: the second probability is one minus the first; dropping it halves
            # every squared distance, which leaves the k-means clustering as it is
            signature = signature[:, :, 1]
        signature = signature.reshape(tasks.n_tasks, -1)
        labels = KMeans(K, n_init=4, random_state=seed_of(rng)).fit_predict(signature)
        resp[np.arange(tasks.n_tasks), labels] = 1.0
        return resp

    def _fit_gate(self, X, row_resp):
        """Multinomial logistic regression from rows to their task's expert."""
        K = row_resp.shape[1]
        used = np.flatnonzero(row_resp.sum(axis=0) > 1e-6)
        if used.size < 2:
            return None
        # the experts may impute NaN themselves (a Pipeline); the gate fills column means
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column
            self._gate_fill = np.nan_to_num(np.nanmean(X, axis=0))
        X = self._gate_input(X)
        Xr = np.tile(X, (used.size, 1))
        labels = np.repeat(used, X.shape[0])
        weights = row_resp[:, used].T.ravel()
        keep = weights > 1e-3
        gate = LogisticRegression(max_iter=200)
        gate.fit(Xr[keep], labels[keep], sample_weight=weights[keep])
        gate.n_experts_ = K
        return gate

    def _gate_proba(self, X):
        """Gate probabilities over experts, shape (n_rows, n_experts)."""
        K = len(self.experts_)
        out = np.zeros((X.shape[0], K))
        if self.gate_ is None:
            out[:, np.argmax(self.mixing_weights_)] = 1.0
        else:
            out[:, self.gate_.classes_] = self.gate_.predict_proba(self._gate_input(X))
        return out

    def _gate_input(self, X):
        nan = np.isnan(X)
        return np.where(nan, self._gate_fill, X) if nan.any() else X

    def _adapt(self, X, y, X_unlabeled):
        rows = X if X_unlabeled is None else np.vstack([X, X_unlabeled])
        log_prior = np.log(np.maximum(self._gate_proba(rows).mean(axis=0), 1e-12))
        members = self._members()
        nll = members.nll(members.outputs(self.experts_, X), y, self.expert_variances_)
        return softmax(log_prior - nll.sum(axis=1) / self.temperature)

    def _combined_output(self, X, state):
        weights = self._gate_proba(X) if state is None else state
        return self._members().mix(self.experts_, weights, X)

    @property
    def weights_(self):
        """Posterior over experts of the adapted task (``adapt`` sets it)."""
        adapted = getattr(self, "adapted_", None)
        if adapted is None:
            raise AttributeError("weights_ is set by adapt; call adapt first.")
        return adapted.state


#: Docstring paragraphs of both mixtures (placeholder lines of their class bodies).
_DOCS = {
    "em_and_gate": """\
then every expert refitted on all rows weighted by their task's
posterior (in parallel with ``n_jobs``; estimators without
``sample_weight`` get the rows of the tasks they explain best). A gate,
a multinomial logistic regression from a row's features to its task's
expert, is learned last.

``adapt`` re-estimates the mixing weights for the new task: the gate's
prior averaged over the support rows (and ``X_unlabeled`` rows, when
given) times the likelihood of the support set under each expert,
tempered by ``temperature``. ``predict`` mixes the experts with these
weights; before any ``adapt`` each row is mixed by the gate (the classic
input-dependent mixture of experts).""",
    "em_params": """\
max_iter : int, default=20
    Maximum EM iterations; EM stops earlier when no task changes expert.
temperature : float, default=1.0
    Divides the log-likelihoods in EM and ``adapt``; above 1 softens the
    assignment of tasks to experts.""",
    "jobs_params": """\
n_jobs : int, default=None
    Parallel jobs of the expert fits (joblib; any joblib backend).
random_state : int, RandomState instance or None, default=None
    Seeds the initial assignment of tasks to experts and the episodes of
    ``score``.""",
    "mixture_attributes": """\
experts_ : list of estimators
    The fitted experts.
gate_ : LogisticRegression or None
    The gate (None when all tasks chose one expert).
mixing_weights_ : ndarray of shape (n_experts,)
    Share of training tasks per expert.
task_responsibilities_ : ndarray of shape (n_tasks, n_experts)
    Posterior over experts of every training task.
weights_ : ndarray of shape (n_experts,)
    Posterior over experts of the adapted task.""",
    "em_attributes": """\
n_iter_ : int
    EM iterations run.
loss_curve_ : list of float
    Negative log-likelihood per row of the task mixture at each iteration.""",
}


# The regressor's parameters (utils._params.make_init); the classifier adds label_space.
_PARAMS = {"estimator": None, "n_experts": 4, "n_shots": 5, "max_iter": 20, "temperature": 1.0,
           "n_jobs": None, "random_state": None}


@fill_doc(**_DOCS)
class MixtureOfExpertsClassifier(_MixtureOfExperts, BaseMetaClassifier):
    """Mixture of classifiers over kinds of tasks, with a learned gate.

    Tasks come in a few kinds, each explained by one of ``n_experts``
    experts (clones of ``estimator``). ``fit`` finds the kinds by EM over
    the training tasks: every task's posterior over experts (the likelihood
    of all its rows under each expert, times the mixing weights),
    %(em_and_gate)s
    The tasks must share one label set.

    Parameters
    ----------
    estimator : estimator object, default=None
        The expert; ``LogisticRegression()`` when None.
    n_experts : int, default=4
        Number of experts (at most the number of training tasks).
    n_shots : int, default=5
        Support rows per class drawn by ``score``.
    %(em_params)s
    label_space : {"auto", "shared"}, default="auto"
        Tasks must share their labels; per-task label sets are refused.
    %(jobs_params)s

    Attributes
    ----------
    %(mixture_attributes)s
    classes_ : ndarray
        The labels shared by the tasks.
    %(em_attributes)s
    %(fitted_features)s

    See Also
    --------
    MixtureOfExpertsRegressor : The same for regression.
    TaskEnsembleClassifier : One expert per training task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.ensemble import MixtureOfExpertsClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(400, 2)
    >>> groups = np.repeat(np.arange(8), 50)
    >>> sign = np.where(groups % 2 == 0, 1, -1)            # two kinds of tasks
    >>> y = (sign * X[:, 0] > 0).astype(int)
    >>> est = MixtureOfExpertsClassifier(n_experts=2, random_state=0)
    >>> est = est.fit(X, y, groups=groups)
    >>> est.adapt([[1.0, 0.0], [-1.0, 0.0]], [0, 1]).predict([[2.0, 0.0]])
    array([0])
    """

    _parameter_constraints: dict = {
        **BaseMetaClassifier._parameter_constraints,
        **_MixtureOfExperts._parameter_constraints,
        "label_space": [StrOptions({"auto", "shared"})],
    }
    _members_type = _ClassifierMembers

    __init__ = make_init({**_PARAMS, "label_space": "auto"}, positional=1)


@fill_doc(**_DOCS)
class MixtureOfExpertsRegressor(_MixtureOfExperts, BaseMetaRegressor):
    """Mixture of regressors over kinds of tasks, with a learned gate.

    Tasks come in a few kinds, each explained by one of ``n_experts``
    experts (clones of ``estimator``). ``fit`` finds the kinds by EM over
    the training tasks: every task's posterior over experts (the likelihood
    of all its rows under each expert, Gaussian with each expert's residual
    variance, times the mixing weights),
    %(em_and_gate)s

    Parameters
    ----------
    estimator : estimator object, default=None
        The expert; ``Ridge()`` when None.
    n_experts : int, default=4
        Number of experts (at most the number of training tasks).
    n_shots : int, default=5
        Support rows per task drawn by ``score``.
    %(em_params)s
    %(jobs_params)s

    Attributes
    ----------
    %(mixture_attributes)s
    %(em_attributes)s
    %(fitted_features)s
    expert_variances_ : ndarray of shape (n_experts,)
        Residual variance of every expert on the rows it explains (the
        noise scale of its Gaussian likelihood).

    See Also
    --------
    MixtureOfExpertsClassifier : The same for classification.
    TaskEnsembleRegressor : One expert per training task.

    Examples
    --------
    >>> # eight tasks of 10 rows of two kinds (slope 2 or -2): half of them go to
    >>> # each expert, and one support row tells which kind a new task is
    >>> import numpy as np
    >>> from sklearn_meta.ensemble import MixtureOfExpertsRegressor
    >>> x = np.tile(np.linspace(-1, 1, 10), 8)[:, None]
    >>> kind = np.repeat([1.0, -1.0] * 4, 10)
    >>> est = MixtureOfExpertsRegressor(n_experts=2, random_state=0)
    >>> est.fit(x, 2 * kind * x[:, 0], groups=np.repeat(np.arange(8), 10)).mixing_weights_
    array([0.5, 0.5])
    >>> est.adapt([[1.0]], [-2.0]).predict([[3.0]]).round(1)
    array([-5.7])
    """

    _parameter_constraints: dict = {
        **BaseMetaRegressor._parameter_constraints,
        **_MixtureOfExperts._parameter_constraints,
    }
    _members_type = _RegressorMembers

    __init__ = make_init(_PARAMS, positional=1)
