"""Task containers and conversion between the input forms of meta-learners.

A *task* is one small supervised dataset ``(X, y)``; every task of one
problem shares the same feature columns. Meta-learners accept tasks in three
forms, all converted here into one validated :class:`TaskSet`:

* a sequence of ``(X, y)`` pairs, one per task;
* flat arrays ``X, y`` with ``groups``, the task id of every row;
* flat arrays ``X, y`` without ``groups``: all rows are one task.
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp

from .utils._seeds import seed_of

__all__ = ["TaskSet", "as_task_arrays"]


def _is_task_sequence(X, y=None):
    """Return True when ``X`` is a sequence of ``(X, y)`` task pairs.

    Parameters
    ----------
    X : object
        The first argument given to ``fit``.
    y : object, default=None
        The second argument given to ``fit``; a task sequence comes without it.

    Returns
    -------
    bool
        Whether ``X`` should be read as a list of tasks.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.tasks import _is_task_sequence
    >>> _is_task_sequence([(np.zeros((3, 2)), np.zeros(3))])
    True
    >>> _is_task_sequence(np.zeros((3, 2)), np.zeros(3))
    False
    """
    if y is not None or isinstance(X, np.ndarray) or sp.issparse(X):
        return False
    if hasattr(X, "iloc") or not isinstance(X, (list, tuple)):
        return False
    if len(X) == 0:
        return True
    return all(isinstance(t, (list, tuple)) and len(t) == 2 for t in X)


def _n_columns(X):
    shape = getattr(X, "shape", None)
    if shape is not None:
        return shape[1] if len(shape) == 2 else None
    try:
        return np.asarray(X, dtype=object).shape[1]
    except (IndexError, ValueError):
        return None


def as_task_arrays(tasks, *, return_present=False):
    """Stack a sequence of ``(X, y)`` tasks into flat ``X, y, groups``.

    The task of each row is its position in ``tasks`` (0, 1, ...). pandas
    DataFrames are concatenated; when their columns differ they are aligned
    on the union of the column names, by name (see
    :ref:`heterogeneous_columns`). Other inputs are stacked with numpy.

    Parameters
    ----------
    tasks : sequence of (X, y) pairs
        The tasks. Arrays must have the same number of columns; DataFrames
        may have different columns.
    return_present : bool, default=False
        Also return the column-presence mask of the tasks.

    Returns
    -------
    X : ndarray or DataFrame of shape (n_rows, n_features)
        All rows, task after task.
    y : ndarray of shape (n_rows,)
        All targets.
    groups : ndarray of shape (n_rows,)
        The task index of every row.
    present : ndarray of bool of shape (n_tasks, n_features)
        Whether task ``i`` has column ``j`` (a column a DataFrame task lacks
        is NaN in ``X`` but False here); only with ``return_present=True``.

    Raises
    ------
    ValueError
        If ``tasks`` is empty, a task is not an ``(X, y)`` pair, a task's X and
        y differ in length, or array tasks differ in their number of columns.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.tasks import as_task_arrays
    >>> X, y, groups = as_task_arrays([(np.ones((2, 3)), [0, 1]),
    ...                                (np.zeros((1, 3)), [1])])
    >>> X.shape, groups.tolist()
    ((3, 3), [0, 0, 1])
    """
    if len(tasks) == 0:
        raise ValueError(
            "tasks is an empty sequence: meta-learning needs at least one "
            "(X, y) task; pass a list of (X, y) pairs or X, y with groups."
        )
    n_cols0 = None
    Xs, ys, groups = [], [], []
    for i, task in enumerate(tasks):
        if not (isinstance(task, (list, tuple)) and len(task) == 2):
            raise ValueError(
                f"tasks[{i}] is not an (X, y) pair (got {type(task).__name__}); "
                "every task must be a tuple (X, y)."
            )
        Xi, yi = task
        if sp.issparse(Xi):
            raise TypeError(
                f"tasks[{i}] has sparse X; sparse input is not supported. "
                "Convert it with X.toarray()."
            )
        n_cols = _n_columns(Xi)
        if n_cols is None:
            raise ValueError(
                f"tasks[{i}] has X of shape {np.shape(Xi)}; expected a 2D "
                "array (n_rows, n_features). Reshape a single feature with "
                "X.reshape(-1, 1)."
            )
        if n_cols0 is None:
            n_cols0 = n_cols
        elif n_cols != n_cols0 and not hasattr(Xi, "columns"):
            raise ValueError(
                f"tasks[{i}] has {n_cols} columns but tasks[0] has {n_cols0}; "
                "all tasks must share the same feature columns."
            )
        yi = np.asarray(yi)
        if yi.ndim == 2 and yi.shape[1] == 1:
            yi = yi.ravel()
        if yi.ndim != 1:
            raise ValueError(
                f"tasks[{i}] has y of shape {yi.shape}; expected a 1D array."
            )
        n_rows = Xi.shape[0] if hasattr(Xi, "shape") else len(Xi)
        if n_rows != yi.shape[0]:
            raise ValueError(
                f"tasks[{i}] has {n_rows} rows in X but {yi.shape[0]} in y; "
                "X and y of a task must have the same number of rows."
            )
        Xs.append(Xi)
        ys.append(yi)
        groups.append(np.full(yi.shape[0], i))
    frames = [hasattr(Xi, "columns") for Xi in Xs]
    if all(frames):
        from ._columns import align_frames

        X, present = align_frames(Xs)
    else:
        if any(frames) and len({_n_columns(Xi) for Xi in Xs}) > 1:
            i = frames.index(False)
            raise ValueError(
                f"tasks[{i}] is an array with {_n_columns(Xs[i])} columns while other "
                "tasks are DataFrames with other columns; tasks with different columns "
                "are aligned by column name, so give every task as a DataFrame."
            )
        X = np.concatenate([np.asarray(Xi) for Xi in Xs], axis=0)
        present = np.ones((len(Xs), X.shape[1]), dtype=bool)
    out = X, np.concatenate(ys), np.concatenate(groups)
    return (*out, present) if return_present else out


class TaskSet:
    """Validated tasks, stacked: what a meta-learner's ``_meta_fit`` receives.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        All rows, task after task.
    y : ndarray of shape (n_rows,)
        Targets: floats for regression; int64 codes for classification (codes
        into the shared classes, or per-task codes ``0..k_i - 1`` when each
        task has its own label set).
    starts : ndarray of shape (n_tasks + 1,)
        Task ``i`` is rows ``starts[i]:starts[i + 1]``.
    task_ids : ndarray of shape (n_tasks,)
        The original id (group label) of every task.
    label_space : {"shared", "per_task"} or None
        The label setting of a classification problem; None for regression.
    classes : list of ndarray or None
        Per-task original labels (classification), in code order.
    present : ndarray of bool of shape (n_tasks, n_features) or None
        Which columns every task has (tasks with different columns); None:
        a column missing on every row of a task is absent from it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.tasks import TaskSet
    >>> ts = TaskSet(np.zeros((5, 2)), np.arange(5.0), np.array([0, 2, 5]),
    ...              np.array(["a", "b"]))
    >>> len(ts), ts.sizes.tolist()
    (2, [2, 3])
    >>> X1, y1 = ts[1]
    >>> y1.tolist()
    [2.0, 3.0, 4.0]
    """

    def __init__(self, X, y, starts, task_ids, label_space=None, classes=None,
                 present=None):
        self.X = X
        self.y = y
        self.starts = np.asarray(starts, dtype=np.int64)
        self.task_ids = np.asarray(task_ids)
        self.label_space = label_space
        self.classes = classes
        self._present = None if present is None else np.asarray(present, dtype=bool)

    @property
    def present(self):
        """Column-presence mask, a bool array of shape (n_tasks, n_features)."""
        if self._present is None:
            from ._columns import presence_from_blocks

            self._present = presence_from_blocks(self.X, self.starts)
        return self._present

    @present.setter
    def present(self, value):
        self._present = None if value is None else np.asarray(value, dtype=bool)

    @property
    def n_tasks(self):
        """Number of tasks."""
        return len(self.starts) - 1

    def __len__(self):
        return self.n_tasks

    @property
    def sizes(self):
        """Rows per task, an int64 array of shape (n_tasks,)."""
        return np.diff(self.starts)

    @property
    def n_features(self):
        """Number of feature columns."""
        return self.X.shape[1]

    @property
    def n_classes(self):
        """Classes per task (classification only), an int array."""
        if self.classes is None:
            raise AttributeError("n_classes is defined for classification tasks")
        return np.array([len(c) for c in self.classes], dtype=np.int64)

    @property
    def task_index(self):
        """The task position (0..n_tasks-1) of every row."""
        return np.repeat(np.arange(self.n_tasks), self.sizes)

    def __getitem__(self, i):
        s, e = self.starts[i], self.starts[i + 1]
        return self.X[s:e], self.y[s:e]

    def __iter__(self):
        for i in range(self.n_tasks):
            yield self[i]

    def subset(self, indices):
        """Return a new :class:`TaskSet` of the tasks at ``indices``.

        Parameters
        ----------
        indices : array-like of int
            Task positions to keep, in the order given.

        Returns
        -------
        TaskSet
            The selected tasks.
        """
        indices = np.asarray(indices, dtype=np.int64)
        sizes = self.sizes[indices]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        # the rows of every kept task, in one pass: a task's first row, then 0, 1, ...
        rows = (np.repeat(self.starts[indices] - starts[:-1], sizes)
                + np.arange(starts[-1], dtype=np.int64))
        classes = None if self.classes is None else [self.classes[i] for i in indices]
        present = None if self._present is None else self._present[indices]
        return TaskSet(
            self.X[rows], self.y[rows], starts, self.task_ids[indices],
            self.label_space, classes, present,
        )

    def __repr__(self):
        return (
            f"TaskSet(n_tasks={self.n_tasks}, n_features={self.n_features}, "
            f"rows={int(self.starts[-1])}, label_space={self.label_space!r})"
        )


def _task_name(task_id):
    return repr(task_id.item() if hasattr(task_id, "item") else task_id)


def _split_tasks(n_tasks, n_held, rng):
    """Task positions (kept, held out), each sorted: ``n_held`` tasks at random held out."""
    order = rng.permutation(n_tasks)
    return np.sort(order[n_held:]), np.sort(order[:n_held])


def _require_shared_labels(tasks, who, why, instead):
    """Refuse tasks with their own label sets with one clear error.

    ``who`` (an estimator, or one of its parameters) needs the label set shared by all
    tasks because ``why``; ``instead`` says what to use for per-task labels.
    """
    if tasks.label_space == "per_task":
        raise ValueError(
            f"{who} needs one label set shared by all tasks ({why}), but the tasks "
            "have their own label sets (label_space='per_task'; label_space='auto' "
            "decides so when no task has every label, or for n_way below the number "
            "of classes). Pass label_space='shared' if the labels mean the same in "
            f"every task, or {instead}."
        )


def _check_n_shots(y, n_shots, *, task_id=None, classification=True, n_queries=1,
                  labels=None):
    """Check that one task has enough rows for ``n_shots`` support rows.

    Parameters
    ----------
    y : ndarray of shape (n_rows,)
        The task's targets.
    n_shots : int
        Support rows per class (classification) or per task (regression).
    task_id : object, default=None
        The task's id, named in the error.
    classification : bool, default=True
        Whether rows are counted per class.
    n_queries : int, default=1
        Query rows needed besides the support rows (per class, or per task).
    labels : ndarray, default=None
        When ``y`` holds class codes, the labels they stand for (named in the error).

    Raises
    ------
    ValueError
        Naming the task, the class, its row count and what is needed.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.tasks import _check_n_shots
    >>> _check_n_shots(np.array([0, 0, 1, 1]), n_shots=1)
    >>> _check_n_shots(np.array([0, 0, 1]), n_shots=1, task_id="B")
    Traceback (most recent call last):
    ...
    ValueError: task 'B' has 1 row(s) of class 1 but n_shots=1 needs at least 2 ...
    """
    name = "the task" if task_id is None else f"task {_task_name(np.asarray(task_id))}"
    need = n_shots + n_queries
    if classification:
        codes, counts = np.unique(y, return_counts=True)
        short = counts < need
        if short.any():
            c = codes[short][0]
            if labels is not None:
                c = labels[c]
            raise ValueError(
                f"{name} has {counts[short][0]} row(s) of class {_task_name(np.asarray(c))} "
                f"but n_shots={n_shots} needs at least {need} per class "
                f"({n_shots} support + {n_queries} query); lower n_shots or "
                "drop tasks with rare classes."
            )
    elif len(y) < need:
        raise ValueError(
            f"{name} has {len(y)} row(s) but n_shots={n_shots} needs at least "
            f"{need} ({n_shots} support + {n_queries} query); lower n_shots or "
            "drop small tasks."
        )


def _check_episode_labels(y_support, y_query):
    """Check that every query label occurs in the support set.

    In the per-task label setting a model can only predict labels it was
    shown during adaptation.

    Parameters
    ----------
    y_support : array-like of shape (n_support,)
        Support labels.
    y_query : array-like of shape (n_query,)
        Query labels.

    Raises
    ------
    ValueError
        Naming the query labels missing from the support set.

    Examples
    --------
    >>> from sklearn_meta.tasks import _check_episode_labels
    >>> _check_episode_labels(["a", "b"], ["b", "a", "a"])
    >>> _check_episode_labels(["a", "b"], ["c"])
    Traceback (most recent call last):
    ...
    ValueError: the query set has label(s) ['c'] that the support set never had...
    """
    missing = np.setdiff1d(np.asarray(y_query), np.asarray(y_support))
    if missing.size:
        raise ValueError(
            f"the query set has label(s) {missing.tolist()} that the support "
            "set never had; with per-task labels a model can only predict "
            "labels shown at adapt. Include every query class in the support set."
        )


def _check_groups(groups, n_rows):
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.shape[0] != n_rows:
        raise ValueError(
            f"groups has shape {groups.shape} but X has {n_rows} rows; groups "
            "must give the task id of every row (1D, one entry per row)."
        )
    if groups.dtype.kind == "f" and not np.isfinite(groups).all():
        raise ValueError("groups contains NaN or infinity; every row needs a task id.")
    if groups.dtype.kind == "O":
        import pandas as pd

        missing = pd.isna(groups)
        if missing.any():
            raise ValueError(
                f"groups has {int(missing.sum())} missing task id(s) (None or NaN), e.g. "
                f"at row {int(np.argmax(missing))}; every row needs a task id. Drop those "
                "rows or give them an id (e.g. groups.fillna('unknown'))."
            )
        mixed = pd.api.types.infer_dtype(groups, skipna=False) in ("mixed", "mixed-integer")
        # (tuples also infer as mixed: only then are the types looked at one by one)
        kinds = {type(v).__name__ for v in groups.tolist()} if mixed else ()
        if len(kinds) > 1:
            raise ValueError(
                f"groups mixes task ids of types {sorted(kinds)}; give every task id one "
                "type, e.g. groups.astype(str)."
            )
    return groups


def _row_where(row, groups=None, task_list=False):
    """Where row ``row`` of the stacked rows is, for messages: ``"row 3, task 'B'"``,
    or ``"row 3 of tasks[2]"`` when the rows were stacked from a list of tasks."""
    groups = None if groups is None else np.asarray(groups)
    if groups is None or groups.ndim != 1 or not 0 <= row < groups.shape[0]:
        return f"row {row}"
    task = groups[row]
    if task_list:
        return f"row {row - int(np.argmax(groups == task))} of tasks[{task}]"
    return f"row {row}, task {_task_name(task)}"


def _check_targets_present(y, groups, task_list=False):
    """Refuse missing targets (NaN, None) in ``fit`` or ``score``, naming the row and
    its task."""
    import pandas as pd

    y = np.asarray(y) if y is not None else None
    if y is None or y.ndim != 1 or y.dtype.kind not in "fcO":
        return
    missing = pd.isna(y)
    if missing.any():
        row = int(np.argmax(missing))
        raise ValueError(
            f"y has {int(missing.sum())} missing target(s) (NaN or None), e.g. at "
            f"{_row_where(row, groups, task_list)}; every row needs a target. "
            "Drop those rows (e.g. keep = y.notna())."
        )


def _natural_key(value):
    """Sort key of a task id: digit runs compare as numbers ('site 2' < 'site 10')."""
    parts = re.split(r"(\d+)", str(value))
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts]


def _natural_order(task_ids):
    """Positions of ``task_ids`` (sorted by np.unique) in natural order."""
    if task_ids.dtype.kind not in "OUS" or task_ids.size < 2:
        return None
    order = sorted(range(task_ids.size), key=lambda i: _natural_key(task_ids[i]))
    if order == list(range(task_ids.size)):
        return None
    return np.asarray(order, dtype=np.int64)


def _split_by_groups(groups):
    """Return (task_ids, order, starts) grouping rows by task, stable within task.

    Tasks come in natural order of their ids: text ids with numbers sort by number
    ("site 2" before "site 10"), numeric ids by value.
    """
    task_ids, inverse = np.unique(groups, return_inverse=True)
    natural = _natural_order(task_ids)
    if natural is not None:
        rank = np.empty_like(natural)
        rank[natural] = np.arange(natural.size)
        task_ids, inverse = task_ids[natural], rank[inverse]
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(task_ids))
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return task_ids, order, starts


def _check_finite_tasks(X, task_ids, starts, allow_nan):
    """Raise a ValueError naming the first task with NaN or infinity."""
    if X.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(X)
    if allow_nan:
        bad &= ~np.isnan(X)
    if not bad.any():
        return
    row = int(np.flatnonzero(bad.any(axis=1))[0])
    t = int(np.searchsorted(starts, row, side="right") - 1)
    kind = "infinity" if (allow_nan or not np.isnan(X[row]).any()) else "NaN"
    raise ValueError(
        f"Input X contains {kind} in task {_task_name(task_ids[t])} "
        f"({int(bad[starts[t]:starts[t + 1]].any(axis=1).sum())} row(s)); this "
        "estimator does not accept NaN or infinity. Impute them first, e.g. "
        "make_pipeline(SimpleImputer(), estimator)."
    )


def _split_support_query(y, n_shots, random_state=None, *, classification=True,
                        n_way=None, n_queries=None, task_id=None, support="per_class"):
    """Draw the support and query rows of one episode from one task.

    Classification with ``support="per_class"``: ``n_shots`` support rows of every
    class (of ``n_way`` randomly chosen classes when given, among those with enough
    rows); with ``support="random"``: ``n_shots`` rows drawn at random from the task (of
    the ``n_way`` chosen classes), whatever their classes, as a user with a new task and
    ``n_shots`` labelled rows has them. Regression: ``n_shots`` support rows. The query
    set is ``n_queries`` further rows per class (``"per_class"``) or in total, or all
    the remaining rows when ``n_queries`` is None.

    Parameters
    ----------
    y : array-like of shape (n_rows,)
        The task's targets.
    n_shots : int
        Support rows per class (classification) or in total (regression).
    random_state : int, RandomState, Generator or None, default=None
        Randomness of the draw.
    classification : bool, default=True
        Whether rows are drawn per class.
    n_way : int, default=None
        Number of classes of the episode (classification); all by default.
    n_queries : int, default=None
        Query rows per class (classification) or in total; None for all rest.
    task_id : object, default=None
        The task's id, named in errors.
    support : {"per_class", "random"}, default="per_class"
        How the support rows are drawn (classification; regression is always
        random).

    Returns
    -------
    support : ndarray of int
        Row positions of the support set.
    query : ndarray of int
        Row positions of the query set.

    Raises
    ------
    ValueError
        When a class (or the task) has too few rows, or the task has fewer
        than ``n_way`` classes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.tasks import _split_support_query
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> s, q = _split_support_query(y, n_shots=2, random_state=0)
    >>> np.bincount(y[s]).tolist(), len(q)
    ([2, 2], 2)
    """
    y = np.asarray(y)
    if isinstance(random_state, np.random.Generator):
        rng = random_state
    else:
        rng = np.random.default_rng(
            None if random_state is None else seed_of(random_state, keep_int=True)
        )
    n = y.shape[0]
    if support not in ("per_class", "random"):
        raise ValueError(f"support={support!r} must be 'per_class' or 'random'.")
    if not classification:
        min_q = 2 if n_queries is None else n_queries
        _check_n_shots(y, n_shots, task_id=task_id, classification=False, n_queries=min_q)
        perm = rng.permutation(n)
        end = n if n_queries is None else n_shots + n_queries
        return np.sort(perm[:n_shots]), np.sort(perm[n_shots:end])
    labels, inverse = np.unique(y, return_inverse=True)
    keep = np.ones(n, dtype=bool)
    min_q = 1 if n_queries is None else n_queries
    if n_way is not None:
        counts = np.bincount(inverse, minlength=len(labels))
        # per class: classes with too few rows cannot be drawn
        pool = np.flatnonzero(counts >= n_shots + min_q) if support == "per_class" \
            else np.arange(len(labels))
        if n_way > len(pool):
            name = "the task" if task_id is None else f"task {_task_name(np.asarray(task_id))}"
            enough = (f" with at least {n_shots + min_q} rows each"
                      if support == "per_class" else "")
            raise ValueError(
                f"{name} has {len(pool)} class(es){enough} but n_way={n_way}; lower "
                "n_way (or n_shots) or drop tasks with fewer classes."
            )
        chosen = pool[rng.choice(len(pool), size=n_way, replace=False)]
        keep = np.isin(inverse, chosen)
    idx = np.flatnonzero(keep)
    if support == "random":
        if idx.shape[0] < n_shots + min_q:
            name = "the task" if task_id is None else f"task {_task_name(np.asarray(task_id))}"
            raise ValueError(
                f"{name} has {idx.shape[0]} row(s) but n_shots={n_shots} with "
                f"support='random' needs at least {n_shots + min_q} ({n_shots} support + "
                f"{min_q} query); lower n_shots or drop small tasks."
            )
        perm = idx[rng.permutation(idx.shape[0])]
        end = None if n_queries is None else n_shots + n_queries
        return np.sort(perm[:n_shots]), np.sort(perm[n_shots:end])
    _check_n_shots(inverse[idx], n_shots, task_id=task_id, classification=True,
                  n_queries=min_q, labels=labels)
    perm = idx[rng.permutation(idx.shape[0])]
    perm = perm[np.argsort(inverse[perm], kind="stable")]
    lab = inverse[perm]
    first = np.searchsorted(lab, lab, side="left")
    rank = np.arange(perm.shape[0]) - first
    support_rows = perm[rank < n_shots]
    if n_queries is None:
        query = perm[rank >= n_shots]
    else:
        query = perm[(rank >= n_shots) & (rank < n_shots + n_queries)]
    return np.sort(support_rows), np.sort(query)


SUPPORT_PROTOCOLS = ("per_class", "random")


def _resolve_support(support, classification, per_task_labels):
    """The support protocol: ``"random"`` for regression and shared labels,
    ``"per_class"`` (N-way K-shot) for per-task labels, unless given."""
    if support is None:
        return "per_class" if classification and per_task_labels else "random"
    if support not in SUPPORT_PROTOCOLS:
        raise ValueError(
            f"support={support!r} must be one of {SUPPORT_PROTOCOLS} (or None for the "
            "default: 'per_class' with per-task labels, else 'random')."
        )
    return support


def _supports_episode(y, n_shots, *, classification=True, n_way=None, n_queries=None,
                      support="per_class"):
    """Whether one task can give an episode (the rule of :func:`_split_support_query`)."""
    y = np.asarray(y)
    min_q = (2 if n_queries is None else n_queries) if not classification else (
        1 if n_queries is None else n_queries)
    if not classification:
        return y.shape[0] >= n_shots + min_q
    _, counts = np.unique(y, return_counts=True)
    if support == "random":
        if n_way is None:
            return y.shape[0] >= n_shots + min_q
        return counts.size >= n_way and np.sort(counts)[::-1][:n_way].sum() >= n_shots + min_q
    enough = counts >= n_shots + min_q
    return bool(enough.sum() >= n_way) if n_way is not None else bool(enough.all())

