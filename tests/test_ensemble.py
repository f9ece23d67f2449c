"""Tests of the model-fusion learners (sklearn_meta.ensemble)."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from _fewshot_means import few_shot_means
from sklearn_meta.utils.estimator_checks import parametrize_with_checks

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import make_classification_tasks, make_regression_tasks
from sklearn_meta.ensemble import (
    MixtureOfExpertsClassifier,
    MixtureOfExpertsRegressor,
    TaskEnsembleClassifier,
    TaskEnsembleRegressor,
)


@parametrize_with_checks([
    TaskEnsembleClassifier(),
    TaskEnsembleRegressor(weighting="stacking", include_task_model=True),
    MixtureOfExpertsClassifier(n_experts=2, max_iter=3),
    MixtureOfExpertsRegressor(n_experts=2, max_iter=3),
])
def test_sklearn_checks(estimator, check):
    check(estimator)


def _means(estimators, train, test, scoring=None):
    return few_shot_means(estimators, train, test, scoring, n_episodes=20)


@pytest.fixture(scope="module")
def classification():
    data = make_classification_tasks(n_tasks=35, n_features=10, random_state=0)
    other = make_classification_tasks(n_tasks=20, n_features=10, random_state=1)
    return data.tasks[:20], data.tasks[20:], other.tasks


@pytest.mark.parametrize("est", [
    TaskEnsembleClassifier(),
    MixtureOfExpertsClassifier(n_experts=6, max_iter=3),
])
def test_classifiers_beat_per_task_and_need_meta_training(est, classification):
    train, test, unrelated = classification
    means = _means({"per_task": PerTaskEstimator(LogisticRegression()), "meta": est},
                   train, test)
    assert means["meta"] > means["per_task"] + 0.05
    # meta-trained on tasks of another family, the experts do not help
    assert means["meta"] > _means({"meta": est}, unrelated, test)["meta"] + 0.05


@pytest.mark.parametrize("est, n_informative", [
    (TaskEnsembleRegressor(), 2),
    # a mixture of a few experts fits tasks that come in a few kinds; a
    # one-dimensional family of slopes is covered by 4 experts
    (MixtureOfExpertsRegressor(n_experts=4, max_iter=3), 1),
])
def test_regressors_beat_per_task_and_need_meta_training(est, n_informative):
    data = make_regression_tasks(n_tasks=45, n_features=10, n_informative=n_informative,
                                 noise=0.1, random_state=0)
    other = make_regression_tasks(n_tasks=30, n_features=10, n_informative=n_informative,
                                  noise=0.1, random_state=1)
    train, test = data.tasks[:30], data.tasks[30:]
    mse = "neg_mean_squared_error"
    means = _means({"per_task": PerTaskEstimator(Ridge()), "meta": est}, train, test, mse)
    assert means["meta"] > 0.7 * means["per_task"]           # 30% lower error at least
    assert means["meta"] > 0.7 * _means({"meta": est}, other.tasks, test, mse)["meta"]


def _two_kinds(n_tasks=8, n=40, seed=0):
    """Tasks of two kinds: the label is x0 > 0 or x0 < 0."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n_tasks * n, 2)
    groups = np.repeat(np.arange(n_tasks), n)
    sign = np.where(groups % 2 == 0, 1, -1)
    return X, (sign * X[:, 0] > 0).astype(int), groups


def test_mixture_finds_the_kinds_of_tasks_and_adapts_its_gate():
    X, y, groups = _two_kinds()
    est = MixtureOfExpertsClassifier(n_experts=2, random_state=0).fit(X, y, groups=groups)
    kind = est.task_responsibilities_.argmax(axis=1)
    assert len(set(kind[::2])) == 1 and len(set(kind[1::2])) == 1 and kind[0] != kind[1]
    # two support rows of the second kind: the posterior picks its expert
    est.adapt([[1.0, 0.0], [-1.0, 0.0]], [0, 1])
    assert est.weights_[kind[1]] > 0.99
    np.testing.assert_array_equal(est.predict([[2.0, 1.0], [-2.0, 1.0]]), [0, 1])


def test_ensemble_weights_the_experts_of_the_right_kind():
    X, y, groups = _two_kinds()
    for weighting in ["softmax", "stacking"]:
        est = TaskEnsembleClassifier(weighting=weighting, include_task_model=False)
        est.fit(X, y, groups=groups)
        rng = np.random.RandomState(1)
        X_s = rng.randn(6, 2)
        est.adapt(X_s, (X_s[:, 0] < 0).astype(int))
        assert est.weights_[1::2].sum() > 0.95, weighting
        assert est.weights_.sum() == pytest.approx(1.0)


def test_task_model_is_a_member_and_adapt_is_stateless():
    X, y, groups = _two_kinds(n_tasks=4)
    est = TaskEnsembleClassifier(include_task_model=True).fit(X, y, groups=groups)
    assert len(est.weights_) == 4                      # uniform before adapt
    rng = np.random.RandomState(0)
    Xa, Xb = rng.randn(10, 2), rng.randn(10, 2)
    alone = est.adapt(Xb, (Xb[:, 1] > 0).astype(int)).predict_proba(X)
    assert len(est.weights_) == 5
    est.adapt(Xa, (Xa[:, 0] > 0).astype(int))
    again = est.adapt(Xb, (Xb[:, 1] > 0).astype(int)).predict_proba(X)
    np.testing.assert_array_equal(alone, again)


@pytest.mark.parametrize("cls", [TaskEnsembleClassifier, MixtureOfExpertsClassifier])
def test_per_task_labels_are_refused(cls):
    data = make_classification_tasks(n_tasks=4, n_samples_per_task=12,
                                     per_task_labels=True, random_state=0)
    with pytest.raises(ValueError, match="label_space='per_task'"):
        cls().fit(data.tasks)


@pytest.mark.parametrize("cls, estimator", [
    (TaskEnsembleClassifier, LogisticRegression()),
    (TaskEnsembleRegressor, Ridge()),
])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_batched_linear_outputs_equal_predict(cls, estimator, n_classes):
    data = make_classification_tasks(n_tasks=5, n_samples_per_task=30, n_features=4,
                                     n_classes=n_classes, random_state=0)
    est = cls(estimator).fit(data.tasks)
    X = data.tasks[0][0]
    members = est._members()
    fast = members.outputs(est.estimators_, X)
    slow = np.stack([members.output(m, X) for m in est.estimators_])
    np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-12)
