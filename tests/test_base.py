"""The meta-learner contract of DESIGN.md, through the baselines."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score

from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.datasets import make_classification_tasks, make_regression_tasks
from sklearn_meta.model_selection import _score_episode
from sklearn_meta.tasks import TaskSet, as_task_arrays, _check_n_shots, _split_support_query


@pytest.fixture
def clf_data():
    return make_classification_tasks(n_tasks=6, n_samples_per_task=30, n_features=5,
                                     random_state=0)


@pytest.fixture
def per_task_data():
    return make_classification_tasks(n_tasks=6, n_samples_per_task=30, n_features=5,
                                     per_task_labels=True, random_state=0)


def test_fit_returns_self_and_forms(clf_data):
    est = PerTaskEstimator(LogisticRegression())
    assert est.fit(clf_data.tasks) is est
    assert est.n_features_in_ == 5
    assert est._label_space_ == "shared"
    np.testing.assert_array_equal(est.classes_, np.unique(clf_data.y))


def test_adapt_then_predict_and_accuracy(clf_data):
    est = PerTaskEstimator(LogisticRegression()).fit(clf_data.tasks[:5])
    X, y = clf_data.tasks[5]
    pred = est.adapt(X[:10], y[:10]).predict(X[10:])
    assert 0 <= accuracy_score(y[10:], pred) <= 1
    proba = est.predict_proba(X[10:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba.shape == (20, 2)


def test_per_task_labels_need_adapt(per_task_data):
    est = PerTaskEstimator(LogisticRegression()).fit(per_task_data.tasks[:5])
    assert est._label_space_ == "per_task"
    X, y = per_task_data.tasks[5]
    with pytest.raises(NotFittedError, match="call\\s+adapt"):
        est.predict(X)
    est.adapt(X[:12], y[:12])
    assert set(est.predict(X)) <= set(y[:12])
    np.testing.assert_array_equal(est.classes_, np.unique(y[:12]))


@pytest.mark.parametrize("labels, ok", [
    (np.array([0, 1, 2, 0, 1, 2]), True), (np.array(list("abcabc")), True),
    (np.array([True, False] * 3), True), (np.array([0.0, 1.0, 2.0] * 2), True),
    (np.array([1, 2.0, 3] * 2, dtype=object), False),
    (np.array([0.5, 1.5, 2.25] * 2), False), (np.array(["a", 1, "b"] * 2, dtype=object), False),
])
def test_adapt_checks_support_labels(per_task_data, labels, ok):
    """The fast path for integer/bool/string labels accepts what the full check accepts."""
    est = PerTaskEstimator(LogisticRegression()).fit(per_task_data.tasks[:5])
    X = per_task_data.tasks[5][0][:6]
    if ok:
        est.adapt(X, labels)
        np.testing.assert_array_equal(est.classes_, np.unique(labels))
    else:
        with pytest.raises(ValueError, match="Unknown label type|mixes label types"):
            est.adapt(X, labels)


def test_shared_labels_zero_shot(clf_data):
    est = PooledEstimator(LogisticRegression()).fit(clf_data.X, clf_data.y, groups=clf_data.groups)
    assert est.predict(clf_data.X).shape == clf_data.y.shape


def test_shared_label_space_refuses_unknown_labels(clf_data):
    est = PerTaskEstimator(LogisticRegression()).fit(clf_data.tasks)
    X, y = clf_data.tasks[0]
    with pytest.raises(ValueError, match="not seen in fit"):
        est.adapt(X[:4], np.array([0, 1, 7, 7]))


def test_regressor_zero_shot_and_adapt():
    data = make_regression_tasks(n_tasks=5, n_samples_per_task=20, n_features=4, random_state=0)
    est = PerTaskEstimator(Ridge()).fit(data.tasks[:4])
    X, y = data.tasks[4]
    zero = est.predict(X)
    adapted = est.adapt(X[:5], y[:5]).predict(X)
    assert zero.shape == adapted.shape == (20,)
    assert not np.allclose(zero, adapted)
    with pytest.raises(AttributeError):
        est.classes_


def test_pandas_feature_names_kept(clf_data):
    cols = [f"f{i}" for i in range(5)]
    tasks = [(pd.DataFrame(X, columns=cols), y) for X, y in clf_data.tasks]
    est = PerTaskEstimator(LogisticRegression()).fit(tasks)
    np.testing.assert_array_equal(est.feature_names_in_, cols)
    X, y = tasks[0]
    est.adapt(X.iloc[:10], y[:10]).predict(X)
    with pytest.warns(UserWarning, match="feature names"):
        est.predict(X.to_numpy())


def test_score_leaves_adapted_state(clf_data):
    est = PerTaskEstimator(LogisticRegression(), random_state=0).fit(clf_data.tasks[:4])
    X, y = clf_data.tasks[4]
    est.adapt(X[:10], y[:10])
    before = est.predict_proba(X)
    est.score(clf_data.X, clf_data.y, groups=clf_data.groups)
    np.testing.assert_array_equal(before, est.predict_proba(X))


def test_score_sample_weight(clf_data):
    est = PerTaskEstimator(LogisticRegression(), random_state=0).fit(clf_data.tasks)
    g = clf_data.groups
    w = np.ones_like(clf_data.y, dtype=float)
    s1 = est.score(clf_data.X, clf_data.y, groups=g)
    s2 = est.score(clf_data.X, clf_data.y, groups=g, sample_weight=w)
    assert s1 == pytest.approx(s2)
    w[g == 0] = 0.0
    s3 = est.score(clf_data.X, clf_data.y, groups=g, sample_weight=w)
    assert s3 != pytest.approx(s1)


# -- bad input: one test per case of the validation list --------------------

def test_error_different_columns():
    tasks = [(np.zeros((4, 3)), [0, 1, 0, 1]), (np.zeros((4, 2)), [0, 1, 0, 1])]
    with pytest.raises(ValueError, match=r"tasks\[1\] has 2 columns but tasks\[0\] has 3"):
        PerTaskEstimator(LogisticRegression()).fit(tasks)


def test_error_too_few_rows_for_shots(clf_data):
    est = PerTaskEstimator(LogisticRegression(), n_shots=50).fit(clf_data.tasks)
    with pytest.raises(ValueError, match=r"task 0 has \d+ row\(s\) of class .* n_shots=50"):
        est.score(clf_data.X, clf_data.y, groups=clf_data.groups, support="per_class")
    with pytest.raises(ValueError, match=r"task 0 has \d+ row\(s\) but n_shots=50"):
        est.score(clf_data.X, clf_data.y, groups=clf_data.groups)
    with pytest.raises(ValueError, match="task 'B' has 2 row"):
        _check_n_shots(np.array([1.0, 2.0]), 5, task_id="B", classification=False)


def test_error_nan_names_task(clf_data):
    X = clf_data.X.copy()
    X[clf_data.groups == 3][0, 0] = np.nan
    X[np.flatnonzero(clf_data.groups == 3)[0], 0] = np.nan
    with pytest.raises(ValueError, match="NaN in task 3"):
        PerTaskEstimator(LogisticRegression()).fit(X, clf_data.y, groups=clf_data.groups)
    X[np.flatnonzero(clf_data.groups == 3)[0], 0] = np.inf
    with pytest.raises(ValueError, match="infinity in task 3"):
        PerTaskEstimator(LogisticRegression()).fit(X, clf_data.y, groups=clf_data.groups)


def test_nan_allowed_when_estimator_allows(clf_data):
    from sklearn.ensemble import HistGradientBoostingClassifier

    X = clf_data.X.copy()
    X[0, 0] = np.nan
    PooledEstimator(HistGradientBoostingClassifier(max_iter=5)).fit(X, clf_data.y, groups=clf_data.groups)


def test_error_single_class_task_per_task_labels(per_task_data):
    tasks = list(per_task_data.tasks[:3])
    X, y = tasks[1]
    tasks[1] = (X, np.full_like(y, y[0]))
    with pytest.raises(ValueError, match="task 1 has a single class"):
        PerTaskEstimator(LogisticRegression(), label_space="per_task").fit(tasks)
    est = PerTaskEstimator(LogisticRegression()).fit(per_task_data.tasks)
    X, y = per_task_data.tasks[0]
    with pytest.raises(ValueError, match="single class"):
        est.adapt(X[:3], np.full(3, y[0]))


def test_error_query_labels_not_in_support(per_task_data):
    est = PerTaskEstimator(LogisticRegression()).fit(per_task_data.tasks[:5])
    X, y = per_task_data.tasks[5]
    labels = np.unique(y)
    s = np.isin(y, labels[:2]) if len(labels) > 2 else y == labels[0]
    with pytest.raises(ValueError, match="support set never had"):
        _score_episode(est, X[s], y[s], X[~s], y[~s])


def test_error_empty_task_list():
    with pytest.raises(ValueError, match="empty"):
        PerTaskEstimator(LogisticRegression()).fit([])


def test_error_sparse_input(clf_data):
    with pytest.raises(TypeError, match="[Ss]parse"):
        PerTaskEstimator(LogisticRegression()).fit(sp.csr_matrix(clf_data.X), clf_data.y,
                                                   groups=clf_data.groups)
    with pytest.raises(TypeError, match="sparse"):
        PerTaskEstimator(LogisticRegression()).fit([(sp.csr_matrix(clf_data.X), clf_data.y)])


def test_error_groups_with_task_list(clf_data):
    with pytest.raises(ValueError, match="groups was given with a list"):
        PerTaskEstimator(LogisticRegression()).fit(clf_data.tasks, groups=[0])


def test_error_groups_wrong_length(clf_data):
    with pytest.raises(ValueError, match="groups has shape"):
        PerTaskEstimator(LogisticRegression()).fit(clf_data.X, clf_data.y, groups=[0, 1])


def test_error_bad_param():
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="n_shots"):
        PerTaskEstimator(LogisticRegression(), n_shots=0).fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_pickle_adapted(clf_data):
    est = PerTaskEstimator(LogisticRegression()).fit(clf_data.tasks[:5])
    X, y = clf_data.tasks[5]
    est.adapt(X[:10], y[:10])
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


# -- property-based validation ----------------------------------------------

@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=5),
    n_features=st.integers(min_value=1, max_value=4),
)
def test_as_task_arrays_roundtrip(sizes, n_features):
    rng = np.random.default_rng(0)
    tasks = [(rng.normal(size=(n, n_features)), rng.normal(size=n)) for n in sizes]
    X, y, groups = as_task_arrays(tasks)
    assert X.shape == (sum(sizes), n_features)
    np.testing.assert_array_equal(np.bincount(groups), sizes)
    ts = TaskSet(X, y, np.concatenate([[0], np.cumsum(sizes)]), np.arange(len(sizes)))
    for (Xi, yi), (Xt, yt) in zip(tasks, ts):
        np.testing.assert_array_equal(Xi, Xt)
        np.testing.assert_array_equal(yi, yt)


@settings(max_examples=50, deadline=None)
@given(
    labels=st.lists(st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=2, max_size=6),
                    min_size=1, max_size=6),
)
def test_per_task_label_codes_match_a_per_task_reference(labels):
    y = np.concatenate([np.array(t, dtype=object) for t in labels])
    groups = np.repeat(np.arange(len(labels)), [len(t) for t in labels])
    X = np.zeros((len(y), 1))
    est = PerTaskEstimator(LogisticRegression(), label_space="per_task")
    if min(len(set(t)) for t in labels) < 2:
        first = next(i for i, t in enumerate(labels) if len(set(t)) < 2)
        with pytest.raises(ValueError, match=f"task {first} has a single class '{labels[first][0]}'"):
            est._validate_tasks(X, y, groups)
        return
    tasks = est._validate_tasks(X, y, groups)
    for t, task in enumerate(labels):
        present = np.unique(np.array(task, dtype=object))
        assert tasks.classes[t].tolist() == present.tolist()
        np.testing.assert_array_equal(tasks[t][1], np.searchsorted(present, task))
    shared = PerTaskEstimator(LogisticRegression())._validate_tasks(X, y, groups)
    full = max(len(set(t)) for t in labels) == len(set(y))
    assert shared.label_space == ("shared" if full else "per_task")


@settings(max_examples=50, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=6),
    picks=st.lists(st.integers(min_value=0, max_value=5), max_size=8),
)
def test_taskset_subset_keeps_the_picked_tasks_in_order(sizes, picks):
    picks = [i % len(sizes) for i in picks]  # repeats and any order allowed
    starts = np.concatenate([[0], np.cumsum(sizes)])
    X = np.arange(2 * starts[-1], dtype=float).reshape(-1, 2)
    ts = TaskSet(X, X[:, 0].copy(), starts, np.array([f"t{i}" for i in range(len(sizes))]))
    sub = ts.subset(picks)
    assert sub.task_ids.tolist() == [f"t{i}" for i in picks]
    assert sub.sizes.tolist() == [sizes[i] for i in picks]
    for (X_sub, y_sub), i in zip(sub, picks):
        np.testing.assert_array_equal(X_sub, ts[i][0])
        np.testing.assert_array_equal(y_sub, ts[i][1])


@settings(max_examples=50, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=1, max_value=8), min_size=2, max_size=5),
    n_shots=st.integers(min_value=1, max_value=4),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_split_support_query_properties(counts, n_shots, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    if min(counts) < n_shots + 1:
        with pytest.raises(ValueError, match="needs at least"):
            _split_support_query(y, n_shots, seed)
        return
    s, q = _split_support_query(y, n_shots, seed)
    assert np.intersect1d(s, q).size == 0
    np.testing.assert_array_equal(np.bincount(y[s]), n_shots)
    assert len(s) + len(q) == len(y)


@settings(max_examples=25, deadline=None)
@given(n_features=st.integers(min_value=1, max_value=4), bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_nonfinite_always_refused(n_features, bad):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, n_features))
    X[5, 0] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        PerTaskEstimator(Ridge()).fit(X, rng.normal(size=12), groups=np.repeat([0, 1], 6))


def test_warning_when_routing_off_and_groups_dropped(clf_data):
    from sklearn.model_selection import GridSearchCV, GroupKFold

    search = GridSearchCV(PerTaskEstimator(LogisticRegression()), {"n_shots": [2]},
                          cv=GroupKFold(2))
    with pytest.warns(UserWarning, match="enable_metadata_routing=True"):
        search.fit(clf_data.X, clf_data.y, groups=clf_data.groups)


def test_no_warning_plain_fit(clf_data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PerTaskEstimator(LogisticRegression()).fit(clf_data.X, clf_data.y)
