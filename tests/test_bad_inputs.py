"""Bad input and faults: every case ends in a clear error or a finite, sane output."""

import copy
import inspect
import json
import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_meta._torch import _TorchMetaLearnerMixin
from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.datasets import make_classification_tasks
from sklearn_meta.ensemble import (
    MixtureOfExpertsClassifier,
    MixtureOfExpertsRegressor,
    TaskEnsembleClassifier,
    TaskEnsembleRegressor,
)
from sklearn_meta.gradient import (
    ANILClassifier,
    ANILRegressor,
    FineTuneClassifier,
    FineTuneRegressor,
    MAMLClassifier,
)
from sklearn_meta.metric import ProtoNetClassifier
from sklearn_meta.metafeatures import compute_metafeatures
from sklearn_meta.selection import AlgorithmSelector, HyperparameterWarmStart
from sklearn_meta.utils.discovery import all_estimators

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
    "cls", [c for _, c in all_estimators() if issubclass(c, _TorchMetaLearnerMixin)],
    ids=lambda c: c.__name__)
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
    "cls", [c for _, c in all_estimators(type_filter="classifier")
            if "n_way" in inspect.signature(c).parameters], ids=lambda c: c.__name__)
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


# -- every public estimator (sklearn_meta.utils.discovery) ---------------------------
def _public_estimator_classes():
    """Every public estimator class (tests/test_distributed.py uses this list too)."""
    return [cls for _, cls in all_estimators()]


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
    for _, cls in all_estimators():
        sig = inspect.signature(cls)
        required = [p for p, v in sig.parameters.items()
                    if v.default is inspect.Parameter.empty
                    and v.kind in (v.KEYWORD_ONLY, v.POSITIONAL_OR_KEYWORD)]
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


def test_discovery_finds_every_family():
    names = {n for n, _ in all_estimators()}
    assert {"MAMLClassifier", "ProtoNetClassifier", "NeuralProcessRegressor",
            "TaskEnsembleClassifier", "MetaPriorRidge", "HyperparameterWarmStart",
            "PooledEstimator"} <= names
    assert "BaseMetaClassifier" not in names
    classifiers = {n for n, _ in all_estimators(type_filter="classifier")}
    assert classifiers and all(n.endswith(("Classifier", "LogisticRegression"))
                               for n in classifiers)
    assert "PooledEstimator" not in classifiers  # its type follows the wrapped estimator
    with pytest.raises(ValueError, match="type_filter"):
        all_estimators(type_filter="transformer")
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


@pytest.mark.parametrize("name, est", TORCH, ids=_ids(TORCH))
def test_read_only_arrays_reach_torch_without_a_warning(name, est, monkeypatch):
    # pandas' copy-on-write hands out read-only arrays. torch warns (once per process,
    # so the warning itself cannot be tested per learner) when one is wrapped without a
    # copy: every wrapping call is checked instead
    import torch

    def no_read_only(wrap):
        def checked(data, *args, **kwargs):
            assert not (isinstance(data, np.ndarray) and not data.flags.writeable), (
                f"{wrap.__name__} got a read-only array")
            return wrap(data, *args, **kwargs)
        return checked

    for wrap in ("as_tensor", "from_numpy"):
        monkeypatch.setattr(torch, wrap, no_read_only(getattr(torch, wrap)))
    X, y, g = _data(est)
    X.setflags(write=False)
    y.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        e = clone(est).fit(X, y, groups=g).adapt(X[:8], y[:8])
        e.predict(X)


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
    assert "LogisticRegression does not accept missing values" in str(info.value.__cause__)
    est = AlgorithmSelector([LogisticRegression(), HistGradientBoostingClassifier()])
    with pytest.raises(ValueError, match=r"NaN in task 0"):
        est.fit(X, y, groups=g)  # not silently scored as "cannot learn from few rows"


def test_selector_whose_candidates_cannot_fit_says_why():
    from sklearn.neighbors import KNeighborsRegressor

    X, y, g = _data(Ridge())
    est = AlgorithmSelector([KNeighborsRegressor(n_neighbors=50)], n_shots=3)
    with pytest.raises(ValueError, match=r"no candidate could be fitted.*n_neighbors"):
        est.fit(X, y, groups=g)


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


# learners that model the classes shared by all tasks: per-task labels are refused
_SHARED_ONLY = {"MetaPriorLogisticRegression", "MixedEffectsClassifier",
                "MixtureOfExpertsClassifier", "PooledEstimator-clf", "TaskEnsembleClassifier"}


@pytest.mark.parametrize("name, est", [(n, e) for n, e in INSTANCES if is_classifier(e)],
                         ids=_ids([(n, e) for n, e in INSTANCES if is_classifier(e)]))
def test_per_task_labels_fit_or_get_one_actionable_refusal(name, est):
    data = make_classification_tasks(n_tasks=6, n_samples_per_task=16, n_classes=3,
                                     per_task_labels=True, random_state=0)
    est = clone(est)
    if name not in _SHARED_ONLY:
        est.fit(data.tasks)
        return
    who = name.split("-")[0]
    with pytest.raises(ValueError) as info:
        est.fit(data.tasks)
    message = str(info.value)
    assert message.startswith(f"{who} needs one label set shared by all tasks (")
    assert "label_space='per_task'" in message
    assert "Pass label_space='shared' if the labels mean the same in every task" in message


