"""The Pipeline, GridSearchCV and cross_validate stories of DESIGN.md."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, GroupKFold, GroupShuffleSplit, cross_validate
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.datasets import make_classification_tasks, make_regression_tasks
from sklearn_meta.model_selection import episodic_scorer
from sklearn_meta.pipeline import make_pipeline


@pytest.fixture
def data():
    return make_classification_tasks(n_tasks=9, n_samples_per_task=30, n_features=6,
                                     random_state=0)


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_sklearn_pipeline_fit_score_cv(data, routing):
    pipe = sk_make_pipeline(StandardScaler(), PerTaskEstimator(LogisticRegression()))
    pipe.fit(data.X, data.y, groups=data.groups)
    assert 0 <= pipe.score(data.X, data.y, groups=data.groups) <= 1
    res = cross_validate(pipe, data.X, data.y, params={"groups": data.groups}, cv=GroupKFold(3))
    assert res["test_score"].shape == (3,)


def test_grid_search_routes_groups(data, routing):
    search = GridSearchCV(
        make_pipeline(StandardScaler(), PerTaskEstimator(LogisticRegression(), random_state=0)),
        {"pertaskestimator__estimator__C": [0.01, 1.0]}, cv=GroupKFold(3))
    search.fit(data.X, data.y, groups=data.groups)
    assert search.best_params_["pertaskestimator__estimator__C"] in (0.01, 1.0)
    # the refit best estimator is meta-trained on all 9 tasks and adapts
    X, y = data.tasks[0]
    assert search.best_estimator_.adapt(X[:10], y[:10]).predict(X[10:]).shape == (20,)


def test_cross_validate_accuracy_string_is_zero_shot(data, routing):
    # a plain scorer name scores the meta-model zero-shot (no adaptation): the numbers
    # differ from the episodic ones (the estimator cannot see who calls predict, so it
    # is documented, not warned: episodic_scorer is the few-shot way)
    est = PooledEstimator(LogisticRegression())
    res = cross_validate(est, data.X, data.y, params={"groups": data.groups},
                         cv=GroupKFold(3), scoring="accuracy")
    assert res["test_score"].shape == (3,)
    # ... episodic_scorer makes any metric episodic over the held-out tasks, silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = cross_validate(PerTaskEstimator(LogisticRegression(), random_state=0), data.X,
                             data.y, params={"groups": data.groups}, cv=GroupKFold(3),
                             scoring={"acc": episodic_scorer("accuracy"),
                                      "auc": episodic_scorer("roc_auc")})
    assert np.all((res["test_auc"] >= 0) & (res["test_auc"] <= 1))


def test_routing_off_score_says_one_task_and_what_to_do(data):
    """Without routing, GridSearchCV/cross_validate never give score the task ids: the
    estimator says so (from the routing configuration and the arguments it got, no
    stack inspection); with routing on, or groups given, it is silent."""
    est = PooledEstimator(LogisticRegression())
    with sklearn.config_context(enable_metadata_routing=False):
        with pytest.warns(UserWarning, match="scored as ONE task.*enable_metadata_routing"):
            cross_validate(est, data.X, data.y, groups=data.groups, cv=GroupKFold(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # no tasks in sight: an ordinary cross-validation of rows, nothing to say
        cross_validate(est, data.X, data.y, cv=3, scoring="accuracy")
        # a direct zero-shot predict, and the estimator's own (episodic) score
        est.fit(data.X, data.y, groups=data.groups).predict(data.X)
        est.score(data.X, data.y, groups=data.groups)
        with sklearn.config_context(enable_metadata_routing=True):
            cross_validate(est, data.X, data.y, params={"groups": data.groups},
                           cv=GroupKFold(3))


def test_meta_pipeline_adapt_uses_fitted_transformers(data):
    pipe = make_pipeline(StandardScaler(), PerTaskEstimator(LogisticRegression()))
    pipe.fit(data.tasks[:8])
    scaler = pipe.named_steps["standardscaler"]
    mean = scaler.mean_.copy()
    X, y = data.tasks[8]
    pred = pipe.adapt(X[:10], y[:10], X_unlabeled=X[10:]).predict(X[10:])
    np.testing.assert_array_equal(scaler.mean_, mean)
    manual = PerTaskEstimator(LogisticRegression()).fit(
        [(scaler.transform(Xi), yi) for Xi, yi in data.tasks[:8]])
    manual.adapt(scaler.transform(X[:10]), y[:10])
    np.testing.assert_array_equal(pred, manual.predict(scaler.transform(X[10:])))
    assert 0 <= accuracy_score(y[10:], pred) <= 1


def test_meta_pipeline_groups_without_routing(data):
    pipe = make_pipeline(StandardScaler(), PerTaskEstimator(LogisticRegression(), random_state=0))
    pipe.fit(data.X, data.y, groups=data.groups)
    s = pipe.score(data.X, data.y, groups=data.groups)
    final = pipe.steps[-1][1]
    Xt = pipe.named_steps["standardscaler"].transform(data.X)
    assert s == pytest.approx(final.score(Xt, data.y, groups=data.groups))


def test_meta_pipeline_refuses_non_meta_final(data):
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(data.X, data.y)
    with pytest.raises(TypeError, match="no adapt method"):
        pipe.adapt(data.X[:4], data.y[:4])


def test_group_shuffle_split_regression_routing(routing):
    d = make_regression_tasks(n_tasks=8, n_features=4, random_state=0)
    res = cross_validate(PerTaskEstimator(Ridge(), random_state=0), d.X, d.y,
                         params={"groups": d.groups},
                         cv=GroupShuffleSplit(n_splits=2, test_size=0.25, random_state=0))
    assert np.all(np.isfinite(res["test_score"]))


@pytest.mark.parametrize("meta_pipeline", [False, True])
def test_cross_validate_routes_groups_to_episodic_scorer(data, routing, meta_pipeline):
    # the scorer must receive each test fold's task ids: its fold scores equal
    # the episodic score computed by hand on the fitted fold estimators
    est = PerTaskEstimator(LogisticRegression(), n_shots=3, random_state=0)
    if meta_pipeline:  # n_shots and random_state come from the final step
        est = make_pipeline(StandardScaler(), est)
    cv = GroupKFold(3)
    res = cross_validate(est, data.X, data.y, params={"groups": data.groups}, cv=cv,
                         scoring=episodic_scorer("accuracy"), return_estimator=True,
                         return_indices=True)
    scores = [f.score(data.X[t], data.y[t], groups=data.groups[t])
              for f, t in zip(res["estimator"], res["indices"]["test"])]
    np.testing.assert_allclose(res["test_score"], scores)
