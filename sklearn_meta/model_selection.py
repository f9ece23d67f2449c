"""Episodes, task-level splits and few-shot evaluation.

* :func:`sample_episode` draws one N-way K-shot (or K-shot regression)
  episode from one task.
* :func:`task_train_test_split` holds out whole tasks;
  :func:`class_disjoint_split` holds out whole classes of a many-class
  dataset, the classic meta-train/meta-test split of N-way benchmarks.
* :func:`evaluate_few_shot` compares estimators on held-out tasks per shot
  count, with the mean, a 95% confidence interval, meta-fit and adaptation
  time.
* :func:`episodic_scorer` turns any scikit-learn metric into a scorer that
  scores episodically over the tasks given by ``groups`` (for
  ``cross_validate`` and the search classes).
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import GroupShuffleSplit
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._metadata_requests import (
    MetadataRequest,
    MethodMetadataRequest,
    _MetadataRequester,
)
from sklearn.utils.validation import column_or_1d, indexable

from .base import _episodic_score, _warn_if_scored_as_one_task
from .tasks import (
    _check_episode_labels,
    _check_groups,
    _is_task_sequence,
    _resolve_support,
    _split_by_groups,
    _split_support_query,
    _supports_episode,
    as_task_arrays,
)
from .utils._seeds import seed_of

__all__ = [
    "sample_episode",
    "task_train_test_split",
    "class_disjoint_split",
    "evaluate_few_shot",
    "episodic_scorer",
]


def _take(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else np.asarray(X)[idx]


def _as_xyg(data, name="data"):
    """Read tasks given as a task list, a tuple (X, y[, groups]) or a Bunch."""
    if isinstance(data, Bunch) or (isinstance(data, dict) and "X" in data):
        return data["X"], np.asarray(data["y"]), data.get("groups")
    if _is_task_sequence(data):
        return as_task_arrays(data)
    if isinstance(data, tuple) and len(data) in (2, 3):
        X, y = data[0], np.asarray(data[1])
        return X, y, data[2] if len(data) == 3 else None
    raise TypeError(
        f"{name} must be a list of (X, y) tasks, a tuple (X, y, groups) or a "
        f"Bunch with X, y and groups; got {type(data).__name__}."
    )


def sample_episode(X, y, *, n_shots, n_way=None, n_queries=None,
                   classification=True, support="per_class", random_state=None):
    """Draw one few-shot episode (support and query sets) from one task.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
        The task's rows.
    y : array-like of shape (n_rows,)
        The task's targets.
    n_shots : int
        Support rows per class (classification) or in total (regression).
    n_way : int, default=None
        Number of classes drawn for the episode; all classes by default.
    n_queries : int, default=None
        Query rows per class (classification) or in total; all remaining
        rows by default.
    classification : bool, default=True
        Whether the targets are class labels.
    support : {"per_class", "random"}, default="per_class"
        ``"per_class"``: ``n_shots`` rows of every class (N-way K-shot);
        ``"random"``: ``n_shots`` rows drawn at random, whatever their classes.
    random_state : int, RandomState instance, Generator or None, default=None
        Randomness of the draw.

    Returns
    -------
    X_support, y_support, X_query, y_query : arrays
        The episode.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.model_selection import sample_episode
    >>> X = np.arange(40).reshape(20, 2); y = np.repeat([0, 1, 2, 3], 5)
    >>> Xs, ys, Xq, yq = sample_episode(X, y, n_shots=1, n_way=2, n_queries=2,
    ...                                 random_state=0)
    >>> Xs.shape, Xq.shape, len(set(ys))
    ((2, 2), (4, 2), 2)
    """
    y = column_or_1d(np.asarray(y))
    s, q = _split_support_query(y, n_shots, random_state, classification=classification,
                               n_way=n_way, n_queries=n_queries, support=support)
    return _take(X, s), y[s], _take(X, q), y[q]


def task_train_test_split(X, y=None, groups=None, *, test_size=0.25, random_state=None):
    """Split tasks (not rows) into meta-training and meta-test tasks.

    Parameters
    ----------
    X : sequence of (X, y) pairs, or array-like of shape (n_rows, n_features)
        Tasks as a list, or all rows with ``groups``.
    y : array-like of shape (n_rows,), default=None
        Targets (flat form).
    groups : array-like of shape (n_rows,), default=None
        Task id of every row (flat form).
    test_size : float or int, default=0.25
        Fraction (or number) of tasks held out.
    random_state : int, RandomState instance or None, default=None
        Randomness of the split.

    Returns
    -------
    split : list
        ``[train_tasks, test_tasks]`` for a task list, else
        ``[X_train, X_test, y_train, y_test, groups_train, groups_test]``;
        pandas DataFrames and Series stay DataFrames and Series.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.model_selection import task_train_test_split
    >>> X = np.zeros((8, 2)); y = np.arange(8); g = np.repeat([0, 1, 2, 3], 2)
    >>> Xtr, Xte, ytr, yte, gtr, gte = task_train_test_split(
    ...     X, y, g, test_size=0.5, random_state=0)
    >>> len(np.unique(gtr)), len(np.unique(gte)), set(gtr) & set(gte)
    (2, 2, set())
    """
    if _is_task_sequence(X, y):
        n = len(X)
        split = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
        tr, te = next(split.split(np.zeros(n), groups=np.arange(n)))
        return [[X[i] for i in tr], [X[i] for i in te]]
    if groups is None:
        raise ValueError(
            "groups is required to split tasks: pass the task id of every row "
            "(or a list of (X, y) tasks)."
        )
    X, y, groups = indexable(X, y, groups)
    ids = _check_groups(groups, len(y))
    split = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
    tr, te = next(split.split(np.zeros(len(ids)), groups=ids))
    # pandas objects stay pandas objects (a Series keeps its name and index)
    g = groups if hasattr(groups, "iloc") else ids
    return [_take(X, tr), _take(X, te), _take(y, tr), _take(y, te), _take(g, tr), _take(g, te)]


def class_disjoint_split(X, y, *, test_size=0.4, random_state=None):
    """Split a many-class dataset into meta-train and meta-test *classes*.

    No class of the test part occurs in the training part, the standard
    protocol of N-way K-shot benchmarks: meta-learners are fitted on the
    training classes (with ``label_space="per_task"``, they draw N-way
    episodes from them) and evaluated on N-way episodes of new classes.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
        All rows.
    y : array-like of shape (n_rows,)
        Class labels.
    test_size : float or int, default=0.4
        Fraction (or number) of classes held out.
    random_state : int, RandomState instance or None, default=None
        Randomness of the split.

    Returns
    -------
    X_train, X_test, y_train, y_test : arrays
        Rows of the training classes and of the held-out classes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.model_selection import class_disjoint_split
    >>> X = np.zeros((20, 2)); y = np.repeat(np.arange(10), 2)
    >>> Xtr, Xte, ytr, yte = class_disjoint_split(X, y, test_size=0.3, random_state=0)
    >>> len(set(ytr)), len(set(yte)), set(ytr) & set(yte)
    (7, 3, set())
    """
    y = column_or_1d(np.asarray(y))
    classes = np.unique(y)
    n_test = int(round(test_size * len(classes))) if isinstance(test_size, Real) and test_size < 1 else int(test_size)
    if not 1 <= n_test < len(classes):
        raise ValueError(
            f"test_size={test_size} holds out {n_test} of {len(classes)} classes; "
            "it must leave at least one class on each side."
        )
    rng = check_random_state(random_state)
    test_classes = rng.choice(classes, size=n_test, replace=False)
    test = np.isin(y, test_classes)
    tr, te = np.flatnonzero(~test), np.flatnonzero(test)
    return _take(X, tr), _take(X, te), y[tr], y[te]


#: Bootstrap resamples of the tasks behind every confidence interval.
N_BOOTSTRAP = 2000

def _default_scoring(classifier):
    # regression: MSE over the pooled query rows (per-episode R^2 is unstable on small
    # query sets: a query set of 2 rows has almost no variance to explain)
    return "accuracy" if classifier else "neg_mean_squared_error"


def _resolve_scoring(scoring, classifier):
    if scoring is None:
        scoring = _default_scoring(classifier)
    if isinstance(scoring, str):
        return scoring, get_scorer(scoring)
    if callable(scoring):
        return getattr(scoring, "__name__", repr(scoring)), scoring
    raise TypeError(
        f"scoring must be None, a scikit-learn scorer name or a callable "
        f"scorer(estimator, X, y); got {scoring!r}."
    )


def _per_task_labels(estimator):
    final = getattr(estimator, "_final_estimator", estimator)
    space = getattr(final, "_label_space_", None) or getattr(final, "label_space", None)
    return space == "per_task"


def _draw_episodes(y, groups, n_episodes, n_shots, n_way, n_queries, classification, seed,
                   support="per_class", per_task_labels=False):
    """Episodes on the tasks that support ``n_shots``, spread evenly over them.

    Returns ``(episodes, task_ids, n_skipped)``: a list of ``(task, support rows, query
    rows)``, the task ids, and how many tasks cannot give an episode (too few rows, or
    classes, for ``n_shots``). Episode ``i`` is on task ``perm[i % n_usable]`` of a
    random permutation of the usable tasks, so every task gets the same number of
    episodes (within one): task-level statistics are balanced.
    """
    task_ids, order, starts = _split_by_groups(groups)
    rng = np.random.default_rng(seed)
    rows_of = [order[starts[t]:starts[t + 1]] for t in range(len(task_ids))]
    usable = np.array([
        _supports_episode(y[r], n_shots, classification=classification, n_way=n_way,
                          n_queries=n_queries, support=support)
        for r in rows_of
    ], dtype=bool)
    n_skipped = int((~usable).sum())
    pool = rng.permutation(np.flatnonzero(usable))
    episodes = []
    if not pool.size:
        return episodes, task_ids, n_skipped
    for t in pool[np.arange(int(n_episodes)) % pool.size]:
        rows = rows_of[t]
        s, q = _split_support_query(y[rows], n_shots, rng, classification=classification,
                                   n_way=n_way, n_queries=n_queries, task_id=task_ids[t],
                                   support=support)
        s, q = rows[s], rows[q]
        if classification and per_task_labels and support == "random":
            # own labels: only classes shown in the support set can be predicted
            q = q[np.isin(y[q], y[s])]
            if np.unique(y[s]).size < 2 or not q.size:
                continue  # an episode the learner cannot adapt to: not drawn
        episodes.append((int(t), s, q))
    return episodes, task_ids, n_skipped


def _task_sums(values, weights, tasks, n_tasks):
    ok = np.isfinite(values)
    S = np.bincount(tasks[ok], (weights * values)[ok], minlength=n_tasks)
    W = np.bincount(tasks[ok], weights[ok], minlength=n_tasks)
    return S, W


def _bootstrap_counts(n_tasks, seed, n_boot=N_BOOTSTRAP):
    """(n_boot, n_tasks) multiplicities of the tasks in each bootstrap resample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_tasks, np.full(n_tasks, 1.0 / n_tasks), size=n_boot)