def test_base_estimator_with_per_task_labels_names_the_parameter():
    data = make_classification_tasks(n_tasks=6, n_samples_per_task=16, n_classes=3,
                                     per_task_labels=True, random_state=0)
    est = MAMLClassifier(base_estimator=LogisticRegression(), **{
        k: v for k, v in _FAST.items() if k in MAMLClassifier().get_params()})
    with pytest.raises(ValueError, match=r"^base_estimator=LogisticRegression\(\) needs one "
                       r"label set shared by all tasks .* or use base_estimator=None"):
        est.fit(data.tasks)


# -- the bad-input matrix over every public estimator ---------------------------------
def _assert_sane(est, X):
    """Finite predictions of the right shape; labels in ``classes_``, probabilities sum
    to 1."""
    pred = np.asarray(est.predict(X))
    assert pred.shape == (len(X),)
    if not is_classifier(est):
        assert np.all(np.isfinite(pred.astype(float))), pred
        return
    classes = est.classes_
    assert set(pred.tolist()) <= set(classes.tolist())
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        assert proba.shape == (len(X), len(classes))
        assert np.all(np.isfinite(proba)) and np.all(proba >= 0)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def _refused_or_sane(est, action, problem, query, *, must_refuse=False):
    """``action()`` either raises a ValueError/TypeError whose message matches
    ``problem``, or (unless ``must_refuse``) leaves ``est`` predicting sanely on
    ``query``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            action()
    except (ValueError, TypeError) as exc:
        assert re.search(problem, str(exc), re.IGNORECASE), (
            f"the error does not name the problem ({problem!r}): "
            f"{type(exc).__name__}: {exc}")
        return "refused"
    assert not must_refuse, f"accepted input it must refuse ({problem!r})"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _assert_sane(est, query)
    return "sane"


_CASES = {}


def _case(fn):
    _CASES[fn.__name__.lstrip("_")] = fn
    return fn


def _fitted(est, X, y, g):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clone(est).fit(X, y, groups=g)


def _with(X, value, at=(5, 1)):
    X = X.astype(float).copy()
    X[at] = value
    return X


@_case
def _nan_inf_huge_in_X_at_fit(est, X, y, g):
    for value, problem, strict in [(np.nan, "NaN", not get_tags(est).input_tags.allow_nan),
                                   (np.inf, "inf", True), (-np.inf, "inf", True),
                                   (1e39, "float32", False)]:
        e = clone(est)
        _refused_or_sane(e, lambda: e.fit(_with(X, value), y, groups=g).adapt(X[:8], y[:8]),
                         problem, X, must_refuse=strict)


@_case
def _nan_inf_in_y_at_fit(est, X, y, g):
    for value, problem in [(np.nan, "NaN"), (np.inf, "inf")]:
        y_bad = y.astype(float).copy()
        y_bad[4] = value
        e = clone(est)
        _refused_or_sane(e, lambda: e.fit(X, y_bad, groups=g), problem, X, must_refuse=True)


@_case
def _nan_inf_huge_at_adapt(est, X, y, g):
    fitted = _fitted(est, X, y, g)
    for value, problem, strict in [(np.nan, "NaN", not get_tags(est).input_tags.allow_nan),
                                   (np.inf, "inf", True), (1e39, "float32", False)]:
        e = copy.deepcopy(fitted)
        _refused_or_sane(e, lambda: e.adapt(_with(X[:8], value, (2, 0)), y[:8]), problem, X,
                         must_refuse=strict)
        if e._is_classifier():
            y_bad = y[:8].astype(float)
            y_bad[1] = value
            _refused_or_sane(e, lambda: e.adapt(X[:8], y_bad), problem if value != 1e39
                             else "class|label", X, must_refuse=value != 1e39)
        else:
            y_bad = y[:8].copy()
            y_bad[1] = value
            _refused_or_sane(e, lambda: e.adapt(X[:8], y_bad), "y_support", X,
                             must_refuse=value != 1e39)


@_case
def _nan_inf_huge_at_predict(est, X, y, g):
    e = _fitted(est, X, y, g).adapt(X[:8], y[:8])
    for value, problem in [(np.nan, "NaN"), (np.inf, "inf"), (1e39, "float32")]:
        strict = value != 1e39 and not (value is np.nan and get_tags(est).input_tags.allow_nan)
        _refused_or_sane(e, lambda: _assert_sane(e, _with(X, value)), problem, X,
                         must_refuse=strict)


@_case
def _one_class_or_constant_task(est, X, y, g):
    y = y.copy()
    y[g == 2] = y[g == 2][0]  # task 2: one class (classification), constant (regression)
    e = clone(est)
    _refused_or_sane(e, lambda: e.fit(X, y, groups=g).adapt(X[:8], y[:8]), "class", X)
    e = _fitted(est, X, y, g)
    # a one-class support set
    _refused_or_sane(e, lambda: e.adapt(X[g == 2][:4], y[g == 2][:4]), "class", X)


@_case
def _empty_input(est, X, y, g):
    problem = r"0 sample|empty|no rows|at least one"
    e = clone(est)
    _refused_or_sane(e, lambda: e.fit(X[:0], y[:0], groups=g[:0]), problem, X,
                     must_refuse=True)
    e = _fitted(est, X, y, g)
    _refused_or_sane(e, lambda: e.adapt(X[:0], y[:0]), problem, X, must_refuse=True)
    try:
        out = e.predict(X[:0])
    except ValueError as exc:
        assert re.search(problem, str(exc)), exc
    else:
        assert np.asarray(out).shape == (0,)


@_case
def _one_row_and_tiny_tasks(est, X, y, g):
    problem = r"row|sample|small|n_shots|class|task"
    for n_rows in (1, 3):
        keep = np.concatenate([np.flatnonzero(g == t)[:n_rows] for t in np.unique(g)])
        e = clone(est)
        _refused_or_sane(e, lambda: e.fit(X[keep], y[keep], groups=g[keep]), problem, X)
    e = _fitted(est, X, y, g)
    for n in (1, 2):
        _refused_or_sane(e, lambda: e.adapt(X[:n], y[:n]), problem, X)


@_case
def _one_large_task_among_small_ones(est, X, y, g):
    # only task 0 is large enough for the larger episodes a learner may draw while
    # fitting (mixed effects' prior-scale selection once failed on such folds)
    keep = (g == 0) | (np.arange(len(g)) - np.searchsorted(g, g) < 5)
    e = clone(est)
    _refused_or_sane(e, lambda: e.fit(X[keep], y[keep], groups=g[keep]).adapt(X[:8], y[:8]),
                     "never refused", X)


@_case
def _text_category_and_date_columns(est, X, y, g):
    # the error names the argument, the column, a value, its task, and the encoder to use
    cols = [f"f{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=cols)
    tiers = np.where(X[:, 0] > 0, "gold", "basic")
    bad = {"text": df.assign(tier=tiers),
           "category": df.assign(tier=pd.Categorical(tiers)),
           "date": df.assign(tier=pd.Timestamp("2024-01-01") + pd.to_timedelta(g, "D"))}
    row = int(np.flatnonzero(g == g[-1])[0])
    for kind, frame in bad.items():
        frame.loc[frame.index[:row], "tier"] = None  # the first value sits in the last task
        e = clone(est)
        if kind == "category" and "MixedEffects" in type(est).__name__:
            # documented: categoricals go to the pooled model as categories
            e.fit(frame, y, groups=g).adapt(frame.iloc[:8], y[:8])
            _assert_sane(e, frame)
            continue
        with pytest.raises(ValueError, match=(rf"X column 'tier' is not numeric .*row {row}, "
                                              rf"task {g[-1]}\).*OneHotEncoder.*'tier'")):
            e.fit(frame, y, groups=g)
        tasks = [(frame[g == t], y[g == t]) for t in np.unique(g)]
        with pytest.raises(ValueError, match=rf"row 0 of tasks\[{len(tasks) - 1}\]"):
            clone(est).fit(tasks)
    e = _fitted(est, df, y, g)
    text = df.copy()
    text["f1"] = text["f1"].astype(object)
    text.loc[3, "f1"] = "n/a"
    for call, name in ((lambda: e.adapt(text.iloc[:8], y[:8]), "X_support"),
                       (lambda: e.adapt(df.iloc[:8], y[:8]).predict(text), "X")):
        with pytest.raises(ValueError, match=rf"{name} column 'f1' is not numeric \(e.g. 'n/a'"):
            call()
    numbers_as_text = df.astype(str)  # "0.123" cells convert: no refusal
    _assert_sane(e.adapt(numbers_as_text.iloc[:8], y[:8]), numbers_as_text)


@_case
def _missing_targets_and_task_ids(est, X, y, g):
    row = int(np.flatnonzero(g == g[-1])[0]) + 2
    y_bad = (np.array(["no", "yes"], dtype=object)[y] if is_classifier(est)
             else y.astype(float))
    y_bad[row] = None  # NaN for a float target
    with pytest.raises(ValueError, match=rf"y has 1 missing target.*row {row}, task {g[-1]};"):
        clone(est).fit(X, y_bad, groups=g)
    tasks = [(X[g == t], y_bad[g == t]) for t in np.unique(g)]
    with pytest.raises(ValueError, match=rf"missing target.*row 2 of tasks\[{len(tasks) - 1}\]"):
        clone(est).fit(tasks)
    ids = np.array([f"site {t}" for t in g], dtype=object)
    for bad, problem in ((None, r"groups has 1 missing task id.*row 3;"),
                         (7, r"groups mixes task ids of types \['int', 'str'\]")):
        g_bad = ids.copy()
        g_bad[3] = bad
        with pytest.raises(ValueError, match=problem):
            clone(est).fit(X, y, groups=g_bad)
    e = _fitted(est, X, y, ids)
    with pytest.raises(ValueError, match=rf"y has 1 missing target.*row {row}, task 'site"):
        e.score(X, y_bad, groups=ids)
    g_bad = pd.Series(ids).where(np.arange(len(ids)) != 3)  # NaN, as pandas gives it
    with pytest.raises(ValueError, match=r"groups has 1 missing task id.*row 3;"):
        e.score(X, y, groups=g_bad)


@_case
def _mismatched_columns(est, X, y, g):
    e = _fitted(est, X, y, g)
    wide = np.hstack([X, X[:, :1]])
    _refused_or_sane(e, lambda: e.adapt(wide[:8], y[:8]), "features", X, must_refuse=True)
    e.adapt(X[:8], y[:8])
    _refused_or_sane(e, lambda: e.predict(X[:, :-1]), "features", X, must_refuse=True)


@_case
def _label_types(est, X, y, g):
    if not is_classifier(est):
        e = clone(est)
        text = np.array(["a"] * len(y), dtype=object)
        _refused_or_sane(e, lambda: e.fit(X, text, groups=g), r"numeric|float|string|number",
                         X, must_refuse=True)
        e = _fitted(est, X, y, g)
        _refused_or_sane(e, lambda: e.adapt(X[:4], np.array(["1.5", "x", 2, 3], dtype=object)),
                         "y_support", X, must_refuse=True)
        return
    for labels in (np.array(["no", "yes"]), np.array([False, True]), np.array([0.0, 1.0]),
                   np.array([-3, 7])):
        y_l = labels[y]
        e = _fitted(est, X, y_l, g).adapt(X[:8], y_l[:8])
        _assert_sane(e, X)
        assert set(e.classes_.tolist()) == set(labels.tolist())
        assert np.asarray(e.predict(X)).dtype.kind == y_l.dtype.kind
    mixed = np.array(["no", 1] * (len(y) // 2), dtype=object)
    e = clone(est)
    _refused_or_sane(e, lambda: e.fit(X, mixed, groups=g), r"mix|type|str", X,
                     must_refuse=True)
    e = _fitted(est, X, y, g)
    _refused_or_sane(e, lambda: e.adapt(X[:4], mixed[:4]), r"mix|type|str", X,
                     must_refuse=True)


@_case
def _sparse_input(est, X, y, g):
    X_sp = sp.csr_matrix(X)
    e = clone(est)
    state = _refused_or_sane(e, lambda: e.fit(X_sp, y, groups=g).adapt(X_sp[:8], y[:8]),
                             "sparse", X)
    if state == "sane":
        _assert_sane(e, X_sp)


@_case
def _pandas_in_numpy_out(est, X, y, g):
    cols = [f"f{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=cols)
    e = _fitted(est, df, pd.Series(y), g)
    np.testing.assert_array_equal(e.feature_names_in_, cols)
    e.adapt(df.iloc[:8], pd.Series(y[:8]))
    assert isinstance(e.predict(df), np.ndarray)
    _assert_sane(e, df)
    if "Heterogeneous" in type(e).__name__:  # reads columns by name: reordering is fine
        np.testing.assert_allclose(e.predict_proba(df[cols[::-1]]) if hasattr(e, "predict_proba")
                                   else e.predict(df[cols[::-1]]),
                                   e.predict_proba(df) if hasattr(e, "predict_proba")
                                   else e.predict(df))
    else:
        with pytest.raises(ValueError, match="feature names"):
            e.predict(df[cols[::-1]])  # reordered columns are not silently misread
    # numpy in after pandas fit, and pandas in after numpy fit: same numbers
    e2 = _fitted(est, X, y, g).adapt(X[:8], y[:8])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "X does not have valid feature names"
        np.testing.assert_allclose(_numbers(e, X), _numbers(e2, df))


def _numbers(est, X):
    if hasattr(est, "predict_proba"):
        return est.predict_proba(X)
    pred = np.asarray(est.predict(X))
    return pred if pred.dtype.kind == "f" else pred.astype(str) == pred.astype(str)[0]


def _absurd_values(constraints):
    """Values no constraint of a parameter accepts (a negative number, a word)."""
    from sklearn.utils._param_validation import make_constraint

    made = [make_constraint(c) for c in constraints]
    return [v for v in (-5, -0.5, "banana") if not any(c.is_satisfied_by(v) for c in made)]


@_case
def _absurd_parameters(est, X, y, g):
    checked = 0
    for name, constraints in est._parameter_constraints.items():
        if name not in est.get_params(deep=False) or constraints == "no_validation":
            continue
        for value in _absurd_values(constraints):
            e = clone(est).set_params(**{name: value})
            with pytest.raises(InvalidParameterError, match=rf"'{name}' parameter"):
                e.fit(X, y, groups=g)
            checked += 1
    assert checked >= 2


@_case
def _before_fit(est, X, y, g):
    for call in (lambda e: e.predict(X), lambda e: e.adapt(X[:8], y[:8]),
                 lambda e: e.score(X, y, groups=g)):
        with pytest.raises(NotFittedError):
            call(clone(est))


@_case
def _pickle_after_fit_and_adapt_and_determinism(est, X, y, g):
    e = _fitted(est, X, y, g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zero_shot = None
        try:
            zero_shot = _numbers(e, X)
        except NotFittedError:  # per-task labels: no zero-shot model
            pass
        if zero_shot is not None:
            np.testing.assert_array_equal(_numbers(pickle.loads(pickle.dumps(e)), X),
                                          zero_shot)
        e.adapt(X[:8], y[:8])
        adapted = _numbers(e, X)
        np.testing.assert_array_equal(_numbers(pickle.loads(pickle.dumps(e)), X), adapted)
        # a second fit with the same random_state gives the same model
        np.testing.assert_array_equal(_numbers(_fitted(est, X, y, g).adapt(X[:8], y[:8]), X),
                                      adapted)


@pytest.mark.parametrize("case", sorted(_CASES))
@pytest.mark.parametrize("name, est", INSTANCES, ids=_ids(INSTANCES))
def test_bad_input_matrix(name, est, case):
    X, y, g = _data(est)
    _CASES[case](est, X, y, g)


# -- faults ----------------------------------------------------------------------------
@pytest.mark.parametrize("name, est", TORCH, ids=_ids(TORCH))
def test_model_fitted_on_cuda_loads_on_cpu_only_machine(name, est, monkeypatch):
    """Pickle as a CUDA machine would (every tensor tagged 'cuda:0'), load without CUDA."""
    import torch
    import torch.serialization as ts

    X, y, g = _data(est)
    e = _fitted(est, X, y, g).adapt(X[:8], y[:8])
    expected = _numbers(e, X)
    with monkeypatch.context() as m:
        m.setattr(ts, "location_tag", lambda storage: "cuda:0")
        blob = pickle.dumps(e)
    assert b"cuda:0" in blob
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = pickle.loads(blob)
    np.testing.assert_allclose(_numbers(loaded, X), expected)
    tensors = [v for v in vars(loaded).values() if isinstance(v, torch.Tensor)]
    tensors += [v for d in vars(loaded).values() if isinstance(d, dict)
                for v in d.values() if isinstance(v, torch.Tensor)]
    assert all(t.device.type == "cpu" for t in tensors)
    # a copy made by score is shallow: the same fitted objects
    assert all(a is b for a, b in zip(vars(copy.copy(e)).values(), vars(e).values()))


# -- many small tasks --------------------------------------------------------------------
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_batched_ridge_members_equal_per_task_fits(fit_intercept, monkeypatch):
    # one batched solve for all tasks (TaskEnsemble, MixtureOfExperts' initial
    # clustering) against one Ridge.fit per task (a Pipeline takes the generic path)
    X, y, g = _data(Ridge(), n_tasks=12, n_rows=5)
    ridge = Ridge(alpha=0.5, fit_intercept=fit_intercept)
    calls = []
    real_fit = Ridge.fit
    monkeypatch.setattr(Ridge, "fit", lambda self, *a, **k: (calls.append(1),
                                                             real_fit(self, *a, **k))[1])
    fast = TaskEnsembleRegressor(ridge, random_state=0).fit(X, y, groups=g)
    assert not calls, "a Ridge.fit call per task: not batched"
    slow = TaskEnsembleRegressor(make_pipeline(ridge), random_state=0).fit(X, y, groups=g)
    for est in (fast, slow):
        est.adapt(X[:5], y[:5])
    np.testing.assert_allclose(fast.predict(X), slow.predict(X), rtol=1e-8, atol=1e-10)
    assert all(type(m) is Ridge for m in fast.estimators_)
    np.testing.assert_allclose(fast.estimators_[3].predict(X),
                               clone(ridge).fit(X[g == 3], y[g == 3]).predict(X))


@pytest.mark.parametrize("cls, args", [
    (HyperparameterWarmStart, (Ridge(), {"alpha": [0.1, 10.0]})),
    (AlgorithmSelector, ([Ridge(), Ridge(alpha=100.0)],)),
], ids=["HyperparameterWarmStart", "AlgorithmSelector"])
def test_selectors_parallel_fit_is_the_same_and_shows_progress(cls, args, capsys):
    X, y, g = _data(Ridge(), n_tasks=8)
    one = cls(*args, n_episodes=1, random_state=0).fit(X, y, groups=g)
    two = cls(*args, n_episodes=1, n_jobs=2, verbose=1, random_state=0).fit(X, y, groups=g)
    np.testing.assert_array_equal(one.task_scores_, two.task_scores_)
    assert "8/8" in capsys.readouterr().err  # the progress bar over the training tasks
    with pytest.raises(InvalidParameterError, match="'alpha' parameter"):
        # candidates' parameters are validated once before the bulk of small fits
        HyperparameterWarmStart(make_pipeline(Ridge()), {"ridge__alpha": [-1.0]},
                                n_episodes=1).fit(X, y, groups=g)


# -- the CLI: bad files and options end in exit status 2 and a message, no traceback ----
def _sites_csv(n_tasks=6, rows=12, sep=",", decimal=".", label=None, site=None):
    """A small task table (site, x1, x2, label) as CSV text."""
    rng = np.random.default_rng(0)
    lines = [sep.join(["site", "x1", "x2", "label"])]
    for t in range(n_tasks):
        for i in range(rows):
            x1, x2 = rng.normal(size=2)
            lines.append(sep.join([
                f"s{t}" if site is None else site,
                f"{x1:.3f}".replace(".", decimal), f"{x2:.3f}".replace(".", decimal),
                ("yes" if i % 2 else "no") if label is None else label]))
    return "\n".join(lines) + "\n"


def _with_gaps(text):
    """inf and 'NA' cells in x1, every x2 cell empty."""
    lines = text.splitlines()
    rows = [line.split(",") for line in lines[1:]]
    for i, row in enumerate(rows):
        row[1] = {0: "inf", 1: "NA", 2: "-inf"}.get(i % 5, row[1])
        row[2] = ""
    return "\n".join([lines[0], *map(",".join, rows)]) + "\n"


_TARGET = ["--target", "label", "--group", "site"]
# name: (file name, file content (str or bytes; None: no file), extra options,
#        the message on stderr)
_CLI_BAD = {
    "missing file": ("nope.csv", None, _TARGET, r"file '.*nope\.csv' does not exist"),
    "empty file": ("e.csv", "", _TARGET, r"is empty; it needs a header row"),
    "blank file": ("b.csv", "\n \n", _TARGET, r"is empty"),
    "header only": ("h.csv", "site,x1,label\n", _TARGET, r"has a header but no data rows"),
    "not text": ("bin.csv", bytes(range(256)) * 8, _TARGET, r"not a UTF-8 text CSV"),
    "damaged gzip": ("d.csv.gz", b"\x1f\x8b\x08\x00garbage", _TARGET, r"damaged gzip"),
    "ragged row": ("r.csv", "site,x,label\ns1,1,yes\ns2,1,2,3,no\n", _TARGET,
                   r"not a valid CSV file with separator ','.*line 3"),
    "duplicate columns": ("dup.csv", "site,x,x,label\ns1,1,2,yes\n", _TARGET,
                          r"duplicate column names \['x'\]"),
    "literal \\t, decimal commas without --decimal": (
        "t.tsv", _sites_csv(sep="\t", decimal=","), ["--sep", "\\t", *_TARGET],
        r"column 'x1' .* decimal comma .*--decimal ','"),
    "decimal commas with ';' guessed": (
        "c.csv", _sites_csv(sep=";", decimal=","), _TARGET,
        r"column 'x1' .* decimal comma .*--decimal ','"),
    "two-character --sep": ("a.csv", _sites_csv(), ["--sep", ";;", *_TARGET],
                            r"--sep ';;': give one character"),
    "--sep equal to --decimal": ("a.csv", _sites_csv(), ["--sep", ",", "--decimal", ",",
                                                         *_TARGET], r"both ','"),
    "group column all missing": ("g.csv", _sites_csv(site=""), _TARGET,
                                 r"--group: column 'site' has no values"),
    "target column all missing": ("y.csv", _sites_csv(label=""), _TARGET,
                                  r"--target: column 'label' has no values"),
    "missing target column": ("a.csv", _sites_csv(), ["--target", "lable", "--group", "site"],
                              r"--target: column 'lable' is not in .*Did you mean 'label'"),
    "missing group column": ("a.csv", _sites_csv(), ["--target", "label", "--group", "state"],
                             r"--group: column 'state' is not in"),
    "no --target": ("a.csv", _sites_csv(), ["--group", "site"], r"--data needs --target"),
    "target is the group": ("a.csv", _sites_csv(), ["--target", "site", "--group", "site"],
                            r"both 'site'"),
    "unknown --drop column": ("a.csv", _sites_csv(), [*_TARGET, "--drop", "zz"],
                              r"--drop: column 'zz'"),
    "no feature columns": ("n.csv", "site,label\n" + "".join(
        f"s{i % 5},{'yes' if i % 2 else 'no'}\n" for i in range(40)), _TARGET,
        r"no feature columns"),
    "one-task file": ("one.csv", _sites_csv(n_tasks=1), _TARGET,
                      r"too few tasks: 1 distinct value\(s\) \['s0'\]"),
    "two-task file": ("two.csv", _sites_csv(n_tasks=2), _TARGET, r"too few tasks: 2"),
    "non-numeric target for regression": (
        "a.csv", _sites_csv(), [*_TARGET, "--task-type", "regression"],
        r"--task-type regression: column 'label' is not numeric \(e\.g\. 'no'\)"),
    "one-class target": ("sc.csv", _sites_csv(label="yes"), _TARGET,
                         r"single class 'yes' in every row"),
    "constant regression target": ("cr.csv", _sites_csv(label="1.5"),
                                   [*_TARGET, "--task-type", "regression"],
                                   r"single value 1.5 in every row"),
    "unknown learner": ("a.csv", _sites_csv(), [*_TARGET, "--learners", "banana"],
                        r"unknown learner\(s\) \['banana'\]"),
    "unknown scorer": ("a.csv", _sites_csv(), [*_TARGET, "--scoring", "banana"],
                       r"'banana' is not a scikit-learn scorer"),
    "--shots 0": ("a.csv", _sites_csv(), [*_TARGET, "--shots", "0"], r"--shots 0"),
    "--episodes 0": ("a.csv", _sites_csv(), [*_TARGET, "--episodes", "0"], r"--episodes 0"),
    "--test-size 1.5": ("a.csv", _sites_csv(), [*_TARGET, "--test-size", "1.5"],
                        r"--test-size 1.5: must be a fraction"),
    "--threads 0": ("a.csv", _sites_csv(), [*_TARGET, "--threads", "0"], r"--threads 0"),
    "--jobs 0": ("a.csv", _sites_csv(), [*_TARGET, "--jobs", "0", "--learners", "pooled"],
                 r"--jobs 0: give the number of parallel jobs"),
}


def _cli(tmp_path, capsys, file_name, content, options, *, output=None):
    from sklearn_meta.cli import main

    path = tmp_path / file_name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    argv = ["benchmark", "--data", str(path), *options, "--output",
            str(output or tmp_path / "out"), "--quiet"]
    if "--episodes" not in options:
        argv += ["--episodes", "4"]
    code = main(argv)  # an exception here is a traceback for the user: the test fails
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize("case", sorted(_CLI_BAD))
def test_cli_bad_input_exits_2_naming_the_problem(case, tmp_path, capsys):
    file_name, content, options, message = _CLI_BAD[case]
    code, out, err = _cli(tmp_path, capsys, file_name, content, options)
    assert code == 2, (out, err)
    assert err.startswith("sklearn-meta benchmark: error: ") and err.count("\n") == 1, err
    assert re.search(message, err), err


@pytest.mark.parametrize("case, file_name, content, options", [
    ("literal \\t and decimal commas", "t.tsv", _sites_csv(sep="\t", decimal=","),
     ["--sep", "\\t", "--decimal", ","]),
    ("tab given as 'tab'", "t.tsv", _sites_csv(sep="\t"), ["--sep", "tab"]),
    ("separator guessed", "s.csv", _sites_csv(sep=";"), []),
    ("inf, 'NA' and an empty feature column", "i.csv", _with_gaps(_sites_csv()), []),
], ids=lambda v: v if isinstance(v, str) and len(v) < 40 and "\n" not in v else "")
def test_cli_awkward_but_valid_files_run(case, file_name, content, options, tmp_path,
                                         capsys):
    code, out, err = _cli(tmp_path, capsys, file_name, content,
                          [*options, *_TARGET, "--learners", "pooled", "--shots", "2"])
    assert code == 0, err
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["dataset"]["feature_columns"] == ["x1", "x2"]


def test_cli_output_that_is_a_file_is_named(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    code, _, err = _cli(tmp_path, capsys, "a.csv", _sites_csv(),
                        [*_TARGET, "--learners", "pooled"], output=tmp_path / "taken")
    assert code == 2 and "--output: cannot create" in err


# -- the trainer over every torch learner: divergence, stopping rules, interrupts -------
def _not_saturated(est, X):
    """Finite outputs; a classifier's probabilities are not all 0/1."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _assert_sane(est, X)
        if is_classifier(est):
            proba = est.predict_proba(X)
            assert np.mean((proba < 1e-9) | (proba > 1 - 1e-9)) < 0.5, proba


