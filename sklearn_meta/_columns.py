"""Tasks with different columns: alignment by column name.

Tasks given as pandas DataFrames need not share one schema (hospitals record different
measurements, survey waves ask different questions). This module aligns them:

- :func:`align_frames` puts the tasks on the *union* of their column names, matched by
  name (never by position), and returns which columns every task really has (the
  column-presence mask). A column absent from a task becomes NaN in its rows, but the
  mask keeps "absent from the task" apart from "a value that is missing".
- :func:`presence_from_blocks` is the same mask for the flat form ``fit(X, y, groups)``:
  a column missing on every row of a task is absent from that task.
- :func:`check_absent_columns` is the clear error of a learner that cannot handle
  missing values, naming the task, the absent columns and what to use instead.
- :func:`align_columns` aligns the DataFrame given to ``adapt``/``predict`` with the
  columns seen in ``fit``: known columns are matched by name, absent ones are missing,
  and new ones are dropped with a warning (learners that can use them, the heterogeneous
  neural processes, read the DataFrame themselves).
"""

import warnings

import numpy as np

__all__ = []

_HETEROGENEOUS = {
    "classifier": "HeterogeneousNeuralProcessClassifier",
    "regressor": "HeterogeneousNeuralProcessRegressor",
}


def _heterogeneous_learner(estimator):
    from sklearn.base import is_classifier

    name = _HETEROGENEOUS["classifier" if is_classifier(estimator) else "regressor"]
    return f"sklearn_meta.model_based.{name}"


def _union(column_lists):
    """Union of column names: sorted when the names sort, else in order of appearance.

    Sorting makes the aligned layout independent of the column order of every task, so
    shuffling a task's columns never changes the model.
    """
    union = list(dict.fromkeys(c for cols in column_lists for c in cols))
    try:
        return sorted(union)
    except TypeError:  # names of mixed types (e.g. str and int): keep first appearance
        return union


def align_frames(frames):
    """Align DataFrame tasks on the union of their column names.

    Parameters
    ----------
    frames : list of pandas.DataFrame
        The tasks' feature tables.

    Returns
    -------
    X : pandas.DataFrame
        All rows, task after task, with the union of the columns (NaN where a task lacks
        a column). When every task has the same columns in the same order they are kept
        as they are; otherwise the union is sorted by name.
    present : ndarray of bool of shape (n_tasks, n_columns)
        ``present[i, j]``: task ``i`` has column ``j``.

    Raises
    ------
    ValueError
        If a task has duplicated column names (alignment by name would be ambiguous).
    """
    import pandas as pd

    lists = [list(f.columns) for f in frames]
    for i, cols in enumerate(lists):
        if len(set(cols)) != len(cols):
            dup = sorted({str(c) for c in cols if cols.count(c) > 1})
            raise ValueError(
                f"tasks[{i}] has duplicated column name(s) {dup}; tasks are aligned by "
                "column name, so every column of a task needs its own name."
            )
    if all(cols == lists[0] for cols in lists):
        union = lists[0]
        present = np.ones((len(frames), len(union)), dtype=bool)
        return pd.concat(frames, axis=0, ignore_index=True), present
    union = _union(lists)
    present = np.array([[c in set(cols) for c in union] for cols in lists], dtype=bool)
    aligned = [f.reindex(columns=union) for f in frames]
    return pd.concat(aligned, axis=0, ignore_index=True), present


def presence_from_blocks(X, starts):
    """Column-presence mask of stacked tasks: a column all-NaN in a task is absent.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        All rows, task after task.
    starts : ndarray of shape (n_tasks + 1,)
        Task ``i`` is rows ``starts[i]:starts[i + 1]``.

    Returns
    -------
    present : ndarray of bool of shape (n_tasks, n_features)
    """
    starts = np.asarray(starts, dtype=np.int64)
    n_tasks = len(starts) - 1
    if X.dtype.kind not in "fc" or X.shape[0] == 0:
        return np.ones((n_tasks, X.shape[1]), dtype=bool)
    observed = (~np.isnan(X)).astype(np.int64)
    counts = np.add.reduceat(observed, starts[:-1], axis=0) if n_tasks else observed[:0]
    # reduceat of an empty task repeats the next row: an empty task has no columns
    counts[np.diff(starts) == 0] = 0
    return counts > 0


def _names(feature_names, idx):
    if feature_names is None:
        return [f"x{j}" for j in idx]
    return [str(feature_names[j]) for j in idx]


