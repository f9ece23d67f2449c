"""The episode sampler on small, uneven and one-class tasks (issue 11)."""

import warnings

import numpy as np
import pytest

from sklearn_meta._nn._sampler import _EpisodeSampler, _warn_skipped


def _stack(sizes, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    X = np.arange(starts[-1], dtype=float)[:, None]  # row id as the feature
    y = rng.integers(0, 2, starts[-1]) if labels is None else np.asarray(labels)
    return X, y, starts


def _rows(ep, t):
    s = ep.X_s[t, ep.m_s[t] > 0, 0].long().numpy()
    q = ep.X_q[t, ep.m_q[t] > 0, 0].long().numpy()
    return s, q


@pytest.mark.parametrize("kind", ["regression", "shared"])
def test_small_task_gives_fewer_shots(kind):
    X, y, starts = _stack([3, 40, 2])
    s = _EpisodeSampler(X, y.astype(float) if kind == "regression" else y, starts,
                        kind=kind, n_shots=5, n_queries=5, n_classes=2,
                        rng=np.random.default_rng(0))
    assert s.skipped.size == 0 and s.usable.tolist() == [0, 1, 2]
    full = 5 * (1 if kind == "regression" else 2)
    for _ in range(30):
        ep = s.sample(np.arange(3))
        for t, n in enumerate([3, 40, 2]):
            rs, rq = _rows(ep, t)
            assert len(rs) == min(full, n - 1) and len(rq) >= 1
            assert not set(rs) & set(rq) and len(set(rs)) == len(rs)
            assert ((starts[t] <= np.r_[rs, rq]) & (np.r_[rs, rq] < starts[t + 1])).all()


def test_one_class_task_used_in_shared_label_space():
    labels = np.r_[np.ones(12, int), np.tile([0, 1], 10)]
    X, y, starts = _stack([12, 20], labels=labels)
    s = _EpisodeSampler(X, y, starts, kind="shared", n_shots=5, n_queries=5, n_classes=2,
                        rng=np.random.default_rng(0))
    assert s.skipped.size == 0
    ep = s.sample(np.array([0]))
    assert ep.m_s[0].sum() == 10 and ep.m_q[0].sum() == 2
    assert set(ep.y_s[0, ep.m_s[0] > 0].tolist()) == {1}


def test_per_task_small_class_uses_its_rows():
    # task 0: classes with 2 and 10 rows; task 1: a single row (skipped)
    labels = np.r_[[0, 0], np.ones(10, int), [3]]
    X, y, starts = _stack([12, 1], labels=labels)
    s = _EpisodeSampler(X, y, starts, kind="per_task", n_shots=5, n_queries=3,
                        task_ids=["a", "b"], rng=np.random.default_rng(0), warn=False)
    assert s.skipped.tolist() == [1] and s.usable.tolist() == [0]
    assert set(s.sample_tasks().tolist()) == {0}
    for _ in range(20):
        ep = s.sample(np.array([0, 1]))
        assert sorted(np.bincount(ep.y_s[0, ep.m_s[0] > 0].numpy()).tolist()) == [1, 5]
        assert ep.m_s[1].sum() == 0 and ep.m_q[1].sum() == 0  # a skipped task: masked out


def test_skipped_tasks_one_warning_with_count_and_ids():
    X, y, starts = _stack([1, 30, 1, 8])
    ids = np.array(["site 10", "site 2", "site 3", "site 4"])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        train = _EpisodeSampler(X[:31], y[:31].astype(float), starts[:3], kind="regression",
                                n_shots=5, n_queries=5, task_ids=ids[:2], warn=False)
        val = _EpisodeSampler(X[31:], y[31:].astype(float), starts[2:] - 31,
                              kind="regression", n_shots=5, n_queries=5, task_ids=ids[2:],
                              warn=False)
        _warn_skipped([train, val])
    assert len(w) == 1
    msg = str(w[0].message)
    assert msg.startswith("2 of 4 tasks") and "'site 10'" in msg and "'site 3'" in msg
    assert len(val.sample_all()) == 1


def test_no_usable_task_is_a_clear_error():
    X, y, starts = _stack([1, 1])
    with pytest.raises(ValueError, match=r"No task has enough rows.*task 'x' has n_samples = 1"):
        _EpisodeSampler(X, y, starts, kind="shared", n_shots=5, n_queries=5, n_classes=2,
                        task_ids=["x", "y"])


# --- the fit paths: every torch learner meta-trains on uneven tasks ---------------------

from sklearn.utils import estimator_checks as sk_checks  # noqa: E402

from sklearn_meta.gradient import (  # noqa: E402
    ANILClassifier, FineTuneClassifier, MAMLClassifier, MAMLRegressor, MetaSGDClassifier,
    MetaSGDRegressor, ReptileClassifier,
)
from sklearn_meta.metric import ProtoNetClassifier  # noqa: E402
from sklearn_meta.model_based import (  # noqa: E402
    NeuralProcessClassifier, NeuralProcessRegressor,
)

TORCH_CLASSIFIERS = [ANILClassifier, FineTuneClassifier, MAMLClassifier, MetaSGDClassifier,
                     ReptileClassifier, ProtoNetClassifier, NeuralProcessClassifier]


def _uneven(classification, seed=0):
    """8 tasks of 30 rows, one of 2 rows, one of 1 row, one one-class task."""
    rng = np.random.default_rng(seed)
    sizes = [30] * 8 + [2, 1, 12]
    X = rng.normal(size=(sum(sizes), 3))
    groups = np.repeat([f"t{i}" for i in range(len(sizes))], sizes)
    if classification:
        y = (X[:, 0] > 0).astype(int)
        y[-12:] = 1
    else:
        y = X[:, 0] + rng.normal(scale=0.1, size=len(X))
    return X, y, groups


@pytest.mark.parametrize("Est", [MAMLRegressor, MetaSGDRegressor, NeuralProcessRegressor,
                                 MAMLClassifier, ProtoNetClassifier, NeuralProcessClassifier])
def test_fit_uses_small_tasks_and_warns_once(Est):
    X, y, groups = _uneven(Est.__name__.endswith("Classifier"))
    est = Est(max_iter=5, random_state=0)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        est.fit(X, y, groups=groups)
    skip = [x for x in w if "too small for any episode" in str(x.message)]
    assert len(skip) == 1 and "1 of 11 tasks" in str(skip[0].message)
    assert "'t9'" in str(skip[0].message)
    assert np.isfinite(est.adapt(X[:5], y[:5]).predict(X[5:20]).astype(float)).all()


@pytest.mark.parametrize("Est", TORCH_CLASSIFIERS)
@pytest.mark.parametrize("check", ["check_n_features_in_after_fitting",
                                   "check_estimators_nan_inf", "check_fit2d_1feature"])
def test_sklearn_checks_on_small_data_default_shots(Est, check):
    # default parameters (n_shots=5 on scikit-learn's 10-20 row data) except a short fit
    est = Est(max_iter=3)
    getattr(sk_checks, check)(Est.__name__, est)
