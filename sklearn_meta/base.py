"""Base classes of all meta-learners and the ``adapt`` contract.

A meta-learner is fitted on many small tasks (``fit``), then adapted to a new
task from a few labelled rows (``adapt``) and used like any scikit-learn
estimator (``predict``, ``predict_proba``, ``score``). This module holds
everything that is the same for every learner: the three input forms of
``fit``, validation, label spaces, the adapted state, zero-shot prediction,
the episodic ``score`` and metadata-routing defaults. A learner only writes
``_meta_fit``, ``_adapt`` and its prediction hooks.
"""

from __future__ import annotations

import copy
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import NotFittedError, UndefinedMetricWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import get_tags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .tasks import (
    TaskSet,
    _check_finite_tasks,
    _check_groups,
    _check_targets_present,
    _resolve_support,
    _split_by_groups,
    _supports_episode,
    _task_name,
    _is_task_sequence,
    _split_support_query,
    as_task_arrays,
)
from ._columns import align_columns, check_absent_columns, raise_with_column_hint
from .utils._docstrings import fill_doc
from .utils._numeric import raise_for_non_numeric
from .utils._seeds import seed_of

__all__ = ["BaseMetaEstimator", "BaseMetaClassifier", "BaseMetaRegressor"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _routing_enabled():
    from sklearn import get_config

    return bool(get_config().get("enable_metadata_routing", False))


def _warn_if_scored_as_one_task(estimator, n_rows, *, scorer=None, n_shots=None):
    """``score`` (or an episodic scorer) got no ``groups``: say so where that can be
    said honestly, once per call.

    An estimator fitted on several tasks that is scored without ``groups`` scores all
    rows as one task: always worth a warning. With metadata routing enabled,
    scikit-learn's tools pass the ``groups`` that ``score`` requests, so none arriving
    means the caller had none. With routing disabled they never pass them (only the
    splitter gets task ids), and a direct call cannot be told apart from
    ``GridSearchCV`` / ``cross_validate``, so the warning also says how to route them.

    ``scorer`` is what the user passed, as the message names it: ``None`` for the
    estimator's own ``score``, else the scorer's repr (``episodic_scorer('roc_auc')``),
    with the support size ``n_shots`` it uses.
    """
    n_fit = getattr(estimator, "_n_fit_tasks", 1)
    routing = _routing_enabled()
    if routing and n_fit <= 1:
        return
    name = type(estimator).__name__
    what = f"{name}.score" if scorer is None else str(scorer)
    n_shots = estimator.n_shots if n_shots is None else n_shots
    message = (f"{what} got no groups, so all {n_rows} rows are scored as ONE task "
               f"(one support set of n_shots={n_shots} rows)")
    if n_fit > 1:
        message += f", but {name} was fitted on {n_fit} tasks"
    message += ". Pass groups=task_ids to score every task on its own support set"
    if not routing:
        message += (
            "; under GridSearchCV or cross_validate, enable metadata routing so that "
            f"{what} receives them: sklearn.set_config(enable_metadata_routing=True), "
            "then pass groups=... to GridSearchCV.fit or params={'groups': ...} to "
            "cross_validate"
        )
        if scorer is None:
            message += (
                " (a plain scorer such as scoring='accuracy' scores the meta-learned "
                "model zero-shot; sklearn_meta.model_selection.episodic_scorer('accuracy')"
                " scores few-shot)"
            )
    warnings.warn(message + ".", UserWarning, stacklevel=3)




class _Adaptation:
    """The task-specific state produced by ``adapt``."""

    def __init__(self, classes, state):
        self.classes = classes
        self.state = state


def _has_classifier_hook(name):
    def check(self):
        return self._is_classifier() and self._supports(name)

    return check


class BaseMetaEstimator(BaseEstimator):
    """Base class of every meta-learner.

    Subclasses implement ``_meta_fit(tasks)``, ``_adapt(X, y, X_unlabeled)``
    and the prediction hooks of :class:`BaseMetaClassifier` or
    :class:`BaseMetaRegressor`; this class does validation, the input forms
    of ``fit``, the adapted state and the episodic ``score``.

    Notes
    -----
    ``groups`` is requested for ``fit`` and ``score`` by default, so that with
    ``sklearn.set_config(enable_metadata_routing=True)`` the scikit-learn
    search and cross-validation tools pass task ids on.
    """

    _parameter_constraints: dict = {
        "n_shots": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    __metadata_request__fit = {"groups": True}
    __metadata_request__score = {"groups": True}

    # -- hooks --------------------------------------------------------------
    def _meta_fit(self, tasks):  # pragma: no cover - abstract
        raise NotImplementedError

    def _adapt(self, X, y, X_unlabeled):  # pragma: no cover - abstract
        raise NotImplementedError

    def _allow_nan(self):
        """Whether the learner accepts NaN in X (override to forward tags)."""
        return False

    # Learners that compute in float32 (the torch learners) refuse larger features.
    _float32_features = False

    def _finite_check(self):
        """``ensure_all_finite`` of the feature validation: True, ``"allow-nan"``, or
        False where a wrapped estimator does its own checks (meta-estimators)."""
        return "allow-nan" if self._allow_nan() else True

    # -- tags ---------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._allow_nan()
        tags.target_tags.required = True
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "n_features_in_")

    # -- validation ---------------------------------------------------------
    def _validate_X(self, X, *, reset=False, name="X"):
        X = align_columns(self, X, name)  # DataFrames: columns of fit, matched by name
        try:
            X = validate_data(
                self,
                X,
                reset=reset,
                dtype=np.float64,
                ensure_all_finite=self._finite_check(),
            )
        except (ValueError, TypeError) as exc:  # TypeError: e.g. a date column
            if "feature names should match" in str(exc):
                raise_with_column_hint(self, exc)
            raise_for_non_numeric(self, X, exc, name)
        self._check_float32_range(X, name)
        return X

    def _check_float32_range(self, X, name, task_ids=None, starts=None):
        """Refuse features that overflow float32 (learners computing in float32)."""
        if not self._float32_features or X.size == 0 or X.dtype.kind != "f":
            return
        flat = X.reshape(-1)
        # fmax/fmin skip NaN; an infinity counts as too large
        if np.fmax.reduce(flat) <= _FLOAT32_MAX and np.fmin.reduce(flat) >= -_FLOAT32_MAX:
            return
        with np.errstate(invalid="ignore"):
            big = np.abs(X) > _FLOAT32_MAX
        row, col = (int(i[0]) for i in np.nonzero(big))
        where = f"row {row}, column {col}"
        if task_ids is not None:
            t = int(np.searchsorted(starts, row, side="right") - 1)
            where = f"task {_task_name(task_ids[t])}, column {col}"
        name_ = type(self).__name__
        raise ValueError(
            f"{name} has {int(big.sum())} value(s) beyond the float32 range "
            f"(|x| > {_FLOAT32_MAX:.4g}), e.g. {X[row, col]:.4g} in {where}. "
            f"{name_} computes in float32 (torch), where they overflow to infinity. "
            f"Rescale the features, e.g. make_pipeline(StandardScaler(), {name_}())."
        )

    def _validate_tasks(self, X, y, groups, *, task_list=False):
        """Validate any input form of ``fit`` into a :class:`TaskSet` (``task_list``:
        ``X, y, groups`` were stacked from a list of tasks by the caller)."""
        if _is_task_sequence(X, y):
            if groups is not None:
                raise ValueError(
                    "groups was given with a list of (X, y) tasks; the task of "
                    "each row is already known. Pass either a list of tasks or "
                    "flat X, y with groups."
                )
            X, y, groups, present = as_task_arrays(X, return_present=True)
            task_list = True
        else:
            present = None  # flat form: a column all-NaN in a task is absent from it
        _check_targets_present(y, groups, task_list)
        X_in = X
        try:
            X, y = validate_data(
                self,
                X,
                y,
                reset=True,
                dtype=np.float64,
                ensure_all_finite=False,
                y_numeric=not self._is_classifier(),
            )
        except (ValueError, TypeError) as exc:
            raise_for_non_numeric(self, X_in, exc, "X", groups, task_list)
        if groups is None:
            groups = np.zeros(X.shape[0], dtype=np.int64)
        groups = _check_groups(groups, X.shape[0])
        task_ids, order, starts = _split_by_groups(groups)
        if not np.array_equal(order, np.arange(len(order))):
            X, y = X[order], y[order]
        tasks = TaskSet(X, y, starts, task_ids, present=present)
        # tasks with different columns: adapt/predict then align DataFrames by name
        self._columns_vary_ = bool(
            (present is not None or np.isnan(np.min(X, initial=0))) and not tasks.present.all()
        )
        finite = self._finite_check()
        if not self._allow_nan() and self._columns_vary_:
            check_absent_columns(self, tasks.present, task_ids,
                                 getattr(self, "feature_names_in_", None))
        if finite is not False:
            _check_finite_tasks(X, task_ids, starts, finite == "allow-nan")
        self._check_float32_range(X, "X", task_ids, starts)
        encoded = self._encode_tasks(X, y, starts, task_ids)
        encoded.present = tasks._present  # None: derived from NaN blocks when asked
        return encoded

    def _is_classifier(self):
        return get_tags(self).estimator_type == "classifier"

    def _supports(self, name):
        """Whether the learner implements the hook ``_<name>``."""
        return hasattr(type(self), "_" + name)

    def _encode_tasks(self, X, y, starts, task_ids):
        if not self._is_classifier():
            return TaskSet(X, y.astype(np.float64), starts, task_ids)
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        n_tasks, n_classes = len(task_ids), len(classes)
        # the (task, class) pairs present, sorted by task then class: no per-task loop
        task_of_row = np.repeat(np.arange(n_tasks), np.diff(starts))
        row_pairs = task_of_row * n_classes + codes
        pairs = np.unique(row_pairs)
        pair_task, pair_class = np.divmod(pairs, n_classes)
        n_present = np.bincount(pair_task, minlength=n_tasks)
        space = getattr(self, "label_space", "auto")
        n_way = getattr(self, "n_way", None)
        n_way_episodes = space == "auto" and n_way is not None and n_way < n_classes
        if n_way_episodes:
            # meta-training on N-way episodes of fewer classes than the table has:
            # every episode relabels its classes, i.e. per-task label sets
            space = "per_task"
        elif space == "auto":
            space = "shared" if n_present.max() == n_classes else "per_task"
        self.meta_classes_ = classes
        self._label_space_ = space
        if space == "shared":
            return TaskSet(X, codes.astype(np.int64), starts, task_ids, "shared",
                           [classes] * n_tasks)
        first_pair = np.concatenate([[0], np.cumsum(n_present)])
        single = np.flatnonzero(n_present < 2)
        if single.size:
            t = single[0]
            why = (f"n_way={n_way} < {n_classes} classes means N-way episodes "
                   "with per-task labels" if n_way_episodes
                   else "with per-task label spaces (label_space='per_task')")
            raise ValueError(
                f"task {_task_name(task_ids[t])} has a single class "
                f"{classes[pair_class[first_pair[t]:first_pair[t] + 1]].tolist()[0]!r}; {why}, and every task "
                "needs at least 2 classes. Drop the task or use label_space='shared'."
            )
        # a row's local code: the rank of its class among its task's classes
        local = np.searchsorted(pairs, row_pairs) - first_pair[task_of_row]
        task_classes = np.split(classes[pair_class], first_pair[1:-1])
        return TaskSet(X, local.astype(np.int64), starts, task_ids, "per_task",
                       task_classes)

    @property
    def classes_(self):
        """Labels of the adapted task, else the labels seen in ``fit``."""
        if not self._is_classifier():
            raise AttributeError(f"{type(self).__name__} is a regressor; it has no classes_.")
        if not hasattr(self, "meta_classes_"):
            raise AttributeError(f"{type(self).__name__} is not fitted yet; it has no classes_.")
        adapted = getattr(self, "adapted_", None)
        if adapted is not None:
            return adapted.classes
        return self.meta_classes_

    # -- public API ---------------------------------------------------------
    def fit(self, X, y=None, groups=None):
        """Meta-train on many tasks.

        Parameters
        ----------
        X : sequence of (X, y) pairs, or array-like of shape (n_rows, n_features)
            Either a list of tasks, each an ``(X, y)`` pair with the same
            columns, or all rows of all tasks as one table.
        y : array-like of shape (n_rows,), default=None
            Targets of all rows; omitted when ``X`` is a list of tasks.
        groups : array-like of shape (n_rows,), default=None
            The task id of every row. Without it (and without a list of
            tasks) all rows are one task.

        Returns
        -------
        self : object
            The meta-trained estimator.
        """
        self._validate_params()
        tasks = self._validate_tasks(X, y, groups)
        self.__dict__.pop("adapted_", None)
        self._n_fit_tasks = tasks.n_tasks
        try:
            self._meta_fit(tasks)
        except ValueError as exc:
            self._name_nonfinite_task(tasks, exc)
            raise
        return self

    def _name_nonfinite_task(self, tasks, exc):
        """A wrapped estimator refused NaN/infinity: raise the error that names the task."""
        if self._finite_check() is not False or tasks.X.dtype.kind not in "fc":
            return
        text = str(exc).lower()
        if ("nan" in text or "inf" in text) and not np.isfinite(tasks.X).all():
            try:
                _check_finite_tasks(tasks.X, tasks.task_ids, tasks.starts, False)
            except ValueError as named:
                raise named from exc

    @fill_doc
    def adapt(self, X_support, y_support, X_unlabeled=None):
        """Adapt the meta-learned model to one new task.

        Only task-specific state changes: what ``fit`` learned is untouched,
        so adapting to task A, then B, predicts B exactly as adapting to B
        alone.

        Parameters
        ----------
        %(support_set)s
        X_unlabeled : array-like of shape (n_unlabeled, n_features), default=None
            Unlabelled rows of the same task, used by learners that adapt
            semi-supervised or transductively; ignored by the others.

        Returns
        -------
        self : object
            The estimator, adapted to the task.
        """
        check_is_fitted(self)
        X = self._validate_X(X_support, name="X_support")
        y = column_or_1d(np.asarray(y_support), warn=True)
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"X_support has {X.shape[0]} rows but y_support has "
                f"{y.shape[0]}; they must have the same number of rows."
            )
        if not self._is_classifier():
            y = self._check_regression_targets(y, "y_support")
        X_u = None if X_unlabeled is None else self._validate_X(X_unlabeled,
                                                                 name="X_unlabeled")
        return self._adapt_arrays(X, y, X_u)

    def _check_regression_targets(self, y, name):
        """Float targets of a regressor; a ValueError naming ``name`` when they are
        not numbers or not finite."""
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            bad = [v for v in y.tolist() if not isinstance(v, (int, float, bool))]
            raise ValueError(
                f"{name} of a regressor must be numbers; got {bad[:3]!r} "
                f"(dtype {y.dtype}). Convert the targets to float."
            ) from None
        if not np.isfinite(y).all():
            counts = {"NaN": int(np.isnan(y).sum()), "infinite": int(np.isinf(y).sum())}
            what = " and ".join(f"{n} {k}" for k, n in counts.items() if n)
            raise ValueError(
                f"{name} contains {what} value(s) (first at row "
                f"{int(np.flatnonzero(~np.isfinite(y))[0])}); every support row needs a "
                "finite target. Drop the rows with missing targets."
            )
        return y

    def _adapt_arrays(self, X, y, X_unlabeled=None):
        classes, codes = self._encode_support(y)
        state = self._adapt(X, codes, X_unlabeled)
        self.adapted_ = _Adaptation(classes, state)
        return self

    def _encode_support(self, y):
        if not self._is_classifier():
            return None, y.astype(np.float64)
        if not (y.ndim == 1 and y.dtype.kind in "biuUS"):
            # 1-D integer, boolean and string labels are always valid class labels: skip
            # the check (about 125 us, a tenth of a typical adapt) for them
            values = y.tolist() if y.dtype == object else []
            n_str = sum(isinstance(v, str) for v in values)
            if 0 < n_str < len(values):  # strings and numbers: they cannot be sorted
                kinds = {type(v).__name__ for v in values}
                raise ValueError(
                    f"y_support mixes label types {sorted(kinds)}; use one type for the "
                    "labels of a task (e.g. all strings)."
                )
            check_classification_targets(y)
        if self._label_space_ == "shared":
            unknown = np.setdiff1d(np.unique(y), self.meta_classes_)
            if unknown.size:
                raise ValueError(
                    f"y_support has label(s) {unknown.tolist()} not seen in fit "
                    f"(classes {self.meta_classes_.tolist()}); in the shared "
                    "label space every task uses those labels. Use "
                    "label_space='per_task' to adapt to new labels."
                )
            return self.meta_classes_, np.searchsorted(self.meta_classes_, y)
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"y_support has a single class {classes.tolist()}; adapting to "
                "a new task's own labels needs at least 2 classes in the "
                "support set."
            )
        return classes, codes

    def _state_and_classes(self):
        """(state, classes) to predict with; state None means zero-shot."""
        check_is_fitted(self)
        adapted = getattr(self, "adapted_", None)
        if adapted is not None:
            return adapted.state, adapted.classes
        if self._is_classifier() and self._label_space_ != "shared":
            raise NotFittedError(
                f"{type(self).__name__} was meta-trained on tasks with different "
                "label sets, so it cannot predict before adapting: call "
                "adapt(X_support, y_support) with a few labelled rows of the "
                "new task first."
            )
        return None, getattr(self, "meta_classes_", None)

    # -- prediction -----------------------------------------------------------
    def _predict_codes(self, X, state, n_classes):
        return np.argmax(self._predict_proba(X, state, n_classes), axis=1)

    def _predict_arrays(self, X, **kwargs):
        state, classes = self._state_and_classes()
        if not self._is_classifier():
            return self._predict(X, state, **kwargs)
        return classes[self._predict_codes(X, state, len(classes))]

    @fill_doc
    def predict(self, X, **predict_params):
        """Predict with the adapted model (zero-shot before any ``adapt``).

        Parameters
        ----------
        %(query_rows)s
        **predict_params : dict
            Learner-specific options (e.g. ``return_std`` of a regressor).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels (from ``classes_``) or values.
        """
        check_is_fitted(self)
        return self._predict_arrays(self._validate_X(X), **predict_params)

    @available_if(_has_classifier_hook("predict_proba"))
    @fill_doc
    def predict_proba(self, X):
        """Class probabilities with the adapted (or zero-shot) model.

        Parameters
        ----------
        %(query_rows)s

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = self._validate_X(X)
        state, classes = self._state_and_classes()
        return self._predict_proba(X, state, len(classes))

    @available_if(_has_classifier_hook("predict_proba"))
    @fill_doc
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        Parameters
        ----------
        %(query_rows)s

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @available_if(_has_classifier_hook("decision_function"))
    @fill_doc
    def decision_function(self, X):
        """Confidence scores with the adapted (or zero-shot) model.

        Parameters
        ----------
        %(query_rows)s

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Scores; one column for binary problems as in scikit-learn.
        """
        check_is_fitted(self)
        X = self._validate_X(X)
        state, classes = self._state_and_classes()
        return self._decision_function(X, state, len(classes))

    def score(self, X, y, groups=None, sample_weight=None, support=None):
        """Episodic few-shot score over the tasks of ``(X, y, groups)``.

        For every task: draw a support set of ``n_shots`` rows with ``random_state``,
        adapt to it, predict the other rows of the task (the query set) and score.
        The result is the mean over tasks, weighted by each query set's total sample
        weight. Tasks too small for ``n_shots`` (or whose query set the metric cannot
        score) are left out, with one warning that says how many tasks the score rests
        on. The estimator's own adapted state is left as it was.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Rows of one or more tasks.
        y : array-like of shape (n_rows,)
            Their targets.
        groups : array-like of shape (n_rows,), default=None
            Task id of every row; without it all rows are one task (a warning says so
            when the estimator was fitted on several tasks).
        sample_weight : array-like of shape (n_rows,), default=None
            Weights of the query rows in the metric.
        support : {"per_class", "random"}, default=None
            How the support set is drawn: ``n_shots`` rows of every class
            (``"per_class"``, N-way K-shot) or ``n_shots`` rows at random from the task
            (``"random"``, a new task's labelled rows as they come). Default:
            ``"per_class"`` for classifiers with per-task labels, else ``"random"``.

        Returns
        -------
        score : float
            Mean accuracy (classifiers) or R^2 (regressors) over tasks.
        """
        check_is_fitted(self)
        X = self._validate_X(X)
        y = column_or_1d(np.asarray(y), warn=True)
        if sample_weight is not None and np.any(np.asarray(sample_weight) < 0):
            raise ValueError(
                f"sample_weight has {int(np.sum(np.asarray(sample_weight) < 0))} "
                "negative value(s); weights of the query rows must be >= 0."
            )
        if groups is None:
            _warn_if_scored_as_one_task(self, X.shape[0])
        sample_weight = _check_sample_weight(sample_weight, X)
        if groups is None:
            groups = np.zeros(X.shape[0], dtype=np.int64)
        groups = _check_groups(groups, X.shape[0])
        metric = accuracy_score if self._is_classifier() else r2_score

        def score_fn(est, X_s, y_s, X_q, y_q, w_q):
            est._adapt_arrays(X_s, y_s)
            return metric(y_q, est._predict_arrays(X_q), sample_weight=w_q)

        return _episodic_score(self, X, y, groups, score_fn, sample_weight=sample_weight,
                               random_state=self.random_state, support=support)


def _episodic_score(estimator, X, y, groups, score_fn, *, sample_weight=None,
                    random_state=None, n_shots=None, n_queries=None, support=None,
                    scorer_name=None):
    """Mean episodic score over the tasks of ``groups``.

    For every task that can give an episode draw a support set of ``n_shots`` rows
    (``support`` protocol) and a query set (``n_queries``, or the rest of the task),
    then call ``score_fn(est, X_support, y_support, X_query, y_query, w_query)`` on a
    shallow copy of ``estimator`` (its own adapted state is left alone). Tasks are
    weighted by their query set's total sample weight. Tasks too small for ``n_shots``,
    and tasks whose score is not finite (a metric undefined on their query set, e.g.
    ROC AUC on one class), are left out with one warning; a ValueError when no task is
    left.
    """
    _check_targets_present(y, groups)
    task_ids, order, starts = _split_by_groups(groups)
    rng = np.random.default_rng(seed_of(random_state))
    est = copy.copy(estimator)
    classification = is_classifier(estimator)
    final = getattr(estimator, "_final_estimator", estimator)
    per_task = classification and getattr(final, "_label_space_", None) == "per_task"
    support = _resolve_support(support, classification, per_task)
    n_shots = final.n_shots if n_shots is None else n_shots
    take = (lambda A, i: A.iloc[i]) if hasattr(X, "iloc") else (lambda A, i: A[i])
    scores, weights, small, undefined = [], [], [], []
    for t in range(len(task_ids)):
        rows = order[starts[t]:starts[t + 1]]
        if not _supports_episode(y[rows], n_shots, classification=classification,
                                 n_queries=n_queries, support=support):
            small.append(t)
            continue
        s_idx, q_idx = _split_support_query(
            y[rows], n_shots, rng, classification=classification,
            n_queries=n_queries, task_id=task_ids[t], support=support,
        )
        s, q = rows[s_idx], rows[q_idx]
        if per_task and support == "random":
            q = q[np.isin(y[q], y[s])]  # own labels: only classes shown can be predicted
            if np.unique(y[s]).size < 2 or not q.size:
                small.append(t)
                continue
        w = None if sample_weight is None else sample_weight[q]
        if w is not None and w.sum() <= 0:
            continue  # a task whose query rows all weigh zero counts for nothing
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)  # counted below
            value = float(score_fn(est, take(X, s), y[s], take(X, q), y[q], w))
        if not np.isfinite(value):
            undefined.append(t)
            continue
        scores.append(value)
        weights.append(len(q) if w is None else w.sum())
    what = f"{scorer_name} " if scorer_name else ""
    if small or undefined:
        parts = []
        if small:
            parts.append(f"{len(small)} too small for n_shots={n_shots} with "
                         f"support={support!r} ({_names(task_ids, small)})")
        if undefined:
            parts.append(f"{len(undefined)} where the {what}score is undefined, e.g. one "
                         f"class in the query set ({_names(task_ids, undefined)})")
        if scores:
            warnings.warn(
                f"{type(final).__name__}: the episodic {what}score rests on {len(scores)} "
                f"of {len(task_ids)} tasks; left out: {'; '.join(parts)}.",
                UserWarning,
                stacklevel=3,
            )
    if not scores:
        if small or undefined:
            detail = ""
            if small:  # the draw's own error names the task, the class and its rows
                t = small[0]
                rows = order[starts[t]:starts[t + 1]]
                try:
                    _split_support_query(y[rows], n_shots, 0, classification=classification,
                                        n_queries=n_queries, task_id=task_ids[t],
                                        support=support)
                except ValueError as exc:
                    detail = f" For example, {exc}"
            raise ValueError(
                f"no task can be scored episodically ({len(task_ids)} task(s); "
                f"{'; '.join(parts)}). Lower n_shots, or score tasks with more rows."
                + detail
            )
        raise ValueError("sample_weight is zero on every query row; nothing to score.")
    return float(np.average(scores, weights=np.asarray(weights, dtype=float)))


def _names(task_ids, idx, limit=5):
    names = ", ".join(_task_name(task_ids[i]) for i in idx[:limit])
    return f"tasks {names}" + (f" and {len(idx) - limit} more" if len(idx) > limit else "")


def _episodic_score_tags(tags):
    """The one place that sets ``poor_score``: ``score`` is episodic (it adapts to
    ``n_shots`` rows per task), not the training-set score scikit-learn's checks
    expect. Called last by every tags hook that sets the estimator type: the
    classifier and regressor bases (after their scikit-learn mixin, which resets its
    sub-tags) and the wrappers whose type follows a wrapped estimator."""
    for sub in (tags.classifier_tags, tags.regressor_tags):
        if sub is not None:
            sub.poor_score = True
    return tags


class BaseMetaClassifier(ClassifierMixin, BaseMetaEstimator):
    """Base class of meta-classifiers.

    Two label settings are supported, chosen by ``label_space``:

    * ``"shared"``: all tasks share one label set (``classes_``), e.g.
      readmitted yes/no at every hospital. The meta-learned model predicts
      before any ``adapt`` (zero-shot).
    * ``"per_task"``: every task has its own labels (N-way episodes whose
      classes differ between tasks). Labels of any type are mapped per task,
      so ``adapt`` is required before ``predict``; after it ``classes_`` is
      the adapted task's label set.

    ``"auto"`` picks ``"per_task"`` when the learner meta-trains on N-way
    episodes of fewer classes than the training labels (``n_way`` set and
    smaller); otherwise ``"shared"`` when at least one training task contains
    every label seen in training, else ``"per_task"``.

    Subclasses implement ``_predict_proba(X, state, n_classes)`` (``state``
    None means zero-shot, in the shared label space) and may implement
    ``_decision_function(X, state, n_classes)`` and ``_predict_codes``.
    """

    _parameter_constraints: dict = {
        **BaseMetaEstimator._parameter_constraints,
        "label_space": [StrOptions({"auto", "shared", "per_task"})],
    }

    score = BaseMetaEstimator.score

    def __sklearn_tags__(self):
        return _episodic_score_tags(super().__sklearn_tags__())


class BaseMetaRegressor(RegressorMixin, BaseMetaEstimator):
    """Base class of meta-regressors.

    ``predict`` before any ``adapt`` uses the meta-learned model (zero-shot).
    Subclasses implement ``_predict(X, state, **predict_params)`` (``state``
    None means zero-shot).
    """

    score = BaseMetaEstimator.score

    def __sklearn_tags__(self):
        return _episodic_score_tags(super().__sklearn_tags__())
