"""MetaPriorRidge: ridge regression that shrinks toward a prior learned from past tasks."""

import numpy as np

from ..base import BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ..utils._gaussian_prior import (
    _PRIOR_DOCS,
    _GaussianPriorMixin,
    _ridge_e_step,
    _ridge_noise,
    _ridge_stats,
    _with_intercept,
)
from ..utils._params import make_init


class _RidgeState:
    """Adapted weights and their posterior covariance."""

    def __init__(self, coef, cov):
        self.coef = coef
        self.cov = cov


@fill_doc(**_PRIOR_DOCS)
class MetaPriorRidge(_GaussianPriorMixin, BaseMetaRegressor):
    """Bayesian ridge regression with a prior learned from many tasks.

    Each task is a linear model ``y = X @ coef_t + intercept_t + noise`` whose
    weights come from one Gaussian prior shared by all tasks. ``fit`` learns
    that prior (mean and covariance) and the noise level by maximising the
    marginal likelihood of the training tasks (empirical Bayes, exact EM on
    per-task sufficient statistics, batched over tasks). ``adapt`` returns
    the new task's posterior mode in closed form: ordinary ridge regression
    whose penalty is the learned prior, so a few rows move the weights only
    in the directions in which training tasks differ.

    Features are assumed to be on a scale comparable across tasks (one
    scaler for all tasks, e.g. ``make_pipeline(StandardScaler(),
    MetaPriorRidge())``); the prior is learned in that scale.

    Parameters
    ----------
    %(prior_covariance)s
    %(reg_covar)s
    max_iter : int, default=100
        Maximum number of EM iterations of ``fit``.
    tol : float, default=1e-5
        EM stops when the negative log marginal likelihood per row improves
        by less than ``tol`` (relative).
    n_shots : int, default=5
        Support rows per task drawn by ``score``.
    random_state : int, RandomState instance or None, default=None
        Seeds the episodes drawn by ``score``; ``fit`` is deterministic.

    Attributes
    ----------
    prior_mean_ : ndarray of shape (n_features + 1,)
        Mean of the learned prior: coefficients, then the intercept.
    prior_covariance_ : ndarray of shape (n_features + 1, n_features + 1)
        Covariance of the learned prior.
    prior_precision_ : ndarray of shape (n_features + 1, n_features + 1)
        Its inverse.
    noise_variance_ : float
        Variance of the observation noise, shared by the tasks.
    coef_ : ndarray of shape (n_features,)
        Coefficients of the adapted task (the prior mean before ``adapt``).
    intercept_ : float
        Intercept of the adapted task (the prior mean before ``adapt``).
    %(em_attributes)s
    %(fitted_features)s

    See Also
    --------
    MetaPriorLogisticRegression : The same prior for classification.
    sklearn.linear_model.BayesianRidge : One task, isotropic prior.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_meta.prior import MetaPriorRidge
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(400, 3)
    >>> groups = np.repeat(np.arange(20), 20)
    >>> w = np.array([2.0, -1.0, 0.0]) + 0.1 * rng.randn(20, 3)   # similar tasks
    >>> y = np.einsum("ij,ij->i", X, w[groups]) + 0.1 * rng.randn(400)
    >>> est = MetaPriorRidge(covariance="diag").fit(X, y, groups=groups)
    >>> est.prior_mean_.round(1)
    array([ 2., -1., -0.,  0.])
    >>> est.adapt(X[:3], y[:3]).predict(X[3:5]).shape
    (2,)
    """

    __init__ = make_init({
        "covariance": "full", "rank": 2, "reg_covar": 1e-6, "max_iter": 100, "tol": 1e-5,
        "n_shots": 5, "random_state": None})

    def _prepare(self, tasks):
        Xd = _with_intercept(tasks.X)
        y, starts = tasks.y, tasks.starts
        self._stats = _ridge_stats(Xd, y, starts)
        q = Xd.shape[1]
        var_y = max(float(np.var(y)), 1e-12)
        self.noise_variance_ = var_y
        mean = np.zeros(q)
        mean[-1] = y.mean()
        return mean, var_y * np.eye(q)

    def _e_step(self, mean, precision):
        return _ridge_e_step(self._stats, self.noise_variance_, mean, precision)

    def _update_noise(self, modes, covs):
        self.noise_variance_ = _ridge_noise(self._stats, modes, covs)

    def _meta_fit(self, tasks):
        self._fit_prior(tasks)
        del self._stats

    def _adapt(self, X, y, X_unlabeled):
        Xd = _with_intercept(X)
        s2 = self.noise_variance_
        cov = np.linalg.inv(Xd.T @ Xd / s2 + self.prior_precision_)
        coef = cov @ (Xd.T @ y / s2 + self._prior_shift)
        return _RidgeState(coef, cov)

    def _state(self, state):
        if state is None:
            return _RidgeState(self.prior_mean_, self.prior_covariance_)
        return state

    @property
    def coef_(self):
        """Coefficients of the adapted task (prior mean before ``adapt``)."""
        return self._state(self._current_state()).coef[:-1]

    @property
    def intercept_(self):
        """Intercept of the adapted task (prior mean before ``adapt``)."""
        return float(self._state(self._current_state()).coef[-1])

    def _predict(self, X, state, return_std=False):
        state = self._state(state)
        pred = X @ state.coef[:-1] + state.coef[-1]
        if not return_std:
            return pred
        Xd = _with_intercept(X)
        var = self.noise_variance_ + np.einsum("ij,jk,ik->i", Xd, state.cov, Xd)
        return pred, np.sqrt(var)