def check_absent_columns(estimator, present, task_ids, feature_names=None):
    """Refuse tasks with absent columns for a learner that does not accept NaN.

    Parameters
    ----------
    estimator : meta-estimator
        The learner being fitted (named in the error).
    present : ndarray of bool of shape (n_tasks, n_features)
        Column-presence mask of the tasks.
    task_ids : ndarray of shape (n_tasks,)
        Task ids, for the error message.
    feature_names : array-like of str or None
        Column names.

    Raises
    ------
    ValueError
        Naming the first task that lacks columns, those columns, and the learners that
        can cope (the heterogeneous neural process, NaN-aware learners, imputation).
    """
    from .tasks import _task_name

    lacking = ~present
    if not lacking.any() or present.shape[1] == 0:
        return
    t = int(np.flatnonzero(lacking.any(axis=1))[0])
    missing = _names(feature_names, np.flatnonzero(lacking[t]))
    n_bad = int(lacking.any(axis=1).sum())
    raise ValueError(
        f"task {_task_name(task_ids[t])} has no column(s) {missing} "
        f"({n_bad} of {len(task_ids)} task(s) lack some of the {present.shape[1]} "
        "columns; tasks are aligned on the union of their column names and a column a "
        f"task lacks is missing there). {type(estimator).__name__} does not accept "
        f"missing values. Use {_heterogeneous_learner(estimator)}, which reads every "
        "task's own columns, a learner that accepts NaN (e.g. PooledEstimator("
        "HistGradientBoostingClassifier())), or impute first: make_pipeline("
        "SimpleImputer(), estimator)."
    )


def align_columns(estimator, X, name="X", *, warn_new=True):
    """Align the DataFrame given to ``adapt``/``predict`` with the columns of ``fit``.

    Only for an estimator fitted on tasks with different columns (otherwise
    scikit-learn's own check applies: the columns of ``fit``, in order). Known columns are matched by name (any order); columns seen in ``fit`` but absent
    from ``X`` become missing (NaN), or raise for a learner that does not accept NaN;
    columns never seen in ``fit`` are dropped with a ``UserWarning``. Anything that is
    not a DataFrame, or an estimator fitted without column names, passes unchanged.

    Parameters
    ----------
    estimator : fitted meta-estimator
    X : object
        The rows to align.
    name : str, default="X"
        The argument's name, used in messages.
    warn_new : bool, default=True
        Whether dropping new columns warns.

    Returns
    -------
    X : object
        ``X`` with the columns of ``estimator.feature_names_in_``, in that order.
    """
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or not hasattr(X, "columns") or not hasattr(X, "reindex"):
        return X
    if not getattr(estimator, "_columns_vary_", False):
        return X  # fitted on tasks sharing one schema: scikit-learn's strict check
    cols = list(X.columns)
    if cols == list(names) or len(set(cols)) != len(cols):
        return X  # same layout, or duplicated names: validate_data's own checks
    seen = set(cols)
    known = set(names)
    new = [c for c in cols if c not in known]
    absent = [c for c in names if c not in seen]
    if absent and len(absent) == len(names):
        return X  # no column in common: let validate_data report the mismatch
    if absent and not estimator._allow_nan():
        raise ValueError(
            f"{name} lacks column(s) {[str(c) for c in absent]} seen in fit; "
            f"{type(estimator).__name__} does not accept missing values, so every "
            f"column of fit is needed. Use {_heterogeneous_learner(estimator)}, which "
            "predicts from whichever columns a task has, a learner that accepts NaN, "
            "or impute first: make_pipeline(SimpleImputer(), estimator)."
        )
    if new and warn_new:
        warnings.warn(
            f"{name} has column(s) {[str(c) for c in new]} not seen in fit; "
            f"{type(estimator).__name__} cannot use them and ignores them. "
            f"{_heterogeneous_learner(estimator)} uses columns never seen in fit.",
            UserWarning,
            stacklevel=4,
        )
    return X.reindex(columns=list(names))


def raise_with_column_hint(estimator, exc):
    """Re-raise scikit-learn's column-name mismatch error with what to do about it.

    An estimator fitted on tasks that share one schema checks the columns of
    ``adapt``/``predict`` as scikit-learn does; the message then also says how to work
    with tasks whose columns differ. Any other error is re-raised unchanged.
    """
    if "feature names should match" not in str(exc):
        raise exc
    raise ValueError(
        f"{exc}\n{type(estimator).__name__} was fitted on tasks that all had the same "
        "columns. For tasks with other columns use "
        f"{_heterogeneous_learner(estimator)}, which reads any columns by name, or fit "
        "a learner that accepts NaN on DataFrame tasks with different columns (they are "
        "aligned by name)."
    ) from None