@pytest.mark.parametrize("name, est", TORCH, ids=_ids(TORCH))
def test_huge_learning_rates_warn_and_leave_no_saturated_model(name, est):
    X, y, g = _data(est)
    # a huge meta_lr blows the loss up after the first step
    e = clone(est).set_params(meta_lr=1e6, max_iter=10)
    with pytest.warns(RuntimeWarning, match=r"Meta-training diverged at iteration 2 "):
        e.fit(X, y, groups=g)
    assert e.n_iter_ == 1
    e.adapt(X[:8], y[:8])
    _not_saturated(e, X)
    if "inner_lr" not in e.get_params():
        return
    # a huge inner_lr: the loss is ~1e10 from iteration 1 on (no sane first loss to compare
    # with) or, where meta-training runs no inner loop (FineTune), adaptation explodes;
    # also on larger tasks with a sign label (there ANIL predicted 0/1 without a warning)
    rng = np.random.default_rng(1)
    X2 = rng.normal(size=(200, 3))
    data = [(X, y, g), (X2, (X2[:, 0] > 0).astype(int) if is_classifier(est)
                        else X2 @ np.ones(3), np.repeat(np.arange(10), 20))]
    for first, (X, y, g) in zip([True, False], data):
        e = clone(est).set_params(inner_lr=1e6, max_iter=10)
        with pytest.warns(RuntimeWarning, match=r"(Meta-training|Adaptation) diverged") as rec:
            e.fit(X, y, groups=g).adapt(X[:8], y[:8])
        if first and any("Meta-training diverged" in str(w.message) for w in rec):
            assert any("diverged at iteration 1 " in str(w.message) for w in rec)
            assert e.n_iter_ == 0
        _not_saturated(e, X)


