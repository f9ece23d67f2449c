"""Bad input and faults: every case ends in a clear error or a finite, sane output."""

import copy
import importlib
import inspect
import pkgutil
import re

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

import sklearn_meta
from sklearn_meta._torch import _TorchMetaLearnerMixin
from sklearn_meta.base import BaseMetaEstimator
from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.ensemble import (
    MixtureOfExpertsClassifier,
    MixtureOfExpertsRegressor,
    TaskEnsembleClassifier,
)
from sklearn_meta.gradient import (
    ANILClassifier,
    ANILRegressor,
    FineTuneClassifier,
    FineTuneRegressor,
    MAMLClassifier,
    MetaSGDClassifier,
    ReptileClassifier,
)
from sklearn_meta.metric import ProtoNetClassifier
from sklearn_meta.metafeatures import compute_metafeatures
from sklearn_meta.model_based import NeuralProcessClassifier, NeuralProcessRegressor
from sklearn_meta.selection import AlgorithmSelector, HyperparameterWarmStart

_TINY = dict(max_iter=3, n_shots=2, random_state=0)


def _binary_tasks(n_features=3, n_tasks=6, n_rows=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_tasks * n_rows, n_features))
    y = (X[:, 0] > 0).astype(int)
    return X, y, np.repeat(np.arange(n_tasks), n_rows)


# -- small fixes in the torch learners -------------------------------------------------
@pytest.mark.parametrize(
    "cls", [ANILClassifier, FineTuneClassifier, ANILRegressor, FineTuneRegressor,
            MAMLClassifier])
def test_no_hidden_layer_fits_adapts_and_predicts(cls):
    X, y, g = _binary_tasks()
    est = cls(hidden_layer_sizes=(), **_TINY).fit(X, y, groups=g)
    est.adapt(X[:10], y[:10])
    pred = est.predict(X)
    assert pred.shape == (len(X),)
    assert np.all(np.isfinite(pred.astype(float)))
    assert est.params_["0.weight"].shape[1] == X.shape[1]  # one linear layer


@pytest.mark.parametrize(
    "cls", [ProtoNetClassifier, NeuralProcessClassifier, NeuralProcessRegressor,
            MAMLClassifier])
def test_warm_start_refit_with_other_n_features_reinitialises(cls):
    est = cls(warm_start=True, **_TINY)
    est.fit(*_binary_tasks(n_features=3)[:2], groups=_binary_tasks()[2])
    X, y, g = _binary_tasks(n_features=5, seed=1)
    est.fit(X, y, groups=g)
    assert est.n_features_in_ == 5
    est.adapt(X[:10], y[:10])
    assert est.predict(X).shape == (len(X),)
    # a refit with the same columns still continues from the fitted network
    assert est.fit(X, y, groups=g).n_iter_ > _TINY["max_iter"]


def _many_class_table(n_classes=15, n_rows=12, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_rows)
    X = rng.normal(size=(len(y), 4)) + 0.3 * y[:, None]
    return X, y


@pytest.mark.parametrize(
    "cls", [MAMLClassifier, MetaSGDClassifier, ANILClassifier, ReptileClassifier,
            FineTuneClassifier, ProtoNetClassifier, NeuralProcessClassifier])
def test_n_way_on_many_class_table_implies_per_task_labels(cls):
    X, y = _many_class_table()
    est = cls(n_way=5, **_TINY).fit(X, y)
    rng = np.random.default_rng(1)
    new = np.repeat(np.array(["a", "b", "c", "d", "e"]), 4)
    X_new = rng.normal(size=(len(new), 4))
    est.adapt(X_new, new)
    assert set(est.predict(X_new)) <= set(new)
    np.testing.assert_array_equal(est.classes_, np.unique(new))
    # n_way covering every class keeps the shared label space
    est = cls(n_way=15, **_TINY).fit(X, y)
    assert est._label_space_ == "shared"


def test_n_way_per_task_single_class_task_names_n_way():
    X, y = _many_class_table(n_classes=6)
    groups = np.where(y == 0, 0, 1)  # task 0 holds one class
    with pytest.raises(ValueError, match=r"task 0 has a single class.*n_way=3"):
        MAMLClassifier(n_way=3, **_TINY).fit(X, y, groups=groups)


