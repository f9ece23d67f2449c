"""Mixed-effects learners: the check generator, the synthetic bars, the contract."""

import time

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss, mean_squared_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.mixed_effects import MixedEffectsClassifier, MixedEffectsRegressor
from sklearn_meta.utils.estimator_checks import parametrize_with_checks


@parametrize_with_checks([
    MixedEffectsClassifier(),
    MixedEffectsRegressor(),
    MixedEffectsClassifier(make_pipeline(SimpleImputer(), StandardScaler(),
                                         LogisticRegression())),
    MixedEffectsRegressor(make_pipeline(SimpleImputer(), StandardScaler(), Ridge()),
                          random_effects="intercept+slope"),
])
def test_estimator_checks(estimator, check):
    check(estimator)


def _family(n_tasks=60, n_rows=50, sd_intercept=1.0, sd_slope=0.4, classification=False,
            seed=0):
    """Tasks sharing a nonlinear f(x), each with its own intercept and scale of f."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_tasks), n_rows)
    X = rng.normal(size=(n_tasks * n_rows, 3))
    f = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 - 1 + 0.5 * X[:, 2]
    a = sd_intercept * rng.normal(size=n_tasks)
    s = sd_slope * rng.normal(size=n_tasks)
    eta = a[groups] + (1 + s[groups]) * f
    if classification:
        y = (rng.uniform(size=eta.shape) < 1 / (1 + np.exp(-eta))).astype(int)
    else:
        y = eta + 0.5 * rng.normal(size=eta.shape)
    return X, y, groups


def _few_shot_errors(models, X, y, groups, n_train, classification, k=10):
    """Mean query error per model over the held-out tasks (k support rows each)."""
    train = groups < n_train
    for est in models.values():
        est.fit(X[train], y[train], groups=groups[train])
    errors = {name: [] for name in models}
    for t in np.unique(groups[~train]):
        Xt, yt = X[groups == t], y[groups == t]
        for name, est in models.items():
            est.adapt(Xt[:k], yt[:k])
            if classification:
                proba = np.clip(est.predict_proba(Xt[k:]), 1e-6, 1)
                errors[name].append(log_loss(yt[k:], proba, labels=[0, 1]))
            else:
                errors[name].append(mean_squared_error(yt[k:], est.predict(Xt[k:])))
    return {name: float(np.mean(v)) for name, v in errors.items()}


def test_regressor_beats_pooled_and_per_task_where_tasks_differ():
    X, y, groups = _family()
    err = _few_shot_errors({
        "me": MixedEffectsRegressor(),
        "pooled": PooledEstimator(HistGradientBoostingRegressor()),
        "per_task": PerTaskEstimator(make_pipeline(StandardScaler(), Ridge())),
    }, X, y, groups, 40, False)
    # skipping adapt leaves the pooled model's error (about 2): far above
    assert err["me"] < 0.6 * err["pooled"], err
    assert err["me"] < 0.6 * err["per_task"], err


def test_classifier_beats_pooled_and_per_task_where_tasks_differ():
    X, y, groups = _family(classification=True)
    err = _few_shot_errors({
        "me": MixedEffectsClassifier(),
        "pooled": PooledEstimator(HistGradientBoostingClassifier()),
        "per_task": PerTaskEstimator(make_pipeline(StandardScaler(), LogisticRegression())),
    }, X, y, groups, 40, True)
    assert err["me"] < 0.93 * err["pooled"], err
    assert err["me"] < 0.93 * err["per_task"], err


@pytest.mark.parametrize("classification", [False, True])
def test_ties_pooled_where_tasks_share_everything(classification):
    X, y, groups = _family(sd_intercept=0.0, sd_slope=0.0, classification=classification)
    if classification:
        models = {"me": MixedEffectsClassifier(),
                  "pooled": PooledEstimator(HistGradientBoostingClassifier())}
    else:
        models = {"me": MixedEffectsRegressor(),
                  "pooled": PooledEstimator(HistGradientBoostingRegressor())}
    err = _few_shot_errors(models, X, y, groups, 40, classification)
    # effects fitted from 10 rows without shrinkage cost 10-20%: an over-fit fails
    assert err["me"] < 1.02 * err["pooled"], err


def test_zero_shot_is_pooled_plus_prior_mean():
    X, y, groups = _family(n_tasks=20)
    est = MixedEffectsRegressor(Ridge(), random_effects="intercept").fit(X, y, groups=groups)
    np.testing.assert_allclose(est.predict(X[:5]),
                               est.estimator_.predict(X[:5]) + est.prior_mean_[0])
    np.testing.assert_array_equal(est.effects_, est.prior_mean_)
    est.adapt(X[:10], y[:10] + 3.0)
    assert est.effects_[0] > est.prior_mean_[0] + 1.0
    assert est.effect_names_.tolist() == ["intercept"]


def test_regressor_return_std_shrinks_with_support_rows():
    X, y, groups = _family(n_tasks=20)
    est = MixedEffectsRegressor(Ridge()).fit(X, y, groups=groups)
    _, std0 = est.predict(X[:5], return_std=True)
    _, std1 = est.adapt(X[:3], y[:3]).predict(X[:5], return_std=True)
    _, std2 = est.adapt(X[:30], y[:30]).predict(X[:5], return_std=True)
    assert np.all(std0 >= std1 - 1e-12) and np.all(std1 >= std2 - 1e-12)
    assert np.all(std2 >= np.sqrt(est.noise_variance_) - 1e-12)
    assert est.effects_covariance_.shape == (5, 5)  # intercept, slope, 3 features


def test_classifier_one_class_support_set():
    X, y, groups = _family(classification=True, n_tasks=20)
    est = MixedEffectsClassifier(LogisticRegression()).fit(X, y, groups=groups)
    p0 = est.predict_proba(X[:50])[:, 1]
    p_neg = est.adapt(X[:10], np.zeros(10, dtype=int)).predict_proba(X[:50])[:, 1]
    p_pos = est.adapt(X[:10], np.ones(10, dtype=int)).predict_proba(X[:50])[:, 1]
    assert np.all(np.isfinite(p_neg)) and np.all(np.isfinite(p_pos))
    assert p_neg.mean() < p0.mean() < p_pos.mean()
    assert p_pos.max() < 1.0  # shrunk toward the prior, not a hard 1


def test_classifier_multiclass_one_effect_per_class():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(30), 40)
    X = rng.normal(size=(1200, 2))
    shift = rng.normal(size=(30, 3))
    logits = X @ rng.normal(size=(2, 3)) + shift[groups]
    y = np.array(["a", "b", "c"])[np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)]
    est = MixedEffectsClassifier(LogisticRegression(), random_effects="intercept")
    est.fit(X, y, groups=groups)
    assert est.prior_mean_.shape == (3,)
    assert est.effects_.shape == (3, 1)
    proba = est.adapt(X[:6], ["c"] * 6).predict_proba(X[:20])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert est.classes_.tolist() == ["a", "b", "c"]
    assert np.argmax(est.effects_[:, 0]) == 2
    assert est.decision_function(X[:4]).shape == (4, 3)


def test_per_task_label_spaces_are_refused():
    rng = np.random.default_rng(0)
    tasks = [(rng.normal(size=(10, 2)), np.array(["a", "b"] * 5)),
             (rng.normal(size=(10, 2)), np.array(["c", "d"] * 5))]
    with pytest.raises(ValueError, match="label_space='shared'"):
        MixedEffectsClassifier(LogisticRegression()).fit(tasks)


def test_linear_effects_on_named_features_and_missing_values():
    pd = pytest.importorskip("pandas")
    X, y, groups = _family(n_tasks=20)
    X = pd.DataFrame(X, columns=["u", "v", "w"])
    X.iloc[::7, 1] = np.nan
    est = MixedEffectsRegressor(random_effects="linear", effect_features=["v"])
    est.fit(X, y, groups=groups)
    # the default stack: one slope per pooled model (boosting, linear)
    assert est.effect_names_.tolist() == ["intercept", "slope:0", "slope:1", "x:v"]
    assert est.prior_covariance_.shape == (4, 4)
    # covariance="auto" chose a family by cross-validation; "diag" is diagonal
    assert est.covariance_ in ("diag", "full")
    diag = MixedEffectsRegressor(random_effects="linear", effect_features=["v"],
                                 covariance="diag").fit(X, y, groups=groups)
    cov = diag.prior_covariance_
    assert diag.covariance_ == "diag" and np.count_nonzero(cov - np.diag(np.diag(cov))) == 0
    assert np.all(np.isfinite(est.adapt(X.iloc[:5], y[:5]).predict(X.iloc[:9])))
    with pytest.raises(ValueError, match="not columns of X"):
        MixedEffectsRegressor(random_effects="linear", effect_features=["zz"]).fit(
            X, y, groups=groups)
    with pytest.raises(ValueError, match="column index outside"):
        MixedEffectsRegressor(random_effects="linear", effect_features=[7]).fit(
            X, y, groups=groups)


def test_adapt_is_fast_beyond_the_pooled_predict():
    X, y, groups = _family(n_tasks=20, classification=True)
    est = MixedEffectsClassifier(LogisticRegression()).fit(X, y, groups=groups)
    pooled = est._pooled(X[:10])
    est._pooled = lambda X: pooled  # the pooled predict, done once
    times = []
    for _ in range(50):
        tic = time.perf_counter()
        est._adapt(X[:10], y[:10], None)
        times.append(time.perf_counter() - tic)
    # about 0.1 ms on an idle core; generous for a loaded CI machine
    assert np.median(times) < 5e-3


def _categorical_frame(pd, rng, n_tasks, n_rows=30):
    """Tasks of ``n_rows`` rows: a numeric column "a" and a categorical "c" (x/y/z)."""
    groups = np.repeat(np.arange(n_tasks), n_rows)
    cat = rng.choice(["x", "y", "z"], len(groups))
    X = pd.DataFrame({"a": rng.normal(size=len(groups)), "c": pd.Categorical(cat)})
    return X, cat, groups


def test_pandas_categoricals_reach_the_boosting_model_as_categories():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X, cat, groups = _categorical_frame(pd, rng, 20)
    y = (2.0 * (cat == "x") - 1 + 0.5 * X["a"] + rng.normal(size=20)[groups]
         + rng.logistic(size=600) > 0).astype(int)
    est = MixedEffectsClassifier().fit(X, y, groups=groups)
    assert est.estimator_.is_categorical_.tolist() == [False, True]
    # no linear effect on the codes; the stack's linear model sees column "a" only
    assert est.effect_names_.tolist() == ["intercept", "slope:0", "slope:1", "x:a"]
    assert est.estimators_[1][0].transformers_[0][2] == ["a"]
    # plain strings at predict time, an unseen category as missing
    X_new = pd.DataFrame({"a": [0.0, 0.0, 0.0], "c": ["x", "y", "never seen"]})
    proba = est.adapt(X_new.iloc[:2], [1, 0]).predict_proba(X_new)
    assert np.all(np.isfinite(proba)) and proba[0, 1] > proba[1, 1]
    # the task-list form codes the categories the same way
    tasks = [(X[groups == t], y[groups == t]) for t in range(20)]
    np.testing.assert_allclose(MixedEffectsClassifier().fit(tasks).predict_proba(X_new),
                               MixedEffectsClassifier().fit(X, y, groups=groups)
                               .predict_proba(X_new))


def test_pandas_categoricals_reach_a_boosting_model_inside_a_pipeline():
    pd = pytest.importorskip("pandas")
    from sklearn.compose import make_column_transformer

    rng = np.random.default_rng(1)
    X, cat, groups = _categorical_frame(pd, rng, 15)
    y = 3.0 * (cat == "x") + X["a"].to_numpy() + rng.normal(size=15)[groups]
    pipe = make_pipeline(
        make_column_transformer((SimpleImputer(), ["a"]), remainder="passthrough",
                                verbose_feature_names_out=False).set_output(
                                    transform="pandas"),
        HistGradientBoostingRegressor(categorical_features="from_dtype", max_iter=20))
    est = MixedEffectsRegressor(pipe, random_effects="intercept").fit(X, y, groups=groups)
    assert est.estimator_[-1].is_categorical_.tolist() == [False, True]
    pred = est.predict(pd.DataFrame({"a": [0.0, 0.0], "c": ["x", "z"]}))
    assert pred[0] > pred[1] + 1.5


def test_default_stack_weighs_its_models_by_their_out_of_fold_fit():
    # a linear signal with an interaction: the linear model of the stack carries it
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), 25)
    X = rng.normal(size=(1000, 2))
    y = (X[:, 0] + X[:, 0] * X[:, 1] + 0.7 * rng.normal(size=40)[groups]
         + 0.5 * rng.normal(size=1000))
    est = MixedEffectsRegressor(random_effects="intercept").fit(X, y, groups=groups)
    assert est.effect_names_.tolist() == ["intercept", "slope:0", "slope:1"]
    # the offset is the mean of both margins; the slopes' prior means re-weigh them
    w_boost, w_lin = 0.5 + est.prior_mean_[1], 0.5 + est.prior_mean_[2]
    assert w_lin > 0.7 and w_lin > w_boost, est.prior_mean_
    one = MixedEffectsRegressor(Ridge(), random_effects="intercept").fit(X, y, groups=groups)
    assert one.effect_names_.tolist() == ["intercept"]  # one model: no stack slopes


def test_estimator_list_is_a_stack_and_bad_members_are_refused():
    X, y, groups = _family(n_tasks=10)
    est = MixedEffectsRegressor([Ridge(), HistGradientBoostingRegressor(max_iter=10)],
                                random_effects="intercept").fit(X, y, groups=groups)
    assert len(est.estimators_) == 2 and est.estimator_ is est.estimators_[0]
    assert est.effect_names_.tolist() == ["intercept", "slope:0", "slope:1"]
    with pytest.raises(ValueError, match=r"estimator=\[\] lists no pooled model"):
        MixedEffectsRegressor([]).fit(X, y, groups=groups)
    with pytest.raises(TypeError, match=r"estimator\[1\]=.* needs fit and predict"):
        MixedEffectsRegressor([Ridge(), "ridge"]).fit(X, y, groups=groups)


def test_fold_calibration_leaves_task_level_variation_to_the_prior():
    # tasks differ by an intercept (variance 1); 6 task-level features (constant in a
    # task, as a school's mean SES) that the pooled model uses. The per-fold
    # calibration of the cross-fitted pooled models must not fit the linear effects
    # of those features on a fold's few tasks: that absorbs the tasks' intercepts,
    # and the prior would say the tasks hardly differ.
    rng = np.random.default_rng(0)
    n_tasks, n_rows = 40, 30
    groups = np.repeat(np.arange(n_tasks), n_rows)
    Zt = rng.normal(size=(n_tasks, 6))
    X = np.column_stack([rng.normal(size=n_tasks * n_rows), Zt[groups]])
    a = rng.normal(size=n_tasks)
    y = X[:, 0] + Zt[groups] @ np.full(6, 0.5) + a[groups] + 0.5 * rng.normal(size=len(groups))
    est = MixedEffectsRegressor(Ridge(), covariance="diag", prior_scale=1.0)
    est.fit(X, y, groups=groups)
    # the task-level features' (standardised) linear effects are confounded with the
    # intercept: the tasks' variation is split among them, but not lost
    var = dict(zip(est.effect_names_.tolist(), est.prior_covariance_.diagonal()))
    level = var["intercept"] + sum(var[f"x:{j}"] for j in range(1, 7))
    assert level > 0.5, var


@pytest.mark.parametrize("cls", [MixedEffectsRegressor, MixedEffectsClassifier])
def test_a_column_missing_in_every_task_of_a_fold_still_fits(cls):
    """Column 2 is present in one task only: the cross-fitting folds without that task
    see it all NaN, which HistGradientBoosting cannot bin (it raised a numpy error)."""
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(10), 20)
    X = rng.normal(size=(200, 3))
    X[groups != 9, 2] = np.nan
    y = X[:, 0] + rng.normal(size=10)[groups] + 0.1 * rng.normal(size=200)
    if cls is MixedEffectsClassifier:
        y = (y > 0).astype(int)
    est = cls().fit(X, y, groups=groups)
    assert np.all(np.isfinite(est.predict(X)))