_STOP = dict(n_iter_no_change=1, validation_interval=1, max_iter=8)


@pytest.mark.parametrize("name, est", TORCH, ids=_ids(TORCH))
def test_training_runs_max_iter_unless_validation_asks_to_stop(name, est):
    X, y, g = _data(est)
    fits = {}
    for label, kw in {"tol=0": dict(early_stopping=True, tol=0.0),
                      "no early stopping": dict(early_stopping=False, tol=10.0),
                      "plateau schedule": dict(early_stopping=False, tol=10.0,
                                               lr_schedule="plateau"),
                      "control": dict(early_stopping=True, tol=10.0)}.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits[label] = clone(est).set_params(**_STOP, **kw).fit(X, y, groups=g).n_iter_
    # tol=0 never stops; without early stopping the (noisy) training loss never stops it
    assert fits == {"tol=0": 8, "no early stopping": 8, "plateau schedule": 8, "control": 2}


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("name, est", TORCH, ids=_ids(TORCH))
def test_keyboard_interrupt_keeps_the_best_parameters_and_a_usable_estimator(
        name, est, early_stopping, monkeypatch):
    import torch

    X, y, g = _data(est)
    settings = dict(early_stopping=early_stopping, validation_interval=2, tol=0.0)
    if est.get_params().get("base_estimator") == "auto":
        # one network, not the choice between two (tests/test_heterogeneous.py has that)
        settings["base_estimator"] = None
    step, calls = torch.optim.Adam.step, []

    def interrupted_step(self, *args, **kwargs):  # Ctrl-C during the 7th meta-iteration
        calls.append(1)
        if len(calls) == 7:
            raise KeyboardInterrupt
        return step(self, *args, **kwargs)

    e = clone(est).set_params(max_iter=50, **settings)
    with monkeypatch.context() as m:
        m.setattr(torch.optim.Adam, "step", interrupted_step)
        with pytest.warns(UserWarning, match=r"interrupted after 6 meta-iterations.*usable"):
            e.fit(X, y, groups=g)
    assert e.n_iter_ == 6 and len(calls) == 7
    # the same as a run of 6 iterations (best validation check restored, if any)
    ref = _fitted(clone(est).set_params(max_iter=6, **settings), X, y, g)
    e = pickle.loads(pickle.dumps(e)).adapt(X[:8], y[:8])
    np.testing.assert_allclose(_numbers(e, X), _numbers(ref.adapt(X[:8], y[:8]), X))
    _assert_sane(e, X)


