"""MetaPriorLogisticRegression: logistic regression shrunk toward a learned prior."""

from numbers import Integral

import numpy as np
from scipy.special import expit
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import BaseMetaClassifier
from ..utils._docstrings import fill_doc
from ..utils._math import segment_sum, softmax
from ..utils._gaussian_prior import (
    _PRIOR_DOCS,
    _GaussianPriorMixin,
    _with_intercept,
)
from ..utils._params import make_init


def _softmax_ref(logits):
    """Class probabilities from the logits of classes 1..K-1 (class 0 at 0)."""
    return softmax(np.concatenate([np.zeros((logits.shape[0], 1)), logits], axis=1), axis=1)


def _newton_map(Xd, codes, starts, W, mean, precision, n_steps, tol):
    """Posterior modes of all tasks' weights by batched damped Newton steps.

    ``W`` has shape (n_tasks, q) with ``q = (K - 1) * p``, laid out class by
    class (``W[t].reshape(K - 1, p)``). Returns the modes, the Hessians of the
    negative log posterior at the modes and the negative log likelihoods.
    """
    n, p = Xd.shape
    T, q = W.shape
    km1 = q // p
    tidx = np.repeat(np.arange(T), np.diff(starts))
    onehot = np.zeros((n, km1 + 1))
    onehot[np.arange(n), codes] = 1.0
    onehot = onehot[:, 1:]
    XX = (Xd[:, :, None] * Xd[:, None, :]).reshape(n, p * p)

    def objective(W):
        logits = np.einsum("np,nkp->nk", Xd, W.reshape(T, km1, p)[tidx])
        full = np.concatenate([np.zeros((n, 1)), logits], axis=1)
        lse = np.logaddexp.reduce(full, axis=1)
        nll_rows = lse - (onehot * logits).sum(axis=1)
        nll = segment_sum(nll_rows, starts)
        dev = W - mean
        return nll + 0.5 * np.einsum("ti,ij,tj->t", dev, precision, dev), nll, full

    obj, nll, full = objective(W)
    for _ in range(n_steps + 1):
        proba = np.exp(full - np.logaddexp.reduce(full, axis=1)[:, None])[:, 1:]
        resid = proba - onehot
        grad = segment_sum((resid[:, :, None] * Xd[:, None, :]).reshape(n, q), starts)
        grad += (W - mean) @ precision
        H = np.empty((T, km1, p, km1, p))
        for k in range(km1):
            for m in range(k, km1):
                w = proba[:, k] * ((k == m) - proba[:, m])
                block = segment_sum(XX * w[:, None], starts).reshape(T, p, p)
                H[:, k, :, m, :] = block
                H[:, m, :, k, :] = block
        H = H.reshape(T, q, q) + precision
        if _ >= n_steps:
            break
        step = np.linalg.solve(H, grad[:, :, None])[:, :, 0]
        if np.abs(step).max() < tol:
            break
        # damped step: halve where the objective would not decrease
        scale = np.ones(T)
        new_W = W - step
        new_obj, new_nll, new_full = objective(new_W)
        for _halving in range(20):
            worse = new_obj > obj + 1e-12 * np.abs(obj)
            if not worse.any():
                break
            scale = np.where(worse, scale / 2, scale)
            new_W = W - scale[:, None] * step
            new_obj, new_nll, new_full = objective(new_W)
        W, obj, nll, full = new_W, new_obj, new_nll, new_full
    return W, H, nll


def _map_one_task(Xd, codes, w, mean, precision, n_steps, tol):
    """Posterior mode of one task's weights: Newton steps, halved if needed.

    The lean single-task path of ``adapt`` (no batching overhead).
    """
    n, p = Xd.shape
    km1 = w.shape[0] // p
    onehot = np.zeros((n, km1 + 1))
    onehot[np.arange(n), codes] = 1.0
    onehot = onehot[:, 1:]
    shift = precision @ mean

    def objective(w):
        logits = Xd @ w.reshape(km1, p).T
        if km1 == 1:
            lse = np.logaddexp(0.0, logits[:, 0])
        else:
            lse = np.logaddexp.reduce(
                np.concatenate([np.zeros((n, 1)), logits], axis=1), axis=1)
        dev = w - mean
        return lse.sum() - (onehot * logits).sum() + 0.5 * dev @ precision @ dev

    obj = objective(w)
    for _ in range(n_steps):
        logits = Xd @ w.reshape(km1, p).T
        if km1 == 1:
            proba = expit(logits)
            H = (Xd.T * (proba[:, 0] * (1 - proba[:, 0]))) @ Xd
        else:
            proba = _softmax_ref(logits)[:, 1:]
            H = np.empty((km1, p, km1, p))
            for k in range(km1):
                for m in range(k, km1):
                    H[k, :, m, :] = H[m, :, k, :] = (
                        Xd.T * (proba[:, k] * ((k == m) - proba[:, m]))) @ Xd
            H = H.reshape(km1 * p, km1 * p)
        grad = ((proba - onehot).T @ Xd).ravel() + precision @ w - shift
        step = np.linalg.solve(H + precision, grad)
        for _halving in range(20):
            new_obj = objective(w - step)
            if new_obj <= obj + 1e-12 * abs(obj):
                break
            step = step / 2
        w, obj = w - step, new_obj
        if np.abs(step).max() < tol:
            break
    return w


