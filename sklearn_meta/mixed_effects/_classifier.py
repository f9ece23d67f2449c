"""MixedEffectsClassifier: a pooled classifier plus per-task random effects on its logits."""

from numbers import Integral

import numpy as np
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import BaseMetaClassifier
from ..utils._docstrings import fill_doc
from ..utils._math import segment_sum
from ..utils._gaussian_prior import _PRIOR_DOCS
from ..utils._params import make_init
from ._base import _ME_DOCS, _PARAMS, _initial_covariance, _MixedEffectsMixin
from ._laplace import _newton_one, _newton_tasks, _proba, _row_nll

#: Probabilities of the pooled model are clipped here before taking logs.
_EPS = 1e-9


@fill_doc(**_ME_DOCS, **_PRIOR_DOCS)
class MixedEffectsClassifier(_MixedEffectsMixin, BaseMetaClassifier):
    """A pooled classifier plus per-task random effects with a learned prior.

    The pooled model (the fixed effects; by default a stack of gradient
    boosting and a linear model with interactions) is fitted on the rows of
    all training tasks. Its margin (the log-odds, or for more than two
    classes every class's log-probability) gets task-specific random
    effects: by default a shift, a scale (one per model of a stack) and a
    linear effect, ``logit = m + a_t + s_t (m - c) + x w_t``, one set per
    class logit for more than two classes. Their Gaussian prior (mean and covariance) is
    learned across the training tasks by empirical Bayes: EM with a Laplace
    approximation, every task's posterior mode found by Newton steps batched
    over tasks, on margins computed out of fold over ``cv`` folds of tasks.

    ``adapt`` finds the new task's posterior mode by a few damped Newton
    steps from the prior mean (Laplace), so a few support rows, also rows
    of a single class, move the probabilities only as far as tasks differed
    in training. Before ``adapt`` (zero-shot) the logits are the pooled
    model's plus the prior mean.

    The tasks share one label set (``label_space="shared"``); per-task label
    sets are refused.

    Parameters
    ----------
    estimator : classifier, list of classifiers or None, default=None
        The pooled model, any scikit-learn classifier (a Pipeline too); its
        ``predict_proba`` (else ``decision_function``) gives the margins.
        A list is a stack: the offset is the mean of the models' margins and
        every model gets a slope (effects ``"slope:0"``, ``"slope:1"``, ...),
        whose learned prior means weigh the stack by how well each model's
        out-of-fold margins explain the training tasks. None means the stack
        ``[HistGradientBoostingClassifier(), make_pipeline(SimpleImputer(), StandardScaler(),
        PolynomialFeatures(2, include_bias=False), LogisticRegression(max_iter=1000))]``
        %(default_stack)s
    %(mixed_effects_params)s
    newton_steps : int, default=5
        Maximum damped Newton steps of ``adapt`` (they stop early when the
        step is below 1e-6). Each EM iteration of ``fit`` runs at most 3,
        warm-started from the previous iteration.
    n_shots : int, default=5
        Support rows per class drawn by ``score``.
    label_space : {"auto", "shared"}, default="auto"
        The tasks must share their labels.
    %(runtime_params)s

    Attributes
    ----------
    estimators_ : list of classifiers
        The pooled models fitted on all training tasks (on class codes
        ``0..n_classes - 1``), one per model of the stack.
    estimator_ : classifier
        The first of them (the pooled model when ``estimator`` is one).
    prior_mean_ : ndarray of shape (Q,)
        Mean of the learned prior of the effects: ``q`` effects (named by
        ``effect_names_``) for the log-odds of two classes, ``q`` per class
        (class by class) for more.
    prior_covariance_ : ndarray of shape (Q, Q)
        Covariance of the learned prior.
    prior_precision_ : ndarray of shape (Q, Q)
        Its inverse.
    %(selection_attributes)s
    effect_names_ : ndarray of str
        Names of the ``q`` effects of one logit.
    effects_ : ndarray of shape (q,) or (n_classes, q)
        Posterior mode of the adapted task's effects (prior mean before
        ``adapt``).
    effects_covariance_ : ndarray of shape (Q, Q)
        Their Laplace posterior covariance (prior before ``adapt``).
    %(laplace_em_attributes)s
    %(fitted_features)s

    See Also
    --------
    MixedEffectsRegressor : The same for regression.
    sklearn_meta.prior.MetaPriorLogisticRegression : A linear model with a
        learned prior.
    sklearn_meta.baselines.PooledEstimator : The pooled model alone.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_meta.mixed_effects import MixedEffectsClassifier
    >>> rng = np.random.RandomState(0)
    >>> groups = np.repeat(np.arange(40), 30)
    >>> X = rng.randn(1200, 2)
    >>> shift = 1.5 * rng.randn(40)                      # one offset per task
    >>> y = (X[:, 0] + shift[groups] + rng.logistic(size=1200) > 0).astype(int)
    >>> est = MixedEffectsClassifier(LogisticRegression()).fit(X, y, groups=groups)
    >>> est.effect_names_.tolist()
    ['intercept', 'slope', 'x:0', 'x:1']
    >>> X_new = rng.randn(6, 2)
    >>> est.adapt(X_new[:4], [1, 1, 1, 1])        # one class in the support set
    MixedEffectsClassifier(estimator=LogisticRegression())
    >>> bool(est.effects_[0] > 0)                  # the task leans to class 1
    True
    >>> est.predict_proba(X_new[4:]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        **_MixedEffectsMixin._parameter_constraints,
        **BaseMetaClassifier._parameter_constraints,
        "newton_steps": [Interval(Integral, 1, None, closed="left")],
        "label_space": [StrOptions({"auto", "shared"})],
    }

    __init__ = make_init({**_PARAMS, "newton_steps": 5, "label_space": "auto"},
                         positional=1)

    def _default_estimator(self):
        return HistGradientBoostingClassifier()

    def _default_linear(self):
        return LogisticRegression(max_iter=1000)

    def _margins(self, model, X):
        """The pooled model's margins: log-odds (n, 1), or centred log-probabilities."""
        n, K = X.shape[0], len(self.meta_classes_)
        present = np.asarray(model.classes_, dtype=np.int64)
        if hasattr(model, "predict_proba"):
            proba = np.zeros((n, K))
            proba[:, present] = model.predict_proba(X)
            S = np.log(np.clip(proba, _EPS, None))
        else:
            dec = np.asarray(model.decision_function(X), dtype=np.float64)
            if dec.ndim == 1:
                dec = np.column_stack([-0.5 * dec, 0.5 * dec])
            S = np.full((n, K), np.nan)
            S[:, present] = dec
            if len(present) < K:  # classes the model never saw: below all others
                S[np.isnan(S)] = np.nanmin(dec, initial=0.0) - 10.0
        if K == 2:
            return (S[:, 1] - S[:, 0])[:, None]
        return S - S.mean(axis=1, keepdims=True)

    def _onehot(self, codes):
        K = len(self.meta_classes_)
        if K == 2:
            return codes.astype(np.float64)[:, None]
        onehot = np.zeros((codes.shape[0], K))
        onehot[np.arange(codes.shape[0]), codes] = 1.0
        return onehot

    # -- the prior's EM (Laplace) ---------------------------------------------------
    def _meta_fit(self, tasks):
        self._check_shared_labels(tasks, "puts random effects on the logits of")
        return super()._meta_fit(tasks)

    def _em_data(self, offset, Z, fold, tasks):
        """The offsets of the pooled model, plus each fold's own calibration."""
        onehot = self._onehot(tasks.y)
        effects = None
        if fold is not None:
            # each fold's own calibration: a nearly flat-prior fit over its rows
            order = np.argsort(fold, kind="stable")
            starts = np.searchsorted(fold[order], np.arange(self._n_folds + 1))
            Zc = self._calibration(Z)
            Q = self._n_logits * Zc.shape[2]
            effects, _, _ = _newton_tasks(
                Zc[order], offset[order], onehot[order], starts,
                np.zeros((self._n_folds, Q)), np.zeros(Q), 1e-2 * np.eye(Q), 10,
                self._n_logits == 1)
        shift, fold_mean = self._fold_offsets(Z, fold, effects)
        return Z, offset + shift, onehot, fold_mean

    def _use_data(self, data, keep, tasks):
        Z, offset, onehot, _ = data
        rows = np.repeat(keep, np.diff(tasks.starts))
        sizes = np.diff(tasks.starts)[keep]
        self._data = (Z[rows], offset[rows], onehot[rows],
                      np.concatenate([[0], np.cumsum(sizes)]))
        Q = self._n_logits * Z.shape[2]
        self._modes = np.zeros((sizes.size, Q))
        # unit noise on the logit scale (about 4 for the log-odds of a balanced class)
        return np.zeros(Q), _initial_covariance(Z[rows], 4.0, sizes.size), float(rows.sum())

    def _e_step(self, mean, precision):
        Z, margins, onehot, starts = self._data
        # generalised EM: a few Newton steps from the previous modes
        modes, H, nll = _newton_tasks(Z, margins, onehot, starts, self._modes, mean,
                                      precision, min(self.newton_steps, 3),
                                      self._n_logits == 1)
        return self._laplace_e_step(modes, H, nll, mean, precision)

    def _drop_data(self):
        del self._data, self._modes

    def _episode_loss(self, data, tasks, support, query, scales):
        """Every task's query log loss of a few-shot split (batched Newton), at every
        prior scale: (n_scales, n_tasks)."""
        Z, offset, onehot = data[:3]
        starts = tasks.starts
        tidx = np.repeat(np.arange(tasks.n_tasks), np.diff(starts))
        has = np.unique(tidx[support])
        counts = np.bincount(tidx[support], minlength=tasks.n_tasks)[has]
        s_starts = np.concatenate([[0], np.cumsum(counts)])
        Q = self.prior_mean_.shape[0]
        L = self._n_logits
        Z_s, offset_s, onehot_s = Z[support], offset[support], onehot[support]
        out = []
        for scale in scales:
            B, _, _ = _newton_tasks(
                Z_s, offset_s, onehot_s, s_starts, np.tile(self.prior_mean_, (len(has), 1)),
                self.prior_mean_, self.prior_precision_ / scale, self.newton_steps, L == 1)
            full = np.tile(self.prior_mean_, (tasks.n_tasks, 1))
            full[has] = B
            eta = offset + np.einsum("nlq,nlq->nl", Z, full.reshape(-1, L, Q // L)[tidx])
            out.append(segment_sum(_row_nll(eta, onehot, L == 1) * query, starts))
        return np.array(out)

    # -- adapt: the Laplace posterior ------------------------------------------------
    def _adapt(self, X, y, X_unlabeled):
        offset, Z = self._pooled(X)
        b, H = _newton_one(Z, offset, self._onehot(y),
                           self.prior_mean_, self.prior_precision_, self._prior_shift,
                           self.newton_steps, self._n_logits == 1)
        return b, np.linalg.inv(H)

    def _predict_proba(self, X, state, n_classes):
        eta, _ = self._linear_predictor(X, state)
        if self._n_logits == 1:
            p1 = expit(eta[:, 0])
            return np.column_stack([1.0 - p1, p1])
        return _proba(eta, False)

    def _decision_function(self, X, state, n_classes):
        eta, _ = self._linear_predictor(X, state)
        return eta[:, 0] if self._n_logits == 1 else eta