# -- sharing fitted models without pickle ------------------------------------------------
@pytest.mark.parametrize("name, est", TORCH, ids=_ids(TORCH))
def test_torch_state_round_trips_through_weights_only_load(name, est):
    import io

    import torch

    from sklearn_meta.utils.sharing import get_torch_state, set_torch_state

    X, y, g = _data(est)
    if est.get_params().get("base_estimator") == "auto":
        # "auto" may choose the residual mode, whose scikit-learn base model is shared
        # with pickle only (a clear TypeError: tests/test_heterogeneous.py)
        est = clone(est).set_params(base_estimator=None)
    e = _fitted(est, X, y, g)
    buffer = io.BytesIO()
    torch.save(get_torch_state(e), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)  # plain tensors and containers only
    template = _fitted(clone(est).set_params(max_iter=0), X[:40], y[:40], g[:40])
    copy_ = set_torch_state(template, state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = _numbers(e, X)
        except NotFittedError:  # per-task labels: no zero-shot model
            expected = None
        if expected is not None:  # zero-shot state (prototypes, default support) too
            np.testing.assert_array_equal(_numbers(copy_, X), expected)
        np.testing.assert_array_equal(_numbers(copy_.adapt(X[:8], y[:8]), X),
                                      _numbers(e.adapt(X[:8], y[:8]), X))
    assert copy_.n_iter_ == e.n_iter_
    wider = _fitted(clone(est).set_params(max_iter=0), np.hstack([X, X]), y, g)
    if not getattr(wider, "_columns_vary_", False):
        with pytest.raises(ValueError, match="does not fit this"):
            set_torch_state(wider, state)


def test_torch_state_refuses_other_classes_and_non_torch_learners():
    from sklearn_meta.utils.sharing import get_torch_state, set_torch_state

    X, y, g = _binary_tasks()
    state = get_torch_state(MAMLClassifier(**_TINY).fit(X, y, groups=g))
    with pytest.raises(ValueError, match="comes from a 'MAMLClassifier', not a "
                                         "ProtoNetClassifier"):
        set_torch_state(ProtoNetClassifier(**_TINY).fit(X, y, groups=g), state)
    with pytest.raises(TypeError, match="not a torch learner.*skops"):
        get_torch_state(PooledEstimator(LogisticRegression()).fit(X, y, groups=g))
    residual = MAMLClassifier(base_estimator=LogisticRegression(), **_TINY)
    with pytest.raises(TypeError, match="'base_estimator_' holds a LogisticRegression.*pickle"):
        get_torch_state(residual.fit(X, y, groups=g))


_NOT_TORCH = [(n, e) for n, e in INSTANCES if not isinstance(e, _TorchMetaLearnerMixin)]


def test_user_guide_documents_sharing_without_pickle():
    """The issue asks to document a way to share fitted models that unpickles no
    arbitrary code: torch state read with weights_only=True, and skops (its code blocks
    run in tests/test_docs.py; the round trips are tested here)."""
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "doc" / "user_guide.rst").read_text()
    for needle in ("weights_only=True", "get_torch_state", "skops.io.dump",
                   "get_untrusted_types"):
        assert needle in guide, needle


