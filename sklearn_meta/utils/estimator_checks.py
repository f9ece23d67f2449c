"""Checks that a meta-learner is a scikit-learn citizen and keeps the contract.

On the model of imbalanced-learn's check generator:
:func:`parametrize_with_checks` is a pytest decorator that runs
scikit-learn's own estimator checks *and* the meta-learner checks of this
module over a list of estimators; :func:`check_meta_estimator` runs the
meta-learner checks directly.

The meta-learner checks:

* ``check_fit_forms_equivalent``: a list of tasks, ``X, y, groups`` and (for
  one task) ``X, y`` give the same model for the same seed;
* ``check_adapt_independence``: adapting to task A, then B, predicts B exactly
  as adapting to B alone, and ``adapt`` returns ``self``;
* ``check_adapt_keeps_meta_model``: zero-shot predictions (where defined) are
  the same before and after ``adapt`` on a copy of the fitted state;
* ``check_episodic_score_reproducible``: ``score`` with ``groups`` is a
  finite number, the same on every call for a fixed ``random_state``;
* ``check_round_trips``: ``clone``, pickle and joblib after fit and after
  adapt;
* ``check_routing``: ``GridSearchCV`` with ``GroupKFold`` and a Pipeline,
  with metadata routing on, meta-train on training tasks and score on
  held-out tasks; a warning when routing is off but groups were given.
"""

from __future__ import annotations

import io
import pickle
import warnings
from functools import partial

import joblib
import numpy as np
from sklearn import config_context
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_estimator as _sk_check_estimator,  # noqa: F401  (re-exported for users)
)
from sklearn.utils.estimator_checks import parametrize_with_checks as _sk_parametrize

__all__ = [
    "parametrize_with_checks",
    "check_meta_estimator",
    "meta_checks",
]

_N_TASKS = 6


def _task_data(estimator, n_tasks=_N_TASKS, per_task_labels=False, seed=0):
    """Small synthetic tasks for the checks (classifier or regressor)."""
    from ..datasets import make_classification_tasks, make_regression_tasks

    n_shots = getattr(estimator, "n_shots", 5)
    n_rows = max(24, 4 * (n_shots + 3))
    if is_classifier(estimator):
        return make_classification_tasks(
            n_tasks=n_tasks, n_samples_per_task=n_rows, n_features=5, n_informative=2,
            per_task_labels=per_task_labels, random_state=seed,
        )
    return make_regression_tasks(
        n_tasks=n_tasks, n_samples_per_task=n_rows, n_features=5, n_informative=2,
        random_state=seed,
    )


def _seeded(estimator):
    est = clone(estimator)
    if "random_state" in est.get_params():
        est.set_params(random_state=0)
    return est


def _outputs(est, X):
    """Everything the adapted (or zero-shot) model predicts on X."""
    out = [np.asarray(est.predict(X))]
    for method in ("predict_proba", "decision_function"):
        if hasattr(est, method):
            out.append(np.asarray(getattr(est, method)(X)))
    return out


def _assert_same(a, b, msg):
    for u, v in zip(a, b):
        if u.dtype.kind in "fc":
            np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-9, err_msg=msg)
        else:
            np.testing.assert_array_equal(u, v, err_msg=msg)


def check_fit_forms_equivalent(name, estimator):
    """The three input forms of ``fit`` give the same model."""
    data = _task_data(estimator)
    a = _seeded(estimator).fit(data.tasks)
    b = _seeded(estimator).fit(data.X, data.y, groups=data.groups)
    X_s, y_s = data.tasks[0][0][:12], data.tasks[0][1][:12]
    X_q = data.tasks[1][0]
    _assert_same(_outputs(a.adapt(X_s, y_s), X_q), _outputs(b.adapt(X_s, y_s), X_q),
                 f"{name}: fit(tasks) and fit(X, y, groups) differ")
    X0, y0 = data.tasks[0]
    c = _seeded(estimator).fit(X0, y0)
    d = _seeded(estimator).fit([(X0, y0)])
    _assert_same(_outputs(c, X_q), _outputs(d, X_q),
                 f"{name}: fit(X, y) and fit([(X, y)]) differ")


