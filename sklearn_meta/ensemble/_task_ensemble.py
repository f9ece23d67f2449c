"""Model fusion: one expert per training task, weighted per new task by its support fit."""

from numbers import Integral, Real

import numpy as np
from scipy.optimize import nnls
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ..utils._math import softmax
from ..utils._params import make_init
from ._members import (
    _MEMBER_CONSTRAINTS,
    _ClassifierMembers,
    _MemberEnsemble,
    _RegressorMembers,
    _refuse_per_task,
)


class _EnsembleState:
    """Member weights of one adapted task, and its own model (if any)."""

    def __init__(self, weights, task_model=None):
        self.weights = weights
        self.task_model = task_model


class _TaskEnsemble(_MemberEnsemble):
    """Meta-fit one expert per task; adapt weights them on the support set."""

    _parameter_constraints: dict = {
        **_MEMBER_CONSTRAINTS,
        "weighting": [StrOptions({"softmax", "stacking"})],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "include_task_model": ["boolean"],
        "n_folds": [Interval(Integral, 2, None, closed="left")],
    }

    def _meta_fit(self, tasks):
        _refuse_per_task(tasks, type(self).__name__)
        members = self._members()
        self.estimators_ = members.fit_per_task(tasks)
        if not members.is_classifier:
            # noise scale of the Gaussian likelihood: mean within-task variance
            sq = np.add.reduceat(tasks.y**2, tasks.starts[:-1])
            s = np.add.reduceat(tasks.y, tasks.starts[:-1])
            within = (sq - s**2 / tasks.sizes).sum() / tasks.sizes.sum()
            self.target_variance_ = max(float(within), 1e-12)

    def _out_of_fold(self, members, X, y):
        """Outputs of a per-task model on each support row it did not see."""
        n = X.shape[0]
        n_folds = int(min(self.n_folds, n))
        folds = np.arange(n) % n_folds
        np.random.default_rng(0).shuffle(folds)
        out = None
        for f in range(n_folds):
            test = folds == f
            pred = members.output(members.fit(X[~test], y[~test]), X[test])
            if out is None:
                out = np.zeros((n,) + pred.shape[1:])
            out[test] = pred
        return out

    def _adapt(self, X, y, X_unlabeled):
        members = self._members()
        outputs = members.outputs(self.estimators_, X)
        task_model = None
        if self.include_task_model and X.shape[0] > 1:
            outputs = np.concatenate([outputs, self._out_of_fold(members, X, y)[None]])
            task_model = members.fit(X, y)
        if self.weighting == "softmax":
            nll = members.nll(outputs, y, getattr(self, "target_variance_", None)).sum(axis=1)
            weights = softmax(-nll / self.temperature)
        else:
            A = outputs.reshape(outputs.shape[0], -1).T
            weights, _ = nnls(A, members.targets(y).ravel())
            total = weights.sum()
            weights = weights / total if total > 0 else np.full_like(weights, 1 / len(weights))
        return _EnsembleState(weights, task_model)

    def _combined_output(self, X, state):
        if state is None:
            models = self.estimators_
            weights = np.full(len(models), 1.0 / len(models))
        else:
            models = list(self.estimators_)
            if state.task_model is not None:
                models.append(state.task_model)
            weights = state.weights
        keep = np.flatnonzero(weights > 1e-6 * weights.max())
        return self._members().mix([models[i] for i in keep],
                                   weights[keep] / weights[keep].sum(), X)

    @property
    def weights_(self):
        """Member weights of the adapted task (uniform before ``adapt``).

        One per training task's expert, in task order, then the support-set
        model's when ``include_task_model`` is set.
        """
        adapted = getattr(self, "adapted_", None)
        if adapted is None:
            return np.full(len(self.estimators_), 1.0 / len(self.estimators_))
        return adapted.state.weights


# The regressor's parameters (utils._params.make_init); the classifier adds label_space.
_PARAMS = {"estimator": None, "n_shots": 5, "weighting": "softmax", "temperature": 1.0,
           "include_task_model": False, "n_folds": 3, "n_jobs": None, "random_state": None}

#: Docstring paragraphs of both ensembles (placeholder lines of their class bodies).
_DOCS = {
    "fit_experts": """\
``fit`` trains one expert per training task: a clone of ``estimator``
fitted on that task's rows (in parallel with ``n_jobs``). ``adapt``
weights the experts by how well they predict the new task's support set:""",
    "task_model": """\
With ``include_task_model`` a clone fitted on the support set itself is
one more member; its support loss is measured out of fold (``n_folds``
folds), so it gains weight only when the support set is informative
enough. ``predict`` averages the members with these weights (uniformly
before any ``adapt``).""",
    "weighting_params": """\
weighting : {"softmax", "stacking"}, default="softmax"
    How ``adapt`` weights the experts.
temperature : float, default=1.0
    Temperature of the softmax weighting.
include_task_model : bool, default=False
    Whether a model fitted on the support set joins the ensemble (costs
    ``n_folds + 1`` fits per ``adapt``).
n_folds : int, default=3
    Folds of the out-of-fold support loss of the task model (at most one
    per support row).""",
    "jobs_params": """\
n_jobs : int, default=None
    Parallel jobs of the per-task fits (joblib; any joblib backend, e.g.
    Dask through ``joblib.parallel_config(backend="dask")``).
random_state : int, RandomState instance or None, default=None
    Seeds the episodes drawn by ``score``.""",
    "ensemble_attributes": """\
estimators_ : list of estimators
    The fitted experts, one per training task in task order.
weights_ : ndarray of shape (n_members,)
    Member weights of the adapted task.""",
}


