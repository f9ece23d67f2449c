"""A Gaussian prior over per-task linear weights, learned by empirical Bayes.

Shared by the MetaPrior learners (``prior/``) and the mixed-effects learners
(``mixed_effects/``). Every task ``t`` has its own weights ``w_t`` (for
MetaPrior: coefficients and intercept; for mixed effects: the random effects),
drawn from one Gaussian prior ``N(mean, covariance)`` shared by all tasks.
``fit`` learns the prior by empirical Bayes: an EM algorithm on the marginal
likelihood of all training tasks (exact for ridge, a Laplace approximation for
logistic regression), alternating the posterior of every task's weights
(E-step, batched over tasks) with the prior that best explains them (M-step).
``adapt`` computes the new task's posterior mode: its weights shrink toward
the learned prior mean along the directions in which tasks vary little.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import BaseMetaEstimator
from ..tasks import _require_shared_labels
from ._math import segment_sum


def _with_intercept(X):
    """``X`` with a trailing column of ones (the intercept's feature)."""
    return np.hstack([X, np.ones((X.shape[0], 1))])


def _task_grams(Xd, starts, weights=None):
    """Per-task ``sum_i w_i x_i x_i^T``: an array (n_tasks, p, p)."""
    n, p = Xd.shape
    outer = Xd[:, :, None] * Xd[:, None, :]
    if weights is not None:
        outer = outer * weights[:, None, None]
    return segment_sum(outer.reshape(n, p * p), starts).reshape(-1, p, p)


def _logdet(A):
    """log-determinant of a batch of symmetric positive definite matrices."""
    return 2.0 * np.log(np.diagonal(np.linalg.cholesky(A), axis1=-2, axis2=-1)).sum(-1)


class _GaussianPriorMixin(BaseMetaEstimator):
    """Empirical-Bayes EM for a Gaussian prior over per-task linear weights.

    Subclasses provide ``_prepare(tasks)`` (the data of the E-step, the
    initial prior) and ``_e_step(mean, precision)`` returning the per-task
    posterior modes, posterior covariances and the negative log marginal
    likelihood (summed over tasks); optionally ``_update_noise(modes, covs)``.
    """

    _parameter_constraints: dict = {
        **BaseMetaEstimator._parameter_constraints,
        "covariance": [StrOptions({"full", "diag", "low_rank"})],
        "rank": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
    }

    def _covariance_family(self):
        """``"full"``, ``"diag"`` or ``"low_rank"``: the M-step's covariance family."""
        return self.covariance

    def _scatter_dof(self, n_tasks):
        """Divisor of the M-step scatter: the tasks (fewer for centring fitted per group)."""
        return n_tasks

    def _project_covariance(self, S):
        """The M-step covariance in the family chosen by ``covariance``."""
        q = S.shape[0]
        family = self._covariance_family()
        if family == "diag":
            return np.diag(np.diag(S) + self.reg_covar)
        if family == "low_rank" and self.rank < q:
            # factor model: U U^T + diag(psi), U from the top eigenvectors
            vals, vecs = np.linalg.eigh(S)
            vals, vecs = vals[::-1], vecs[:, ::-1]
            noise = max(vals[self.rank:].mean(), 0.0)
            U = vecs[:, :self.rank] * np.sqrt(np.maximum(vals[:self.rank] - noise, 0.0))
            psi = np.maximum(np.diag(S) - (U**2).sum(axis=1), 0.0)
            return U @ U.T + np.diag(psi + self.reg_covar)
        return S + self.reg_covar * np.eye(q)

    def _fit_prior(self, tasks):
        """Run EM; set ``prior_mean_``, ``prior_covariance_``, ``loss_curve_``."""
        mean, cov = self._prepare(tasks)
        self._run_em(mean, cov, float(tasks.starts[-1]))

    def _run_em(self, mean, cov, n_rows):
        """EM from the prior ``(mean, cov)`` on the data ``_e_step`` sees."""
        curve = []
        for it in range(self.max_iter):
            precision = np.linalg.inv(cov)
            modes, covs, nll = self._e_step(mean, precision)
            curve.append(nll / n_rows)
            if it > 0 and curve[-2] - curve[-1] <= self.tol * max(abs(curve[-1]), 1.0):
                break
            mean = modes.mean(axis=0)
            dev = modes - mean
            scatter = (covs.sum(axis=0) + dev.T @ dev) / self._scatter_dof(modes.shape[0])
            cov = self._project_covariance(0.5 * (scatter + scatter.T))
            self._update_noise(modes, covs)
        self.prior_mean_ = mean
        self.prior_covariance_ = cov
        self.prior_precision_ = np.linalg.inv(cov)
        self._prior_shift = self.prior_precision_ @ mean
        self.n_iter_ = len(curve)
        self.loss_curve_ = curve

    def _current_state(self):
        """The adapted state, or None (zero-shot) before any ``adapt``."""
        adapted = getattr(self, "adapted_", None)
        return None if adapted is None else adapted.state

    def _update_noise(self, modes, covs):
        """M-step of learner-specific parameters (the ridge noise level)."""

    def _laplace_e_step(self, modes, H, nll, mean, precision):
        """E-step result of a Laplace EM from the tasks' modes, Hessians and NLLs.

        Keeps the modes (the next E-step's warm start) and returns the modes,
        the posterior covariances ``H^-1`` and the Laplace-approximate
        negative log marginal likelihood summed over tasks.
        """
        self._modes = modes
        dev = modes - mean
        laplace = (nll + 0.5 * np.einsum("ti,ij,tj->t", dev, precision, dev)
                   + 0.5 * _logdet(H) - 0.5 * _logdet(precision))
        return modes, np.linalg.inv(H), float(laplace.sum())

    def _check_shared_labels(self, tasks, learns):
        """Refuse per-task label sets and a single class (``learns``: what it puts on them)."""
        name = type(self).__name__
        _require_shared_labels(
            tasks, name, f"it {learns} the shared classes",
            "use a metric learner (sklearn_meta.metric.ProtoNetClassifier) for N-way "
            "episodes")
        if len(self.meta_classes_) < 2:
            raise ValueError(
                f"y has 1 class ({self.meta_classes_.tolist()}); {name} needs at "
                "least 2 classes."
            )


def _ridge_stats(Xd, y, starts):
    """Per-task sufficient statistics of a Gaussian linear model.

    ``(G, b, c, n)``: the grams ``X_t^T X_t``, ``X_t^T y_t``, ``y_t^T y_t``
    and the row counts, for the rows ``starts[t]:starts[t + 1]``.
    """
    return (
        _task_grams(Xd, starts),
        segment_sum(Xd * y[:, None], starts),
        segment_sum(y**2, starts),
        np.diff(starts).astype(np.float64),
    )


def _ridge_e_step(stats, noise_variance, mean, precision):
    """Exact E-step of the Gaussian linear model with noise ``noise_variance``.

    Returns the per-task posterior means and covariances of the weights and
    the negative log marginal likelihood summed over tasks.
    """
    G, b, c, n = stats
    s2 = noise_variance
    A = G / s2 + precision
    covs = np.linalg.inv(A)
    rhs = b / s2 + precision @ mean
    modes = np.einsum("tij,tj->ti", covs, rhs)
    # exact negative log marginal likelihood of every task (Woodbury)
    Gm = G @ mean
    rr = c - 2 * b @ mean + Gm @ mean
    Xr = b - Gm
    quad = rr / s2 - np.einsum("ti,tij,tj->t", Xr, covs, Xr) / s2**2
    logdet_prior = -_logdet(precision)
    nll = 0.5 * (n * np.log(2 * np.pi * s2) + logdet_prior + _logdet(A) + quad)
    return modes, covs, float(nll.sum())


def _ridge_noise(stats, modes, covs):
    """M-step of the noise variance given the weights' posteriors."""
    G, b, c, n = stats
    resid = (c - 2 * np.einsum("ti,ti->t", modes, b)
             + np.einsum("ti,tij,tj->t", modes, G, modes))
    trace = np.einsum("tij,tji->t", G, covs)
    return max(float((resid + trace).sum() / n.sum()), 1e-12)


#: Docstring paragraphs of the Gaussian-prior learners (``fill_doc`` placeholders).
_PRIOR_DOCS = {
    "prior_covariance": """\
covariance : {"full", "diag", "low_rank"}, default="full"
    Family of the prior covariance: a full matrix, a diagonal (one
    variance per weight), or a factor model ``U U^T + diag(psi)`` with
    ``rank`` factors (directions in which tasks vary together).
rank : int, default=2
    Number of factors of ``covariance="low_rank"``.""",
    "em_attributes": """\
n_iter_ : int
    EM iterations run.
loss_curve_ : list of float
    Negative log marginal likelihood per training row at each iteration.""",
    "laplace_em_attributes": """\
n_iter_ : int
    EM iterations run.
loss_curve_ : list of float
    Laplace-approximate negative log marginal likelihood per training row
    at each EM iteration.
classes_ : ndarray
    The labels shared by the tasks.""",
    "reg_covar": """\
reg_covar : float, default=1e-6
    Added to the diagonal of the prior covariance, keeping it positive
    definite (as in :class:`~sklearn.mixture.GaussianMixture`).""",
}
