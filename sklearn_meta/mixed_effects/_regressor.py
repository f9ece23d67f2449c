"""MixedEffectsRegressor: a pooled regressor plus per-task random effects."""

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge

from ..base import BaseMetaRegressor
from ..utils._docstrings import fill_doc
from ..utils._math import segment_sum
from ..utils._gaussian_prior import (
    _PRIOR_DOCS,
    _ridge_e_step,
    _ridge_noise,
    _ridge_stats,
    _task_grams,
)
from ._base import _ME_DOCS, _initial_covariance, _MixedEffectsMixin


def _least_squares(Z, r):
    """Least-squares effects of one fold's rows (a tiny ridge keeps it defined)."""
    G = Z.T @ Z
    return np.linalg.solve(G + 1e-8 * (np.trace(G) + 1.0) * np.eye(G.shape[0]), Z.T @ r)


@fill_doc(**_ME_DOCS, **_PRIOR_DOCS)
class MixedEffectsRegressor(_MixedEffectsMixin, BaseMetaRegressor):
    """A pooled regressor plus per-task random effects with a learned prior.

    The pooled model (the fixed effects; by default a stack of gradient
    boosting and a linear model with interactions) is fitted on the rows of
    all training tasks; it carries what the tasks share. Each task adds
    random effects to its prediction ``m``: by default
    ``y = m + a_t + s_t (m - c) + x w_t + noise``, a task-specific
    intercept, scale (one per model of a stack) and linear effect.
    The effects have a Gaussian prior whose mean and covariance, and the
    noise variance, are learned across the training tasks by empirical Bayes
    (exact EM on the marginal likelihood). The training tasks' predictions
    for this are computed out of fold over ``cv`` folds of tasks, so the
    prior sees errors the pooled model did not fit; the pooled model is then
    refitted on all training tasks.

    ``adapt`` computes the posterior of a new task's effects from its
    support rows in closed form (a Bayesian linear regression of the
    residuals), so a few rows move the prediction only as far as tasks
    differed in training. Before ``adapt`` (zero-shot) the prediction is
    the pooled model plus the prior mean. ``predict(X, return_std=True)``
    also returns the predictive standard deviation (noise plus the effects'
    posterior uncertainty; the pooled model's own error is not included).

    Parameters
    ----------
    estimator : regressor, list of regressors or None, default=None
        The pooled model, any scikit-learn regressor (a Pipeline too).
        A list is a stack: the offset is the mean of the models' margins and
        every model gets a slope (effects ``"slope:0"``, ``"slope:1"``, ...),
        whose learned prior means weigh the stack by how well each model's
        out-of-fold margins explain the training tasks. None means the stack
        ``[HistGradientBoostingRegressor(), make_pipeline(SimpleImputer(), StandardScaler(),
        PolynomialFeatures(2, include_bias=False), Ridge())]``
        %(default_stack)s
    %(mixed_effects_params)s
    n_shots : int, default=5
        Support rows per task drawn by ``score``.
    %(runtime_params)s

    Attributes
    ----------
    estimators_ : list of regressors
        The pooled models fitted on all training tasks (one per model of
        the stack).
    estimator_ : regressor
        The first of them (the pooled model when ``estimator`` is one).
    prior_mean_ : ndarray of shape (q,)
        Mean of the learned prior of the effects (named by ``effect_names_``).
    prior_covariance_ : ndarray of shape (q, q)
        Covariance of the learned prior.
    prior_precision_ : ndarray of shape (q, q)
        Its inverse.
    %(selection_attributes)s
    noise_variance_ : float
        Variance of the observation noise around pooled model plus effects.
    effect_names_ : ndarray of str
        Names of the effects: ``"intercept"``, ``"slope"``, ``"x:<feature>"``.
    effects_ : ndarray of shape (q,)
        Posterior mean of the adapted task's effects (prior mean before
        ``adapt``).
    effects_covariance_ : ndarray of shape (q, q)
        Their posterior covariance (prior covariance before ``adapt``).
    %(em_attributes)s
    %(fitted_features)s

    See Also
    --------
    MixedEffectsClassifier : The same for classification.
    sklearn_meta.prior.MetaPriorRidge : A linear model with a learned prior.
    sklearn_meta.baselines.PooledEstimator : The pooled model alone.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn_meta.mixed_effects import MixedEffectsRegressor
    >>> rng = np.random.RandomState(0)
    >>> groups = np.repeat(np.arange(30), 20)
    >>> X = rng.randn(600, 2)
    >>> shift = 2.0 * rng.randn(30)                      # one offset per task
    >>> y = X @ [1.0, -1.0] + shift[groups] + 0.3 * rng.randn(600)
    >>> est = MixedEffectsRegressor(Ridge(), random_effects="intercept")
    >>> est = est.fit(X, y, groups=groups)
    >>> bool(est.prior_covariance_[0, 0] > 1.0)           # tasks differ by ~2
    True
    >>> X_new = rng.randn(8, 2)
    >>> y_new = X_new @ [1.0, -1.0] + 5.0 + 0.3 * rng.randn(8)
    >>> est.adapt(X_new[:4], y_new[:4]).effects_.round(0)  # the new task's offset
    array([5.])
    >>> pred, std = est.predict(X_new[4:], return_std=True)
    >>> pred.shape, std.shape
    ((4,), (4,))
    """

    def _default_estimator(self):
        return HistGradientBoostingRegressor()

    def _default_linear(self):
        return Ridge()

    def _margins(self, model, X):
        return np.asarray(model.predict(X), dtype=np.float64).reshape(X.shape[0], 1)

    # -- the prior's EM (exact, on per-task sufficient statistics) --------------------
    def _em_data(self, offset, Z, fold, tasks):
        """The residuals of the pooled model, less each fold's own calibration."""
        Z = Z[:, 0, :]
        resid = tasks.y - offset[:, 0]
        effects = None
        if fold is not None:
            Zc = self._calibration(Z[:, None, :])[:, 0, :]
            effects = np.array([_least_squares(Zc[fold == f], resid[fold == f])
                                for f in range(self._n_folds)])
        shift, fold_mean = self._fold_offsets(Z[:, None, :], fold, effects)
        resid = resid - shift[:, 0]
        return Z, resid, _ridge_stats(Z, resid, tasks.starts), fold_mean

    def _use_data(self, data, keep, tasks):
        Z, resid, stats, _ = data
        self._stats = tuple(a[keep] for a in stats)
        rows = np.repeat(keep, np.diff(tasks.starts))
        var_r = max(float(np.var(resid[rows])), 1e-12)
        self.noise_variance_ = var_r
        init = _initial_covariance(Z[rows][:, None, :], var_r, int(keep.sum()))
        return np.zeros(Z.shape[1]), init, float(rows.sum())

    def _e_step(self, mean, precision):
        return _ridge_e_step(self._stats, self.noise_variance_, mean, precision)

    def _update_noise(self, modes, covs):
        self.noise_variance_ = _ridge_noise(self._stats, modes, covs)

    def _drop_data(self):
        del self._stats

    def _episode_loss(self, data, tasks, support, query, scales):
        """Every task's query squared error of a few-shot split (batched), at every
        prior scale: (n_scales, n_tasks)."""
        Z, resid = data[:2]
        s2 = self.noise_variance_
        Gs = _task_grams(Z, tasks.starts, support.astype(np.float64))
        bs = segment_sum(Z * (resid * support)[:, None], tasks.starts)
        tidx = np.repeat(np.arange(tasks.n_tasks), np.diff(tasks.starts))
        out = []
        for scale in scales:
            P = self.prior_precision_ / scale
            A = Gs / s2 + P
            b = np.linalg.solve(A, (bs / s2 + P @ self.prior_mean_)[:, :, None])[:, :, 0]
            err = resid - np.einsum("nq,nq->n", Z, b[tidx])
            out.append(segment_sum(err**2 * query, tasks.starts))
        return np.array(out)

    # -- adapt: the closed-form posterior ------------------------------------------------
    def _adapt(self, X, y, X_unlabeled):
        offset, Z = self._pooled(X)
        return self._posterior(Z[:, 0, :], y - offset[:, 0])

    def _posterior(self, Z, resid):
        s2 = self.noise_variance_
        cov = np.linalg.inv(Z.T @ Z / s2 + self.prior_precision_)
        return cov @ (Z.T @ resid / s2 + self._prior_shift), cov

    def _predict(self, X, state, return_std=False):
        eta, Z = self._linear_predictor(X, state)
        pred = eta[:, 0]
        if not return_std:
            return pred
        cov = self.prior_covariance_ if state is None else state[1]
        Z = Z[:, 0, :]
        var = self.noise_variance_ + np.einsum("ij,jk,ik->i", Z, cov, Z)
        return pred, np.sqrt(var)
