"""Tests of hyperparameter warm-start and algorithm selection (sklearn_meta.selection)."""

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from _fewshot_means import few_shot_means
from sklearn_meta.utils.estimator_checks import parametrize_with_checks

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import make_classification_tasks, make_regression_tasks
from sklearn_meta.selection import AlgorithmSelector, HyperparameterWarmStart


@parametrize_with_checks([
    HyperparameterWarmStart(LogisticRegression(), {"C": [0.1, 1.0]}, n_episodes=1),
    HyperparameterWarmStart(Ridge(), {"alpha": [0.1, 10.0]}, n_episodes=1),
    AlgorithmSelector([LogisticRegression(), KNeighborsClassifier(3)], n_episodes=1),
])
def test_sklearn_checks(estimator, check):
    check(estimator)


def _means(estimators, train, test, scoring=None):
    return few_shot_means(estimators, train, test, scoring, n_episodes=48)  # 4 per test task


def _two_noise_levels(n_tasks=30):
    """Regression tasks of one family, half nearly noise-free, half very noisy."""
    clean = make_regression_tasks(n_tasks=n_tasks, n_features=4, noise=0.05, random_state=0)
    noisy = make_regression_tasks(n_tasks=n_tasks, n_features=4, noise=10.0, random_state=0)
    return clean.tasks, noisy.tasks


def test_warm_start_ranks_per_task_and_beats_per_task():
    clean, noisy = _two_noise_levels()
    train = clean[:20] + noisy[:20]
    est = HyperparameterWarmStart(Ridge(), {"alpha": [0.01, 1.0, 100.0]}, n_neighbors=5,
                                  n_episodes=2, random_state=0).fit(train)
    # the nearest tasks of a clean task are clean: little shrinkage; of a noisy
    # task, noisy: strong shrinkage (an unfitted ranking could not tell them apart)
    best = {kind: [est.adapt(X[:5], y[:5]).ranking_[0]["alpha"] for X, y in tasks[20:]]
            for kind, tasks in [("clean", clean), ("noisy", noisy)]}
    assert np.mean(np.equal(best["clean"], 0.01)) >= 0.8
    assert np.mean(np.greater(best["noisy"], 0.01)) >= 0.8
    X, y = noisy[25]
    # the ranking seeds a grid search
    grid = est.suggest_param_grid(X[:5], y[:5], n_configurations=2)
    est.adapt(X[:5], y[:5])
    assert grid[0] == {"alpha": [est.ranking_[0]["alpha"]]} and len(grid) == 2
    GridSearchCV(Ridge(), grid, cv=2).fit(X[:10], y[:10])
    test = clean[20:] + noisy[20:]
    means = _means({"per_task": PerTaskEstimator(Ridge()), "warm": est}, train, test,
                   "neg_mean_squared_error")
    assert means["warm"] > means["per_task"]


def _linear_and_radial(n_tasks, seed):
    """Binary tasks in 2D: half linear (x @ w > 0), half radial (|x| > median)."""
    rng = np.random.RandomState(seed)
    tasks = []
    for t in range(n_tasks):
        X = rng.randn(40, 2)
        if t % 2 == 0:
            y = (X @ rng.randn(2) > 0).astype(int)
        else:
            r = np.linalg.norm(X, axis=1)
            y = (r > np.median(r)).astype(int)
        tasks.append((X, y))
    return tasks


def test_algorithm_selector_picks_per_task_and_beats_per_task():
    train, test = _linear_and_radial(30, 0), _linear_and_radial(12, 1)
    est = AlgorithmSelector([("lr", LogisticRegression()),
                             ("knn", KNeighborsClassifier(3)),
                             ("dummy", DummyClassifier())], n_episodes=2, random_state=0)
    est.fit(train)
    assert est.names_ == ["lr", "knn", "dummy"]
    chosen = []
    for X, y in test:
        s = np.r_[np.flatnonzero(y == 0)[:5], np.flatnonzero(y == 1)[:5]]
        chosen.append(est.adapt(X[s], y[s]).ranking_)
    # radial tasks (odd) get the nearest-neighbour classifier, which the
    # first candidate, a linear model, cannot replace; the dummy never wins
    assert all(r[0] == "knn" for r in chosen[1::2])
    assert all(r[-1] == "dummy" for r in chosen)
    means = _means({"per_task": PerTaskEstimator(LogisticRegression()), "select": est},
                   train, test)
    assert means["select"] > means["per_task"] + 0.02


def test_shared_setting_on_make_classification_tasks():
    # On this family the per-task choice barely matters (the gain of
    # meta-learning is the shared subspace, which a per-task fit cannot
    # use); the selectors must still be as good as the per-task baseline.
    data = make_classification_tasks(n_tasks=30, n_features=5, random_state=0)
    train, test = data.tasks[:20], data.tasks[20:]
    means = _means({
        "per_task": PerTaskEstimator(LogisticRegression()),
        "warm": HyperparameterWarmStart(LogisticRegression(), {"C": [0.1, 1.0, 10.0]},
                                        n_episodes=1),
        "select": AlgorithmSelector([LogisticRegression(), DummyClassifier()],
                                    n_episodes=1),
    }, train, test)
    assert means["warm"] >= means["per_task"] - 0.03
    assert means["select"] >= means["per_task"] - 0.03


def test_small_tasks_warn_and_errors_are_clear():
    rng = np.random.RandomState(0)
    big = (rng.randn(20, 2), np.tile([0, 1], 10))
    small = (rng.randn(4, 2), np.array([0, 1, 0, 1]))
    with pytest.warns(UserWarning, match="fewer shots"):
        HyperparameterWarmStart(LogisticRegression(), {"C": [1.0]}).fit([big, small])
    with pytest.raises(ValueError, match="mixes estimator types"):
        AlgorithmSelector([LogisticRegression(), Ridge()]).fit([big])
    est = AlgorithmSelector([LogisticRegression()]).fit([big])
    with pytest.raises(AttributeError, match="call adapt"):
        est.ranking_
    data = make_classification_tasks(n_tasks=4, n_samples_per_task=12,
                                     per_task_labels=True, random_state=0)
    est = AlgorithmSelector([LogisticRegression()], n_shots=2).fit(data.tasks)
    X, y = data.tasks[0]
    assert set(est.adapt(X[:6], y[:6]).predict(X)) <= set(y[:6])


def test_candidates_that_cannot_fit_few_rows_are_skipped():
    rng = np.random.RandomState(0)
    tasks = [(rng.randn(20, 2), np.tile([0, 1], 10)) for _ in range(4)]
    # 5 neighbours cannot be found among the 2 rows of a 1-shot support set
    est = AlgorithmSelector([KNeighborsClassifier(5), DummyClassifier()], n_shots=1,
                            n_episodes=1).fit(tasks)
    X, y = tasks[0]
    assert est.adapt(X[:2], y[:2]).ranking_[0] == "DummyClassifier"
    assert est.predict(X).shape == (20,)
