"""What the mixed-effects classifier and regressor share.

A pooled scikit-learn model (the fixed effects) is fitted on the rows of all
training tasks. Each task adds random effects to the pooled model's margin
(decision value or prediction): an intercept, a slope on the margin, a linear
term on features. Their Gaussian prior (and the regression noise) is learned
by empirical Bayes from out-of-fold margins of the training tasks; ``adapt``
is the posterior of a new task's effects given its support rows.
"""

import sys
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..tasks import _is_task_sequence, as_task_arrays
from ..utils._gaussian_prior import _GaussianPriorMixin
from ..utils._wrapped import fill_empty_columns
from ..utils._params import make_init

#: The documented parameters shared by both estimators (filled by ``fill_doc``).
_SHARED_PARAMS = """\
random_effects : {"linear", "intercept+slope", "intercept", "auto"}, default="linear"
    The per-task effects added to the pooled model's margin ``m``
    (per class logit for more than two classes):

    - ``"intercept"``: ``m + a_t``;
    - ``"intercept+slope"``: ``m + a_t + s_t (m - c)``, a task-specific
      shift and scale of the pooled margin (``c`` is the mean training
      margin, for conditioning);
    - ``"linear"``: the same plus ``x_std @ w_t``, a linear effect of the
      standardised ``effect_features`` (missing values count as the mean);
    - ``"auto"``: the one of the three with the lowest query loss in the
      cross-validation over the training tasks that ``fit`` runs anyway
      (see ``prior_scale``).

    With a stack of pooled models (a list as ``estimator``, or the default),
    ``m`` is the mean of their margins and every mode has one slope per
    model (``s_tj (m_j - c_j)``): their prior means are the stack's weights.

    ``"linear"`` is the default: measured on the churn and school maths
    collections (``benchmarks/mixed_effects.py``) it was never
    significantly worse than the best baseline, while ``"intercept"`` and
    ``"intercept+slope"`` were significantly worse than a linear model with
    a learned prior on school maths (session 3, boosting alone as the
    pooled model). With a full covariance (``covariance="auto"`` on school
    maths) the linear effects contain that model's prior: the learner is
    a :class:`~sklearn_meta.prior.MetaPriorRidge` on the pooled model's
    residuals. ``prior_scale="auto"`` keeps the extra effects from
    over-fitting where tasks share everything.
effect_features : array-like of int, str or bool, default=None
    Features with a random linear effect when ``random_effects="linear"``:
    column indices, names (DataFrames) or a boolean mask; None means all but
    the pandas categorical columns.
covariance : {"auto", "full", "diag", "low_rank"}, default="auto"
    Family of the prior covariance of the effects. ``"auto"``: ``"full"``
    where its free parameters (``Q (Q + 1) / 2`` for ``Q`` effects) are no
    more than the training tasks, else ``"diag"`` (one variance per effect).
    The fitted ``covariance_`` says which.
rank : int, default=2
    Number of factors of ``covariance="low_rank"``.
cv : int, default=5
    Number of folds of tasks (task ``i`` is in fold ``i % cv``) over which
    the training tasks' margins are computed out of fold; fewer when there
    are fewer tasks. With a single training task the margins are in-sample.
prior_scale : "auto" or float, default="auto"
    Factor on the covariance learned by empirical Bayes. ``"auto"`` scores
    the factors from 1e-3 to 1.5 by cross-validation over the ``cv`` folds
    of training tasks: the prior is learned on the other folds and every
    held-out task is adapted to few-shot support sets (1, 2 and 4 times
    ``n_shots`` random rows, per class for classifiers, on its out-of-fold
    margins) and scored on the rest of its rows. It keeps 1.0 (plain
    empirical Bayes) unless another factor is better by more than twice
    its standard error over the tasks: near 0 when adapting from a few
    rows does not pay (tasks share everything), 1 when the prior is right.
    A float fixes it.
max_iter : int, default=100
    Maximum number of EM iterations learning the prior.
tol : float, default=1e-6
    EM stops when the negative log marginal likelihood per row improves by
    less than ``tol`` (relative).
reg_covar : float, default=1e-6
    Added to the diagonal of the prior covariance, keeping it positive
    definite."""

