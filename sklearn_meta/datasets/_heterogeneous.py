"""Task collections whose tasks have different columns (heterogeneous feature spaces).

- :func:`make_heterogeneous_tasks`: a synthetic family; every task observes its own
  random subset of a latent set of features, and which observed feature drives the
  label (and in which direction) changes from task to task.
- :func:`load_heterogeneous_churn`: the bundled churn tasks (one per US state), each
  state given its own random subset of the columns.

Both return the tasks as pandas DataFrames with the task's own columns (in a random
order), so ``fit(data.tasks)`` exercises the alignment by column name.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._seeds import seed_of

__all__ = ["make_heterogeneous_tasks", "load_heterogeneous_churn"]


def _pandas():
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is in the test extra
        raise ImportError(
            "tasks with different columns are pandas DataFrames; install pandas "
            "(pip install 'sklearn-meta[pandas]')."
        ) from exc
    return pd


def _check_pair(value, name, high):
    try:
        lo, hi = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of ints; got {value!r}.") from None
    if not 1 <= lo <= hi <= high:
        raise ValueError(
            f"{name}={value!r} must satisfy 1 <= low <= high <= {high} (the number of "
            "columns there are)."
        )
    return lo, hi


def _column_subsets(rng, n_tasks, n_columns, low, high):
    """(n_tasks, n_columns) bool: every task's random subset of low..high columns."""
    sizes = rng.integers(low, high + 1, size=n_tasks)
    rank = np.argsort(rng.random((n_tasks, n_columns)), axis=1)
    return rank < sizes[:, None]


def _frames(X, y, observed, names, rng, groups=None):
    """Per-task DataFrames with the task's own columns in a random order, + the union."""
    pd = _pandas()
    starts = np.concatenate([[0], np.cumsum([len(t) for t in y])])
    tasks = []
    for i, (Xi, yi) in enumerate(zip(X, y)):
        cols = np.flatnonzero(observed[i])
        cols = cols[rng.permutation(len(cols))]
        tasks.append((pd.DataFrame(Xi[:, cols], columns=[names[c] for c in cols]), yi))
    flat = np.concatenate(X).copy()
    rows = np.repeat(np.arange(len(y)), np.diff(starts))
    flat[~observed[rows]] = np.nan
    X_union = pd.DataFrame(flat, columns=list(names))
    groups = rows if groups is None else np.repeat(np.asarray(groups), np.diff(starts))
    return tasks, X_union, np.concatenate(y), groups


_SYNTH_DESCR = """\
Tasks with heterogeneous columns (synthetic)
--------------------------------------------

{n_tasks} tasks of {n_samples} rows over a latent set of {n_features} standard normal
features f00..f{last:02d}. Task i observes its own random subset of {low} to {high} of
them (its DataFrame has only those columns, in a random order). One observed feature
j_i, drawn per task, drives the target with a task-specific sign s_i; feature f00, when
a task observes it, adds a shared effect of weight {shared}:

    score = 2 * s_i * x[j_i] + {shared} * x[f00] + noise * N(0, 1)

classification: y = 1[score > 0]; regression: y = score. A pooled model cannot know
which column matters in a new task, nor its sign; a per-task model must find them from
a few rows alone; a meta-learner knows that one column matters and reads which from the
support set.
"""