def check_adapt_independence(name, estimator):
    """Adapting to A then B predicts B exactly as adapting to B alone."""
    data = _task_data(estimator)
    est = _seeded(estimator).fit(data.tasks[:4])
    (XA, yA), (XB, yB) = data.tasks[4], data.tasks[5]
    fresh = pickle.loads(pickle.dumps(est))
    ret = est.adapt(XA[:12], yA[:12])
    assert ret is est, f"{name}.adapt must return self"
    est.adapt(XB[:12], yB[:12])
    fresh.adapt(XB[:12], yB[:12])
    _assert_same(_outputs(est, XB[12:]), _outputs(fresh, XB[12:]),
                 f"{name}: adapting to A then B differs from adapting to B alone")


def check_adapt_keeps_meta_model(name, estimator):
    """``adapt`` leaves the meta-learned (zero-shot) model untouched."""
    data = _task_data(estimator)
    est = _seeded(estimator).fit(data.tasks[:4])
    X, y = data.tasks[4]
    before = _outputs(est, X)
    est.adapt(X[:12], y[:12])
    est.__dict__.pop("adapted_", None)
    _assert_same(before, _outputs(est, X),
                 f"{name}: adapt changed the meta-learned model")


def check_per_task_labels(name, estimator):
    """Classifiers handle tasks with their own (string) label sets."""
    if not is_classifier(estimator):
        return
    data = _task_data(estimator, per_task_labels=True)
    est = _seeded(estimator)
    if not _supports_per_task_labels(est):
        # a learner that needs one shared label set must refuse clearly
        try:
            est.fit(data.tasks[:4])
        except ValueError as exc:
            assert "label" in str(exc), f"{name}: unclear error for per-task labels: {exc}"
            return
        raise AssertionError(f"{name} accepted per-task labels it does not support")
    est.fit(data.tasks[:4])
    X, y = data.tasks[4]
    pred = est.adapt(X[:12], y[:12]).predict(X[12:])
    assert set(np.unique(pred)) <= set(np.unique(y[:12])), (
        f"{name}: predictions outside the adapted task's labels")
    np.testing.assert_array_equal(est.classes_, np.unique(y[:12]))


def _supports_per_task_labels(est):
    options = getattr(est, "_parameter_constraints", {}).get("label_space", [])
    for opt in options:
        if hasattr(opt, "options"):
            return "per_task" in opt.options
    return True


def check_episodic_score_reproducible(name, estimator):
    """``score`` over tasks is finite and reproducible for a fixed seed."""
    data = _task_data(estimator)
    est = _seeded(estimator).fit(data.tasks[:4])
    X_te = np.concatenate([t[0] for t in data.tasks[4:]])
    y_te = np.concatenate([t[1] for t in data.tasks[4:]])
    g_te = np.repeat([4, 5], [len(t[1]) for t in data.tasks[4:]])
    s1 = est.score(X_te, y_te, groups=g_te)
    s2 = est.score(X_te, y_te, groups=g_te)
    assert np.isfinite(s1), f"{name}: episodic score is not finite"
    assert s1 == s2, f"{name}: episodic score differs between calls ({s1} != {s2})"


def check_round_trips(name, estimator):
    """clone, pickle and joblib keep the fitted and adapted model."""
    data = _task_data(estimator)
    est = _seeded(estimator).fit(data.tasks[:4])
    X, y = data.tasks[4]
    cloned = clone(est)
    assert not hasattr(cloned, "n_features_in_"), f"{name}: clone kept fitted state"
    assert cloned.get_params().keys() == est.get_params().keys()
    for stage in ("fitted", "adapted"):
        if stage == "adapted":
            est.adapt(X[:12], y[:12])
        try:
            expected = _outputs(est, X[12:])
        except Exception:  # per-task label space: no zero-shot prediction
            continue
        via_pickle = pickle.loads(pickle.dumps(est))
        buf = io.BytesIO()
        joblib.dump(est, buf)
        buf.seek(0)
        via_joblib = joblib.load(buf)
        for other, how in ((via_pickle, "pickle"), (via_joblib, "joblib")):
            _assert_same(expected, _outputs(other, X[12:]),
                         f"{name}: {how} round trip of the {stage} model changed predictions")


