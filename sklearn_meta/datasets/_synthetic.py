"""Synthetic task families on which meta-learning helps, by construction.

Every generator returns a :class:`sklearn.utils.Bunch` with the tasks both as
flat arrays (``X``, ``y``, ``groups``) and as a list of ``(X_i, y_i)`` pairs
(``tasks``), so it can be passed to any ``fit`` form of the estimator contract.
Generation is vectorised over tasks and rows; a fixed ``random_state`` gives the
same data.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from ..utils._docstrings import fill_doc

__all__ = [
    "make_sinusoid_tasks",
    "make_classification_tasks",
    "make_regression_tasks",
]


def _check_range(value, name):
    """Return ``(low, high)`` floats from a 2-element range, or raise."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a pair (low, high) of numbers; got {value!r}."
        ) from None
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise ValueError(
            f"{name} must be a pair (low, high) of finite numbers with "
            f"low <= high; got {value!r}."
        )
    return low, high


def _package(X, y, n_tasks, n_samples_per_task, descr, params, return_params):
    """Stack per-task arrays of shape (n_tasks, n_samples, ...) into a Bunch."""
    X_flat = X.reshape(n_tasks * n_samples_per_task, -1)
    y_flat = y.reshape(n_tasks * n_samples_per_task)
    groups = np.repeat(np.arange(n_tasks), n_samples_per_task)
    bounds = np.arange(n_tasks + 1) * n_samples_per_task
    tasks = [
        (X_flat[start:stop], y_flat[start:stop])
        for start, stop in zip(bounds[:-1], bounds[1:])
    ]
    bunch = Bunch(X=X_flat, y=y_flat, groups=groups, tasks=tasks, DESCR=descr)
    if return_params:
        bunch.update(params)
    return bunch


def _shared_subspace(rng, n_features, n_informative):
    """A random (n_features, n_informative) matrix with orthonormal columns."""
    q, r = np.linalg.qr(rng.standard_normal((n_features, n_informative)))
    # Fix the signs so the result does not depend on the LAPACK sign convention.
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def _subspace_rows(random_state, n_tasks, n_samples, n_features, n_informative):
    """``(rng, W, X)`` of the shared-subspace generators: the generator, the subspace
    and the standard normal rows, shape (n_tasks, n_samples, n_features)."""
    if n_informative > n_features:
        raise ValueError(
            f"n_informative={n_informative} must be at most "
            f"n_features={n_features}."
        )
    rng = check_random_state(random_state)
    W = _shared_subspace(rng, n_features, n_informative)
    return rng, W, rng.standard_normal((n_tasks, n_samples, n_features))


def _balancing_intercepts(scores, n_iter=200, damping=0.5):
    """Per-task class intercepts so that ``argmax(scores + b)`` is balanced.

    ``scores`` has shape (n_tasks, n_samples, n_classes). Each iteration sets,
    for every class at once, the intercept that would give that class
    ``n_samples // n_classes`` rows if the other intercepts stayed fixed (a
    quantile of its margin over the best other class), and moves halfway
    there. Vectorised over tasks and classes; the update treats the classes
    symmetrically, so no class index is favoured.
    """
    n_tasks, n_samples, n_classes = scores.shape
    floor, ceil = n_samples // n_classes, -(-n_samples // n_classes)
    rank = max(floor, 1)
    classes = np.arange(n_classes)
    b = np.zeros((n_tasks, n_classes))
    for _ in range(n_iter):
        shifted = scores + b[:, None, :]
        top2 = np.sort(shifted, axis=2)[:, :, -2:]
        is_best = np.argmax(shifted, axis=2)[..., None] == classes
        counts = is_best.sum(axis=1)
        if np.all((counts >= floor) & (counts <= ceil)):
            break  # every task is as balanced as it can be
        # best score among the *other* classes, for every class
        other = np.where(is_best, top2[:, :, :1], top2[:, :, 1:])
        margin = -np.sort(other - scores, axis=1)  # descending over rows
        if rank < n_samples:
            threshold = (margin[:, rank - 1] + margin[:, rank]) / 2
        else:
            threshold = margin[:, -1]
        b = (1 - damping) * b - damping * threshold
    return b


