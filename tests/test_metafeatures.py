"""Tests of the task meta-features (sklearn_meta.metafeatures)."""

import numpy as np
import pytest

from sklearn_meta.metafeatures import compute_metafeatures, metafeature_names


def _per_task(X, y, groups, task_type):
    return np.vstack([compute_metafeatures(X[groups == g], y[groups == g],
                                           task_type=task_type)
                      for g in np.unique(groups)])


@pytest.mark.parametrize("task_type", ["classification", "regression"])
def test_vectorised_equals_one_task_at_a_time_and_ignores_row_order(task_type):
    rng = np.random.RandomState(0)
    sizes = rng.randint(2, 30, size=12)
    groups = np.repeat(rng.permutation(12) * 7, sizes)     # arbitrary ids
    X = rng.randn(len(groups), 4) * [1, 10, 0.1, 1]
    if task_type == "classification":
        y = rng.choice(["a", "b", "c"], size=len(groups))
        y[np.r_[0, np.cumsum(sizes)[:-1]]] = "a"
    else:
        y = X @ [1.0, 0.1, 0, 0] + rng.randn(len(groups))
    mf = compute_metafeatures(X, y, groups, task_type=task_type)
    assert mf.shape == (12, len(metafeature_names(task_type)))
    assert np.isfinite(mf).all()
    np.testing.assert_allclose(mf, _per_task(X, y, groups, task_type), rtol=1e-8, atol=1e-10)
    perm = rng.permutation(len(groups))
    np.testing.assert_allclose(compute_metafeatures(X[perm], y[perm], groups[perm],
                                                    task_type=task_type), mf,
                               rtol=1e-8, atol=1e-10)


def test_known_values():
    X = np.array([[0.0, 1.0], [0.0, 3.0], [2.0, 1.0], [2.0, 3.0]] * 2)
    y = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    mf = dict(zip(metafeature_names(), compute_metafeatures(X, y)[0]))
    assert mf["log_n_rows"] == pytest.approx(np.log(8))
    assert mf["log_n_features"] == pytest.approx(np.log(2))
    assert mf["n_classes"] == 2 and mf["class_entropy"] == pytest.approx(1.0)
    assert mf["minority_fraction"] == pytest.approx(0.5)
    assert mf["feature_mean"] == pytest.approx(1.5)
    assert mf["feature_std"] == pytest.approx(1.0)
    assert mf["centroid_accuracy"] == pytest.approx(1.0)     # x0 separates the classes
    assert mf["target_corr_max"] == pytest.approx(1.0)
    assert mf["target_corr_mean"] == pytest.approx(0.5)
    yr = 3 * X[:, 0] - X[:, 1]
    mf = dict(zip(metafeature_names("regression"),
                  compute_metafeatures(X, yr, task_type="regression")[0]))
    assert mf["target_mean"] == pytest.approx(yr.mean())
    assert mf["target_std"] == pytest.approx(yr.std())
    assert mf["linear_r2"] > 0.8                # ridge (alpha=1) on an exact linear target


def test_auto_task_type_and_errors():
    X = np.random.RandomState(0).randn(6, 2)
    assert compute_metafeatures(X, [0, 1, 0, 1, 0, 1]).shape[1] == len(metafeature_names())
    assert compute_metafeatures(X, X[:, 0]).shape[1] == len(metafeature_names("regression"))
    with pytest.raises(ValueError, match="task_type"):
        compute_metafeatures(X, X[:, 0], task_type="ranking")
    with pytest.raises(ValueError, match="groups"):
        compute_metafeatures(X, X[:, 0], groups=[0, 1])
    with pytest.raises(ValueError, match="rows"):
        compute_metafeatures(X, [0, 1])
