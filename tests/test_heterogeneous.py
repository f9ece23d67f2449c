"""Tasks with different columns: alignment by name and the heterogeneous neural processes."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.datasets import load_heterogeneous_churn, make_heterogeneous_tasks
from sklearn_meta.model_based import (
    HeterogeneousNeuralProcessClassifier,
    HeterogeneousNeuralProcessRegressor,
    NeuralProcessRegressor,
)
from sklearn_meta.pipeline import make_pipeline
from sklearn_meta.tasks import as_task_arrays
from sklearn_meta.utils.estimator_checks import parametrize_with_checks

FAST = dict(max_iter=5, n_shots=2, embedding_dim=8, hidden_layer_sizes=(16,),
            random_state=0, device="cpu")

_BY_NAME = {
    "check_dataframe_column_names_consistency": (
        "columns are matched by name and any subset or new columns are accepted "
        "(the point of the learner), so reordered/new/missing names are no error"
    ),
}


@parametrize_with_checks(
    [HeterogeneousNeuralProcessClassifier(**FAST), HeterogeneousNeuralProcessRegressor(**FAST)],
    expected_failed_checks=lambda est: _BY_NAME,
)
def test_sklearn_checks(estimator, check):
    check(estimator)


_RESIDUAL = [
    HeterogeneousNeuralProcessClassifier(
        base_estimator=HistGradientBoostingClassifier(max_iter=5), **FAST),
    HeterogeneousNeuralProcessRegressor(
        base_estimator=HistGradientBoostingRegressor(max_iter=5), **FAST),
]


@parametrize_with_checks(_RESIDUAL, expected_failed_checks=lambda est: _BY_NAME)
def test_sklearn_checks_residual_mode(estimator, check):
    if getattr(check, "__name__", "") == "check_per_task_labels" and isinstance(
            estimator, HeterogeneousNeuralProcessClassifier):
        # the base model predicts shared classes: N-way tasks with their own labels are
        # refused on purpose, with the clear error
        with pytest.raises(ValueError, match="label set shared"):
            check(estimator)
        return
    check(estimator)


def _frame_tasks(columns_per_task, n=30, seed=0):
    rng = np.random.default_rng(seed)
    tasks = []
    for cols in columns_per_task:
        X = pd.DataFrame(rng.normal(size=(n, len(cols))), columns=cols)
        tasks.append((X, (X[cols[0]] > 0).to_numpy().astype(int)))
    return tasks


def _shuffled(tasks, seed=1):
    rng = np.random.default_rng(seed)
    return [(X[list(rng.permutation(X.columns))], y) for X, y in tasks]


@pytest.fixture(scope="module")
def hetero():
    return make_heterogeneous_tasks(n_tasks=40, n_samples_per_task=30, random_state=0)


# -- the container ---------------------------------------------------------------------
def test_union_of_columns_and_presence_mask():
    tasks = _frame_tasks([["b", "a"], ["c", "b"], ["a"]])
    X, y, groups, present = as_task_arrays(tasks, return_present=True)
    assert list(X.columns) == ["a", "b", "c"]
    np.testing.assert_array_equal(present, [[1, 1, 0], [0, 1, 1], [1, 0, 0]])
    # aligned by name, not position: task 0's "a" is its second column
    np.testing.assert_array_equal(X["a"].to_numpy()[:30], tasks[0][0]["a"].to_numpy())
    assert X["c"].iloc[:30].isna().all() and X["a"].iloc[30:60].isna().all()


def test_absent_and_missing_are_distinguishable():
    tasks = _frame_tasks([["a", "b"], ["a", "b"]])
    tasks[1][0]["b"] = np.nan  # present, every value missing
    tasks.append(_frame_tasks([["a"]], seed=3)[0])  # "b" absent
    _, _, _, present = as_task_arrays(tasks, return_present=True)
    np.testing.assert_array_equal(present[:, 1], [True, True, False])
    # the learner sees the difference too: a missing value is not an absent column
    clf = HeterogeneousNeuralProcessClassifier(**FAST).fit(tasks)
    X_q = pd.DataFrame({"a": [0.5, -1.0], "b": [np.nan, np.nan]})
    clf.adapt(*tasks[0])
    with_missing = clf.predict_proba(X_q)
    without = clf.predict_proba(X_q[["a"]])
    assert np.all(np.isfinite(with_missing))
    assert not np.allclose(with_missing, without)


def test_shuffled_column_order_gives_the_same_model():
    tasks = _frame_tasks([["a", "b", "c"], ["c", "b", "d"], ["d", "a"], ["a", "b", "c", "d"]])
    shuffled = _shuffled(tasks)
    X_q = tasks[3][0]
    pooled = PooledEstimator(HistGradientBoostingClassifier(max_iter=10))
    p1 = pooled.fit(tasks).predict_proba(X_q)
    p2 = PooledEstimator(HistGradientBoostingClassifier(max_iter=10)).fit(shuffled)
    np.testing.assert_array_equal(p1, p2.predict_proba(X_q[list(X_q.columns[::-1])]))
    h1 = HeterogeneousNeuralProcessClassifier(**FAST).fit(tasks)
    h2 = HeterogeneousNeuralProcessClassifier(**FAST).fit(shuffled)
    a = h1.adapt(*tasks[1]).predict_proba(X_q)
    b = h2.adapt(*_shuffled([tasks[1]], seed=5)[0]).predict_proba(X_q[["d", "c", "a", "b"]])
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_flat_form_with_block_missing_columns_means_the_same(hetero):
    est = HeterogeneousNeuralProcessClassifier(**FAST)
    a = est.fit(hetero.tasks[:30])
    X, y, g = as_task_arrays(hetero.tasks[:30])
    b = HeterogeneousNeuralProcessClassifier(**FAST).fit(X, y, groups=g)
    X_s, y_s = hetero.tasks[35]
    np.testing.assert_allclose(a.adapt(X_s[:10], y_s[:10]).predict_proba(X_s[10:]),
                               b.adapt(X_s[:10], y_s[:10]).predict_proba(X_s[10:]))
    # numpy flat form too: the absent columns are the all-NaN blocks of each task
    with pytest.raises(ValueError, match=r"no column\(s\).*HeterogeneousNeuralProcess"):
        PerTaskEstimator(LogisticRegression()).fit(X.to_numpy(), y, groups=g)


def test_nan_aware_learners_work_on_aligned_tasks(hetero):
    pooled = PooledEstimator(HistGradientBoostingClassifier(max_iter=20)).fit(hetero.tasks)
    X_new, _ = hetero.tasks[0]
    # any subset of the known columns, in any order
    assert pooled.predict(X_new[list(X_new.columns[::-1])][:5]).shape == (5,)
    assert pooled.predict(X_new.iloc[:5, :2]).shape == (5,)


def test_clear_errors_for_learners_without_nan_support(hetero):
    with pytest.raises(ValueError, match=r"task 0 has no column\(s\) \[") as exc:
        PerTaskEstimator(LogisticRegression()).fit(hetero.tasks)
    assert "HeterogeneousNeuralProcessClassifier" in str(exc.value)
    assert "f" in str(exc.value)  # names the columns
    with pytest.raises(ValueError, match="HeterogeneousNeuralProcessRegressor"):
        NeuralProcessRegressor(max_iter=1).fit(
            [(X, y.astype(float)) for X, y in hetero.tasks[:5]])
    # an imputer in front makes it work
    make_pipeline(SimpleImputer(), PerTaskEstimator(LogisticRegression())).fit(hetero.tasks)
    # adapt/predict of a learner fitted on one schema: scikit-learn's error names the
    # missing columns, and the message says what to use
    tasks = _frame_tasks([["a", "b", "c"], ["a", "b", "c"]])
    per = PerTaskEstimator(LogisticRegression()).fit(tasks)
    with pytest.raises(ValueError, match=r"(?s)missing:\n- a\n- c.*Heterogeneous"):
        per.adapt(tasks[0][0][["b"]], tasks[0][1])


def test_new_columns_at_adapt(hetero):
    tasks = _frame_tasks([["a", "b"], ["b", "c"], ["a", "c"]])
    pooled = PooledEstimator(HistGradientBoostingClassifier(max_iter=10)).fit(tasks)
    X_q = tasks[0][0].assign(z=1.0)
    with pytest.warns(UserWarning, match=r"column\(s\) \['z'\] not seen in fit.*ignores"):
        got = pooled.predict_proba(X_q)
    np.testing.assert_array_equal(got, pooled.predict_proba(tasks[0][0]))
    # the heterogeneous learner uses a new column: it changes the predictions
    clf = HeterogeneousNeuralProcessClassifier(**FAST).fit(tasks)
    X_s, y_s = tasks[0]
    z = pd.Series(np.where(y_s == 1, 2.0, -2.0), index=X_s.index)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p_with = clf.adapt(X_s.assign(z=z), y_s).predict_proba(X_s.assign(z=z))
    p_without = clf.adapt(X_s, y_s).predict_proba(X_s)
    assert not np.allclose(p_with, p_without)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_regressor_reads_any_columns(hetero):
    data = make_heterogeneous_tasks(n_tasks=12, task_type="regression", random_state=1)
    reg = HeterogeneousNeuralProcessRegressor(**FAST).fit(data.tasks[:10])
    X, y = data.tasks[10]
    mean, std = reg.adapt(X[:5], y[:5]).predict(X[5:], return_std=True)
    assert mean.shape == std.shape == (len(y) - 5,) and np.all(std > 0)
    # an array in the columns of fit works as well (absent: all-NaN support columns)
    Xa = X.reindex(columns=reg.feature_names_in_).to_numpy()
    np.testing.assert_allclose(reg.adapt(Xa[:5], y[:5]).predict(Xa[5:]), mean, rtol=1e-6)


def test_heterogeneous_churn_loader():
    data = load_heterogeneous_churn(n_columns=(5, 10), random_state=0)
    sizes = data.observed.sum(axis=1)
    assert len(data.tasks) == 51 and sizes.min() >= 5 and sizes.max() <= 10
    X0, y0 = data.tasks[0]
    assert X0.shape[1] == sizes[0] and set(X0.columns) <= set(data.feature_names)
    assert data.X.shape == (5000, 20)
    with pytest.raises(ValueError, match="n_columns"):
        load_heterogeneous_churn(n_columns=(5, 40))


def test_meta_training_beats_per_task_pooled_and_untrained():
    """Small and fast; fails when meta-training is skipped (max_iter=0)."""
    data = make_heterogeneous_tasks(n_tasks=130, n_samples_per_task=30, random_state=0)
    train, test = data.tasks[:100], data.tasks[100:]
    # the network alone (base_estimator="auto" is tested below)
    est = HeterogeneousNeuralProcessClassifier(n_shots=5, max_iter=500, tol=None,
                                               meta_lr=2e-3, random_state=0, device="cpu",
                                               base_estimator=None)
    est.fit(train)
    untrained = HeterogeneousNeuralProcessClassifier(max_iter=0, random_state=0,
                                                     base_estimator=None).fit(train)
    per = make_pipeline(SimpleImputer(), StandardScaler(),
                        PerTaskEstimator(LogisticRegression())).fit(train)
    pooled = PooledEstimator(HistGradientBoostingClassifier(max_iter=50)).fit(train)
    cols = pooled.feature_names_in_
    rng = np.random.default_rng(0)
    acc = {"het": [], "untrained": [], "per": [], "pooled": []}
    for X, y in test:  # support: 10 random rows, as a user has them
        idx = rng.permutation(len(y))
        s, q = idx[:10], idx[10:]
        Xs, Xq = X.iloc[s], X.iloc[q]
        acc["het"].append(np.mean(est.adapt(Xs, y[s]).predict(Xq) == y[q]))
        acc["untrained"].append(np.mean(untrained.adapt(Xs, y[s]).predict(Xq) == y[q]))
        acc["pooled"].append(np.mean(pooled.predict(Xq.reindex(columns=cols)) == y[q]))
        if len(np.unique(y[s])) < 2:
            acc["per"].append(np.mean(y[q] == y[s][0]))
        else:
            per.adapt(Xs.reindex(columns=cols), y[s])
            acc["per"].append(np.mean(per.predict(Xq.reindex(columns=cols)) == y[q]))
    mean = {k: float(np.mean(v)) for k, v in acc.items()}
    assert mean["het"] > mean["per"] + 0.05, mean
    assert mean["het"] > mean["pooled"] + 0.1, mean
    assert mean["het"] > mean["untrained"] + 0.1, mean


def test_columns_never_seen_in_training_are_used():
    data = make_heterogeneous_tasks(n_tasks=40, n_samples_per_task=30, random_state=2)
    train = [(X.drop(columns=["f10", "f11"], errors="ignore"), y) for X, y in data.tasks[:30]]
    clf = HeterogeneousNeuralProcessClassifier(**FAST).fit(train)
    assert "f10" not in clf.feature_names_in_
    X, y = data.tasks[35]
    X = X.assign(f10=np.where(y == 1, 1.0, -1.0), f11=0.0)
    assert clf.adapt(X[:10], y[:10]).predict_proba(X[10:]).shape == (20, 2)


def test_residual_mode_on_churn_is_not_worse_than_its_base_model():
    """base_estimator: the network corrects a pooled union-of-columns HGB; on churn made
    heterogeneous (where the pooled trees are strong) it keeps their accuracy, while the
    network alone, trained as briefly, falls short. Fails if the offsets are dropped."""
    from sklearn.ensemble import HistGradientBoostingClassifier as HGB

    data = load_heterogeneous_churn(random_state=0)
    train, test = data.tasks[:38], data.tasks[38:]
    kw = dict(n_shots=5, max_iter=60, tol=None, meta_lr=2e-3, random_state=0,
              device="cpu")
    res = HeterogeneousNeuralProcessClassifier(
        base_estimator=HGB(max_iter=50), **kw).fit(train)
    assert res.base_estimator_.n_features_in_ == len(res.feature_names_in_)
    alone = HeterogeneousNeuralProcessClassifier(base_estimator=None, **kw).fit(train)
    pooled = PooledEstimator(HGB(max_iter=50)).fit(train)
    cols = pooled.feature_names_in_
    rng = np.random.default_rng(0)
    acc = {"res": [], "alone": [], "pooled": []}
    for X, y in test:
        for _ in range(2):
            idx = rng.permutation(len(y))
            s, q = idx[:5], idx[5:]
            acc["res"].append(np.mean(res.adapt(X.iloc[s], y[s]).predict(X.iloc[q]) == y[q]))
            acc["alone"].append(
                np.mean(alone.adapt(X.iloc[s], y[s]).predict(X.iloc[q]) == y[q]))
            acc["pooled"].append(
                np.mean(pooled.predict(X.iloc[q].reindex(columns=cols)) == y[q]))
    mean = {k: float(np.mean(v)) for k, v in acc.items()}
    assert mean["res"] >= mean["pooled"] - 0.01, mean
    assert mean["res"] > mean["alone"] + 0.01, mean
    # the base model reads the columns of fit (NaN where the query lacks one), the
    # network also the new ones
    X, y = test[0]
    Xn = X.drop(columns=X.columns[:2]).assign(brand_new=1.0)
    proba = res.adapt(Xn[:5], y[:5]).predict_proba(Xn[5:])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_residual_mode_needs_shared_labels_and_regressor_adds_the_base(hetero):
    tasks = _frame_tasks([["a", "b"], ["b", "c"], ["a", "c"]])
    clf = HeterogeneousNeuralProcessClassifier(
        base_estimator=HistGradientBoostingClassifier(max_iter=5), label_space="per_task",
        **FAST)
    with pytest.raises(ValueError, match="label set shared"):
        clf.fit(tasks)
    reg_tasks = [(X, X["b"].fillna(0).to_numpy() * 3.0 + 10.0) if "b" in X else
                 (X, np.full(len(X), 10.0)) for X, _ in tasks]
    base = HistGradientBoostingRegressor(max_iter=20)
    reg = HeterogeneousNeuralProcessRegressor(base_estimator=base, **FAST).fit(reg_tasks)
    X, y = reg_tasks[0]
    mean = reg.adapt(X[:5], y[:5]).predict(X[5:])
    from_base = reg.base_estimator_.predict(
        X[5:].reindex(columns=reg.feature_names_in_).to_numpy())
    # the network predicts a residual (standardised: small next to the base's offset)
    assert np.corrcoef(mean, from_base)[0, 1] > 0.9
    plain = HeterogeneousNeuralProcessRegressor(**FAST).fit(reg_tasks)
    assert np.corrcoef(plain.adapt(X[:5], y[:5]).predict(X[5:]), from_base)[0, 1] < 0.9


def test_partial_fit_streams_tasks_with_different_columns(hetero):
    stream = [hetero.tasks[:10], hetero.tasks[10:20], hetero.tasks[20:30]]
    est = HeterogeneousNeuralProcessClassifier(replay_buffer_size=5, **FAST)
    est.partial_fit(stream[0])
    first = est.feature_names_in_
    X, y = hetero.tasks[35]
    before = est.adapt(X[:5], y[:5]).predict_proba(X[5:])
    # a later batch lacks some columns and brings a new one: by name, with a warning
    later = [(Xi.drop(columns=Xi.columns[:1]).assign(extra=0.0), yi) for Xi, yi in stream[1]]
    with pytest.warns(UserWarning, match="extra"):
        est.partial_fit(later)
    est.partial_fit(stream[2])
    assert est.n_iter_ == 3 * FAST["max_iter"] and len(est.loss_curve_) == est.n_iter_
    assert len(est.replay_buffer_) == 5 and est.replay_buffer_.n_seen == 30
    np.testing.assert_array_equal(est.feature_names_in_, first)
    assert not np.allclose(est.adapt(X[:5], y[:5]).predict_proba(X[5:]), before)
    again = HeterogeneousNeuralProcessClassifier(replay_buffer_size=5, **FAST)
    again.partial_fit(stream[0])
    with pytest.warns(UserWarning, match="extra"):
        again.partial_fit(later)
    again.partial_fit(stream[2])
    np.testing.assert_allclose(again.adapt(X[:5], y[:5]).predict_proba(X[5:]),
                               est.adapt(X[:5], y[:5]).predict_proba(X[5:]))
    reg = HeterogeneousNeuralProcessRegressor(replay_buffer_size=3, **FAST)
    reg_stream = [[(Xi, yi.astype(float)) for Xi, yi in b] for b in stream[:2]]
    reg.partial_fit(reg_stream[0]).partial_fit(reg_stream[1])
    assert reg.n_iter_ == 2 * FAST["max_iter"]


def test_bad_input():
    tasks = _frame_tasks([["a", "b"], ["b", "c"]])
    clf = HeterogeneousNeuralProcessClassifier(**FAST).fit(tasks)
    bad = tasks[0][0].copy()
    bad.columns = ["a", "a"]
    with pytest.raises(ValueError, match="duplicated column"):
        clf.adapt(bad, tasks[0][1])
    with pytest.raises(ValueError, match="rows"):
        clf.adapt(tasks[0][0], tasks[0][1][:3])
    with pytest.raises(ValueError, match="duplicated column"):
        HeterogeneousNeuralProcessClassifier(**FAST).fit([(bad, tasks[0][1])] + tasks)
    reg = HeterogeneousNeuralProcessRegressor(**FAST).fit(
        [(X, y.astype(float)) for X, y in tasks])
    with pytest.raises(ValueError, match="y_support contains 1 NaN"):
        reg.adapt(tasks[0][0][:3], [0.0, np.nan, 1.0])


def test_main_job_reads_a_csv_with_block_missing_columns(tmp_path):
    from sklearn_meta.__main__ import main

    data = make_heterogeneous_tasks(n_tasks=16, random_state=0)
    frame = data.X.copy()
    frame["task"], frame["y"] = data.groups, data.y
    path = tmp_path / "tasks.csv"
    frame.to_csv(path, index=False)
    assert frame.isna().any().any()  # whole columns missing in some tasks
    code = main(["benchmark", "--data", str(path), "--target", "y", "--group", "task",
                 "--learners", "heterogeneous-np-plain", "pooled", "--shots", "2",
                 "--episodes", "3", "--output", str(tmp_path / "out"), "--quiet"])
    assert code in (0, None)
    assert "heterogeneous-np-plain" in (tmp_path / "out" / "results.csv").read_text()


def test_main_job_keeps_absent_columns_for_the_heterogeneous_learner():
    """The CLI imputes for the other learners, not for this one (absent stays absent)."""
    from sklearn_meta.cli._benchmark import _make_model
    from sklearn_meta.cli._data import Dataset, make_preprocessor

    data = make_heterogeneous_tasks(n_tasks=12, random_state=0)
    ds = Dataset("t", data.X.to_numpy(), data.y, np.asarray(data.groups), "classification",
                 list(data.X.columns))
    pre = make_preprocessor(ds)
    het = _make_model(pre, HeterogeneousNeuralProcessClassifier(**FAST))
    other = _make_model(pre, PooledEstimator(LogisticRegression()))
    het.fit(ds.X, ds.y, groups=ds.groups)
    other.fit(ds.X, ds.y, groups=ds.groups)
    Z = het[0].transform(ds.X)
    np.testing.assert_array_equal(np.isnan(Z), np.isnan(ds.X))
    assert not np.isnan(other[0].transform(ds.X)).any()
    # the data has columns a task lacks (all-NaN blocks): the learner reads them as absent
    tasks_present = ~np.isnan(ds.X[ds.groups == ds.groups[0]]).all(axis=0)
    assert not tasks_present.all()


# -- base_estimator="auto" ----------------------------------------------------------------
def _global_rule_tasks(task_type, n_tasks=20, n=30, seed=0):
    """Tasks with different columns whose target is ONE nonlinear rule of two columns
    every task has (c0, c1): the pooled trees learn it from all rows, a network from a
    few rows per task hardly does."""
    rng = np.random.default_rng(seed)
    tasks = []
    for _ in range(n_tasks):
        extra = [f"c{i}" for i in rng.choice(np.arange(2, 6), rng.integers(0, 4),
                                              replace=False)]
        X = pd.DataFrame(rng.normal(size=(n, 2 + len(extra))), columns=["c0", "c1"] + extra)
        if task_type == "classification":
            y = ((X.c0 * X.c1) > 0).to_numpy().astype(int)
        else:
            y = (3 * np.sign(X.c0 * X.c1) + 0.1 * rng.normal(size=n)).to_numpy()
        tasks.append((X, y))
    return tasks


AUTO = dict(max_iter=30, n_shots=5, embedding_dim=8, hidden_layer_sizes=(16,), tol=None,
            meta_lr=2e-3, random_state=0, device="cpu")


@pytest.mark.parametrize("Est, task_type", [
    (HeterogeneousNeuralProcessClassifier, "classification"),
    (HeterogeneousNeuralProcessRegressor, "regression"),
])
def test_auto_picks_the_residual_variant_when_the_pooled_model_is_strong(Est, task_type):
    from sklearn_meta.utils._seeds import seed_of

    tasks = _global_rule_tasks(task_type)
    est = Est(**AUTO).fit(tasks)
    sel = est.base_selection_
    assert sel["chosen"] == "residual", sel
    assert sel["residual"] > sel["plain"] + sel["se"], sel
    assert sel["n_tasks"] == 4  # 20% of the 20 training tasks, held out
    hgb = (HistGradientBoostingClassifier if task_type == "classification"
           else HistGradientBoostingRegressor)
    assert isinstance(est.base_estimator_, hgb)
    assert est.base_estimator_.n_features_in_ == len(est.feature_names_in_)
    # the chosen variant is then meta-trained on ALL tasks: the same model as an
    # explicit fit of it
    explicit = Est(**{**AUTO, "base_estimator": hgb(random_state=seed_of(0))}).fit(tasks)
    assert explicit.base_selection_ is None
    X, y = _global_rule_tasks(task_type, n_tasks=1, seed=9)[0]
    a = est.adapt(X[:5], y[:5]).predict(X[5:])
    np.testing.assert_allclose(a, explicit.adapt(X[:5], y[:5]).predict(X[5:]))


@pytest.mark.parametrize("Est, task_type", [
    (HeterogeneousNeuralProcessClassifier, "classification"),
    (HeterogeneousNeuralProcessRegressor, "regression"),
])
def test_auto_picks_the_plain_network_when_the_pooled_model_is_weak(Est, task_type):
    # the synthetic family: which column drives the target differs from task to task,
    # so the pooled model is near chance and its predictions are noise to the network
    # (the network needs some meta-training to learn that: 40 tasks, 60 iterations)
    data = make_heterogeneous_tasks(n_tasks=40, n_samples_per_task=30,
                                    task_type=task_type, random_state=0)
    kw = dict(AUTO, max_iter=60, embedding_dim=16, hidden_layer_sizes=(32,))
    est = Est(**kw).fit(data.tasks)
    sel = est.base_selection_
    assert sel["chosen"] == "plain" and sel["n_tasks"] == 8, sel
    assert sel["plain"] > sel["residual"], sel
    assert est.base_estimator_ is None
    plain = Est(**{**kw, "base_estimator": None}).fit(data.tasks)
    X, y = data.tasks[0]
    np.testing.assert_allclose(est.adapt(X[:5], y[:5]).predict(X[5:]),
                               plain.adapt(X[:5], y[:5]).predict(X[5:]))


def test_auto_without_enough_tasks_or_shared_labels_is_the_plain_network():
    few = _global_rule_tasks("classification", n_tasks=4)
    est = HeterogeneousNeuralProcessClassifier(**FAST).fit(few)
    assert est.base_selection_ is None and est.base_estimator_ is None
    per_task = HeterogeneousNeuralProcessClassifier(label_space="per_task", **FAST).fit(
        _global_rule_tasks("classification"))
    assert per_task.base_selection_ is None and per_task.base_estimator_ is None
    # a continued fit keeps the choice; a later partial_fit batch too
    tasks = _global_rule_tasks("classification")
    stream = HeterogeneousNeuralProcessClassifier(**AUTO).partial_fit(tasks[:10])
    first = stream.base_selection_
    assert first is not None and first["n_tasks"] == 2
    stream.partial_fit(tasks[10:])
    assert stream.base_selection_ is first


def test_cli_entries_default_to_auto_and_offer_both_variants():
    from sklearn_meta.cli._learners import _BY_NAME, make_learner

    for task_type in ("classification", "regression"):
        auto = make_learner(_BY_NAME["heterogeneous-np"], task_type)
        plain = make_learner(_BY_NAME["heterogeneous-np-plain"], task_type)
        res = make_learner(_BY_NAME["heterogeneous-np-residual"], task_type)
        assert auto.base_estimator == "auto" and plain.base_estimator is None
        assert type(res.base_estimator).__name__.startswith("HistGradientBoosting")


def test_interrupt_while_auto_chooses_keeps_a_usable_trial(monkeypatch):
    import torch

    tasks = _global_rule_tasks("classification")
    step, calls = torch.optim.Adam.step, []

    def interrupted_step(self, *args, **kwargs):  # Ctrl-C in the first trial fit
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return step(self, *args, **kwargs)

    est = HeterogeneousNeuralProcessClassifier(**AUTO)
    with monkeypatch.context() as m:
        m.setattr(torch.optim.Adam, "step", interrupted_step)
        with pytest.warns(UserWarning, match="interrupted while base_estimator='auto'"):
            est.fit(tasks)
    assert len(calls) == 4 and est.n_iter_ == 3  # nothing trained after the interrupt
    assert est.base_selection_ is None and est.base_estimator_ is None
    X, y = tasks[0]
    assert np.isfinite(est.adapt(X[:5], y[:5]).predict_proba(X[5:])).all()


def test_residual_mode_is_shared_with_pickle_only():
    import pickle

    from sklearn_meta.utils.sharing import get_torch_state

    est = HeterogeneousNeuralProcessClassifier(**AUTO).fit(_global_rule_tasks("classification"))
    assert est.base_selection_["chosen"] == "residual"
    with pytest.raises(TypeError, match="base_estimator_.*pickle"):
        get_torch_state(est)
    X, y = _global_rule_tasks("classification", n_tasks=1, seed=3)[0]
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.adapt(X[:5], y[:5]).predict_proba(X[5:]),
                               est.adapt(X[:5], y[:5]).predict_proba(X[5:]))