def check_routing(name, estimator):
    """GridSearchCV, cross_validate and a Pipeline route ``groups`` to the learner.

    With metadata routing on, every fold's score must equal a by-hand
    ``fit(X_train, y_train, groups=g_train).score(X_test, y_test,
    groups=g_test)``: meta-training on the training tasks and episodic
    scoring on the held-out tasks. With routing off and groups given to the
    splitter only, a warning must say so.
    """
    from ..pipeline import make_pipeline

    data = _task_data(estimator, n_tasks=6)
    est = _seeded(estimator)
    cv = GroupKFold(3)
    expected = []
    for tr, te in cv.split(data.X, data.y, data.groups):
        fitted = clone(est).fit(data.X[tr], data.y[tr], groups=data.groups[tr])
        expected.append(fitted.score(data.X[te], data.y[te], groups=data.groups[te]))
    with config_context(enable_metadata_routing=True):
        n_shots = est.get_params().get("n_shots", 5)
        search = GridSearchCV(est, {"n_shots": [n_shots]}, cv=cv)
        search.fit(data.X, data.y, groups=data.groups)
        got = [search.cv_results_[f"split{i}_test_score"][0] for i in range(3)]
        np.testing.assert_allclose(got, expected, rtol=1e-9, err_msg=(
            f"{name}: GridSearchCV did not meta-train/score on the task folds"))
        res = cross_validate(est, data.X, data.y, params={"groups": data.groups}, cv=cv)
        np.testing.assert_allclose(res["test_score"], expected, rtol=1e-9, err_msg=(
            f"{name}: cross_validate did not meta-train/score on the task folds"))
        res = cross_validate(make_pipeline(StandardScaler(), est), data.X, data.y,
                             params={"groups": data.groups}, cv=cv)
        assert np.all(np.isfinite(res["test_score"])), (
            f"{name}: Pipeline cross_validate scores not finite")
    with config_context(enable_metadata_routing=False):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cross_validate(est, data.X, data.y, groups=data.groups, cv=GroupKFold(2))
        assert any("metadata routing" in str(w.message) for w in caught), (
            f"{name}: no warning when groups reach only the splitter")


def meta_checks(estimator):
    """Yield the meta-learner checks, each a callable ``check(name, estimator)``."""
    for check in (
        check_fit_forms_equivalent,
        check_adapt_independence,
        check_adapt_keeps_meta_model,
        check_per_task_labels,
        check_episodic_score_reproducible,
        check_round_trips,
        check_routing,
    ):
        yield check


def check_meta_estimator(estimator):
    """Run every meta-learner check on ``estimator`` (raises on the first failure).

    Parameters
    ----------
    estimator : meta-learner instance
        The (unfitted) estimator to check.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_meta.baselines import PerTaskEstimator
    >>> from sklearn_meta.utils.estimator_checks import check_meta_estimator
    >>> check_meta_estimator(PerTaskEstimator(LogisticRegression()))
    """
    name = type(estimator).__name__
    for check in meta_checks(estimator):
        check(name, clone(estimator))


def _check_id(obj):
    if hasattr(obj, "get_params"):
        return repr(obj).replace("\n", "").replace(" ", "")
    if isinstance(obj, partial):
        return obj.func.__name__
    return getattr(obj, "__name__", str(obj))


def parametrize_with_checks(estimators, *, expected_failed_checks=None):
    """Pytest decorator running scikit-learn's and the meta-learner checks.

    Parameters
    ----------
    estimators : list of estimator instances
        Meta-learners to check.
    expected_failed_checks : callable, default=None
        As in :func:`sklearn.utils.estimator_checks.parametrize_with_checks`:
        ``estimator -> {check_name: reason}`` for scikit-learn checks that are
        known to fail (each must be justified where it is used).

    Returns
    -------
    decorator : ``pytest.mark.parametrize``
        Parametrizes a test over ``(estimator, check)``; the test body is
        ``check(estimator)``.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn_meta.baselines import PerTaskEstimator
    >>> from sklearn_meta.utils.estimator_checks import parametrize_with_checks
    >>> @parametrize_with_checks([PerTaskEstimator(Ridge())])
    ... def test_sklearn_compatible(estimator, check):
    ...     check(estimator)
    """
    import pytest

    sk_mark = _sk_parametrize(list(estimators), expected_failed_checks=expected_failed_checks)
    params = list(sk_mark.args[1])
    for est in estimators:
        name = type(est).__name__
        for check in meta_checks(est):
            bound = partial(check, name)
            bound.__name__ = check.__name__
            params.append(pytest.param(est, bound, id=f"{_check_id(est)}-{check.__name__}"))
    return pytest.mark.parametrize("estimator, check", params)
