"""Tests of the learned linear priors (sklearn_meta.prior)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from _fewshot_means import few_shot_means
from sklearn_meta.utils.estimator_checks import parametrize_with_checks

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import make_classification_tasks, make_regression_tasks
from sklearn_meta.prior import MetaPriorLogisticRegression, MetaPriorRidge


@parametrize_with_checks([MetaPriorRidge(max_iter=20),
                          MetaPriorLogisticRegression(max_iter=5)])
def test_sklearn_checks(estimator, check):
    check(estimator)


def _split(data, n_train):
    return data.tasks[:n_train], data.tasks[n_train:]


def _means(estimators, train, test, scoring=None):
    return few_shot_means(estimators, train, test, scoring, n_episodes=30)


def test_logistic_beats_per_task_and_needs_meta_training():
    data = make_classification_tasks(n_tasks=50, random_state=0)
    train, test = _split(data, 35)
    # tasks of another family: a different shared subspace
    other, _ = _split(make_classification_tasks(n_tasks=50, random_state=1), 35)
    est = MetaPriorLogisticRegression(covariance="low_rank", rank=2, max_iter=15)
    means = _means({"per_task": PerTaskEstimator(LogisticRegression()), "prior": est},
                   train, test)
    assert means["prior"] > means["per_task"] + 0.1
    unrelated = _means({"prior": clone(est)}, other, test)["prior"]
    assert means["prior"] > unrelated + 0.1


def test_ridge_beats_per_task_and_needs_meta_training():
    data = make_regression_tasks(n_tasks=50, noise=0.1, random_state=0)
    train, test = _split(data, 35)
    other, _ = _split(make_regression_tasks(n_tasks=50, noise=0.1, random_state=1), 35)
    means = _means({"per_task": PerTaskEstimator(Ridge()), "prior": MetaPriorRidge()},
                   train, test, scoring="neg_mean_squared_error")
    assert means["prior"] > 0.5 * means["per_task"]      # halves the error at least
    unrelated = _means({"prior": MetaPriorRidge()}, other, test,
                       scoring="neg_mean_squared_error")["prior"]
    assert means["prior"] > 0.5 * unrelated


def test_ridge_recovers_prior_and_em_is_monotone():
    rng = np.random.RandomState(0)
    n_tasks, n = 40, 30
    mean = np.array([1.0, -2.0, 0.5, 3.0])        # three coefficients, intercept
    sd = np.array([0.5, 0.1, 1.0, 0.2])
    W = mean + sd * rng.randn(n_tasks, 4)
    X = rng.randn(n_tasks * n, 3)
    groups = np.repeat(np.arange(n_tasks), n)
    y = np.einsum("ij,ij->i", X, W[groups, :3]) + W[groups, 3] + 0.3 * rng.randn(len(X))
    est = MetaPriorRidge(covariance="diag", tol=0).fit(X, y, groups=groups)
    # the prior of these 40 tasks: the mean and spread of their weights
    np.testing.assert_allclose(est.prior_mean_, W.mean(axis=0), atol=0.1)
    np.testing.assert_allclose(np.sqrt(np.diag(est.prior_covariance_)), W.std(axis=0),
                               atol=0.1)
    assert abs(est.noise_variance_ - 0.09) < 0.02
    assert np.all(np.diff(est.loss_curve_) <= 1e-10)     # exact EM never gets worse
    # zero-shot is the prior mean, adapting moves toward the task
    np.testing.assert_allclose(est.coef_, est.prior_mean_[:3])
    X_t = rng.randn(20, 3)
    w_t = np.array([1.8, -2.0, -1.0])
    est.adapt(X_t, X_t @ w_t + 3.0)
    assert np.abs(est.coef_ - w_t).max() < 0.2
    pred, std = est.predict(X_t, return_std=True)
    assert pred.shape == std.shape == (20,) and np.all(std >= np.sqrt(est.noise_variance_))


def test_low_rank_covariance_has_the_rank():
    data = make_regression_tasks(n_tasks=30, n_features=6, noise=0.1, random_state=0)
    est = MetaPriorRidge(covariance="low_rank", rank=2, reg_covar=0, max_iter=30)
    est.fit(data.X, data.y, groups=data.groups)
    eig = np.linalg.eigvalsh(est.prior_covariance_)
    assert eig[-2] > 100 * eig[-3]


def test_logistic_multiclass_and_adapt_contract():
    data = make_classification_tasks(n_tasks=12, n_samples_per_task=30, n_classes=3,
                                     n_features=5, random_state=0)
    est = MetaPriorLogisticRegression(max_iter=5).fit(data.tasks[:10])
    assert est.coef_.shape == (2, 5) and est.intercept_.shape == (2,)
    (Xa, ya), (Xb, yb) = data.tasks[10], data.tasks[11]
    alone = est.adapt(Xb[:9], yb[:9]).predict_proba(Xb)
    after_a = est.adapt(Xa[:9], ya[:9]).adapt(Xb[:9], yb[:9]).predict_proba(Xb)
    np.testing.assert_array_equal(alone, after_a)
    np.testing.assert_allclose(alone.sum(axis=1), 1.0)
    assert est.decision_function(Xb).shape == (30, 3)


def test_logistic_refuses_per_task_labels():
    data = make_classification_tasks(n_tasks=4, n_samples_per_task=12,
                                     per_task_labels=True, random_state=0)
    with pytest.raises(ValueError, match="label_space='per_task'"):
        MetaPriorLogisticRegression().fit(data.tasks)