#: Docstring paragraphs of both estimators (``fill_doc`` placeholders).
_ME_DOCS = {
    "mixed_effects_params": _SHARED_PARAMS,
    "default_stack": """\
(the linear model on the numeric columns only): boosting for
nonlinear signal, missing values and pandas categoricals, and a
linear model with pairwise interactions for near-linear signal, on
which boosting from a few thousand rows is noisy (on school maths the
stack cut the MSE by 0.2 against a linear model with a learned prior,
where boosting alone tied it; ``benchmarks/mixed_effects.py``). With
pandas categorical columns, the pooled models get a DataFrame with
them as categoricals (the categories seen in ``fit``; others
missing), so ``HistGradientBoosting*(categorical_features=
"from_dtype")`` treats them as categories, also inside a Pipeline.""",
    "selection_attributes": """\
prior_scale_ : float
    Factor applied to the covariance learned by EM (see ``prior_scale``).
random_effects_ : str
    The random effects used: ``random_effects``, or the mode chosen by
    ``"auto"``.
covariance_ : str
    The family of the prior covariance used (see ``covariance``).
selection_loss_ : dict
    The cross-validated query loss (summed over the training tasks'
    episodes) of every setting tried, keyed ``"<random_effects>,
    <covariance>, <prior scale>"``; empty when there was nothing to choose.""",
    "runtime_params": """\
n_jobs : int, default=None
    Parallel jobs of the cross-fitting: the ``cv`` fold fits of every
    pooled model and the final ones (joblib; any joblib backend).
random_state : int, RandomState instance or None, default=None
    Seeds the episodes drawn by ``score``; ``fit`` is deterministic
    when ``estimator`` is.""",
}


def _initial_covariance(Z, noise, n_tasks):
    """The EM's starting prior: effects about as large as one task's rows can see.

    Each effect's variance is ``noise / (n_bar * var(z))`` (``n_bar`` the mean
    task size): the variance of a least-squares estimate from one typical
    task. EM moves quickly away from it when tasks differ and decays toward 0
    when they do not, so a collection whose tasks share everything ends near
    the pooled model.
    """
    n_logits, q = Z.shape[1], Z.shape[2]
    scale = np.maximum(Z.reshape(-1, q).var(axis=0), 1e-12)
    scale[0] = 1.0
    n_bar = max(Z.shape[0] / n_tasks, 1.0)
    return np.diag(np.tile(noise / (n_bar * q * scale), n_logits))


#: Factors of the learned prior covariance tried by ``prior_scale="auto"``.
_SCALES = (1e-3, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 3 / 4, 1.0, 1.5)


def _choose_scale(losses, scales):
    """Index of the prior scale to use, from every scale's per-task CV losses (S, T).

    Plain empirical Bayes (1.0) unless another factor's loss is lower by more
    than twice its standard error over tasks (paired): EM's covariance is the
    model's own estimate, and a factor picked on a small gain over noisy
    episodes costs accuracy on new tasks (school maths: factors of 0.5-0.75,
    picked by a plain minimum, cost 0.05-0.1 MSE against 1.0). A collection
    whose tasks share everything still gets about 0 (ties the pooled model).
    """
    if 1.0 not in scales:
        return int(np.argmin(losses.sum(axis=1)))
    ref = scales.index(1.0)
    d = losses - losses[ref]
    T = d.shape[1]
    se = d.std(axis=1, ddof=1) / np.sqrt(T) if T > 1 else np.zeros(len(scales))
    gain = -d.mean(axis=1)
    ok = np.flatnonzero(gain > 2 * se)
    return ref if ok.size == 0 else int(ok[np.argmax(gain[ok])])


def _allows_nan(est):
    """Whether ``est`` takes NaN: its tag, or a Pipeline's first step's (an imputer)."""
    if isinstance(est, Pipeline) and est.steps and est.steps[0][1] not in (None, "passthrough"):
        return _allows_nan(est.steps[0][1])
    return get_tags(est).input_tags.allow_nan


