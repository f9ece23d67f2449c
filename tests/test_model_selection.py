"""Episodes, task splits, few-shot evaluation and episodic scorers."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import make_scorer, mean_absolute_error

from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.datasets import make_classification_tasks, make_regression_tasks
from sklearn_meta.model_selection import (
    class_disjoint_split,
    episodic_scorer,
    evaluate_few_shot,
    sample_episode,
    task_train_test_split,
)


def test_sample_episode_nway_kshot():
    X = np.arange(200).reshape(100, 2)
    y = np.repeat(np.arange(10), 10)
    Xs, ys, Xq, yq = sample_episode(X, y, n_shots=3, n_way=4, n_queries=2, random_state=0)
    assert len(np.unique(ys)) == 4 and np.all(np.bincount(ys)[np.unique(ys)] == 3)
    assert set(yq) == set(ys) and len(yq) == 8
    assert not set(map(tuple, Xs)) & set(map(tuple, Xq))


def test_sample_episode_regression():
    X = np.arange(20).reshape(10, 2)
    y = np.linspace(0, 1, 10)
    Xs, ys, Xq, yq = sample_episode(X, y, n_shots=4, classification=False, random_state=0)
    assert len(ys) == 4 and len(yq) == 6


def test_sample_episode_too_few_classes():
    with pytest.raises(ValueError, match="n_way=5"):
        sample_episode(np.zeros((6, 1)), [0, 0, 1, 1, 2, 2], n_shots=1, n_way=5)


def test_task_train_test_split_forms():
    data = make_classification_tasks(n_tasks=8, random_state=0)
    train, test = task_train_test_split(data.tasks, test_size=0.25, random_state=0)
    assert len(train) == 6 and len(test) == 2
    Xtr, Xte, ytr, yte, gtr, gte = task_train_test_split(data.X, data.y, data.groups,
                                                         test_size=2, random_state=0)
    assert not set(gtr) & set(gte) and len(set(gte)) == 2
    with pytest.raises(ValueError, match="groups is required"):
        task_train_test_split(data.X, data.y)


def test_class_disjoint_split():
    y = np.repeat(np.arange(10), 3)
    Xtr, Xte, ytr, yte = class_disjoint_split(np.zeros((30, 2)), y, test_size=0.4, random_state=1)
    assert not set(ytr) & set(yte) and len(set(yte)) == 4
    with pytest.raises(ValueError, match="test_size"):
        class_disjoint_split(np.zeros((30, 2)), y, test_size=0.001)


def test_evaluate_few_shot_table_and_pairing():
    data = make_classification_tasks(n_tasks=12, n_features=10, random_state=0)
    ests = {"per-task": PerTaskEstimator(LogisticRegression()),
            "pooled": PooledEstimator(LogisticRegression())}
    res = evaluate_few_shot(ests, data.tasks[:8], data.tasks[8:], n_shots=(1, 5),
                            n_episodes=15, random_state=0)
    assert isinstance(res, pd.DataFrame)
    assert list(res.columns) == [
        "estimator", "n_shots", "support", "scoring", "mean", "ci_low", "ci_high", "std",
        "n_tasks", "n_episodes", "n_tasks_skipped", "reference", "diff", "diff_low",
        "diff_high", "fit_time", "adapt_time"]
    assert len(res) == 4
    assert (res["ci_low"] <= res["mean"]).all() and (res["mean"] <= res["ci_high"]).all()
    assert (res["adapt_time"] > 0).all()
    # same episodes for every estimator: reproducible for a fixed seed
    again = evaluate_few_shot(ests, data.tasks[:8], data.tasks[8:], n_shots=(1, 5),
                              n_episodes=15, random_state=0)
    np.testing.assert_allclose(res["mean"], again["mean"])
    # more shots help the per-task model on this family
    pt = res[res.estimator == "per-task"].set_index("n_shots")["mean"]
    assert pt[5] > pt[1]


def test_evaluate_few_shot_scorers_and_nway():
    y = np.repeat(np.arange(8), 12)
    X = np.random.default_rng(0).normal(size=(96, 3)) + y[:, None]
    Xtr, Xte, ytr, yte = class_disjoint_split(X, y, test_size=4, random_state=0)
    res = evaluate_few_shot([PerTaskEstimator(LogisticRegression())], (Xtr, ytr), (Xte, yte),
                            n_shots=[2], n_way=3, n_episodes=10, scoring="balanced_accuracy",
                            random_state=0)
    assert res["scoring"][0] == "balanced_accuracy"
    assert res["estimator"][0] == "PerTaskEstimator"


def test_evaluate_few_shot_sets_a_pipelines_meta_learner():
    # new test labels: the last step's label_space "auto" must become
    # "per_task" (and n_shots, random_state be set) through the pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_meta.pipeline import make_pipeline

    y = np.repeat(np.arange(8), 12)
    X = np.random.default_rng(0).normal(size=(96, 3)) * 5 + y[:, None]
    Xtr, Xte, ytr, yte = class_disjoint_split(X, y, test_size=4, random_state=0)
    kw = dict(n_shots=[2], n_way=3, n_episodes=10, random_state=0)
    piped = evaluate_few_shot(
        {"m": make_pipeline(StandardScaler(), PerTaskEstimator(LogisticRegression()))},
        (Xtr, ytr), (Xte, yte), **kw)
    scaler = StandardScaler().fit(Xtr)
    plain = evaluate_few_shot({"m": PerTaskEstimator(LogisticRegression())},
                              (scaler.transform(Xtr), ytr), (scaler.transform(Xte), yte), **kw)
    np.testing.assert_allclose(piped["mean"], plain["mean"])


def test_evaluate_few_shot_regression_custom_scorer():
    data = make_regression_tasks(n_tasks=8, n_features=4, random_state=0)
    scorer = make_scorer(mean_absolute_error, greater_is_better=False)
    res = evaluate_few_shot({"ridge": PerTaskEstimator(Ridge())}, data.tasks[:5], data.tasks[5:],
                            n_shots=[3], n_episodes=8, scoring=scorer, random_state=0)
    assert res["mean"][0] < 0


def test_episodic_scorer_matches_score():
    data = make_classification_tasks(n_tasks=5, random_state=0)
    est = PerTaskEstimator(LogisticRegression(), random_state=3).fit(data.tasks)
    scorer = episodic_scorer("accuracy")
    assert scorer(est, data.X, data.y, groups=data.groups) == pytest.approx(
        est.score(data.X, data.y, groups=data.groups))