@fill_doc(**_PRIOR_DOCS)
class MetaPriorLogisticRegression(_GaussianPriorMixin, BaseMetaClassifier):
    """Logistic regression with a Gaussian prior learned from many tasks.

    Each task is a (multinomial) logistic regression whose weights, one
    vector per class besides the first (the reference class) with an
    intercept each, come from one Gaussian prior shared by all tasks. ``fit``
    learns the prior by empirical Bayes: EM with a Laplace approximation,
    every task's posterior mode found by Newton steps batched over tasks.
    ``adapt`` finds the new task's posterior mode (maximum a posteriori
    weights) by a few Newton steps started at the prior mean, so with few
    rows the weights stay close to what worked on similar tasks.

    The tasks must share one label set (``label_space="shared"``): the prior
    is over the weights of those classes. Features are assumed to be on a
    scale comparable across tasks (one scaler for all tasks, e.g.
    ``make_pipeline(StandardScaler(), MetaPriorLogisticRegression())``).

    Parameters
    ----------
    n_shots : int, default=5
        Support rows per class drawn by ``score``.
    %(prior_covariance)s
    max_iter : int, default=50
        Maximum number of EM iterations of ``fit``.
    tol : float, default=1e-4
        EM stops when the negative log marginal likelihood per row improves
        by less than ``tol`` (relative).
    %(reg_covar)s
    newton_steps : int, default=10
        Maximum Newton steps of ``adapt`` (each halved when it would not
        decrease the objective); they stop when the step is below 1e-8.
        Each EM iteration of ``fit`` runs at most 3, warm-started.
    label_space : {"auto", "shared"}, default="auto"
        Tasks must share their labels; per-task label sets are refused.
    random_state : int, RandomState instance or None, default=None
        Seeds the episodes drawn by ``score``; ``fit`` is deterministic.

    Attributes
    ----------
    prior_mean_ : ndarray of shape ((n_classes - 1) * (n_features + 1),)
        Mean of the learned prior, class by class: coefficients then
        intercept of classes 1..K-1 relative to class 0.
    prior_covariance_ : ndarray of shape (q, q)
        Covariance of the learned prior, ``q = len(prior_mean_)``.
    prior_precision_ : ndarray of shape (q, q)
        Its inverse.
    coef_ : ndarray of shape (n_classes - 1, n_features)
        Coefficients of the adapted task (the prior mean before ``adapt``),
        relative to class 0; for two classes, the usual logistic regression
        coefficients of class 1.
    intercept_ : ndarray of shape (n_classes - 1,)
        Intercepts, likewise.
    %(laplace_em_attributes)s
    %(fitted_features)s

    See Also
    --------
    MetaPriorRidge : The same prior for regression.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.prior import MetaPriorLogisticRegression
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(600, 2)
    >>> groups = np.repeat(np.arange(20), 30)
    >>> w = np.array([3.0, 0.0]) + 0.3 * rng.randn(20, 2)
    >>> y = (np.einsum("ij,ij->i", X, w[groups]) > 0).astype(int)
    >>> est = MetaPriorLogisticRegression(covariance="diag").fit(X, y, groups=groups)
    >>> est.predict([[1.0, 0.0], [-1.0, 0.0]])    # zero-shot: the prior mean
    array([1, 0])
    >>> est.adapt(X[:2], [0, 1]).predict_proba(X[:3]).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **_GaussianPriorMixin._parameter_constraints,
        **BaseMetaClassifier._parameter_constraints,
        "newton_steps": [Interval(Integral, 1, None, closed="left")],
        "label_space": [StrOptions({"auto", "shared"})],
    }

    __init__ = make_init({
        "n_shots": 5, "covariance": "full", "rank": 2, "max_iter": 50, "tol": 1e-4,
        "reg_covar": 1e-6, "newton_steps": 10, "label_space": "auto", "random_state": None})

    def _prepare(self, tasks):
        self._check_shared_labels(tasks, "learns a prior over the weights of")
        Xd = _with_intercept(tasks.X)
        p = Xd.shape[1]
        self._n_coef = p
        q = (len(self.meta_classes_) - 1) * p
        self._data = (Xd, tasks.y, tasks.starts)
        self._modes = np.zeros((tasks.n_tasks, q))
        return np.zeros(q), np.eye(q)

    def _e_step(self, mean, precision):
        Xd, codes, starts = self._data
        # generalised EM: a few Newton steps from the previous modes
        modes, H, nll = _newton_map(Xd, codes, starts, self._modes, mean, precision,
                                    min(self.newton_steps, 3), 1e-8)
        return self._laplace_e_step(modes, H, nll, mean, precision)

    def _meta_fit(self, tasks):
        self._fit_prior(tasks)
        del self._data, self._modes

    def _adapt(self, X, y, X_unlabeled):
        Xd = _with_intercept(X)
        return _map_one_task(Xd, y, self.prior_mean_, self.prior_mean_,
                             self.prior_precision_, self.newton_steps, 1e-8)

    def _weights(self, state):
        w = self.prior_mean_ if state is None else state
        return w.reshape(-1, self._n_coef)

    @property
    def coef_(self):
        """Coefficients of the adapted task, relative to class 0."""
        return self._weights(self._current_state())[:, :-1]

    @property
    def intercept_(self):
        """Intercepts of the adapted task, relative to class 0."""
        return self._weights(self._current_state())[:, -1]

    def _logits(self, X, state):
        W = self._weights(state)
        return X @ W[:, :-1].T + W[:, -1]

    def _predict_proba(self, X, state, n_classes):
        return _softmax_ref(self._logits(X, state))

    def _decision_function(self, X, state, n_classes):
        logits = self._logits(X, state)
        if n_classes == 2:
            return logits[:, 0]
        return np.concatenate([np.zeros((X.shape[0], 1)), logits], axis=1)
