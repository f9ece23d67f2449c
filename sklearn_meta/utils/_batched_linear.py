"""Linear models fitted on many small row segments at once (batched solves).

Used by the ensembles (one member per training task) and the selectors (one candidate
per few-shot episode): a cross-family helper, so it lives in ``utils``. A plain
:class:`~sklearn.linear_model.Ridge` or an L2-penalised
:class:`~sklearn.linear_model.LogisticRegression` has a unique minimum, so the batched
solution is the one their own ``fit`` converges to:

- Ridge: the batched normal equations (centred rows when ``fit_intercept``);
- LogisticRegression: damped Newton steps on every segment at once, on the objective
  scikit-learn minimises, ``C * sum(log loss) + ||coef||^2 / 2`` (intercept not
  penalised); the binary loss for two classes, the multinomial loss for more, over the
  classes present in each segment (as a per-segment ``fit`` sees them).

The Newton solve runs to a far tighter tolerance than scikit-learn's default ``tol``, so
it agrees with ``fit(tol=1e-10)`` to about 1e-8 and with the default ``fit`` to about its
own tolerance.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, logsumexp
from sklearn.linear_model import LogisticRegression, Ridge

from ._math import batched_solve, segment_sum

__all__ = []  # private

#: Rows x (parameters per segment)^2 held at once by the Newton solve (memory bound).
_CHUNK = 4_000_000
_NEWTON_ITER = 100
_LOGISTIC_SOLVERS = {"lbfgs", "newton-cg", "newton-cholesky", "sag", "saga"}


def batchable(template, X):
    """Whether ``fit_segments`` reproduces ``template``'s own fit on rows of ``X``.

    A plain (not subclassed) Ridge with a scalar ``alpha > 0``, or a LogisticRegression
    with the L2 penalty, a finite ``C``, no ``class_weight`` and a solver that minimises
    that objective (not liblinear, which penalises the intercept); dense, finite float
    features of moderate size (below 1e10: larger ones are left to the estimator).
    """
    if sp.issparse(X) or X.dtype.kind != "f" or X.ndim != 2:
        return False
    return batchable_estimator(template, X.shape[1]) and batchable_data(X)


def batchable_estimator(template, n_features):
    """The estimator half of :func:`batchable`: its type and parameters."""
    if type(template) is Ridge:
        p = template.get_params()
        return not p["positive"] and np.ndim(p["alpha"]) == 0 and float(p["alpha"]) > 0
    if type(template) is LogisticRegression:
        p = template.get_params()
        l2 = (p["penalty"] == "l2" or (p["penalty"] == "deprecated"
                                      and p["l1_ratio"] in (0, None)))
        return (l2 and p["class_weight"] is None and not p["dual"]
                and p["solver"] in _LOGISTIC_SOLVERS
                and np.ndim(p["C"]) == 0 and 0 < float(p["C"]) < np.inf
                and n_features <= 200)
    return False


def batchable_data(X):
    """The data half of :func:`batchable`: dense, finite float features below 1e10
    (one scan of ``X``: callers with several candidates check it once)."""
    if sp.issparse(X) or X.dtype.kind != "f" or X.ndim != 2:
        return False
    return X.size == 0 or (bool(np.isfinite(X).all()) and float(np.abs(X).max()) < 1e10)


class _LinearFits:
    """The batched solution: one linear model per segment.

    ``coef`` (n_segments, n_outputs, n_features) and ``intercept`` (n_segments,
    n_outputs); for classification one output per class code, the codes absent from a
    segment having intercept ``-inf`` (a binary model has score 0 for its first class).
    """

    def __init__(self, classification, coef, intercept, n_iter):
        self.classification = classification
        self.coef = coef
        self.intercept = intercept
        self.n_iter = n_iter

    def scores(self, X, seg):
        """Scores of every row of ``X`` under the model of its segment ``seg[i]``."""
        return np.einsum("nd,ncd->nc", X, self.coef[seg]) + self.intercept[seg]

    def predict(self, X, seg):
        """Values (regression) or class codes (classification) of the rows of ``X``."""
        s = self.scores(X, seg)
        return s.argmax(axis=1) if self.classification else s[:, 0]

    def models(self, template, one_class=None):
        """Fitted estimator objects, one per segment; a one-class segment gives
        ``one_class(class_code)``, or None without it."""
        base = {**template.__dict__, "n_features_in_": self.coef.shape[2]}
        cls = type(template)
        out = []
        for t in range(self.coef.shape[0]):
            model = cls.__new__(cls)
            if not self.classification:
                model.__dict__.update(base, coef_=self.coef[t, 0],
                                      intercept_=float(self.intercept[t, 0]),
                                      n_iter_=None, solver_="cholesky")
                out.append(model)
                continue
            classes = np.flatnonzero(np.isfinite(self.intercept[t]))
            if classes.size < 2:
                out.append(None if one_class is None else one_class(int(classes[0])))
                continue
            if classes.size == 2:
                coef = (self.coef[t, classes[1]] - self.coef[t, classes[0]])[None]
                intercept = self.intercept[t, classes[1:]] - self.intercept[t, classes[0]]
            else:
                coef, intercept = self.coef[t, classes], self.intercept[t, classes]
            model.__dict__.update(base, classes_=classes, coef_=coef,
                                  intercept_=intercept,
                                  n_iter_=np.array([self.n_iter[t]], dtype=np.int32))
            out.append(model)
        return out


def fit_segments(template, X, y, starts):
    """``template`` fitted on every row segment ``starts[i]:starts[i + 1]`` at once.

    ``template`` must pass :func:`batchable`. Classification targets are integer codes
    ``0..n_codes - 1``. Returns a :class:`_LinearFits`; segments must not be empty.
    """
    X = np.asarray(X, dtype=np.float64)
    starts = np.asarray(starts)
    if type(template) is Ridge:
        coef, intercept = _ridge(X, np.asarray(y, dtype=np.float64), starts,
                                 float(template.alpha), template.fit_intercept)
        return _LinearFits(False, coef[:, None, :], intercept[:, None],
                           np.zeros(len(starts) - 1, dtype=np.int64))
    return _logistic(X, np.asarray(y, dtype=np.int64), starts, float(template.C),
                     template.fit_intercept)


def _ridge(X, y, starts, alpha, fit_intercept):
    n_seg, d = len(starts) - 1, X.shape[1]
    sizes = np.diff(starts).astype(np.float64)
    seg = np.repeat(np.arange(n_seg), np.diff(starts))
    if fit_intercept:
        x_mean = segment_sum(X, starts) / sizes[:, None]
        y_mean = segment_sum(y, starts) / sizes
        Xc, yc = X - x_mean[seg], y - y_mean[seg]
    else:
        x_mean, y_mean = np.zeros((n_seg, d)), np.zeros(n_seg)
        Xc, yc = X, y
    gram = segment_sum(np.einsum("ni,nj->nij", Xc, Xc), starts)
    rhs = segment_sum(Xc * yc[:, None], starts)
    coef = batched_solve(gram + alpha * np.eye(d), rhs)
    return coef, y_mean - np.einsum("td,td->t", x_mean, coef)


def _logistic(X, y, starts, C, fit_intercept):
    """Group the segments by the set of classes they hold; one Newton solve per group."""
    n_seg, d = len(starts) - 1, X.shape[1]
    n_codes = int(y.max()) + 1 if y.size else 1
    seg = np.repeat(np.arange(n_seg), np.diff(starts))
    present = np.zeros((n_seg, n_codes), dtype=bool)
    present[seg, y] = True
    coef = np.zeros((n_seg, n_codes, d))
    intercept = np.where(present, 0.0, -np.inf)
    n_iter = np.zeros(n_seg, dtype=np.int64)
    patterns, group = np.unique(present, axis=0, return_inverse=True)
    for g, pattern in enumerate(patterns):
        classes = np.flatnonzero(pattern)
        if classes.size < 2:
            continue  # a one-class segment: a constant (score 0 for its class)
        members = np.flatnonzero(group.ravel() == g)
        local = np.full(n_codes, -1)
        local[classes] = np.arange(classes.size)
        k = 1 if classes.size == 2 else classes.size      # binary: one output
        p = d + int(fit_intercept)
        sizes = np.diff(starts)[members]
        per_chunk = max(1, _CHUNK // ((k * p) ** 2))
        lo = 0
        while lo < members.size:   # chunks of segments bounded by rows x params^2
            hi = lo + np.searchsorted(np.cumsum(sizes[lo:]), per_chunk, side="right")
            hi = min(max(hi, lo + 1), members.size)
            chunk = members[lo:hi]
            sub_starts = np.concatenate([[0], np.cumsum(sizes[lo:hi])])
            rows = (np.arange(sub_starts[-1])
                    + np.repeat(starts[chunk] - sub_starts[:-1], sizes[lo:hi]))
            theta, iters = _newton(X[rows], local[y[rows]], sub_starts, k, C,
                                   fit_intercept)
            w = theta[:, :, :d]
            b = theta[:, :, d] if fit_intercept else np.zeros(theta.shape[:2])
            if k == 1:
                coef[chunk, classes[1]] = w[:, 0]
                intercept[chunk, classes[1]] = b[:, 0]
            else:
                coef[np.ix_(chunk, classes)] = w
                intercept[np.ix_(chunk, classes)] = b
            n_iter[chunk] = iters
            lo = hi
    return _LinearFits(True, coef, intercept, n_iter)


def _newton(X, y, starts, k, C, fit_intercept):
    """Minimise ``C * sum(loss) + ||W||^2 / 2`` on every segment: damped Newton.

    ``k == 1``: binary log loss (``y`` in {0, 1}); else multinomial over ``k`` classes
    (``y`` in 0..k-1, all present in every segment). Returns theta of shape
    (n_segments, k, n_features [+ 1 intercept]) and the iterations per segment.
    """
    n, d = X.shape
    n_seg = len(starts) - 1
    seg = np.repeat(np.arange(n_seg), np.diff(starts))
    Z = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    p = Z.shape[1]
    penal = np.ones((k, p))
    if fit_intercept:
        penal[:, d] = 0.0
    penal = penal.ravel()
    Y = (y[:, None] == np.arange(k)).astype(np.float64) if k > 1 else y[:, None] * 1.0
    # multinomial with an intercept: adding a constant to every class intercept changes
    # nothing; the gradient has no part along it (theta starts at 0 and stays centred),
    # so regularising that direction in the Newton system only keeps it solvable
    null = np.zeros((k, p))
    if fit_intercept and k > 1:
        null[:, d] = 1.0 / np.sqrt(k)
    null = null.ravel()
    fix = np.outer(null, null) + 1e-12 * np.eye(k * p)

    def objective(theta):
        eta = np.einsum("np,nkp->nk", Z, theta.reshape(n_seg, k, p)[seg])
        if k == 1:
            loss = np.logaddexp(0.0, eta[:, 0]) - Y[:, 0] * eta[:, 0]
        else:
            loss = logsumexp(eta, axis=1) - (eta * Y).sum(axis=1)
        return C * segment_sum(loss, starts) + 0.5 * (penal * theta**2).sum(axis=1), eta

    theta = np.zeros((n_seg, k * p))
    iters = np.zeros(n_seg, dtype=np.int64)
    active = np.ones(n_seg, dtype=bool)
    f, eta = objective(theta)
    for _ in range(_NEWTON_ITER):
        if k == 1:
            prob = expit(eta)
            resid = prob - Y
            curv = (prob * (1 - prob))[:, :, None]                      # (n, 1, 1)
        else:
            prob = np.exp(eta - logsumexp(eta, axis=1, keepdims=True))
            resid = prob - Y
            curv = prob[:, :, None] * (np.eye(k) - prob[:, None, :])    # (n, k, k)
        grad = C * segment_sum(np.einsum("nk,np->nkp", resid, Z).reshape(n, k * p),
                               starts) + penal * theta
        outer = np.einsum("nkl,ni,nj->nkilj", curv, Z, Z).reshape(n, k * p, k * p)
        hess = C * segment_sum(outer, starts) + np.diag(penal) + fix
        step = -batched_solve(hess, grad)
        slope = (grad * step).sum(axis=1)            # < 0: a descent direction
        # converged: the Newton decrement or the step is at rounding level
        active &= ((-slope > 1e-15 * (1.0 + np.abs(f)))
                   & (np.abs(step).max(axis=1) > 1e-9 * (1.0 + np.abs(theta).max(axis=1))))
        if not active.any():
            break
        step[~active] = 0.0
        iters += active
        t = np.ones(n_seg)
        for _ in range(20):                          # backtracking (Armijo) per segment
            f_new, eta_new = objective(theta + t[:, None] * step)
            bad = active & ~(f_new <= f + 1e-4 * t * slope)
            if not bad.any():
                break
            t = np.where(bad, t / 2, t)
        else:
            t = np.where(bad, 0.0, t)
            f_new, eta_new = objective(theta + t[:, None] * step)
        # no decrease left but at rounding level (a tiny or no step): those are done
        active &= t > 1e-5
        theta = theta + t[:, None] * step
        f, eta = f_new, eta_new
    return theta.reshape(n_seg, k, p), iters