# -- discovery of every public estimator ----------------------------------------------
def _public_estimator_classes():
    """Every public meta-estimator class, found by walking sklearn_meta's public modules."""
    found = {}
    for info in pkgutil.walk_packages(sklearn_meta.__path__, "sklearn_meta."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (inspect.isclass(obj) and issubclass(obj, BaseMetaEstimator)
                    and obj.__module__ != "sklearn_meta.base"):
                found[obj.__name__] = obj
    return [found[k] for k in sorted(found)]


# values of required constructor parameters, by parameter name and task type
_REQUIRED = {
    "estimator": {"clf": LogisticRegression(), "reg": Ridge()},
    "estimators": {"clf": [LogisticRegression(), LogisticRegression(C=0.01)],
                   "reg": [Ridge(), Ridge(alpha=100.0)]},
    "param_grid": {"clf": {"C": [0.01, 1.0]}, "reg": {"alpha": [0.1, 100.0]}},
}
# small and fast settings, where the estimator has the parameter
_FAST = dict(max_iter=3, n_shots=2, hidden_layer_sizes=(8,), embedding_dim=8, n_episodes=1,
             n_experts=2, meta_batch_size=4, random_state=0)


def _instances():
    """(id, estimator) for every public estimator; wrappers as classifier and regressor."""
    out = []
    for cls in _public_estimator_classes():
        sig = inspect.signature(cls)
        required = [p for p, v in sig.parameters.items()
                    if v.default is inspect.Parameter.empty and v.kind is v.KEYWORD_ONLY
                    or v.default is inspect.Parameter.empty
                    and v.kind is v.POSITIONAL_OR_KEYWORD]
        missing = [p for p in required if p not in _REQUIRED]
        assert not missing, (f"{cls.__name__} needs {missing}: add test values to _REQUIRED "
                             "in tests/test_bad_inputs.py")
        kinds = ["clf", "reg"] if required else [None]
        for kind in kinds:
            kwargs = {p: clone(_REQUIRED[p][kind]) if hasattr(_REQUIRED[p][kind], "fit")
                      else copy.deepcopy(_REQUIRED[p][kind]) for p in required}
            est = cls(**kwargs)
            est.set_params(**{k: v for k, v in _FAST.items() if k in est.get_params()})
            out.append((cls.__name__ + (f"-{kind}" if kind else ""), est))
    return out


INSTANCES = _instances()
CLASSIFIERS = [(n, e) for n, e in INSTANCES if is_classifier(e)]
REGRESSORS = [(n, e) for n, e in INSTANCES if not is_classifier(e)]
TORCH = [(n, e) for n, e in INSTANCES if isinstance(e, _TorchMetaLearnerMixin)]


def _ids(pairs):
    return [n for n, _ in pairs]


def _data(est, n_tasks=6, n_rows=16, n_features=3, seed=0):
    """Small shared-label tasks (binary) or regression tasks as (X, y, groups)."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_tasks), n_rows)
    X = rng.normal(size=(n_tasks * n_rows, n_features))
    shift = rng.normal(size=n_tasks)[groups]
    if is_classifier(est):
        y = np.tile([0, 1], n_tasks * n_rows // 2)
        X[:, 0] += 1.5 * y + shift
    else:
        y = X @ np.arange(1.0, n_features + 1) + shift + 0.1 * rng.normal(size=len(groups))
    return X, y, groups


# -- adapt-time validation ------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name, est", REGRESSORS, ids=_ids(REGRESSORS))
def test_non_finite_y_support_names_y_support(name, est, bad):
    X, y, g = _data(est)
    est = clone(est).fit(X, y, groups=g)
    y_s = y[:5].copy()
    y_s[2] = bad
    with pytest.raises(ValueError, match=r"y_support contains 1 (NaN|infinite).*row 2"):
        est.adapt(X[:5], y_s)


@pytest.mark.parametrize("name, est", REGRESSORS, ids=_ids(REGRESSORS))
def test_text_y_support_of_regressor_is_refused(name, est):
    X, y, g = _data(est)
    est = clone(est).fit(X, y, groups=g)
    with pytest.raises(ValueError, match=r"y_support of a regressor must be numbers.*'a'"):
        est.adapt(X[:3], np.array([1.0, "a", 2.0], dtype=object))


@pytest.mark.parametrize("name, est", TORCH, ids=_ids(TORCH))
def test_features_beyond_float32_are_refused(name, est):
    X, y, g = _data(est)
    X_big = X.copy()
    X_big[20, 1] = 1e39
    with pytest.raises(ValueError, match=r"X has 1 value.*float32.*task 1, column 1"):
        clone(est).fit(X_big, y, groups=g)
    est = clone(est).fit(X, y, groups=g)
    with pytest.raises(ValueError, match=r"X_support has 1 value.*float32.*row 0, column 1"):
        est.adapt(X_big[20:26], y[20:26])
    est.adapt(X[:6], y[:6])
    with pytest.raises(ValueError, match=r"X has 1 value.*float32.*StandardScaler"):
        est.predict(X_big)
    assert np.all(np.isfinite(np.asarray(est.predict(X), dtype=float)))


def test_float32_limit_is_only_for_torch_learners():
    X, y, g = _data(Ridge())
    X[3, 0] = 1e39
    est = PooledEstimator(Ridge()).fit(X, y, groups=g)
    assert np.all(np.isfinite(est.predict(X)))


# -- the wrappers leave finiteness to the wrapped estimator ---------------------------
def _imputing(**kwargs):
    return make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(**kwargs))


@pytest.mark.parametrize("est", [
    PerTaskEstimator(_imputing()), PooledEstimator(_imputing()),
    PooledEstimator(_imputing(), refit=True), TaskEnsembleClassifier(_imputing()),
    TaskEnsembleClassifier(_imputing(), include_task_model=True),
    MixtureOfExpertsClassifier(_imputing(), n_experts=2, random_state=0),
    HyperparameterWarmStart(_imputing(), {"logisticregression__C": [0.1, 1.0]},
                            n_episodes=1, random_state=0),
    AlgorithmSelector([_imputing(), _imputing(C=0.1)], n_episodes=1, random_state=0),
], ids=lambda e: type(e).__name__)
def test_wrappers_accept_nan_when_the_wrapped_estimator_imputes(est):
    X, y, g = _data(LogisticRegression())
    X[::5, 1] = np.nan
    est = clone(est).fit(X, y, groups=g)
    est.adapt(X[:8], y[:8])
    proba = est.predict_proba(X)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1)
    assert set(est.predict(X)) <= set(est.classes_)


@pytest.mark.parametrize("cls", [PerTaskEstimator, PooledEstimator, TaskEnsembleClassifier,
                                 MixtureOfExpertsClassifier])
def test_wrapped_estimator_refusing_nan_names_the_task(cls):
    X, y, g = _data(LogisticRegression())
    X[np.flatnonzero(g == 3)[1], 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN in task 3 \(1 row") as info:
        cls(LogisticRegression()).fit(X, y, groups=g)
    assert "LogisticRegression does not accept missing values" in str(info.value.__cause__)


def test_selector_whose_candidates_refuse_nan_says_why():
    X, y, g = _data(LogisticRegression())
    X[::5, 1] = np.nan
    est = HyperparameterWarmStart(LogisticRegression(), {"C": [0.1, 1.0]}, n_episodes=1)
    with pytest.raises(ValueError, match=r"NaN in task 0") as info:
        est.fit(X, y, groups=g)
    assert re.search(r"no candidate could be fitted.*task 0.*contains NaN",
                     str(info.value.__cause__))


def test_warm_start_with_nan_accepting_estimator_adapts():
    X, y, g = _data(LogisticRegression())
    X[::4, 2] = np.nan
    est = HyperparameterWarmStart(HistGradientBoostingClassifier(max_iter=5),
                                  {"learning_rate": [0.1, 0.5]}, n_episodes=1,
                                  random_state=0).fit(X, y, groups=g)
    X_s = X[:8].copy()
    X_s[::2, 1] = np.nan
    est.adapt(X_s, y[:8])
    assert est.ranking_ and np.allclose(est.predict_proba(X).sum(axis=1), 1)


# -- numerically extreme but valid input ----------------------------------------------
def test_mixture_of_experts_with_all_constant_features():
    for est in (MixtureOfExpertsClassifier(n_experts=3, random_state=0),
                MixtureOfExpertsRegressor(n_experts=3, random_state=0)):
        X, y, g = _data(est)
        est.fit(np.ones_like(X), y, groups=g).adapt(np.ones((4, 3)), y[:4])
        assert np.all(np.isfinite(np.asarray(est.predict(np.ones((5, 3))), dtype=float)))


@pytest.mark.parametrize("est", [
    HyperparameterWarmStart(Ridge(), {"alpha": [0.1, 10.0]}, n_episodes=1, random_state=0),
    AlgorithmSelector([Ridge(), Ridge(alpha=100.0)], n_episodes=1, random_state=0),
], ids=lambda e: type(e).__name__)
def test_selectors_with_features_around_1e30(est):
    X, y, g = _data(Ridge())
    X = np.repeat(X[:, :1], 3, axis=1) * 1e30  # collinear columns: singular Gram matrix
    est.fit(X, y, groups=g).adapt(X[:5], y[:5])
    assert np.all(np.isfinite(est.predict(X)))


def test_metafeatures_of_huge_features_do_not_raise():
    X, y, g = _data(Ridge())
    for huge in (X * 1e30, np.repeat(X[:, :1], 3, axis=1) * 1e30):
        mf = compute_metafeatures(huge, y, g, task_type="regression")
        assert mf.shape[0] == 6 and np.all(np.isfinite(mf[:, -1]))  # the ridge landmarker
    mf = compute_metafeatures(np.where(np.arange(X.size).reshape(X.shape) % 7, X, np.nan),
                              y, g, task_type="regression")
    assert np.all(np.isfinite(mf))


# -- parameters and weights ------------------------------------------------------------
def test_negative_sample_weight_in_score_is_named():
    X, y, g = _data(Ridge())
    est = PerTaskEstimator(Ridge(), n_shots=3, random_state=0).fit(X, y, groups=g)
    w = np.ones(len(y))
    w[7] = -1.0
    with pytest.raises(ValueError, match=r"sample_weight has 1 negative value"):
        est.score(X, y, groups=g, sample_weight=w)


@pytest.mark.parametrize("value", [-5, 0])
def test_pooled_support_weight_below_one_is_refused(value):
    X, y, g = _data(Ridge())
    with pytest.raises(InvalidParameterError, match="support_weight"):
        PooledEstimator(Ridge(), refit=True, support_weight=value).fit(X, y, groups=g)