_SINUSOID_DESCR = """\
Sinusoid regression tasks (Finn, Abbeel and Levine, 2017)
---------------------------------------------------------

{n_tasks} tasks of {n_samples} rows. Task i is y = A_i * sin(x - phi_i) + noise,
with amplitude A_i ~ U{amplitude_range}, phase phi_i ~ U{phase_range} and
inputs x ~ U{x_range} (one feature). Gaussian noise of standard deviation
{noise}. The tasks share their shape (a sinusoid) and differ by amplitude and
phase, so a few rows of a new task are enough once the family is known.

Reference: C. Finn, P. Abbeel and S. Levine, "Model-Agnostic Meta-Learning
for Fast Adaptation of Deep Networks", ICML 2017.
"""


# Docstring paragraphs shared by the generators.
_DOCS = {
    "n_tasks": """\
n_tasks : int, default=100
    Number of tasks.""",
    "subspace_params": """\
n_features : int, default=20
    Number of features.

n_informative : int, default=2
    Dimension of the shared subspace; at most `n_features`.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seed of the generator; an int gives reproducible output.""",
    "task_rows": """\
groups : ndarray of shape (n_tasks * n_samples_per_task,)
    Task id (0 to ``n_tasks - 1``) of each row.
tasks : list of (ndarray, ndarray)
    The same rows as one ``(X_i, y_i)`` pair per task.
DESCR : str
    Description of the task family.""",
    "subspace": """\
subspace : ndarray of shape (n_features, n_informative)
    The shared subspace ``W``; only when ``return_params=True``.""",
}


_AT_LEAST_1 = Interval(Integral, 1, None, closed="left")
# the parameters every generator has, and those of the shared-subspace ones
_COMMON_CONSTRAINTS = {
    "n_tasks": [_AT_LEAST_1],
    "return_params": ["boolean"],
    "random_state": ["random_state"],
}
_SUBSPACE_CONSTRAINTS = {
    **_COMMON_CONSTRAINTS,
    "n_features": [_AT_LEAST_1],
    "n_informative": [_AT_LEAST_1],
}


