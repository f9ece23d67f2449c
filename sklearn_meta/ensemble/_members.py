"""Shared code of the learners that combine several fitted scikit-learn estimators.

A *member* is one fitted estimator (an expert). Classifier and regressor
variants differ only in what a member outputs (class probabilities over the
shared classes, or values), its per-row negative log-likelihood and the
default estimator; those live in :class:`_ClassifierMembers` and
:class:`_RegressorMembers`, helper objects the learners hold (composition: they
are not in the learners' MRO). :class:`_MemberEnsemble` is the learners' one
small base: it builds the helper and forwards the tags and prediction hooks.
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import clone
from scipy.special import expit
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import has_fit_parameter

from ..baselines._wrapped import _Constant
from ..utils._math import softmax

_PROBA_FLOOR = 1e-4

_MEMBER_CONSTRAINTS = {
    "estimator": [HasMethods(["fit", "predict"]), None],
    "n_jobs": [Integral, None],
}


def _refuse_per_task(tasks, name):
    if tasks.label_space == "per_task":
        raise ValueError(
            f"{name} combines experts that predict the classes shared by all "
            "tasks, but the tasks have their own label sets "
            "(label_space='per_task'). Use label_space='shared' if the labels "
            "mean the same in every task, or a metric learner for N-way "
            "episodes."
        )


class _Members:
    """Fitting members and combining their outputs (both task types).

    Built by the learner for each use from its parameters (``estimator``,
    ``n_jobs``) and, once fitted, its shared classes; it holds no fitted state.
    """

    def __init__(self, estimator, n_jobs=None, classes=None):
        self.estimator = estimator
        self.n_jobs = n_jobs
        self.classes = classes

    def template(self):
        return clone(self.estimator if self.estimator is not None else self.default_estimator())

    def fit(self, X, y, sample_weight=None):
        """A clone of the estimator fitted on ``(X, y)`` (weighted if given)."""
        if sample_weight is not None and sample_weight.max(initial=0.0) <= 0:
            # an expert without any task yet (e.g. identical tasks, all-constant
            # features: k-means found fewer clusters): fit it on all rows
            sample_weight = None
        if sample_weight is not None:
            keep = sample_weight > 1e-3 * sample_weight.max()
            X, y, sample_weight = X[keep], y[keep], sample_weight[keep]
        if self.is_classifier and np.unique(y).size < 2:
            return _Constant(int(y[0]))
        template = self.template()
        if sample_weight is not None and has_fit_parameter(template, "sample_weight"):
            return template.fit(X, y, sample_weight=sample_weight)
        return template.fit(X, y)

    def fit_per_task(self, tasks):
        """One member fitted on the rows of each task (in parallel with ``n_jobs``).

        A plain :class:`~sklearn.linear_model.Ridge` is solved for all tasks at once
        (batched normal equations; the same solution as ``Ridge.fit``, whose problem
        has a unique minimum): 10,000 small tasks take well under a second instead of
        a fit call each.
        """
        template = self.template()
        if _batchable_ridge(template, tasks.X):
            return _batched_ridge(template, tasks)
        return Parallel(n_jobs=self.n_jobs)(
            delayed(self.fit)(X_t, y_t) for X_t, y_t in tasks
        )

    def outputs(self, models, X):
        """Stacked member outputs, shape (n_members, n_rows[, n_classes])."""
        fast = self._linear_outputs(models, X)
        if fast is not None:
            return fast
        return np.stack([self.output(m, X) for m in models])

    def _linear_outputs(self, models, X):
        """Outputs of many linear models in one product, or None.

        Used when every member is exactly one linear model class (the
        default estimators); saves a validated ``predict`` call per member.
        """
        kinds = {type(m) for m in models}
        if len(kinds) != 1 or kinds.pop() not in self._LINEAR:
            return None
        if not np.isfinite(X).all():  # let the models' own predict refuse NaN/inf
            return None
        if any(getattr(m, "n_features_in_", X.shape[1]) != X.shape[1] for m in models):
            return None
        coef = np.stack([np.atleast_2d(m.coef_) for m in models])     # (M, c, d)
        intercept = np.stack([np.atleast_1d(m.intercept_) for m in models])
        scores = np.einsum("nd,mcd->mnc", X, coef) + intercept[:, None, :]
        return self._link(models, scores)



def _batchable_ridge(template, X):
    """Whether ``template`` is a plain Ridge whose per-task fits :func:`_batched_ridge`
    reproduces (dense finite float features, a scalar ``alpha`` > 0)."""
    if type(template) is not Ridge or sp.issparse(X) or X.dtype.kind != "f":
        return False
    params = template.get_params()
    return (not params["positive"] and np.ndim(params["alpha"]) == 0
            and float(params["alpha"]) > 0 and bool(np.isfinite(X).all()))


def _batched_ridge(template, tasks):
    """Ridge fitted on every task by one batched solve: a list of fitted Ridge objects."""
    X, y, starts = tasks.X, np.asarray(tasks.y, dtype=np.float64), tasks.starts
    n_tasks, d = len(starts) - 1, X.shape[1]
    sizes = np.diff(starts).astype(np.float64)
    tidx = np.repeat(np.arange(n_tasks), np.diff(starts))
    alpha = float(template.alpha)
    if template.fit_intercept:
        x_mean = np.add.reduceat(X, starts[:-1], axis=0) / sizes[:, None]
        y_mean = np.add.reduceat(y, starts[:-1]) / sizes
        Xc, yc = X - x_mean[tidx], y - y_mean[tidx]
    else:
        x_mean, y_mean = np.zeros((n_tasks, d)), np.zeros(n_tasks)
        Xc, yc = X, y
    gram = np.add.reduceat(np.einsum("ni,nj->nij", Xc, Xc).reshape(len(X), d * d),
                           starts[:-1], axis=0).reshape(n_tasks, d, d)
    rhs = np.add.reduceat(Xc * yc[:, None], starts[:-1], axis=0)
    coef = np.linalg.solve(gram + alpha * np.eye(d), rhs[:, :, None])[:, :, 0]
    intercept = y_mean - np.einsum("td,td->t", x_mean, coef)
    fitted = []
    base = {**template.__dict__, "n_features_in_": d, "n_iter_": None,
            "solver_": "cholesky"}
    for t in range(n_tasks):
        model = Ridge.__new__(Ridge)
        model.__dict__.update(base, coef_=coef[t], intercept_=float(intercept[t]))
        fitted.append(model)
    return fitted


class _ClassifierMembers(_Members):
    """Members are classifiers over the shared classes."""

    is_classifier = True
    _LINEAR = (LogisticRegression,)

    def _link(self, models, scores):
        """Class probabilities over the shared classes from decision scores.

        None when the members were fitted on different class subsets.
        """
        classes = [m.classes_ for m in models]
        if any(len(c) != len(classes[0]) or np.any(c != classes[0]) for c in classes):
            return None
        if scores.shape[2] == 1:
            p1 = expit(scores[:, :, 0])
            proba = np.stack([1 - p1, p1], axis=2)
        else:
            proba = softmax(scores)
        out = np.zeros(scores.shape[:2] + (len(self.classes),))
        out[:, :, classes[0]] = proba
        return out

    def default_estimator(self):
        return LogisticRegression()

    def output(self, model, X):
        n_classes = len(self.classes)
        proba = np.zeros((X.shape[0], n_classes))
        if isinstance(model, _Constant):
            proba[:, model.code] = 1.0
        elif hasattr(model, "predict_proba"):
            proba[:, model.classes_] = model.predict_proba(X)
        else:
            proba[np.arange(X.shape[0]), np.asarray(model.predict(X), dtype=np.int64)] = 1.0
        return proba

    def nll(self, outputs, y, variance=None):
        """Per-row negative log-likelihood, shape (n_members, n_rows)."""
        picked = outputs[:, np.arange(y.shape[0]), y]
        return -np.log(np.clip(picked, _PROBA_FLOOR, 1.0))

    def targets(self, y):
        onehot = np.zeros((y.shape[0], len(self.classes)))
        onehot[np.arange(y.shape[0]), y] = 1.0
        return onehot


class _RegressorMembers(_Members):
    """Members are regressors."""

    is_classifier = False
    _LINEAR = (Ridge, LinearRegression)

    def _link(self, models, scores):
        return scores[:, :, 0]

    def default_estimator(self):
        return Ridge()

    def output(self, model, X):
        return np.asarray(model.predict(X), dtype=np.float64).ravel()

    def nll(self, outputs, y, variance):
        """Per-row Gaussian negative log-likelihood (constants dropped)."""
        variance = np.reshape(variance, (-1, 1))
        return 0.5 * (outputs - y) ** 2 / variance + 0.5 * np.log(variance)

    def targets(self, y):
        return y


def _combine(weights, outputs):
    """Weighted sum over members; ``weights`` (M,) or per row (n, M)."""
    if weights.ndim == 1:
        return np.tensordot(weights, outputs, axes=1)
    return np.einsum("nm,mn...->n...", weights, outputs)


class _MemberEnsemble:
    """Base of the learners made of members: the helper, tags and prediction hooks.

    A subclass sets ``_members_type`` (:class:`_ClassifierMembers` or
    :class:`_RegressorMembers`) and implements ``_combined_output(X, state)``.
    """

    _members_type = None  # set by each learner

    def _members(self):
        return self._members_type(self.estimator, self.n_jobs,
                                  getattr(self, "meta_classes_", None))

    def _allow_nan(self):
        return get_tags(self._members().template()).input_tags.allow_nan

    def _finite_check(self):
        # as scikit-learn's meta-estimators: the members check NaN and infinity
        # themselves (a Pipeline that imputes does not declare allow_nan)
        return False

    def _predict_proba(self, X, state, n_classes):
        return self._combined_output(X, state)

    def _predict(self, X, state):
        return self._combined_output(X, state)
