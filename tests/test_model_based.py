"""Tests of the model-based (neural-process) meta-learners."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.neighbors import NearestCentroid
from sklearn_meta.utils.estimator_checks import parametrize_with_checks

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import make_classification_tasks, make_sinusoid_tasks
from sklearn_meta.model_based import NeuralProcessClassifier, NeuralProcessRegressor
from sklearn_meta.tasks import as_task_arrays

FAST = dict(max_iter=5, n_shots=1, embedding_dim=8, n_heads=2, n_layers=1,
            hidden_layer_sizes=(16,), random_state=0, device="cpu")


@parametrize_with_checks([NeuralProcessClassifier(**FAST), NeuralProcessRegressor(**FAST)])
def test_sklearn_checks(estimator, check):
    check(estimator)


def test_classifier_beats_nearest_centroid_and_untrained():
    data = make_classification_tasks(n_tasks=70, n_classes=3, n_features=10,
                                     n_samples_per_task=30, per_task_labels=True,
                                     random_state=0)
    train, (X, y, g) = data.tasks[:50], as_task_arrays(data.tasks[50:])
    est = NeuralProcessClassifier(n_shots=3, max_iter=150, tol=None, embedding_dim=16,
                                  n_layers=1, hidden_layer_sizes=(32,), random_state=0)
    score = est.fit(train).score(X, y, groups=g)
    untrained = clone(est).set_params(max_iter=0).fit(train).score(X, y, groups=g)
    naive = PerTaskEstimator(NearestCentroid(), n_shots=3, random_state=0).fit(train)
    assert score > naive.score(X, y, groups=g) + 0.05
    assert score > untrained + 0.05
    # any number of classes at adapt
    Xs, ys = X[:40], np.repeat(list("abcde"), 8)
    assert est.adapt(Xs, ys).predict_proba(X[:7]).shape == (7, 5)


@pytest.fixture(scope="module")
def sinusoid():
    data = make_sinusoid_tasks(n_tasks=120, n_samples_per_task=20, random_state=0)
    reg = NeuralProcessRegressor(n_shots=5, max_iter=200, tol=None, embedding_dim=32,
                                 n_layers=1, random_state=0)
    return data.tasks[:100], as_task_arrays(data.tasks[100:]), reg.fit(data.tasks[:100])


def test_regressor_beats_ridge_and_untrained(sinusoid):
    train, (X, y, g), reg = sinusoid
    score = reg.score(X, y, groups=g)
    untrained = clone(reg).set_params(max_iter=0).fit(train).score(X, y, groups=g)
    ridge = PerTaskEstimator(Ridge(), n_shots=5, random_state=0).fit(train)
    assert score > ridge.score(X, y, groups=g) + 0.1
    assert score > untrained + 0.1


def test_regressor_return_std_and_zero_shot(sinusoid):
    _, (X, y, _), reg = sinusoid
    prior = reg.predict(X[:20])  # empty memory: the meta-learned prior
    mean, std = reg.adapt(X[:5], y[:5]).predict(X[:20], return_std=True)
    assert mean.shape == std.shape == prior.shape == (20,)
    assert np.all(std > 0)
    np.testing.assert_allclose(reg.predict(X[:20]), mean)
    # more support rows than in meta-training work too
    assert reg.adapt(X[:15], y[:15]).predict(X[15:20]).shape == (5,)


def test_adapt_is_invariant_to_support_order(sinusoid):
    _, (X, y, _), reg = sinusoid
    perm = np.random.default_rng(0).permutation(8)
    a = reg.adapt(X[:8], y[:8]).predict(X[8:20])
    b = reg.adapt(X[:8][perm], y[:8][perm]).predict(X[8:20])
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def test_heads_must_divide_embedding_dim():
    data = make_sinusoid_tasks(n_tasks=4, random_state=0)
    with pytest.raises(ValueError, match="multiple of n_heads"):
        NeuralProcessRegressor(embedding_dim=10, n_heads=4, max_iter=1).fit(data.tasks)