# The regressor's parameters (utils._params.make_init); the classifier adds its own.
_PARAMS = {"estimator": None, "random_effects": "linear", "effect_features": None,
           "covariance": "auto", "rank": 2, "cv": 5, "prior_scale": "auto", "max_iter": 100,
           "tol": 1e-6, "reg_covar": 1e-6, "n_shots": 5, "n_jobs": None, "random_state": None}


class _OneClass:
    """The pooled model of training rows that all have one class."""

    def __init__(self, code):
        self.classes_ = np.array([code])

    def predict_proba(self, X):
        return np.ones((X.shape[0], 1))


class _MixedEffectsMixin(_GaussianPriorMixin):
    """Cross-fitting, the design of the random effects and the fitted attributes.

    Subclasses set ``_default_estimator()``, ``_default_linear()``,
    ``_margins(model, X)`` (an array ``(n, n_logits)``), the prior's EM on the
    cross-fitted data (``_em_data``, ``_use_data``, ``_e_step``, ``_drop_data``),
    the episode losses of the ``prior_scale`` selection (``_episode_loss``, one row
    per scale), ``_adapt``
    and the prediction hooks.
    """

    _parameter_constraints: dict = {
        **_GaussianPriorMixin._parameter_constraints,
        "estimator": [HasMethods(["fit", "predict"]), list, tuple, None],
        "random_effects": [StrOptions({"auto", "intercept", "intercept+slope", "linear"})],
        "effect_features": ["array-like", None],
        "covariance": [StrOptions({"auto", "full", "diag", "low_rank"})],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "n_jobs": [Integral, None],
        "prior_scale": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
    }

    # the regressor's parameters; the classifier adds its own
    __init__ = make_init(_PARAMS, positional=1)

    # -- the pooled model(s) ---------------------------------------------------------
    def _members(self):
        """The unfitted pooled models: one, or the stack ``estimator`` lists."""
        est = self.estimator
        if est is None:
            return self._default_estimators()
        if not isinstance(est, (list, tuple)):
            return [est]
        if not est:
            raise ValueError("estimator=[] lists no pooled model; pass at least one "
                             "scikit-learn estimator, or None for the default stack.")
        for i, e in enumerate(est):
            if not (hasattr(e, "fit") and hasattr(e, "predict")):
                raise TypeError(
                    f"estimator[{i}]={e!r} is not a scikit-learn estimator (it needs fit "
                    "and predict); pass estimators, e.g. [HistGradientBoostingRegressor(), "
                    "Ridge()]."
                )
        return list(est)

    def _default_estimators(self):
        """The default stack: gradient boosting and a linear model with interactions.

        The linear model sees the numeric columns only (pandas categoricals are the
        boosting model's), imputed and standardised, with their pairwise products.
        """
        prep = make_pipeline(SimpleImputer(), StandardScaler(),
                             PolynomialFeatures(2, include_bias=False))
        if getattr(self, "_categories", None):  # a DataFrame: its numeric columns
            prep = make_column_transformer(
                (prep, make_column_selector(dtype_exclude="category")))
        linear = make_pipeline(prep, self._default_linear())
        return [self._default_estimator(), linear]

    def _allow_nan(self):
        # the default stack imputes (its linear model) or handles NaN (boosting)
        return self.estimator is None or all(_allows_nan(e) for e in self._members())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = any(get_tags(e).non_deterministic for e in self._members())
        return tags

    def _fit_member(self, template, X, y):
        if self._is_classifier() and np.unique(y).size < 2:
            return _OneClass(int(y[0]))
        if _allows_nan(template):  # a column missing in every task of this fold
            X = fill_empty_columns(X)
        return clone(template).fit(self._pooled_input(X), y)

    def _members_to_fit(self):
        """The pooled models to fit; the default linear one only if X has numeric columns."""
        members = self._members()
        if self.estimator is None and not self._has_numeric():
            members = members[:1]
        return members

    def _has_numeric(self):
        mask = getattr(self, "_categorical_mask", None)
        return mask is None or not mask.all()

    # -- pandas categoricals --------------------------------------------------------
    _accepts_categoricals = True  # named in the error for other non-numeric columns

    def _encode_categoricals(self, X, reset):
        """``X`` with its pandas categorical columns as float codes (NaN: missing/unknown).

        At ``fit`` (``reset``) the categories of every categorical column are
        recorded; later inputs are coded with them, whatever their dtype.
        """
        pd = sys.modules.get("pandas")
        is_frame = pd is not None and isinstance(X, pd.DataFrame)
        if reset:
            self._categories = {} if not is_frame else {
                c: X[c].cat.categories for c in X.columns
                if isinstance(X[c].dtype, pd.CategoricalDtype)}
            self._categorical_mask = (np.array([c in self._categories for c in X.columns])
                                      if is_frame else None)
        cats = getattr(self, "_categories", {})
        if not is_frame or not cats:
            return X
        X = X.copy()
        for c, categories in cats.items():
            if c in X.columns:
                col = X[c].astype(object)
                col = col.where(col.isin(categories))  # unseen categories: missing
                codes = pd.Categorical(col, categories=categories).codes.astype(np.float64)
                codes[codes < 0] = np.nan
                X[c] = codes
        return X

    def _pooled_input(self, X):
        """What the pooled models see: ``X``, or a DataFrame with the categoricals restored.

        With pandas categorical columns in ``fit``, the pooled models get them back
        as categoricals (the categories seen in ``fit``; unknown ones missing), so a
        ``HistGradientBoosting*(categorical_features="from_dtype")``, also inside a
        user's Pipeline, treats them as categories.
        """
        cats = getattr(self, "_categories", None)
        if not cats:
            return X
        import pandas as pd

        frame = pd.DataFrame(X, columns=self.feature_names_in_)
        for c, categories in cats.items():
            codes = frame[c].to_numpy()
            codes = np.where(np.isnan(codes), -1, codes).astype(np.int64)
            frame[c] = pd.Categorical.from_codes(codes, categories=categories)
        return frame

    def _validate_tasks(self, X, y, groups, *, task_list=False):
        if groups is None and _is_task_sequence(X, y):
            X, y, groups = as_task_arrays(X)
            task_list = True
        return super()._validate_tasks(self._encode_categoricals(X, reset=True), y, groups,
                                       task_list=task_list)

    def _validate_X(self, X, *, reset=False, name="X"):
        return super()._validate_X(self._encode_categoricals(X, reset=False), reset=reset,
                                   name=name)

    def _stacked_margins(self, models, X):
        """Margins of every pooled model: an array (n, n_logits, n_models)."""
        Xp = self._pooled_input(X)
        return np.stack([self._margins(m, Xp) for m in models], axis=2)

    def _cross_fit(self, tasks):
        """Out-of-fold margins (n, n_logits, n_models), the fold of every row, the models.

        The fold is None when there are too few tasks for cross-fitting (the
        margins are then the final models', in-sample).
        """
        members = self._members_to_fit()
        n_folds = min(self.cv, tasks.n_tasks)
        if n_folds < 2:
            final = [self._fit_member(m, tasks.X, tasks.y) for m in members]
            return self._stacked_margins(final, tasks.X), None, final
        fold = np.repeat(np.arange(tasks.n_tasks) % n_folds, np.diff(tasks.starts))
        keeps = [slice(None)] + [fold != f for f in range(n_folds)]
        # the final models and the fold models, in parallel with n_jobs
        fitted = Parallel(n_jobs=self.n_jobs)(
            delayed(self._fit_member)(m, tasks.X[keep], tasks.y[keep])
            for keep in keeps for m in members
        )
        J = len(members)
        final = fitted[:J]
        margins = None
        for f in range(n_folds):
            held = fold == f
            m = self._stacked_margins(fitted[J * (f + 1):J * (f + 2)], tasks.X[held])
            if margins is None:
                margins = np.empty((tasks.X.shape[0],) + m.shape[1:])
            margins[held] = m
        return margins, fold, final

    # -- the design of the random effects -------------------------------------------
    def _effect_columns(self):
        n = self.n_features_in_
        if self.effect_features is None:  # every feature but the categorical ones
            mask = getattr(self, "_categorical_mask", None)
            return np.arange(n) if mask is None else np.flatnonzero(~mask)
        sel = np.asarray(self.effect_features)
        if sel.dtype == bool:
            if sel.shape != (n,):
                raise ValueError(
                    f"effect_features is a boolean mask of shape {sel.shape}; it "
                    f"must have one entry per feature, shape ({n},)."
                )
            return np.flatnonzero(sel)
        if sel.dtype.kind in "US" or sel.dtype == object:
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise ValueError(
                    f"effect_features={list(sel)} names columns, but X had no "
                    "column names; pass column indices, or fit on a DataFrame."
                )
            missing = [str(c) for c in sel if c not in set(names)]
            if missing:
                raise ValueError(
                    f"effect_features names {missing}, which are not columns of X "
                    f"(columns {list(names)})."
                )
            return np.array([np.flatnonzero(names == c)[0] for c in sel], dtype=np.int64)
        sel = sel.astype(np.int64)
        if sel.size and (sel.min() < -n or sel.max() >= n):
            raise ValueError(
                f"effect_features={sel.tolist()} has a column index outside "
                f"[0, {n}); X has {n} features."
            )
        return np.unique(sel % n)

    def _effect_modes(self):
        """The ``random_effects`` modes ``fit`` considers."""
        if self.random_effects == "auto":
            return ("intercept", "intercept+slope", "linear")
        return (self.random_effects,)

    def _fit_design(self, X, margins):
        """Learn the centring of margins and features used by ``_design``.

        The design of the richest mode ``fit`` considers; every mode's effects
        are a prefix of its columns (:meth:`_n_effects`).
        """
        self._margin_center = margins.mean(axis=0)
        J = margins.shape[2]
        self._n_models = J
        # one slope per pooled model: their prior means weigh the stack
        names = ["intercept"] + (["slope"] if J == 1 else [f"slope:{j}" for j in range(J)])
        cols = np.arange(0)
        if "linear" in self._effect_modes():
            cols = self._effect_columns()
            Xc = X[:, cols]
            with np.errstate(invalid="ignore"):
                mu = np.nanmean(Xc, axis=0) if Xc.size else np.zeros(0)
                sd = np.nanstd(Xc, axis=0) if Xc.size else np.zeros(0)
            mu = np.where(np.isfinite(mu), mu, 0.0)
            sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
            self._feature_center, self._feature_scale = mu, sd
            feature_names = getattr(self, "feature_names_in_", None)
            names += [f"x:{feature_names[c] if feature_names is not None else c}"
                      for c in cols]
        self._columns = cols
        self._effect_names = np.array(names, dtype=object)

    def _n_effects(self, mode):
        """How many of the design's leading columns are the effects of ``mode``."""
        if mode == "linear":
            return 1 + self._n_models + self._columns.size
        return 1 if mode == "intercept" and self._n_models == 1 else 1 + self._n_models

    def _design(self, X, margins, mode):
        """The design ``Z`` of shape (n, n_logits, q) of the effects of ``mode``.

        ``margins`` (n, n_logits, n_models) are the pooled models'; the offset
        is their mean (:meth:`_offset`).
        """
        n, L, J = margins.shape
        parts = [np.ones((n, L, 1))]
        if self._n_effects(mode) > 1:
            parts.append(margins - self._margin_center)
        if mode == "linear" and self._columns.size:
            Xs = (X[:, self._columns] - self._feature_center) / self._feature_scale
            Xs = np.where(np.isnan(Xs), 0.0, Xs)
            parts.append(np.broadcast_to(Xs[:, None, :], (n, L, Xs.shape[1])))
        return np.concatenate(parts, axis=2)

    @staticmethod
    def _offset(margins):
        """The fixed part before the effects: the mean of the pooled models' margins."""
        return margins.mean(axis=2)

    def _pooled(self, X):
        """The offset (n, n_logits) and the design ``Z`` of new rows."""
        margins = self._stacked_margins(self.estimators_, X)
        return self._offset(margins), self._design(X, margins, self.random_effects_)

    def _covariance_family(self):
        # the candidate being scored, then the chosen one (set by _meta_fit)
        return self.covariance_

    def _candidates(self, n_tasks):
        """The ``(random_effects, covariance)`` pairs ``fit`` chooses from.

        ``covariance="auto"``: ``"full"`` where its free parameters are no
        more than the training tasks, else ``"diag"``.
        """
        out = {}
        for mode in self._effect_modes():
            Q = self._n_logits * self._n_effects(mode)
            family = self.covariance
            if family == "auto":
                family = "full" if Q * (Q + 1) // 2 <= n_tasks else "diag"
            # modes with the same effects (e.g. of a stack) are one candidate
            out.setdefault(self._n_effects(mode), (mode, family))
        return list(out.values())

    def _prepare_common(self, tasks):
        """Cross-fit and set the design: ``(offset, Z, fold)`` of the training rows."""
        margins, fold, self.estimators_ = self._cross_fit(tasks)
        self.estimator_ = self.estimators_[0]
        self._n_logits = margins.shape[1]
        self._n_folds = 1 if fold is None else int(fold.max()) + 1
        self._fit_design(tasks.X, margins)
        richest = max(self._effect_modes(), key=self._n_effects)
        return self._offset(margins), self._design(tasks.X, margins, richest), fold

    def _calibration(self, Z):
        """The design's columns of the pooled models' calibration: intercept and slopes."""
        return Z[:, :, :min(Z.shape[2], 1 + self._n_models)]

    def _fold_offsets(self, Z, fold, fold_effects):
        """Every row's fold-level effect ``Z_i delta_fold`` and the folds' mean ``delta``.

        Each fold's pooled model is a slightly different fixed-effects model
        (fitted on other tasks): its own calibration (intercept and slopes on
        its margins, ``fold_effects`` on :meth:`_calibration` of ``Z``),
        shared by all tasks of the fold, is a fixed effect of the fold, not
        variation between tasks. It is removed before the prior is learned,
        so the prior's covariance holds only what differs between tasks.
        The final pooled model gets the folds' mean correction (added to the
        prior mean). The linear effects get no fold correction: fitted on a
        fold's few tasks, one on a task-level feature would take away part
        of the variation between those tasks (on school maths this halved
        the gain of adapting seen in the cross-validation of ``prior_scale``).
        """
        n, L, q = Z.shape
        if fold is None:
            return np.zeros((n, L)), np.zeros(L * q)
        Zc = self._calibration(Z)
        c = Zc.shape[2]
        delta = fold_effects.reshape(self._n_folds, L, c)
        shift = np.einsum("nlq,nlq->nl", Zc, delta[fold])
        mean = np.zeros((L, q))
        mean[:, :c] = delta.mean(axis=0)
        return shift, mean.ravel()

    def _scatter_dof(self, n_tasks):
        # the fold-level effects took one mean per fold instead of one overall
        return max(n_tasks - (self._em_folds - 1), 1)

    def _episode_splits(self, tasks):
        """Few-shot splits of the training tasks: (support, query) row masks.

        Support sets of ``k`` random rows per task, ``k`` = 1, 2 and 4 times
        the support size of ``n_shots`` (per class for classifiers), two draws
        each; only tasks with more than ``k`` rows take part. Deterministic.
        """
        rng = np.random.default_rng(0)
        sizes = np.diff(tasks.starts)
        tidx = np.repeat(np.arange(tasks.n_tasks), sizes)
        n = tidx.shape[0]
        base = self.n_shots * (len(self.meta_classes_) if self._is_classifier() else 1)
        splits = []
        for k in dict.fromkeys((base, 2 * base, 4 * base)):
            usable = (sizes > k)[tidx]
            if not usable.any():
                continue
            for _ in range(2):
                order = np.lexsort((rng.random(n), tidx))
                rank = np.empty(n, dtype=np.int64)
                rank[order] = np.arange(n) - tasks.starts[tidx[order]]
                support = usable & (rank < k)
                splits.append((support, usable & ~support))
        return splits

    def _fit_prior_on(self, data, keep, tasks):
        """EM over the training tasks ``keep`` (a boolean mask of tasks)."""
        self._em_folds = (self._n_folds if keep.all()
                          else np.unique(np.arange(tasks.n_tasks)[keep] % self._n_folds).size)
        mean, cov, n_rows = self._use_data(data, keep, tasks)
        self._run_em(mean, cov, n_rows)

    def _meta_fit(self, tasks):
        """Cross-fit the pooled models, choose the effects and the prior's scale, run EM.

        Every candidate of :meth:`_candidates` and every factor of the prior
        scale is scored by cross-validation over the ``cv`` folds of training
        tasks (the folds of the cross-fitting): the prior is learned by EM on
        the other folds' tasks and scored by the query loss of few-shot
        episodes of the held-out fold's tasks (:meth:`_episode_splits`) after
        adapting to their support rows. With a single fold (one training
        task) the episodes are scored in-sample. The best pair is refitted
        on all training tasks.
        """
        offset, Z, fold = self._prepare_common(tasks)
        candidates = self._candidates(tasks.n_tasks)
        scales = _SCALES if self.prior_scale == "auto" else (float(self.prior_scale),)
        splits = self._episode_splits(tasks) if len(candidates) * len(scales) > 1 else []
        tidx = np.repeat(np.arange(tasks.n_tasks), np.diff(tasks.starts))
        tfold = np.arange(tasks.n_tasks) % self._n_folds
        losses = np.zeros((len(candidates), len(scales), tasks.n_tasks))
        datas = []
        for c, (mode, family) in enumerate(candidates):
            datas.append(self._em_data(offset, Z[:, :, :self._n_effects(mode)], fold, tasks))
            self.covariance_ = family
            for f in range(self._n_folds if splits else 0):
                held = tfold == f
                keep = ~held if self._n_folds > 1 else held
                self._fit_prior_on(datas[c], keep, tasks)
                rows = held[tidx]
                # (scales, tasks) per split: what does not depend on the scale once
                losses[c] += sum(self._episode_loss(datas[c], tasks, sup & rows, qry & rows,
                                                    scales)
                                 for sup, qry in splits)
        chosen = [_choose_scale(losses[c], scales) for c in range(len(candidates))]
        # without splits every loss is 0: the first candidate and scale 1.0 (if offered)
        c = int(np.argmin([losses[c, s].sum() for c, s in enumerate(chosen)]))
        s = chosen[c]
        (self.random_effects_, self.covariance_), data = candidates[c], datas[c]
        self._fit_prior_on(data, np.ones(tasks.n_tasks, dtype=bool), tasks)
        self.selection_loss_ = {
            f"{mode}, {family}, {scale:g}": float(losses[i, j].sum())
            for i, (mode, family) in enumerate(candidates) for j, scale in enumerate(scales)
        } if splits else {}
        self.prior_scale_ = scale = scales[s]
        self.effect_names_ = self._effect_names[:self._n_effects(self.random_effects_)]
        self.prior_covariance_ = self.prior_covariance_ * scale
        self.prior_precision_ = self.prior_precision_ / scale
        # the folds' mean calibration of the pooled model, added to the prior mean
        self.prior_mean_ = self.prior_mean_ + data[-1]
        self._prior_shift = self.prior_precision_ @ self.prior_mean_
        self._drop_data()

    # -- fitted attributes ------------------------------------------------------------
    def _effects_shape(self, v):
        return v.reshape(self._n_logits, -1) if self._n_logits > 1 else v

    @property
    def effects_(self):
        """Posterior mean of the adapted task's effects (the prior mean before ``adapt``).

        Shape ``(q,)`` for one logit, ``(n_classes, q)`` for more than two
        classes; the columns are named by ``effect_names_``.
        """
        state = self._current_state()
        return self._effects_shape(self.prior_mean_ if state is None else state[0])

    @property
    def effects_covariance_(self):
        """Posterior covariance of the adapted task's effects (prior before ``adapt``)."""
        state = self._current_state()
        return self.prior_covariance_ if state is None else state[1]

    def _state_effects(self, state):
        return self.prior_mean_ if state is None else state[0]

    def _linear_predictor(self, X, state):
        """Margins of the pooled models plus the effects: (eta, Z)."""
        offset, Z = self._pooled(X)
        b = self._state_effects(state).reshape(self._n_logits, -1)
        return offset + np.einsum("nlq,lq->nl", Z, b), Z