@validate_params(
    {
        "n_tasks": [Interval(Integral, 1, None, closed="left")],
        "n_samples_per_task": [Interval(Integral, 2, None, closed="left")],
        "n_features": [Interval(Integral, 2, None, closed="left")],
        "n_observed": ["array-like"],
        "task_type": [StrOptions({"classification", "regression"})],
        "shared_effect": [Interval(Real, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_heterogeneous_tasks(n_tasks=100, n_samples_per_task=40, *, n_features=12,
                             n_observed=(4, 8), task_type="classification",
                             shared_effect=0.5, noise=0.3, random_state=None):
    """Generate tasks that each observe their own random subset of the columns.

    A latent set of ``n_features`` features; every task observes a random subset of
    ``n_observed`` of them, and one observed feature, drawn per task, drives the target
    with a task-specific sign (see ``DESCR``). What matters for the label differs from
    task to task in a way that only meta-learning picks up from a few rows. Requires
    pandas.

    Parameters
    ----------
    n_tasks : int, default=100
        Number of tasks.
    n_samples_per_task : int, default=40
        Rows per task.
    n_features : int, default=12
        Size of the latent feature set (the union of the columns).
    n_observed : (int, int), default=(4, 8)
        Range of the number of columns a task observes.
    task_type : {"classification", "regression"}, default="classification"
        Binary labels ``1[score > 0]`` or the score itself.
    shared_effect : float, default=0.5
        Weight of the effect of ``f00`` shared by the tasks that observe it.
    noise : float, default=0.3
        Standard deviation of the noise of the score.
    random_state : int, RandomState instance or None, default=None
        Seed; an int gives reproducible output.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With attributes

        tasks : list of (DataFrame, ndarray)
            One pair per task; the DataFrame has the task's own columns only.
        X : DataFrame of shape (n_tasks * n_samples_per_task, n_features)
            All rows on the union of the columns; NaN where a task lacks a column.
        y : ndarray of shape (n_tasks * n_samples_per_task,)
            Targets.
        groups : ndarray of shape (n_tasks * n_samples_per_task,)
            Task id of every row.
        observed : ndarray of bool of shape (n_tasks, n_features)
            Which columns every task has.
        relevant : ndarray of shape (n_tasks,)
            Name of the column that drives each task's target.
        sign : ndarray of shape (n_tasks,)
            Its sign.
        feature_names : list of str
            ``f00``, ``f01``, ...
        DESCR : str
            Description of the family.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_heterogeneous_tasks
    >>> data = make_heterogeneous_tasks(n_tasks=5, random_state=0)
    >>> X0, y0 = data.tasks[0]
    >>> bool(X0.shape[1] == data.observed[0].sum()), data.X.shape
    (True, (200, 12))
    """
    low, high = _check_pair(n_observed, "n_observed", n_features)
    rng = check_random_state(random_state)
    gen = np.random.default_rng(seed_of(rng))
    observed = _column_subsets(gen, n_tasks, n_features, low, high)
    X = gen.standard_normal((n_tasks, n_samples_per_task, n_features))
    # the relevant column: uniform among the observed ones of each task
    keys = np.where(observed, gen.random((n_tasks, n_features)), -1.0)
    relevant = np.argmax(keys, axis=1)
    sign = gen.choice([-1.0, 1.0], size=n_tasks)
    x_rel = np.take_along_axis(X, relevant[:, None, None], axis=2)[..., 0]
    score = 2.0 * sign[:, None] * x_rel
    score = score + shared_effect * observed[:, :1] * X[..., 0]
    score = score + noise * gen.standard_normal(score.shape)
    y = (score > 0).astype(np.int64) if task_type == "classification" else score
    names = [f"f{j:02d}" for j in range(n_features)]
    tasks, X_union, y_flat, groups = _frames(list(X), list(y), observed, names, gen)
    descr = _SYNTH_DESCR.format(n_tasks=n_tasks, n_samples=n_samples_per_task,
                                n_features=n_features, last=n_features - 1, low=low,
                                high=high, shared=shared_effect)
    return Bunch(tasks=tasks, X=X_union, y=y_flat, groups=groups, observed=observed,
                 relevant=np.array(names, dtype=object)[relevant], sign=sign,
                 feature_names=names, DESCR=descr)


_CHURN_DESCR = """\
Customer churn by US state, every state with its own columns
------------------------------------------------------------

The bundled churn tasks (see :func:`load_churn`: 51 states, binary target churn),
made heterogeneous: every state keeps a random subset of {low} to {high} of the 20
feature columns (seed {seed}), as if each state's system recorded different fields.
The values are the real ones; only the column subsets are synthetic.
"""


@validate_params(
    {"n_columns": ["array-like"], "random_state": ["random_state"]},
    prefer_skip_nested_validation=True,
)
def load_heterogeneous_churn(*, n_columns=(8, 16), random_state=0):
    """Load the churn tasks with a random subset of the columns per state.

    The bundled customer-churn collection (:func:`load_churn`, one binary task per US
    state) turned into tasks with different columns: each state keeps its own random
    subset of ``n_columns`` of the 20 feature columns. A real collection made
    heterogeneous on purpose, documented as such (the column subsets are synthetic).
    Requires pandas.

    Parameters
    ----------
    n_columns : (int, int), default=(8, 16)
        Range of the number of columns a state keeps.
    random_state : int, RandomState instance or None, default=0
        Seed of the column subsets.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With attributes ``tasks`` (one (DataFrame, ndarray) pair per state, with the
        state's own columns), ``X`` (all rows on the union of the columns, NaN where a
        state lacks one), ``y``, ``groups`` (state codes), ``observed`` (n_states, 20)
        bool, ``feature_names`` and ``DESCR``.

    Examples
    --------
    >>> from sklearn_meta.datasets import load_heterogeneous_churn
    >>> data = load_heterogeneous_churn(random_state=0)
    >>> len(data.tasks), data.X.shape, bool(data.X.isna().any().any())
    (51, (5000, 20), True)
    """
    from ._real import load_churn

    base = load_churn(as_frame=False)
    names = list(base.feature_names)
    low, high = _check_pair(n_columns, "n_columns", len(names))
    rng = check_random_state(random_state)
    gen = np.random.default_rng(seed_of(rng))
    states = [t for t in np.unique(base.groups)]
    observed = _column_subsets(gen, len(states), len(names), low, high)
    Xs = [base.X[base.groups == s] for s in states]
    ys = [base.y[base.groups == s] for s in states]
    tasks, X_union, y, groups = _frames(Xs, ys, observed, names, gen, groups=states)
    seed = random_state if isinstance(random_state, Integral) else "random"
    return Bunch(tasks=tasks, X=X_union, y=y, groups=groups, observed=observed,
                 feature_names=names,
                 DESCR=_CHURN_DESCR.format(low=low, high=high, seed=seed))
