"""Few-shot evaluation on uneven tasks: skipping, support protocols, task-level
statistics and paired differences (issue 11)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate

from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.datasets import make_classification_tasks, make_regression_tasks
from sklearn_meta.model_selection import (
    _task_bootstrap,
    episodic_scorer,
    evaluate_few_shot,
    sample_episode,
    task_train_test_split,
)
from sklearn_meta.tasks import _split_by_groups, _split_support_query


def _uneven_binary(seed=0):
    """12 sites: 8 of 40 rows, 2 tiny (3 rows), 2 of a single class."""
    rng = np.random.default_rng(seed)
    sizes = [40] * 8 + [3, 3, 25, 25]
    X = rng.normal(size=(sum(sizes), 4))
    shift = np.repeat(rng.normal(size=len(sizes)), sizes)
    y = (X[:, 0] + shift + 0.3 * rng.normal(size=len(X)) > 0).astype(int)
    groups = np.repeat([f"site {i}" for i in range(len(sizes))], sizes)
    y[groups == "site 10"] = 1
    y[groups == "site 11"] = 0
    return X, y, groups


# --- small and one-class tasks in evaluation ---------------------------------------------

def test_evaluate_skips_small_tasks_and_counts_them():
    X, y, g = _uneven_binary()
    train = np.isin(g, [f"site {i}" for i in range(5)])
    ests = {"per-task": PerTaskEstimator(LogisticRegression()),
            "pooled": PooledEstimator(LogisticRegression())}
    res = evaluate_few_shot(ests, (X[train], y[train], g[train]),
                            (X[~train], y[~train], g[~train]), n_shots=[1, 5],
                            n_episodes=20, scoring="roc_auc", random_state=0)
    assert res["support"].eq("random").all()
    five = res[res.n_shots == 5].iloc[0]
    # 7 held-out tasks; the two 3-row tasks cannot give 5 support + 1 query rows
    assert five["n_tasks_skipped"] == 2
    # the one-class tasks have no ROC AUC: left out, so 3 tasks remain
    # 20 episodes over the 5 usable tasks: 4 each, 12 on the 3 scorable ones
    assert five["n_tasks"] == 3 and five["n_episodes"] == 12
    assert np.isfinite(res["mean"]).all() and np.isfinite(res["ci_low"]).all()
    one = res[res.n_shots == 1].iloc[0]
    # 1 shot: every task gives episodes; the 3-row tasks' 2-row query sets often have
    # one class (no ROC AUC), the one-class tasks never have one
    assert one["n_tasks_skipped"] == 0 and 3 <= one["n_tasks"] <= 5


def test_score_and_scorer_skip_small_tasks_with_one_warning():
    X, y, g = _uneven_binary()
    est = PerTaskEstimator(LogisticRegression(), n_shots=5, random_state=0).fit(
        X, y, groups=g)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        value = est.score(X, y, groups=g)
    assert np.isfinite(value)
    msgs = [str(x.message) for x in w if "rests on" in str(x.message)]
    assert len(msgs) == 1 and "rests on 10 of 12 tasks" in msgs[0]
    assert "'site 8'" in msgs[0] and "'site 9'" in msgs[0]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        auc = episodic_scorer("roc_auc")(est, X, y, groups=g)
    msgs = [str(x.message) for x in w if "rests on" in str(x.message)]
    assert np.isfinite(auc) and len(msgs) == 1 and "'roc_auc'" in msgs[0]
    assert "rests on 8 of 12 tasks" in msgs[0] and "one class" in msgs[0]


def test_no_scorable_task_is_a_clear_error():
    X, y, g = _uneven_binary()
    est = PerTaskEstimator(LogisticRegression(), n_shots=45).fit(X, y, groups=g)
    with pytest.raises(ValueError, match="no task can be scored.*n_shots=45"):
        est.score(X, y, groups=g)


@pytest.mark.parametrize("tool", ["grid", "cv"])
def test_model_selection_tools_get_finite_scores_on_uneven_tasks(tool):
    X, y, g = _uneven_binary()
    est = PooledEstimator(LogisticRegression(), refit=True, n_shots=5, random_state=0)
    scorer = episodic_scorer("roc_auc")
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if tool == "grid":
            search = GridSearchCV(est, {"estimator__C": [0.1, 1.0]}, cv=GroupKFold(3),
                                  scoring=scorer, error_score="raise")
            search.fit(X, y, groups=g)
            scores = search.cv_results_["mean_test_score"]
        else:
            scores = cross_validate(est, X, y, params={"groups": g}, cv=GroupKFold(4),
                                    scoring=scorer, error_score="raise")["test_score"]
    assert np.isfinite(scores).all()


def test_errors_name_task_and_class_label():
    y = np.array(["spam"] * 6 + ["ham"] * 2)
    with pytest.raises(ValueError, match=r"task 'site 7' has 2 row\(s\) of class 'ham'"):
        _split_support_query(y, 3, 0, task_id="site 7")


def test_task_ids_sort_naturally():
    ids, _, _ = _split_by_groups(np.array(["site 10", "site 2", "site 1", "site 2"]))
    assert ids.tolist() == ["site 1", "site 2", "site 10"]
    ids, order, starts = _split_by_groups(np.array([10, 2, 2]))
    assert ids.tolist() == [2, 10] and order.tolist() == [1, 2, 0]


# --- support protocols -------------------------------------------------------------------

def test_support_random_draws_k_rows_whatever_their_classes():
    y = np.array([0] * 30 + [1] * 3)
    seen = set()
    for seed in range(40):
        s, q = _split_support_query(y, 4, seed, support="random")
        assert len(s) == 4 and len(q) == 29 and not set(s) & set(q)
        seen.add(int(y[s].sum()))
    assert 0 in seen  # random draws often miss the rare class: not 4 per class
    s, q = _split_support_query(y, 2, 0, support="per_class")
    assert np.bincount(y[s]).tolist() == [2, 2]
    with pytest.raises(ValueError, match="support"):
        _split_support_query(y, 2, 0, support="stratified")


def test_support_defaults_and_overrides():
    data = make_classification_tasks(n_tasks=8, random_state=0)
    est = {"pt": PerTaskEstimator(LogisticRegression())}
    shared = evaluate_few_shot(est, data.tasks[:5], data.tasks[5:], n_shots=[2],
                               n_episodes=6, random_state=0)
    assert shared["support"][0] == "random"
    per_class = evaluate_few_shot(est, data.tasks[:5], data.tasks[5:], n_shots=[2],
                                  n_episodes=6, support="per_class", random_state=0)
    assert per_class["support"][0] == "per_class"
    assert per_class["mean"][0] != shared["mean"][0]
    nway = evaluate_few_shot(est, data.tasks[:5], data.tasks[5:], n_shots=[2], n_way=2,
                             n_episodes=6, random_state=0)
    assert nway["support"][0] == "per_class"
    fitted = PerTaskEstimator(LogisticRegression(), n_shots=3, random_state=0).fit(data.tasks)
    assert fitted.score(data.X, data.y, groups=data.groups, support="per_class") != \
        fitted.score(data.X, data.y, groups=data.groups, support="random")
    scorer = episodic_scorer("accuracy", support="per_class")
    assert scorer(fitted, data.X, data.y, groups=data.groups) == pytest.approx(
        fitted.score(data.X, data.y, groups=data.groups, support="per_class"))


# --- statistics --------------------------------------------------------------------------

def test_task_bootstrap_ci_reflects_tasks_not_episodes():
    rng = np.random.default_rng(0)
    task_means = rng.normal(size=6)
    widths = []
    for n_per_task in (5, 200):
        tasks = np.repeat(np.arange(6), n_per_task)
        values = task_means[tasks] + 0.1 * rng.normal(size=tasks.size)
        _, lo, hi, n_t, n_e = _task_bootstrap(values, np.ones(tasks.size), tasks, 6, 0)
        assert n_t == 6 and n_e == tasks.size
        widths.append(hi - lo)
    # 40x the episodes on the same 6 tasks: the interval hardly narrows (a t-interval
    # over episodes would shrink about 6x)
    assert widths[1] > 0.6 * widths[0]


def test_paired_difference_to_best_baseline():
    data = make_classification_tasks(n_tasks=14, n_features=6, random_state=1)
    ests = {"per-task": PerTaskEstimator(LogisticRegression()),
            "pooled": PooledEstimator(LogisticRegression()),
            "pooled+refit": PooledEstimator(LogisticRegression(), refit=True)}
    res = evaluate_few_shot(ests, data.tasks[:8], data.tasks[8:], n_shots=[5],
                            n_episodes=30, random_state=0)
    ref = res.loc[res["mean"].idxmax(), "estimator"]
    assert (res["reference"] == ref).all()
    scores = res.attrs["scores"]
    tasks, weights, _, _ = res.attrs["episodes"][5]
    for _, r in res[res.estimator != ref].iterrows():
        d = scores[(r.estimator, 5)] - scores[(ref, 5)]
        assert r["diff"] == pytest.approx(np.average(d, weights=weights))
        assert r["diff_low"] <= r["diff"] <= r["diff_high"] <= 1e-12
    assert np.isnan(res.loc[res.estimator == ref, "diff"]).all()
    named = evaluate_few_shot(ests, data.tasks[:8], data.tasks[8:], n_shots=[5],
                              n_episodes=30, reference="per-task", random_state=0)
    assert (named["reference"] == "per-task").all()
    with pytest.raises(ValueError, match="reference='nope'"):
        evaluate_few_shot(ests, data.tasks[:8], data.tasks[8:], reference="nope")


def test_regression_default_metric_is_pooled_mse():
    data = make_regression_tasks(n_tasks=8, random_state=0)
    res = evaluate_few_shot({"ridge": PerTaskEstimator(Ridge())}, data.tasks[:5],
                            data.tasks[5:], n_shots=[3], n_episodes=9, n_queries=2,
                            random_state=0)
    assert res["scoring"][0] == "neg_mean_squared_error"
    assert res["mean"][0] < 0 and res["n_tasks"][0] == 3


# --- API ---------------------------------------------------------------------------------

def test_task_train_test_split_keeps_pandas():
    data = make_classification_tasks(n_tasks=6, random_state=0)
    X = pd.DataFrame(data.X, columns=[f"f{i}" for i in range(data.X.shape[1])])
    y = pd.Series(data.y, name="label")
    g = pd.Series(data.groups, name="site")
    Xtr, Xte, ytr, yte, gtr, gte = task_train_test_split(X, y, g, test_size=2, random_state=0)
    assert isinstance(Xtr, pd.DataFrame) and isinstance(ytr, pd.Series)
    assert isinstance(gte, pd.Series) and ytr.name == "label" and gte.name == "site"
    assert ytr.index.equals(Xtr.index)


def test_score_without_groups_after_fit_with_groups_warns():
    data = make_classification_tasks(n_tasks=4, random_state=0)
    est = PerTaskEstimator(LogisticRegression(), random_state=0).fit(
        data.X, data.y, groups=data.groups)
    with pytest.warns(UserWarning, match="scored as ONE task.*fitted on 4 tasks"):
        est.score(data.X, data.y)
    one = PerTaskEstimator(LogisticRegression(), random_state=0).fit(data.X, data.y)
    # fitted on one task: nothing to say once routing is on (scikit-learn's tools would
    # pass the groups score requests); with routing off a model-selection caller cannot
    # be told apart from a direct call, so the routing hint is given (tests/test_integration)
    with sklearn.config_context(enable_metadata_routing=True):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            one.score(data.X, data.y)


def _one_task_warnings(record):
    return [str(w.message) for w in record if "scored as ONE task" in str(w.message)]


def test_routing_warning_once_per_call_naming_the_scorer_passed():
    """Routing off: every scorer call gets no groups. Each call warns once, and the
    warning names the scorer the user passed, not a hard-coded 'accuracy'."""
    data = make_classification_tasks(n_tasks=9, n_samples_per_task=30, random_state=0)
    est = PerTaskEstimator(LogisticRegression(), random_state=0)
    scoring = {"auc": episodic_scorer("roc_auc"),
               "bacc": episodic_scorer("balanced_accuracy", n_shots=3)}
    with sklearn.config_context(enable_metadata_routing=False):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            cross_validate(est, data.X, data.y, groups=data.groups, cv=GroupKFold(3),
                           scoring=scoring)
        messages = _one_task_warnings(record)
        assert len(messages) == 6  # 3 folds x 2 scorers: one per call
        auc = [m for m in messages if m.startswith("episodic_scorer('roc_auc') got no groups")]
        bacc = [m for m in messages if m.startswith(
            "episodic_scorer('balanced_accuracy', n_shots=3) got no groups")]
        assert len(auc) == len(bacc) == 3
        assert all("n_shots=3 rows" in m for m in bacc)
        assert not any("'accuracy'" in m for m in messages)
        assert all("enable_metadata_routing=True" in m for m in messages)
        # the estimator's own score: one per fold, named as such
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            cross_validate(est, data.X, data.y, groups=data.groups, cv=GroupKFold(3))
        messages = _one_task_warnings(record)
        assert len(messages) == 3
        assert all(m.startswith("PerTaskEstimator.score got no groups") for m in messages)


def test_episodic_scorer_without_groups_after_fit_with_groups_warns():
    data = make_classification_tasks(n_tasks=4, random_state=0)
    est = PerTaskEstimator(LogisticRegression(), random_state=0).fit(
        data.X, data.y, groups=data.groups)
    scorer = episodic_scorer("roc_auc", n_shots=4)
    with sklearn.config_context(enable_metadata_routing=True):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            scorer(est, data.X, data.y)
        messages = _one_task_warnings(record)
        assert len(messages) == 1
        assert messages[0].startswith("episodic_scorer('roc_auc', n_shots=4) got no groups")
        assert "fitted on 4 tasks" in messages[0]
        with warnings.catch_warnings():  # with the task ids: nothing to say
            warnings.simplefilter("error")
            scorer(est, data.X, data.y, groups=data.groups)


def test_sample_episode_support_random():
    X = np.arange(40).reshape(20, 2)
    y = np.repeat([0, 1], 10)
    Xs, ys, Xq, yq = sample_episode(X, y, n_shots=3, random_state=0, support="random")
    assert len(ys) == 3 and len(yq) == 17
