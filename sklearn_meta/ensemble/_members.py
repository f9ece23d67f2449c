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
from joblib import Parallel, delayed
from sklearn.base import clone
from scipy.special import expit
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import has_fit_parameter

from ..tasks import _require_shared_labels
from ..utils._batched_linear import batchable, fit_segments
from ..utils._wrapped import _Constant
from ..utils._math import softmax

_PROBA_FLOOR = 1e-4
#: Member outputs (members x rows x outputs) made at once by ``_Members.mix``.
_BLOCK = 2_000_000

_MEMBER_CONSTRAINTS = {
    "estimator": [HasMethods(["fit", "predict"]), None],
    "n_jobs": [Integral, None],
}


def _refuse_per_task(tasks, name):
    _require_shared_labels(
        tasks, name, "it combines experts that predict the shared classes",
        "use a metric learner (sklearn_meta.metric.ProtoNetClassifier) for N-way episodes")


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

        A plain :class:`~sklearn.linear_model.Ridge` or L2
        :class:`~sklearn.linear_model.LogisticRegression` is solved for all tasks at
        once (batched normal equations, batched Newton steps; the problems have a
        unique minimum, the one ``fit`` converges to): 10,000 small tasks take about a
        second instead of a fit call each.
        """
        template = self.template()
        # a few big tasks: the estimator's own solver is as fast (no per-call overhead)
        if tasks.n_tasks >= 8 and batchable(template, tasks.X):
            fits = fit_segments(template, tasks.X, tasks.y, tasks.starts)
            # a one-class task (classification): its constant
            return fits.models(template, one_class=_Constant)
        return Parallel(n_jobs=self.n_jobs)(
            delayed(self.fit)(X_t, y_t) for X_t, y_t in tasks
        )

    def outputs(self, models, X):
        """Stacked member outputs, shape (n_members, n_rows[, n_classes])."""
        fast = self._linear_outputs(models, X)
        if fast is not None:
            return fast
        return np.stack([self.output(m, X) for m in models])

    def mix(self, models, weights, X):
        """Weighted sum of the member outputs on ``X`` (the prediction of both learners).

        ``weights`` has one entry per member, or one row per row of ``X`` (a gate).
        The outputs are made for a block of members at a time, so that 10,000 members
        predicting 1,000 rows never hold all their outputs at once.
        """
        weights = np.asarray(weights, dtype=np.float64)
        n_out = len(self.classes) if self.is_classifier else 1
        block = max(1, _BLOCK // max(1, X.shape[0] * n_out))
        total = 0.0
        for lo in range(0, len(models), block):
            out = self.outputs(models[lo:lo + block], X)
            w = weights[..., lo:lo + block]
            total = total + (np.tensordot(w, out, axes=1) if w.ndim == 1
                             else np.einsum("nm,mn...->n...", w, out))
        return total

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
        M, c, d = coef.shape
        scores = (X @ coef.reshape(M * c, d).T).reshape(X.shape[0], M, c)
        scores = scores.transpose(1, 0, 2) + intercept[:, None, :]
        return self._link(models, scores)



class _ClassifierMembers(_Members):
    """Members are classifiers over the shared classes."""

    is_classifier = True
    _LINEAR = (LogisticRegression,)

    def _link(self, models, scores):
        """Class probabilities over the shared classes from decision scores.

        None when the members were fitted on different class subsets.
        """
        classes = [m.classes_ for m in models]
        if len({len(c) for c in classes}) != 1:
            return None
        first = classes[0]
        if not (np.stack(classes) == first).all():
            return None
        out = np.zeros(scores.shape[:2] + (len(self.classes),))
        if scores.shape[2] == 1:
            p1 = expit(scores[:, :, 0])
            out[:, :, first[1]] = p1
            out[:, :, first[0]] = 1.0 - p1
        else:
            out[:, :, first] = softmax(scores)
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