@pytest.mark.parametrize("name, est", _NOT_TORCH, ids=_ids(_NOT_TORCH))
def test_skops_round_trip_of_learners_built_from_sklearn(name, est):
    sio = pytest.importorskip("skops.io")
    X, y, g = _data(est)
    e = _fitted(est, X, y, g).adapt(X[:8], y[:8])
    blob = sio.dumps(e)
    untrusted = sio.get_untrusted_types(data=blob)
    # what a recipient reviews: classes of sklearn-meta and scikit-learn, and numpy's
    # dtype objects (the mixed-effects stack keeps its linear model's column dtypes)
    assert all(t.startswith(("sklearn_meta.", "sklearn.")) or t == "numpy.dtype"
               for t in untrusted), untrusted
    loaded = sio.loads(blob, trusted=untrusted)
    np.testing.assert_array_equal(_numbers(loaded, X), _numbers(e, X))


def test_tuple_task_ids_are_not_mixed_types():
    # (site, year) pairs as task ids: pandas infers "mixed", yet one type throughout
    X, y, g = _data(LogisticRegression())
    ids = np.empty(len(g), dtype=object)
    ids[:] = [("site", int(t) % 3, int(t)) for t in g]
    est = PooledEstimator(LogisticRegression(), n_shots=2, random_state=0)
    assert np.isfinite(est.fit(X, y, groups=ids).score(X, y, groups=ids))
