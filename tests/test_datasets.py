"""Tests of sklearn_meta.datasets: generators and real task collections."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

from sklearn_meta.datasets import (
    make_classification_tasks,
    make_regression_tasks,
    make_sinusoid_tasks,
)

GENERATORS = [make_sinusoid_tasks, make_classification_tasks, make_regression_tasks]


# --------------------------------------------------------------------------
# Common structure of the synthetic generators
# --------------------------------------------------------------------------


@pytest.mark.parametrize("make", GENERATORS)
def test_bunch_structure(make):
    data = make(n_tasks=7, n_samples_per_task=12, random_state=0)
    n = 7 * 12
    assert data.X.shape[0] == data.y.shape[0] == data.groups.shape[0] == n
    assert data.X.ndim == 2 and data.y.ndim == 1
    assert np.all(np.isfinite(data.X))
    assert isinstance(data.DESCR, str) and len(data.DESCR) > 100
    np.testing.assert_array_equal(data.groups, np.repeat(np.arange(7), 12))
    assert len(data.tasks) == 7
    # tasks are the flat arrays cut by group
    for i, (X_i, y_i) in enumerate(data.tasks):
        np.testing.assert_array_equal(X_i, data.X[data.groups == i])
        np.testing.assert_array_equal(y_i, data.y[data.groups == i])
    # no parameters unless asked
    assert "coef" not in data and "amplitude" not in data


@pytest.mark.parametrize("make", GENERATORS)
def test_deterministic_for_fixed_seed(make):
    a = make(n_tasks=5, n_samples_per_task=10, random_state=3)
    b = make(n_tasks=5, n_samples_per_task=10, random_state=3)
    c = make(n_tasks=5, n_samples_per_task=10, random_state=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    rng = np.random.RandomState(3)
    d = make(n_tasks=5, n_samples_per_task=10, random_state=rng)
    np.testing.assert_array_equal(a.X, d.X)


@pytest.mark.parametrize("make", GENERATORS)
def test_invalid_parameters_are_refused(make):
    with pytest.raises(ValueError, match="n_tasks"):
        make(n_tasks=0)
    with pytest.raises((ValueError, TypeError), match="n_samples_per_task"):
        make(n_samples_per_task=-1)


def test_range_parameters_are_checked():
    with pytest.raises(ValueError, match="amplitude_range"):
        make_sinusoid_tasks(amplitude_range=(5.0, 1.0))
    with pytest.raises(ValueError, match="x_range"):
        make_sinusoid_tasks(x_range=(0, np.inf))
    with pytest.raises(ValueError, match="phase_range"):
        make_sinusoid_tasks(phase_range=(1, 2, 3))


@pytest.mark.parametrize("make", [make_classification_tasks, make_regression_tasks])
def test_n_informative_at_most_n_features(make):
    with pytest.raises(ValueError, match="n_informative=5 must be at most n_features=3"):
        make(n_features=3, n_informative=5)


# --------------------------------------------------------------------------
# Sinusoid
# --------------------------------------------------------------------------


def test_sinusoid_follows_its_parameters():
    data = make_sinusoid_tasks(
        n_tasks=50,
        n_samples_per_task=30,
        amplitude_range=(1.0, 2.0),
        phase_range=(0.5, 1.0),
        x_range=(-3, 3),
        return_params=True,
        random_state=0,
    )
    assert data.X.shape == (1500, 1)
    assert np.all((data.amplitude >= 1.0) & (data.amplitude <= 2.0))
    assert np.all((data.phase >= 0.5) & (data.phase <= 1.0))
    assert data.X.min() >= -3 and data.X.max() <= 3
    expected = data.amplitude[data.groups] * np.sin(data.X[:, 0] - data.phase[data.groups])
    np.testing.assert_allclose(data.y, expected)


def test_sinusoid_noise_has_requested_scale():
    clean = make_sinusoid_tasks(n_tasks=200, n_samples_per_task=50, random_state=1)
    noisy = make_sinusoid_tasks(
        n_tasks=200, n_samples_per_task=50, noise=0.3, random_state=1,
        return_params=True,
    )
    residual = noisy.y - noisy.amplitude[noisy.groups] * np.sin(
        noisy.X[:, 0] - noisy.phase[noisy.groups]
    )
    assert abs(residual.std() - 0.3) < 0.01
    assert clean.y.shape == noisy.y.shape


# --------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_samples, n_classes, n_informative",
    [(40, 2, 2), (41, 2, 3), (40, 5, 2), (25, 5, 2), (60, 4, 1), (30, 3, 10)],
)
def test_classes_are_balanced_in_every_task(n_samples, n_classes, n_informative):
    data = make_classification_tasks(
        n_tasks=100,
        n_samples_per_task=n_samples,
        n_classes=n_classes,
        n_informative=n_informative,
        random_state=0,
    )
    counts = np.array([np.bincount(y, minlength=n_classes) for _, y in data.tasks])
    # within one row of a perfectly balanced split
    assert counts.min() >= n_samples // n_classes - 1
    assert counts.max() <= -(-n_samples // n_classes) + 1


@pytest.mark.parametrize("n_classes", [2, 4])
def test_labels_follow_the_returned_parameters(n_classes):
    data = make_classification_tasks(
        n_tasks=20, n_samples_per_task=30, n_classes=n_classes,
        return_params=True, random_state=0,
    )
    W, coef, intercept = data.subspace, data.coef, data.intercept
    assert W.shape == (20, 2)
    np.testing.assert_allclose(W.T @ W, np.eye(2), atol=1e-12)
    assert coef.shape == (20, 2, n_classes) and intercept.shape == (20, n_classes)
    for i, (X_i, y_i) in enumerate(data.tasks):
        scores = X_i @ W @ coef[i] + intercept[i]
        np.testing.assert_array_equal(y_i, data.task_classes[i][np.argmax(scores, 1)])


def test_label_noise_flips_the_requested_fraction():
    kwargs = dict(n_tasks=100, n_samples_per_task=40, n_classes=3,
                  return_params=True, random_state=0)
    noisy = make_classification_tasks(noise=0.2, **kwargs)
    clean_labels = np.concatenate([
        np.argmax(X_i @ noisy.subspace @ noisy.coef[i] + noisy.intercept[i], axis=1)
        for i, (X_i, _) in enumerate(noisy.tasks)
    ])
    assert abs(np.mean(clean_labels != noisy.y) - 0.2) < 0.03
    assert set(np.unique(noisy.y)) == {0, 1, 2}


def test_per_task_labels_differ_between_tasks():
    data = make_classification_tasks(
        n_tasks=30, n_samples_per_task=20, n_classes=5, per_task_labels=True,
        return_params=True, random_state=0,
    )
    assert data.y.dtype.kind == "U"
    label_sets = [frozenset(np.unique(y_i)) for _, y_i in data.tasks]
    assert all(len(s) == 5 for s in label_sets)
    assert len(set(label_sets)) > 25  # almost every task has its own label set
    assert len(set().union(*label_sets)) > 5
    shared = make_classification_tasks(
        n_tasks=30, n_samples_per_task=20, n_classes=5, random_state=0
    )
    assert all(set(np.unique(y_i)) == set(range(5)) for _, y_i in shared.tasks)
    # the same draw apart from the label names
    np.testing.assert_array_equal(data.X, shared.X)


def _episode(y, n_shots, rng):
    """Indices of a support set with n_shots rows per class, and the rest."""
    support = np.concatenate([
        rng.choice(np.flatnonzero(y == c), n_shots, replace=False)
        for c in np.unique(y)
    ])
    return support, np.setdiff1d(np.arange(len(y)), support)


@pytest.mark.parametrize("n_classes", [2, 5])
def test_meta_learning_helps_classification(n_classes):
    """The shared subspace is what a 5-shot learner lacks, and pooling fails.

    On 5 shots per class: logistic regression on one task's support set in
    20 dimensions is far below the same model given the shared subspace W
    (what meta-learning can learn), and a model pooled over all other tasks is
    at chance.
    """
    data = make_classification_tasks(
        n_tasks=40, n_samples_per_task=12 * n_classes, n_classes=n_classes,
        return_params=True, random_state=0,
    )
    rng = np.random.default_rng(0)
    per_task, oracle, pooled = [], [], []
    for i in range(20):
        X_i, y_i = data.tasks[i]
        support, query = _episode(y_i, 5, rng)
        model = LogisticRegression().fit(X_i[support], y_i[support])
        per_task.append(model.score(X_i[query], y_i[query]))
        Z_i = X_i @ data.subspace
        model = LogisticRegression().fit(Z_i[support], y_i[support])
        oracle.append(model.score(Z_i[query], y_i[query]))
        others = data.groups != i
        model = LogisticRegression().fit(data.X[others], data.y[others])
        pooled.append(model.score(X_i, y_i))
    chance = 1 / n_classes
    per_task, oracle, pooled = map(np.mean, (per_task, oracle, pooled))
    assert oracle > 0.75
    assert oracle - per_task > 0.15
    assert abs(pooled - chance) < 0.08
    assert per_task > chance + 0.1  # but each task alone is learnable


def test_meta_learning_helps_regression():
    data = make_regression_tasks(
        n_tasks=40, n_samples_per_task=40, noise=0.1, return_params=True,
        random_state=0,
    )
    per_task, oracle, pooled = [], [], []
    for i in range(20):
        X_i, y_i = data.tasks[i]
        support, query = slice(0, 5), slice(5, None)
        model = Ridge(alpha=1.0).fit(X_i[support], y_i[support])
        per_task.append(model.score(X_i[query], y_i[query]))
        Z_i = X_i @ data.subspace
        model = LinearRegression().fit(Z_i[support], y_i[support])
        oracle.append(model.score(Z_i[query], y_i[query]))
        others = data.groups != i
        model = LinearRegression().fit(data.X[others], data.y[others])
        pooled.append(model.score(X_i, y_i))
    per_task, oracle, pooled = map(np.mean, (per_task, oracle, pooled))
    assert oracle > 0.9
    assert per_task < 0.4
    assert pooled < 0.1


def test_regression_targets_follow_parameters_and_noise():
    data = make_regression_tasks(
        n_tasks=50, n_samples_per_task=40, n_features=6, n_informative=3,
        noise=0.5, return_params=True, random_state=0,
    )
    assert data.subspace.shape == (6, 3) and data.coef.shape == (50, 3)
    clean = np.einsum("ij,ij->i", data.X @ data.subspace, data.coef[data.groups])
    assert abs(np.std(data.y - clean) - 0.5) < 0.03