@validate_params(
    {
        **_COMMON_CONSTRAINTS,
        "n_samples_per_task": [_AT_LEAST_1],
        "amplitude_range": ["array-like"],
        "phase_range": ["array-like"],
        "x_range": ["array-like"],
        "noise": [Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc(**_DOCS)
def make_sinusoid_tasks(
    n_tasks=100,
    n_samples_per_task=20,
    *,
    amplitude_range=(0.1, 5.0),
    phase_range=(0, np.pi),
    x_range=(-5, 5),
    noise=0.0,
    return_params=False,
    random_state=None,
):
    """Generate the sinusoid regression tasks of Finn et al. (2017).

    Task ``i`` is ``y = amplitude[i] * sin(x - phase[i]) + noise * eps`` with
    ``x`` drawn uniformly from `x_range` and ``eps`` standard normal.

    Parameters
    ----------
    %(n_tasks)s

    n_samples_per_task : int, default=20
        Number of rows of each task.

    amplitude_range : tuple of (float, float), default=(0.1, 5.0)
        Bounds of the uniform distribution of the amplitudes.

    phase_range : tuple of (float, float), default=(0, pi)
        Bounds of the uniform distribution of the phases.

    x_range : tuple of (float, float), default=(-5, 5)
        Bounds of the uniform distribution of the inputs.

    noise : float, default=0.0
        Standard deviation of the Gaussian noise added to the targets.

    return_params : bool, default=False
        If True, add the per-task ``amplitude`` and ``phase`` to the result.

    %(random_state)s

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        X : ndarray of shape (n_tasks * n_samples_per_task, 1)
            Inputs of all tasks, stacked task after task.
        y : ndarray of shape (n_tasks * n_samples_per_task,)
            Targets.
        %(task_rows)s
        amplitude, phase : ndarray of shape (n_tasks,)
            The task parameters; only when ``return_params=True``.

    See Also
    --------
    make_regression_tasks : Linear regression tasks sharing a subspace.

    References
    ----------
    .. [1] C. Finn, P. Abbeel and S. Levine, "Model-Agnostic Meta-Learning for
       Fast Adaptation of Deep Networks", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.datasets import make_sinusoid_tasks
    >>> data = make_sinusoid_tasks(n_tasks=3, n_samples_per_task=10,
    ...                            return_params=True, random_state=0)
    >>> data.X.shape, data.y.shape, len(data.tasks)
    ((30, 1), (30,), 3)
    >>> X0, y0 = data.tasks[0]
    >>> bool(np.allclose(y0, data.amplitude[0] * np.sin(X0[:, 0] - data.phase[0])))
    True
    """
    rng = check_random_state(random_state)
    amp_low, amp_high = _check_range(amplitude_range, "amplitude_range")
    phase_low, phase_high = _check_range(phase_range, "phase_range")
    x_low, x_high = _check_range(x_range, "x_range")

    amplitude = rng.uniform(amp_low, amp_high, size=n_tasks)
    phase = rng.uniform(phase_low, phase_high, size=n_tasks)
    x = rng.uniform(x_low, x_high, size=(n_tasks, n_samples_per_task))
    y = amplitude[:, None] * np.sin(x - phase[:, None])
    if noise > 0:
        y = y + noise * rng.standard_normal(y.shape)

    descr = _SINUSOID_DESCR.format(
        n_tasks=n_tasks,
        n_samples=n_samples_per_task,
        amplitude_range=(amp_low, amp_high),
        phase_range=(round(phase_low, 4), round(phase_high, 4)),
        x_range=(x_low, x_high),
        noise=noise,
    )
    params = {"amplitude": amplitude, "phase": phase}
    return _package(
        x[..., None], y, n_tasks, n_samples_per_task, descr, params, return_params
    )


_CLASSIFICATION_DESCR = """\
Classification tasks sharing a low-dimensional subspace
-------------------------------------------------------

{n_tasks} tasks of {n_samples} rows, {n_features} standard normal features,
{n_classes} classes per task ({labels}).

All tasks share one subspace W ({n_features} x {n_informative}, orthonormal
columns): the label of a row depends on x only through x @ W. Each task has
its own class directions B_i ({n_informative} x {n_classes}, standard normal)
and intercepts b_i; y = argmax(x @ W @ B_i + b_i). The intercepts balance the
classes within each task (binary: the threshold is the task's median score;
more classes: about n / n_classes rows per class), so a small support set has
every class. Label noise: each label is replaced with probability {noise} by
a different class drawn uniformly.

Why meta-learning helps: a model fitted on a few rows of one task must find
the direction among {n_features} features, while W, learnable only from many
tasks, reduces the problem to {n_informative} dimensions. The class
directions are drawn symmetrically (the class names carry no information
across tasks), so a pooled model fitted on all tasks together is at chance.
"""


@validate_params(
    {
        **_SUBSPACE_CONSTRAINTS,
        "n_samples_per_task": [Interval(Integral, 2, None, closed="left")],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "noise": [Interval(Real, 0, 1, closed="both")],
        "per_task_labels": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc(**_DOCS)
def make_classification_tasks(
    n_tasks=100,
    n_samples_per_task=40,
    *,
    n_features=20,
    n_informative=2,
    n_classes=2,
    noise=0.0,
    per_task_labels=False,
    return_params=False,
    random_state=None,
):
    """Generate classification tasks on which meta-learning helps.

    All tasks share a random subspace ``W`` of shape
    ``(n_features, n_informative)`` with orthonormal columns; the rows are
    standard normal and task ``i`` labels them with
    ``argmax(X @ W @ coef[i] + intercept[i])``, where ``coef[i]`` has one
    standard normal direction per class. The intercepts balance the classes of
    every task (binary: the threshold is the task's median score; more
    classes: about ``n_samples_per_task / n_classes`` rows each), so a
    5-shot support set can be drawn from any task.

    A model fitted on a few rows of one task has to find the decision
    directions among `n_features` dimensions, while ``W``, shared and learnable
    only from many tasks, reduces the problem to `n_informative` dimensions.
    The directions are drawn symmetrically over the classes, so the class
    names mean nothing across tasks and a pooled model fitted on all tasks
    together is at chance.

    Parameters
    ----------
    %(n_tasks)s

    n_samples_per_task : int, default=40
        Number of rows of each task.

    %(subspace_params)s

    n_classes : int, default=2
        Number of classes of each task.

    noise : float in [0, 1], default=0.0
        Label-flip probability: each label is replaced with this probability
        by a different class of the task drawn uniformly. With
        ``noise = (n_classes - 1) / n_classes`` the labels are pure noise.

    per_task_labels : bool, default=False
        If False, the labels of every task are the integers
        ``0 .. n_classes - 1``. If True, each task draws its own
        `n_classes` label names (strings such as ``"label_017"``) from a
        vocabulary of ``10 * n_classes`` names, so the label sets differ
        between tasks (the N-way episode setting).

    return_params : bool, default=False
        If True, add the task parameters to the result (see Returns).

    %(random_state)s

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        X : ndarray of shape (n_tasks * n_samples_per_task, n_features)
            Features of all tasks, stacked task after task.
        y : ndarray of shape (n_tasks * n_samples_per_task,)
            Labels: int, or str when ``per_task_labels=True``.
        %(task_rows)s
        %(subspace)s
        coef : ndarray of shape (n_tasks, n_informative, n_classes)
            Class directions of each task; only when ``return_params=True``.
        intercept : ndarray of shape (n_tasks, n_classes)
            Class intercepts of each task; only when ``return_params=True``.
        task_classes : ndarray of shape (n_tasks, n_classes)
            Label of class index ``k`` of task ``i`` (column ``k`` of
            ``coef[i]``); only when ``return_params=True``.

    See Also
    --------
    make_regression_tasks : The same construction for regression.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> data = make_classification_tasks(n_tasks=4, n_samples_per_task=10,
    ...                                  random_state=0)
    >>> data.X.shape, data.y.shape, data.groups[:12]
    ((40, 20), (40,), array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]))
    >>> [np.bincount(y_i).tolist() for X_i, y_i in data.tasks]
    [[5, 5], [5, 5], [5, 5], [5, 5]]
    >>> data = make_classification_tasks(n_tasks=2, n_samples_per_task=9,
    ...                                  n_classes=3, per_task_labels=True,
    ...                                  random_state=0)
    >>> [np.unique(y_i).tolist() for X_i, y_i in data.tasks]
    [['label_006', 'label_011', 'label_021'], ['label_007', 'label_022', 'label_023']]
    """
    if n_samples_per_task < n_classes:
        raise ValueError(
            f"n_samples_per_task={n_samples_per_task} is smaller than "
            f"n_classes={n_classes}; every task needs at least one row per "
            "class."
        )
    rng, W, X = _subspace_rows(random_state, n_tasks, n_samples_per_task, n_features,
                               n_informative)
    Z = X @ W  # (n_tasks, n_samples, n_informative)

    if n_classes == 2:
        # Symmetric directions +-beta/2; the intercepts put the threshold at
        # the task's median score, so the two classes have equal size.
        beta = rng.standard_normal((n_tasks, n_informative))
        coef = np.stack([-beta / 2, beta / 2], axis=2)
        median = np.median(np.einsum("tnr,tr->tn", Z, beta), axis=1)
        intercept = np.stack([median / 2, -median / 2], axis=1)
    else:
        coef = rng.standard_normal((n_tasks, n_informative, n_classes))
        intercept = _balancing_intercepts(Z @ coef)
    codes = np.argmax(Z @ coef + intercept[:, None, :], axis=2)

    if noise > 0:
        flip = rng.uniform(size=codes.shape) < noise
        shift = rng.randint(1, n_classes, size=codes.shape)
        codes = np.where(flip, (codes + shift) % n_classes, codes)

    if per_task_labels:
        vocabulary = np.array([f"label_{j:03d}" for j in range(10 * n_classes)])
        picks = np.argsort(rng.uniform(size=(n_tasks, vocabulary.size)), axis=1)
        task_classes = vocabulary[picks[:, :n_classes]]
        y = np.take_along_axis(task_classes, codes, axis=1)
    else:
        task_classes = np.tile(np.arange(n_classes), (n_tasks, 1))
        y = codes

    labels = (
        "per-task label names drawn from a vocabulary of "
        f"{10 * n_classes} strings"
        if per_task_labels
        else f"labels 0..{n_classes - 1} in every task"
    )
    descr = _CLASSIFICATION_DESCR.format(
        n_tasks=n_tasks,
        n_samples=n_samples_per_task,
        n_features=n_features,
        n_informative=n_informative,
        n_classes=n_classes,
        labels=labels,
        noise=noise,
    )
    params = {
        "subspace": W,
        "coef": coef,
        "intercept": intercept,
        "task_classes": task_classes,
    }
    return _package(X, y, n_tasks, n_samples_per_task, descr, params, return_params)


_REGRESSION_DESCR = """\
Regression tasks sharing a low-dimensional subspace
---------------------------------------------------

{n_tasks} tasks of {n_samples} rows, {n_features} standard normal features.
All tasks share one subspace W ({n_features} x {n_informative}, orthonormal
columns); task i is y = x @ W @ beta_i + noise * eps, with its own
coefficients beta_i ~ N(0, I) and standard normal eps (noise = {noise}).

Why meta-learning helps: a model fitted on a few rows of one task must
estimate {n_features} coefficients, while W, learnable only from many tasks,
leaves {n_informative}. The coefficients are centred at zero, so a pooled model
fitted on all tasks together predicts about 0 (R^2 near 0).
"""


@validate_params(
    {
        **_SUBSPACE_CONSTRAINTS,
        "n_samples_per_task": [_AT_LEAST_1],
        "noise": [Interval(Real, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
@fill_doc(**_DOCS)
def make_regression_tasks(
    n_tasks=100,
    n_samples_per_task=20,
    *,
    n_features=20,
    n_informative=2,
    noise=0.0,
    return_params=False,
    random_state=None,
):
    """Generate linear regression tasks on which meta-learning helps.

    All tasks share a random subspace ``W`` of shape
    ``(n_features, n_informative)`` with orthonormal columns; the rows are
    standard normal and task ``i`` is ``y = X @ W @ coef[i] + noise * eps``
    with its own coefficients ``coef[i] ~ N(0, I)``. A model fitted on a few
    rows of one task estimates `n_features` coefficients; knowing ``W``
    (learnable only from many tasks) leaves `n_informative`. The coefficients
    are centred at zero, so a pooled model fitted on all tasks together has an
    R^2 near zero.

    Parameters
    ----------
    %(n_tasks)s

    n_samples_per_task : int, default=20
        Number of rows of each task.

    %(subspace_params)s

    noise : float, default=0.0
        Standard deviation of the Gaussian noise added to the targets (the
        noise-free targets have variance about `n_informative`).

    return_params : bool, default=False
        If True, add ``subspace`` and ``coef`` to the result.

    %(random_state)s

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        X : ndarray of shape (n_tasks * n_samples_per_task, n_features)
            Features of all tasks, stacked task after task.
        y : ndarray of shape (n_tasks * n_samples_per_task,)
            Targets.
        %(task_rows)s
        %(subspace)s
        coef : ndarray of shape (n_tasks, n_informative)
            Coefficients of each task in the subspace; only when
            ``return_params=True``.

    See Also
    --------
    make_classification_tasks : The same construction for classification.
    make_sinusoid_tasks : Non-linear one-feature regression tasks.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.datasets import make_regression_tasks
    >>> data = make_regression_tasks(n_tasks=5, n_samples_per_task=8,
    ...                              return_params=True, random_state=0)
    >>> data.X.shape, data.subspace.shape, data.coef.shape
    ((40, 20), (20, 2), (5, 2))
    >>> X0, y0 = data.tasks[0]
    >>> bool(np.allclose(y0, X0 @ data.subspace @ data.coef[0]))
    True
    """
    rng, W, X = _subspace_rows(random_state, n_tasks, n_samples_per_task, n_features,
                               n_informative)
    coef = rng.standard_normal((n_tasks, n_informative))
    y = np.einsum("tnr,tr->tn", X @ W, coef)
    if noise > 0:
        y = y + noise * rng.standard_normal(y.shape)

    descr = _REGRESSION_DESCR.format(
        n_tasks=n_tasks,
        n_samples=n_samples_per_task,
        n_features=n_features,
        n_informative=n_informative,
        noise=noise,
    )
    params = {"subspace": W, "coef": coef}
    return _package(X, y, n_tasks, n_samples_per_task, descr, params, return_params)
