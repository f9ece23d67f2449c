"""The batched linear fits (``utils/_batched_linear.py``) against scikit-learn's own fits.

Issue 12 (scale): the ensembles and the selectors fit a plain ``LogisticRegression`` or
``Ridge`` on thousands of tiny row segments; the batched solve must give the model each
segment's own ``fit`` converges to, and the learners must use it instead of a ``fit``
call per task.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression, Ridge

from sklearn_meta.ensemble import MixtureOfExpertsClassifier, TaskEnsembleClassifier


def _helpers():
    from sklearn_meta.utils._batched_linear import batchable, fit_segments

    return batchable, fit_segments


def _segments(n_seg, n_rows, d, n_classes, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_seg * n_rows, d)) * rng.uniform(0.5, 3.0, size=d)
    y = rng.integers(0, n_classes, size=n_seg * n_rows)
    starts = np.arange(0, n_seg * n_rows + 1, n_rows)
    y[starts[0]:starts[1]] = 0                           # a one-class segment
    y[starts[1]:starts[2]] = np.arange(n_rows) % 2 * (n_classes - 1)  # classes {0, last}
    return X, y, starts


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("C, fit_intercept", [(1.0, True), (30.0, True), (0.2, False)])
def test_logistic_matches_sklearn_per_segment(n_classes, C, fit_intercept):
    batchable, fit_segments = _helpers()
    X, y, starts = _segments(40, 7, 4, n_classes, seed=n_classes)
    template = LogisticRegression(C=C, fit_intercept=fit_intercept)
    models = fit_segments(template, X, y, starts).models(template)
    X_new = np.random.default_rng(1).normal(size=(30, 4))
    checked = 0
    for t in range(len(starts) - 1):
        rows = slice(starts[t], starts[t + 1])
        if np.unique(y[rows]).size < 2:
            assert models[t] is None
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # lbfgs may stop at its line search
            tight = LogisticRegression(C=C, fit_intercept=fit_intercept, tol=1e-12,
                                       max_iter=10_000).fit(X[rows], y[rows])
        default = LogisticRegression(C=C, fit_intercept=fit_intercept).fit(X[rows], y[rows])
        m = models[t]
        np.testing.assert_array_equal(m.classes_, tight.classes_)
        assert m.coef_.shape == tight.coef_.shape
        scale = 1e-3 + np.abs(tight.coef_).max()
        np.testing.assert_allclose(m.coef_, tight.coef_, rtol=1e-4, atol=1e-4 * scale)
        np.testing.assert_allclose(m.intercept_, tight.intercept_, rtol=1e-4,
                                   atol=1e-4 * scale)
        np.testing.assert_allclose(m.predict_proba(X_new), tight.predict_proba(X_new),
                                   atol=1e-5)
        if C <= 1:   # the default fit stops at tol=1e-4 (0.03 off at C=30)
            np.testing.assert_allclose(m.predict_proba(X_new),
                                       default.predict_proba(X_new), atol=2e-3)
        np.testing.assert_array_equal(m.predict(X_new), tight.predict(X_new))
        checked += 1
    assert checked >= 30


def test_ridge_matches_sklearn_per_segment():
    batchable, fit_segments = _helpers()
    X, _, starts = _segments(30, 5, 3, 2, seed=0)
    y = X @ np.array([1.0, -2.0, 0.5]) + np.random.default_rng(0).normal(size=len(X))
    for fit_intercept in (True, False):
        template = Ridge(alpha=0.7, fit_intercept=fit_intercept)
        fits = fit_segments(template, X, y, starts)
        for t, model in enumerate(fits.models(template)):
            rows = slice(starts[t], starts[t + 1])
            ref = Ridge(alpha=0.7, fit_intercept=fit_intercept).fit(X[rows], y[rows])
            np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(model.predict(X[:5]), ref.predict(X[:5]), rtol=1e-8)


def test_batched_predict_matches_models():
    batchable, fit_segments = _helpers()
    X, y, starts = _segments(20, 6, 3, 3, seed=4)
    fits = fit_segments(LogisticRegression(), X, y, starts)
    seg = np.repeat(np.arange(20), 6)
    codes = fits.predict(X, seg)
    for t, model in enumerate(fits.models(LogisticRegression())):
        rows = slice(starts[t], starts[t + 1])
        expected = (np.full(6, np.unique(y[rows])[0]) if model is None
                    else model.predict(X[rows]))
        np.testing.assert_array_equal(codes[rows], expected)


@pytest.mark.parametrize("estimator, X, expected", [
    (LogisticRegression(), np.zeros((4, 2)), True),
    (Ridge(), np.zeros((4, 2)), True),
    (LogisticRegression(solver="liblinear"), np.zeros((4, 2)), False),  # penalised intercept
    (LogisticRegression(class_weight="balanced"), np.zeros((4, 2)), False),
    (LogisticRegression(l1_ratio=1.0, solver="saga"), np.zeros((4, 2)), False),
    (LogisticRegression(C=np.inf), np.zeros((4, 2)), False),
    (Ridge(positive=True), np.zeros((4, 2)), False),
    (LogisticRegression(), np.full((4, 2), np.nan), False),
    (LogisticRegression(), sp.csr_matrix(np.ones((4, 2))), False),
    (type("MyLogistic", (LogisticRegression,), {})(), np.zeros((4, 2)), False),
])
def test_batchable(estimator, X, expected):
    batchable, fit_segments = _helpers()
    assert batchable(estimator, X) is expected


class _CountingLogistic(LogisticRegression):
    """A LogisticRegression that is not batched (a subclass), as the reference path."""


def test_ensembles_fit_logistic_members_without_a_fit_per_task(monkeypatch):
    """The per-task LogisticRegression members are batched: no fit call per task, and
    the same members (and predictions) as the per-task fits."""
    rng = np.random.default_rng(0)
    n_tasks = 60
    X = rng.normal(size=(n_tasks * 6, 3))
    groups = np.repeat(np.arange(n_tasks), 6)
    sign = np.where(groups % 2 == 0, 1.0, -1.0)
    y = (sign * X[:, 0] + 0.3 * rng.normal(size=len(X)) > 0).astype(int)
    calls = []
    real_fit = LogisticRegression.fit

    def counting_fit(self, *args, **kwargs):
        calls.append(type(self))
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", counting_fit)
    fast = TaskEnsembleClassifier(random_state=0).fit(X, y, groups=groups)
    assert not calls, "a LogisticRegression.fit call per task: not batched"
    slow = TaskEnsembleClassifier(_CountingLogistic(), random_state=0).fit(X, y, groups=groups)
    assert len(calls) >= n_tasks - 5
    for a, b in zip(fast.estimators_, slow.estimators_):
        if hasattr(b, "coef_"):
            np.testing.assert_allclose(a.predict_proba(X[:20]), b.predict_proba(X[:20]),
                                       atol=2e-3)
    X_s, y_s = X[:6], y[:6]
    np.testing.assert_allclose(fast.adapt(X_s, y_s).predict_proba(X[:50]),
                               slow.adapt(X_s, y_s).predict_proba(X[:50]), atol=5e-3)
    calls.clear()
    MixtureOfExpertsClassifier(n_experts=2, max_iter=2, random_state=0).fit(
        X, y, groups=groups)
    assert len(calls) <= 2 * 2 + 1, "the initial per-task models are fitted one by one"  # experts x EM + gate


class _SubRidge(Ridge):
    """A Ridge that is not batched (a subclass), as the reference path."""


@pytest.mark.parametrize("kind", ["warm_start_clf", "warm_start_reg", "selector_clf",
                                  "selector_reg_mse"])
def test_selectors_batch_linear_candidates(kind, monkeypatch):
    """The selectors score a plain LogisticRegression/Ridge candidate on all episodes
    with one batched fit, without a fit call per episode, and get the scores and
    meta-features of the episode-by-episode fits."""
    from sklearn_meta.selection import AlgorithmSelector, HyperparameterWarmStart

    rng = np.random.default_rng(0)
    n_tasks = 40
    X = rng.normal(size=(n_tasks * 10, 3))
    groups = np.repeat(np.arange(n_tasks), 10)
    w = rng.normal(size=(n_tasks, 3))[groups]
    score = (X * w).sum(axis=1) + 0.5 * rng.normal(size=len(X))
    clf = kind.endswith("clf")
    y = (score > 0).astype(int) if clf else score
    base, ref = (LogisticRegression, _CountingLogistic) if clf else (Ridge, _SubRidge)
    param = "C" if clf else "alpha"

    def make(est):
        if kind.startswith("warm_start"):
            return HyperparameterWarmStart(est(), {param: [0.1, 1.0, 10.0]}, n_shots=2,
                                           random_state=0)
        return AlgorithmSelector([est(), est(**{param: 0.01 if clf else 100.0})],
                                 n_shots=2, random_state=0,
                                 scoring=None if clf else "neg_mean_squared_error")

    calls = []
    for cls in (LogisticRegression, Ridge):
        real = cls.fit
        monkeypatch.setattr(cls, "fit", lambda self, *a, _real=real, **k: (
            calls.append(type(self)), _real(self, *a, **k))[1])
    fast = make(base).fit(X, y, groups=groups)
    assert len(calls) <= 1, "a candidate fit per episode: not batched"  # estimator_ only
    slow = make(ref).fit(X, y, groups=groups)
    assert len(calls) > n_tasks
    np.testing.assert_allclose(fast.metafeatures_, slow.metafeatures_, rtol=1e-12)
    same = np.isclose(fast.task_scores_, slow.task_scores_, rtol=1e-6, atol=1e-9)
    if clf:   # a query row may flip where lbfgs (tol=1e-4) stops short of the optimum
        assert same.mean() >= 0.97
    else:
        assert same.all()