@fill_doc(**_DOCS)
class TaskEnsembleClassifier(_TaskEnsemble, BaseMetaClassifier):
    """Weighted ensemble of per-task classifiers (model fusion).

    %(fit_experts)s

    * ``weighting="softmax"``: weight proportional to
      ``exp(-support_loss / temperature)``, the support loss being the
      summed log loss (Bayesian model averaging at ``temperature=1``; larger
      temperatures spread the weight);
    * ``weighting="stacking"``: non-negative least squares of the support
      one-hot labels on the experts' class probabilities, normalised to sum
      to one.

    %(task_model)s
    The tasks must share one label set.

    Parameters
    ----------
    estimator : estimator object, default=None
        The expert fitted on each task; ``LogisticRegression()`` when None.
        A plain L2 ``LogisticRegression`` is fitted on all tasks at once
        (batched Newton steps on the same objective).
    n_shots : int, default=5
        Support rows per class drawn by ``score``.
    %(weighting_params)s
    label_space : {"auto", "shared"}, default="auto"
        Tasks must share their labels; per-task label sets are refused.
    %(jobs_params)s

    Attributes
    ----------
    %(ensemble_attributes)s
    %(fitted_features)s
    classes_ : ndarray
        The labels shared by the tasks.

    See Also
    --------
    TaskEnsembleRegressor : The same for regression.
    MixtureOfExpertsClassifier : Experts over clusters of tasks.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.ensemble import TaskEnsembleClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 2)
    >>> groups = np.repeat(np.arange(4), 50)
    >>> sign = np.array([1, 1, -1, -1])[groups]          # two kinds of tasks
    >>> y = (sign * X[:, 0] > 0).astype(int)
    >>> est = TaskEnsembleClassifier(random_state=0).fit(X, y, groups=groups)
    >>> X_new = rng.randn(6, 2)
    >>> est.adapt(X_new, (-X_new[:, 0] > 0).astype(int)).weights_.round(2)
    array([0.  , 0.  , 0.52, 0.48])
    >>> est.predict([[2.0, 0.0], [-2.0, 0.0]])
    array([0, 1])
    """

    _parameter_constraints: dict = {
        **BaseMetaClassifier._parameter_constraints,
        **_TaskEnsemble._parameter_constraints,
        "label_space": [StrOptions({"auto", "shared"})],
    }
    _members_type = _ClassifierMembers

    __init__ = make_init({**_PARAMS, "label_space": "auto"}, positional=1)


@fill_doc(**_DOCS)
class TaskEnsembleRegressor(_TaskEnsemble, BaseMetaRegressor):
    """Weighted ensemble of per-task regressors (model fusion).

    %(fit_experts)s

    * ``weighting="softmax"``: weight proportional to
      ``exp(-support_loss / temperature)``, the support loss being the
      summed Gaussian negative log-likelihood (squared error over twice the
      mean within-task target variance; Bayesian model averaging at
      ``temperature=1``; larger temperatures spread the weight);
    * ``weighting="stacking"``: non-negative least squares of the support
      values on the experts' predictions, normalised to sum to one.

    %(task_model)s

    Parameters
    ----------
    estimator : estimator object, default=None
        The expert fitted on each task; ``Ridge()`` when None. A plain
        ``Ridge`` is fitted on all tasks at once (one batched solve).
    n_shots : int, default=5
        Support rows per task drawn by ``score``.
    %(weighting_params)s
    %(jobs_params)s

    Attributes
    ----------
    %(ensemble_attributes)s
    %(fitted_features)s
    target_variance_ : float
        Mean within-task variance of the target, the noise scale of
        the softmax weighting.

    See Also
    --------
    TaskEnsembleClassifier : The same for classification.
    MixtureOfExpertsRegressor : Experts over clusters of tasks.
    sklearn_meta.baselines.PerTaskEstimator : The support-set model alone.

    Examples
    --------
    >>> # three tasks of 20 rows, named by their slope: the stacking weights of a
    >>> # new task go to the expert of the task it resembles (tasks in sorted order)
    >>> import numpy as np
    >>> from sklearn_meta.ensemble import TaskEnsembleRegressor
    >>> x = np.linspace(-1, 1, 20)[:, None]
    >>> X = np.vstack([x, x, x])
    >>> y = np.concatenate([x[:, 0], -x[:, 0], 3 * x[:, 0]])
    >>> est = TaskEnsembleRegressor(weighting="stacking")
    >>> est = est.fit(X, y, groups=np.repeat(["up", "down", "steep"], 20))
    >>> est.adapt([[0.5], [1.0]], [-0.5, -1.0]).weights_.round(2)    # down, steep, up
    array([1., 0., 0.])
    >>> est.predict([[2.0]]).round(1)                # the ridge expert shrinks a little
    array([-1.8])
    """

    _parameter_constraints: dict = {
        **BaseMetaRegressor._parameter_constraints,
        **_TaskEnsemble._parameter_constraints,
    }
    _members_type = _RegressorMembers

    __init__ = make_init(_PARAMS, positional=1)