def _task_bootstrap(values, weights, tasks, n_tasks, seed):
    """Weighted mean of episode ``values`` and its 95% CI, resampling whole tasks.

    Episodes are nested in tasks: a resample draws tasks with replacement and keeps all
    episodes of each drawn task. ``seed`` fixes the resamples (the same
    resamples for every learner scored on the same tasks, so that paired figures line
    up). Returns
    ``(mean, ci_low, ci_high, n_tasks, n_episodes)``; NaN values (an episode a metric
    cannot score, e.g. ROC AUC on a one-class query set) are left out.
    """
    values = np.asarray(values, dtype=float)
    S, W = _task_sums(values, np.asarray(weights, float), np.asarray(tasks, np.int64),
                      n_tasks)
    present = W > 0
    n_tasks, n_ep = int(present.sum()), int(np.isfinite(values).sum())
    if not n_tasks:
        return math.nan, math.nan, math.nan, 0, 0
    mean = float(S.sum() / W.sum())
    if n_tasks < 2:
        return mean, math.nan, math.nan, n_tasks, n_ep
    C = _bootstrap_counts(n_tasks, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = (C @ S[present]) / (C @ W[present])
    stat = stat[np.isfinite(stat)]
    lo, hi = np.percentile(stat, [2.5, 97.5])
    return mean, float(lo), float(hi), n_tasks, n_ep


def _is_baseline(estimator):
    final = getattr(estimator, "_final_estimator", estimator)
    return type(final).__module__.startswith("sklearn_meta.baselines")


def _summarise(rows, scores, episodes, *, reference=None, seed=0):
    """Fill the statistics of the rows of a few-shot table, in place.

    ``rows``: dicts with ``estimator``, ``n_shots`` and ``baseline`` (bool);
    ``scores[(name, k)]``: the score of every episode of ``episodes[k] = (tasks,
    weights, n_tasks_total, n_skipped)``. Adds ``mean``, ``ci_low``, ``ci_high``,
    ``std``, ``n_tasks``, ``n_episodes``, ``n_tasks_skipped`` and the paired difference
    to the reference (``reference``, ``diff``, ``diff_low``, ``diff_high``; the reference
    is ``reference`` or, by default, the baseline with the best mean at that shot count).
    """
    for k in sorted({r["n_shots"] for r in rows}):
        tasks, weights, n_total, n_skipped = episodes[k]
        group = [r for r in rows if r["n_shots"] == k]
        for r in group:
            v = scores[(r["estimator"], k)]
            mean, lo, hi, n_t, n_e = _task_bootstrap(v, weights, tasks, n_total, seed + k)
            finite = v[np.isfinite(v)]
            r.update(mean=mean, ci_low=lo, ci_high=hi,
                     std=float(finite.std(ddof=1)) if finite.size > 1 else math.nan,
                     n_tasks=n_t, n_episodes=n_e, n_tasks_skipped=n_skipped)
        ref = reference
        if ref is None:
            base = [r for r in group if r.get("baseline") and np.isfinite(r["mean"])]
            ref = max(base, key=lambda r: r["mean"])["estimator"] if base else None
        for r in group:
            r.update(reference=ref, diff=math.nan, diff_low=math.nan, diff_high=math.nan)
            if ref is None or (ref, k) not in scores or r["estimator"] == ref:
                continue
            d = scores[(r["estimator"], k)] - scores[(ref, k)]
            mean, lo, hi, _, _ = _task_bootstrap(d, weights, tasks, n_total, seed + k)
            r.update(diff=mean, diff_low=lo, diff_high=hi)
    return rows


def _score_episode(estimator, X_support, y_support, X_query, y_query,
                   scoring=None, X_unlabeled=None):
    """Adapt a fitted meta-learner to one support set and score its query set.

    Parameters
    ----------
    estimator : fitted meta-learner
        Anything with ``adapt``.
    X_support, y_support : array-like
        The labelled rows of the new task.
    X_query, y_query : array-like
        The rows to score.
    scoring : str or callable, default=None
        A scikit-learn scorer name or callable ``scorer(est, X, y)``; accuracy
        (classifiers) or the mean squared error (regressors) by default.
    X_unlabeled : array-like, default=None
        Unlabelled rows given to ``adapt``.

    Returns
    -------
    score : float
        The score on the query set.

    Raises
    ------
    ValueError
        If the query set has labels the support set never had (per-task
        label spaces).
    """
    classifier = is_classifier(estimator)
    if classifier and getattr(estimator, "_label_space_", "per_task") == "per_task":
        _check_episode_labels(y_support, y_query)
    _, scorer = _resolve_scoring(scoring, classifier)
    est = copy.copy(estimator)
    est.adapt(X_support, y_support, X_unlabeled=X_unlabeled)
    return float(scorer(est, X_query, y_query))


def _configured(estimator, k, base_seed, new_labels, support=None):
    """A clone of ``estimator`` with ``n_shots=k`` (and a seed) on its meta-learner, and
    its meta-training support protocol set to ``support`` where it is ``"auto"`` (train
    as it is tested; an explicit ``"per_class"`` or ``"random"`` is kept)."""
    est = clone(estimator)
    params = est.get_params()
    # a Pipeline's meta-learner is its last step: set its parameters
    steps = getattr(est, "steps", None)
    prefix = f"{steps[-1][0]}__" if isinstance(steps, list) and steps else ""
    updates = {}
    if prefix + "n_shots" in params:
        updates[prefix + "n_shots"] = k
    if prefix + "random_state" in params and params[prefix + "random_state"] is None:
        updates[prefix + "random_state"] = base_seed
    if new_labels and params.get(prefix + "label_space") == "auto":
        updates[prefix + "label_space"] = "per_task"
    if support is not None and params.get(prefix + "support") == "auto":
        updates[prefix + "support"] = support
    return est.set_params(**updates)


def evaluate_few_shot(estimators, train, test, *, n_shots=(1, 5), n_episodes=100,
                      n_way=None, n_queries=None, scoring=None, support=None,
                      reference=None, random_state=None, verbose=0):
    """Compare meta-learners on held-out tasks, per shot count, with paired statistics.

    For every estimator and shot count ``k``: clone it, set ``n_shots=k`` (when it has
    that parameter), meta-fit on ``train`` (timed), then run ``n_episodes`` episodes on
    the tasks of ``test`` that can give one (a support set of ``k`` rows and at least
    one query row; the others are skipped and counted): ``adapt`` to the support set
    (timed) and score the query set. Every estimator sees the same episodes, spread
    evenly over the tasks.

    The statistics respect the task structure: the mean is over the pooled query rows
    (episodes weighted by query size), its 95% CI is a bootstrap over *tasks* (episodes
    nested in tasks), and every estimator is compared *paired*, on the same episodes, to
    a reference (by default the best baseline of :mod:`sklearn_meta.baselines`).

    Parameters
    ----------
    estimators : dict or list
        ``{name: estimator}``, or a list of estimators (named by class).
    train : list of (X, y) tasks, tuple (X, y, groups) or Bunch
        Meta-training tasks.
    test : list of (X, y) tasks, tuple (X, y, groups) or Bunch
        Held-out tasks to evaluate on. ``groups=None`` means one task (e.g.
        the held-out classes of :func:`class_disjoint_split`, with ``n_way``).
    n_shots : int or sequence of int, default=(1, 5)
        Shot counts to evaluate: rows per class (``support="per_class"``) or in the
        support set (``support="random"``).
    n_episodes : int, default=100
        Episodes per shot count (the same for every estimator).
    n_way : int, default=None
        Classes per episode (classification); all classes of the task by
        default.
    n_queries : int, default=None
        Query rows per class (or in total, ``support="random"``); all remaining rows
        of the task by default.
    scoring : str or callable, default=None
        A scikit-learn scorer name (``"accuracy"``, ``"roc_auc"``,
        ``"neg_mean_squared_error"``, ...) or callable ``scorer(est, X, y)``.
        Default: accuracy for classifiers; for regressors the mean squared error
        over the pooled query rows (``"neg_mean_squared_error"``), which is stable on
        small query sets where a per-episode R^2 is not. An episode the metric cannot
        score (NaN, e.g. ROC AUC on a query set of one class) is left out and counted.
    support : {"per_class", "random"}, default=None
        How support sets are drawn. ``"per_class"``: ``k`` rows of every class
        (N-way K-shot); ``"random"``: ``k`` rows drawn at random from the task,
        whatever their classes (a new site with ``k`` labelled rows). Default:
        ``"per_class"`` when the labels are per task (``n_way`` given, new labels in
        ``test``, or ``label_space="per_task"``), else ``"random"`` (regression and
        shared label spaces). When ``support`` is given, an estimator (or a
        pipeline's last step) with ``support="auto"`` meta-trains on support sets
        drawn the same way (its ``support`` is set to it; an explicit value is
        kept); when it is None, such an estimator keeps its own ``"auto"`` rule.
    reference : str, default=None
        Name of the estimator every other one is compared with (paired differences);
        by default the baseline (:class:`~sklearn_meta.baselines.PooledEstimator`,
        :class:`~sklearn_meta.baselines.PerTaskEstimator`, ...) with the best mean at
        that shot count. No differences when there is neither.
    random_state : int, RandomState instance or None, default=None
        Seeds the episodes, the bootstrap and the estimators without a
        ``random_state``.

        When the test tasks have labels never seen in training (a
        class-disjoint split), estimators with ``label_space="auto"`` are run
        with ``label_space="per_task"``.
    verbose : int, default=0
        Show a progress bar when > 0.

    Returns
    -------
    results : pandas.DataFrame
        One row per estimator and shot count with columns ``estimator``,
        ``n_shots``, ``support``, ``scoring``, ``mean``, ``ci_low``, ``ci_high``
        (95% bootstrap over tasks), ``std`` (of the episode scores), ``n_tasks``
        (tasks the figure rests on), ``n_episodes``, ``n_tasks_skipped`` (test tasks
        too small for that shot count), ``reference``, ``diff``, ``diff_low``,
        ``diff_high`` (paired difference to the reference and its 95% CI),
        ``fit_time`` (seconds) and ``adapt_time`` (seconds per task). The episode
        scores are in ``results.attrs["scores"]``, keyed by ``(name, n_shots)``, and
        the episodes' tasks and weights in ``results.attrs["episodes"]`` by shot count.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> from sklearn_meta.model_selection import evaluate_few_shot
    >>> data = make_classification_tasks(n_tasks=10, random_state=0)
    >>> res = evaluate_few_shot({"per-task": PerTaskEstimator(LogisticRegression()),
    ...                          "pooled": PooledEstimator(LogisticRegression())},
    ...                         data.tasks[:6], data.tasks[6:], n_shots=[5],
    ...                         n_episodes=8, random_state=0)
    >>> res[["estimator", "n_tasks", "n_episodes", "reference"]].values.tolist()
    [['per-task', 4, 8, 'per-task'], ['pooled', 4, 8, 'per-task']]
    >>> bool(res["diff_low"][1] <= res["diff"][1] <= res["diff_high"][1])
    True
    """
    import pandas as pd

    if isinstance(estimators, dict):
        named = list(estimators.items())
    else:
        named = [(type(e).__name__, e) for e in estimators]
    if not named:
        raise ValueError("estimators is empty; pass at least one estimator.")
    shots = [int(n_shots)] if isinstance(n_shots, Integral) else [int(k) for k in n_shots]
    if not shots or min(shots) < 1:
        raise ValueError(f"n_shots={n_shots!r} must be positive integers.")
    if int(n_episodes) < 1:
        raise ValueError(f"n_episodes={n_episodes!r} must be at least 1.")
    names = [name for name, _ in named]
    if reference is not None and reference not in names:
        raise ValueError(f"reference={reference!r} is not one of the estimators {names}.")
    X_tr, y_tr, g_tr = _as_xyg(train, "train")
    X_te, y_te, g_te = _as_xyg(test, "test")
    y_te = column_or_1d(y_te)
    g_te = np.zeros(len(y_te), dtype=np.int64) if g_te is None else _check_groups(g_te, len(y_te))
    classification = is_classifier(named[0][1])
    # test labels never seen in training (class-disjoint splits) can only be
    # learned per task: "auto" label spaces become "per_task"
    new_labels = classification and np.setdiff1d(np.unique(y_te), np.unique(np.asarray(y_tr))).size > 0
    per_task = classification and (
        new_labels or n_way is not None or any(_per_task_labels(e) for _, e in named))
    asked = support  # given: "auto" learners meta-train on it too
    support = _resolve_support(support, classification, per_task)
    base_seed = seed_of(random_state)
    progress = None
    if verbose:
        from tqdm.auto import tqdm

        progress = tqdm(total=len(named) * len(shots), desc="evaluate_few_shot")
    rows, all_scores, all_episodes = [], {}, {}
    for k in shots:
        episodes, task_ids, n_skipped = _draw_episodes(
            y_te, g_te, int(n_episodes), k, n_way, n_queries, classification,
            base_seed + k, support=support, per_task_labels=per_task)
        tasks = np.array([t for t, _, _ in episodes], dtype=np.int64)
        weights = np.array([len(q) for _, _, q in episodes], dtype=float)
        all_episodes[k] = (tasks, weights, len(task_ids), n_skipped)
        for name, estimator in named:
            est = _configured(estimator, k, base_seed, new_labels, asked)
            scoring_name, scorer = _resolve_scoring(scoring, is_classifier(est))
            tic = time.perf_counter()
            if g_tr is None:
                est.fit(X_tr, y_tr)
            else:
                est.fit(X_tr, y_tr, groups=g_tr)
            fit_time = time.perf_counter() - tic
            scores, adapt_time = np.full(len(episodes), np.nan), 0.0
            for i, (_, s, q) in enumerate(episodes):
                tic = time.perf_counter()
                est.adapt(_take(X_te, s), y_te[s])
                adapt_time += time.perf_counter() - tic
                with warnings.catch_warnings():
                    # a metric undefined on one episode (NaN) is counted, not warned
                    warnings.simplefilter("ignore", UndefinedMetricWarning)
                    scores[i] = float(scorer(est, _take(X_te, q), y_te[q]))
            all_scores[(name, k)] = scores
            rows.append({
                "estimator": name, "n_shots": k, "support": support,
                "scoring": scoring_name, "baseline": _is_baseline(estimator),
                "fit_time": fit_time,
                "adapt_time": adapt_time / len(episodes) if episodes else math.nan,
            })
            if progress is not None:
                progress.set_postfix(estimator=name, n_shots=k)
                progress.update(1)
    if progress is not None:
        progress.close()
    _summarise(rows, all_scores, all_episodes, reference=reference, seed=base_seed)
    columns = ["estimator", "n_shots", "support", "scoring", "mean", "ci_low", "ci_high",
               "std", "n_tasks", "n_episodes", "n_tasks_skipped", "reference", "diff",
               "diff_low", "diff_high", "fit_time", "adapt_time"]
    frame = pd.DataFrame(rows, columns=columns)
    frame.attrs["scores"] = all_scores
    frame.attrs["episodes"] = all_episodes
    return frame


class _EpisodicScorer(_MetadataRequester):
    """Score a meta-learner episodically over the tasks given by ``groups``."""

    __metadata_request__score = {"groups": True}

    def __init__(self, scoring, n_shots, n_queries, random_state, support=None):
        self.scoring = scoring
        self.n_shots = n_shots
        self.n_queries = n_queries
        self.random_state = random_state
        self.support = support

    def __repr__(self):
        # as the user wrote it: the metric, then only the options they set
        args = [] if self.scoring is None else [repr(self.scoring) if isinstance(
            self.scoring, str) else getattr(self.scoring, "__name__", repr(self.scoring))]
        args += [f"{k}={v!r}" for k, v in (("n_shots", self.n_shots),
                                            ("n_queries", self.n_queries),
                                            ("support", self.support),
                                            ("random_state", self.random_state))
                 if v is not None]
        return f"episodic_scorer({', '.join(args)})"

    def _get_metadata_request(self):
        # a scorer has no ``score`` method for the class-level request to be
        # read from: build the request of its ``__call__`` explicitly
        if hasattr(self, "_metadata_request"):
            return super()._get_metadata_request()
        requests = MetadataRequest(owner=self)
        requests.score = MethodMetadataRequest(owner=self, method="score",
                                               requests={"groups": True})
        return requests

    def __call__(self, estimator, X, y, groups=None, sample_weight=None):
        y = column_or_1d(np.asarray(y))
        name, scorer = _resolve_scoring(self.scoring, is_classifier(estimator))
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=float)

        def score_fn(est, X_s, y_s, X_q, y_q, w_q):
            est.adapt(X_s, y_s)
            kwargs = {} if w_q is None else {"sample_weight": w_q}
            return float(scorer(est, X_q, y_q, **kwargs))

        # a Pipeline's n_shots and random_state are those of its meta-learner
        final = getattr(estimator, "_final_estimator", estimator)
        rs = self.random_state if self.random_state is not None else getattr(final, "random_state", None)
        n_shots = self.n_shots if self.n_shots is not None else getattr(final, "n_shots", None)
        if n_shots is None:
            raise ValueError(
                f"{type(final).__name__} has no n_shots parameter; pass "
                "episodic_scorer(..., n_shots=k) to set the support size."
            )
        if groups is None:  # one warning per call, naming this scorer
            _warn_if_scored_as_one_task(final, len(y), scorer=self, n_shots=n_shots)
            groups = np.zeros(len(y), dtype=np.int64)
        groups = _check_groups(groups, len(y))
        return _episodic_score(estimator, X, y, groups, score_fn, sample_weight=sample_weight,
                               random_state=rs, n_shots=n_shots, n_queries=self.n_queries,
                               support=self.support, scorer_name=repr(name))


