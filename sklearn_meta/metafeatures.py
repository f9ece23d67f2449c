"""Task meta-features: a fixed-length description of a small supervised task.

Meta-learners that choose a model or its hyperparameters for a new task
(:class:`~sklearn_meta.selection.HyperparameterWarmStart`,
:class:`~sklearn_meta.selection.AlgorithmSelector`) compare tasks through
these numbers. They are computed for all tasks at once, vectorised over the
rows of every task (no Python loop over tasks), so describing hundreds of
tasks costs a few array passes.

The meta-features, in the order of :func:`metafeature_names`:

=========================  ====================================================
name                       meaning
=========================  ====================================================
``log_n_rows``             log of the number of rows of the task
``log_n_features``         log of the number of feature columns
``log_rows_per_feature``   log of rows / features (dimensionality)
``feature_mean``           mean over features of the task's column means
``feature_std``            mean over features of the task's column standard
                           deviations
``feature_abs_skew``       mean over features of the absolute skewness
``feature_kurtosis``       mean over features of the excess kurtosis
``target_corr_mean``       mean absolute correlation of a feature with the
                           target (see below for classification)
``target_corr_max``        largest absolute correlation of a feature with the
                           target
=========================  ====================================================

Classification adds

=========================  ====================================================
``n_classes``              number of classes present in the task
``class_entropy``          entropy of the class frequencies over log(n_classes)
                           (1: balanced)
``minority_fraction``      share of the rarest class
``fisher_ratio_max``       largest Fisher discriminant ratio of a feature
                           (between-class over within-class variance)
``centroid_accuracy``      landmarker: training accuracy of the nearest class
                           centroid classifier
=========================  ====================================================

and regression adds

=========================  ====================================================
``target_mean``            mean of the target
``target_std``             standard deviation of the target
``linear_r2``              landmarker: training R^2 of a ridge fit
                           (``alpha=1``) of the target on the features
=========================  ====================================================

For classification the target correlations use the indicator of the most
frequent class of the task. All statistics use ``ddof=0`` and a small
epsilon, so a support set of two rows gives finite values. Missing values
(NaN) in ``X`` are filled with the column mean of their task first.

Features should be on a scale comparable across tasks (standardise them with
one scaler fitted on all tasks, e.g. a ``StandardScaler`` in a pipeline), as
the feature statistics are compared between tasks as they are.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, column_or_1d

from .utils._math import batched_solve, segment_sum

__all__ = ["compute_metafeatures", "metafeature_names"]

_COMMON = [
    "log_n_rows",
    "log_n_features",
    "log_rows_per_feature",
    "feature_mean",
    "feature_std",
    "feature_abs_skew",
    "feature_kurtosis",
    "target_corr_mean",
    "target_corr_max",
]
_CLASSIFICATION = [
    "n_classes",
    "class_entropy",
    "minority_fraction",
    "fisher_ratio_max",
    "centroid_accuracy",
]
_REGRESSION = ["target_mean", "target_std", "linear_r2"]
_EPS = 1e-12


def metafeature_names(task_type="classification"):
    """Names of the meta-features, in the column order of the results.

    Parameters
    ----------
    task_type : {"classification", "regression"}, default="classification"
        The kind of task.

    Returns
    -------
    names : list of str
        One name per meta-feature column.

    Examples
    --------
    >>> from sklearn_meta.metafeatures import metafeature_names
    >>> metafeature_names("regression")[-3:]
    ['target_mean', 'target_std', 'linear_r2']
    """
    if task_type not in ("classification", "regression"):
        raise ValueError(
            f"task_type={task_type!r} is not supported; use 'classification' "
            "or 'regression'."
        )
    extra = _CLASSIFICATION if task_type == "classification" else _REGRESSION
    return list(_COMMON + extra)


def compute_metafeatures(X, y, groups=None, *, task_type="auto"):
    """Compute the meta-features of every task.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
        Rows of all tasks; NaN (missing) is allowed.
    y : array-like of shape (n_rows,)
        Targets: class labels or real values.
    groups : array-like of shape (n_rows,), default=None
        Task id of every row; without it all rows are one task.
    task_type : {"auto", "classification", "regression"}, default="auto"
        ``"auto"`` treats float targets with non-integer values as regression
        (scikit-learn's ``type_of_target`` is ``"continuous"``), anything else
        as classification; pass the type for integer-valued regression targets.

    Returns
    -------
    metafeatures : ndarray of shape (n_tasks, n_metafeatures)
        One row per task, in the order of ``np.unique(groups)``; columns as
        :func:`metafeature_names`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.metafeatures import compute_metafeatures, metafeature_names
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(60, 3), np.tile([0, 1, 1], 20)
    >>> mf = compute_metafeatures(X, y, groups=np.repeat([0, 1, 2], 20))
    >>> mf.shape == (3, len(metafeature_names("classification")))
    True
    >>> dict(zip(metafeature_names(), mf[0].round(2)))["minority_fraction"]
    np.float64(0.35)
    """
    X = check_array(X, dtype=np.float64, ensure_all_finite="allow-nan")
    y = column_or_1d(np.asarray(y))
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows but y has {y.shape[0]}; they must match."
        )
    if task_type == "auto":
        task_type = (
            "regression" if type_of_target(y) == "continuous" else "classification"
        )
    if task_type not in ("classification", "regression"):
        raise ValueError(
            f"task_type={task_type!r} is not supported; use 'auto', "
            "'classification' or 'regression'."
        )
    if groups is None:
        groups = np.zeros(X.shape[0], dtype=np.int64)
    groups = np.asarray(groups)
    if groups.shape != (X.shape[0],):
        raise ValueError(
            f"groups has shape {groups.shape} but X has {X.shape[0]} rows; give "
            "one task id per row."
        )
    _, inverse = np.unique(groups, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(inverse))])
    X, y = X[order], y[order]
    if task_type == "classification":
        n_labels = len(np.unique(y))
        key = inverse[order] * n_labels + np.unique(y, return_inverse=True)[1]
        pairs, pair_id = np.unique(key, return_inverse=True)
        task_of_pair = pairs // n_labels
        local = pair_id - np.searchsorted(task_of_pair, task_of_pair)[pair_id]
        return _metafeatures(X, local, starts, classification=True)
    return _metafeatures(X, y.astype(np.float64), starts, classification=False)


def _fill_missing(X, starts, tidx):
    """``X`` with NaN replaced by the column mean of its task (0 for an all-NaN column)."""
    nan = np.isnan(X)
    if not nan.any():
        return X
    counts = segment_sum((~nan).astype(np.float64), starts)
    means = segment_sum(np.where(nan, 0.0, X), starts) / np.maximum(counts, 1.0)
    return np.where(nan, means[tidx], X)


def _metafeatures(X, y, starts, *, classification):
    """Meta-features of stacked tasks (rows ``starts[i]:starts[i + 1]``).

    ``y`` holds per-task class codes ``0..k_i - 1`` (classification) or
    floats (regression). Vectorised over tasks and rows. Features so large that
    a statistic overflows give an infinite or NaN meta-feature, without warnings.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _metafeatures_unchecked(X, y, starts, classification=classification)


def _metafeatures_unchecked(X, y, starts, *, classification):
    n_tasks = len(starts) - 1
    sizes = np.diff(starts).astype(np.float64)
    tidx = np.repeat(np.arange(n_tasks), np.diff(starts))
    n, d = X.shape
    size_col = sizes[:, None]
    X = _fill_missing(X, starts, tidx)

    mean = segment_sum(X, starts) / size_col
    centred = X - mean[tidx]
    var = segment_sum(centred**2, starts) / size_col
    std = np.sqrt(var)
    m3 = segment_sum(centred**3, starts) / size_col
    m4 = segment_sum(centred**4, starts) / size_col
    skew = m3 / (var + _EPS) ** 1.5
    kurt = m4 / (var + _EPS) ** 2 - 3.0
    kurt = np.where(var > _EPS, kurt, 0.0)

    if classification:
        y = y.astype(np.int64)
        k_max = int(y.max()) + 1 if n else 1
        cell = tidx * k_max + y
        counts = np.bincount(cell, minlength=n_tasks * k_max).reshape(n_tasks, k_max)
        freq = counts / size_col
        present = counts > 0
        n_classes = present.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = -np.where(present, freq * np.log(np.where(present, freq, 1.0)), 0.0).sum(1)
            class_entropy = np.where(n_classes > 1, ent / np.log(np.maximum(n_classes, 2)), 1.0)
        minority = np.where(present, freq, np.inf).min(axis=1)
        # per (task, class) feature means
        sums = np.zeros((n_tasks * k_max, d))
        np.add.at(sums, cell, X)
        cmean = sums.reshape(n_tasks, k_max, d) / np.maximum(counts, 1)[:, :, None]
        between = (freq[:, :, None] * (cmean - mean[:, None, :]) ** 2).sum(axis=1)
        within = var - between
        fisher = between / (within + 1e-6 * (var + _EPS))
        fisher_max = np.log1p(fisher.max(axis=1))
        # nearest-centroid landmarker (training accuracy)
        dist = ((X[:, None, :] - cmean[tidx]) ** 2).sum(axis=2)
        dist = np.where(present[tidx], dist, np.inf)
        correct = (np.argmin(dist, axis=1) == y).astype(np.float64)
        centroid_acc = segment_sum(correct, starts) / sizes
        # target: indicator of the task's most frequent class
        target = (y == np.argmax(counts, axis=1)[tidx]).astype(np.float64)
    else:
        target = y

    t_mean = segment_sum(target, starts) / sizes
    t_c = target - t_mean[tidx]
    t_var = segment_sum(t_c**2, starts) / sizes
    cov = segment_sum(centred * t_c[:, None], starts) / size_col
    corr = np.abs(cov) / (np.sqrt(var * t_var[:, None]) + _EPS)

    common = [
        np.log(sizes),
        np.full(n_tasks, np.log(d)),
        np.log(sizes / d),
        mean.mean(axis=1),
        std.mean(axis=1),
        np.abs(skew).mean(axis=1),
        kurt.mean(axis=1),
        corr.mean(axis=1),
        corr.max(axis=1),
    ]
    if classification:
        extra = [n_classes.astype(np.float64), class_entropy, minority, fisher_max,
                 centroid_acc]
    else:
        # ridge landmarker: batched (n_tasks, d, d) solves on centred data
        gram = np.einsum("ni,nj->nij", centred, centred)
        gram = segment_sum(gram.reshape(n, d * d), starts).reshape(n_tasks, d, d)
        coef = batched_solve(gram + np.eye(d), cov * size_col)
        resid = t_c - np.einsum("ni,ni->n", centred, coef[tidx])
        rss = segment_sum(resid**2, starts)
        r2 = 1.0 - rss / (t_var * sizes + _EPS)
        extra = [t_mean, np.sqrt(t_var), np.where(t_var > _EPS, r2, 0.0)]
    return np.column_stack(common + extra)