def episodic_scorer(scoring=None, *, n_shots=None, n_queries=None, support=None,
                    random_state=None):
    """Make any scikit-learn metric score meta-learners episodically.

    The returned scorer, called as ``scorer(estimator, X, y, groups=...)``,
    does for every task of ``groups``: draw a support set of ``n_shots`` rows
    (``support``), ``adapt``, and score the rest of the task with ``scoring``; the
    result is the mean over tasks weighted by query size. Tasks too small for
    ``n_shots``, or whose query set the metric cannot score (ROC AUC on one class), are
    left out with one warning saying how many tasks the score rests on, so that
    ``GridSearchCV`` and ``cross_validate`` get finite scores on uneven tasks.
    It requests ``groups`` through metadata routing, so
    ``cross_validate(est, X, y, params={"groups": g}, cv=GroupKFold(5),
    scoring=episodic_scorer("roc_auc"))`` scores few-shot on held-out tasks.

    A plain scorer name given to ``cross_validate`` instead scores the
    zero-shot predictions of the meta-learned model (no adaptation). Called without
    ``groups`` (metadata routing off, or no task ids passed), the scorer scores all
    rows as one task and warns once per call, naming itself.

    Parameters
    ----------
    scoring : str or callable, default=None
        A scikit-learn scorer name or callable ``scorer(est, X, y)``;
        accuracy (classifiers) or the mean squared error
        (``"neg_mean_squared_error"``, regressors) by default.
    n_shots : int, default=None
        Support rows (per class with ``support="per_class"``); the estimator's
        ``n_shots`` by default.
    n_queries : int, default=None
        Query rows per class; all remaining rows of the task by default.
    support : {"per_class", "random"}, default=None
        ``"per_class"``: ``n_shots`` rows of every class; ``"random"``: ``n_shots``
        rows at random from the task. Default: ``"per_class"`` for classifiers with
        per-task labels, else ``"random"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the support draws; the estimator's ``random_state`` by default.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, groups=None, sample_weight=None)``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_meta.baselines import PerTaskEstimator
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> from sklearn_meta.model_selection import episodic_scorer
    >>> data = make_classification_tasks(n_tasks=4, random_state=0)
    >>> est = PerTaskEstimator(LogisticRegression()).fit(data.X, data.y, groups=data.groups)
    >>> scorer = episodic_scorer("balanced_accuracy", n_shots=5, random_state=0)
    >>> 0 <= scorer(est, data.X, data.y, groups=data.groups) <= 1
    True
    """
    return _EpisodicScorer(scoring, n_shots, n_queries, random_state, support)
