"""Shared code of the learners that choose among candidate estimators per task.

Meta-fit: on episodes of every training task (``n_shots`` support rows, the
rest as query, as at adaptation time), fit every candidate on the support
set, score it on the query set, and describe the support set by its
meta-features (:mod:`sklearn_meta.metafeatures`). A meta-model learns to
predict each candidate's relative score from the meta-features. Adapt: the
new task's support meta-features give a predicted ranking of the candidates;
the best is fitted on the support set.
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn import config_context
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.metrics import check_scoring
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed

from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..base import BaseMetaEstimator
from ..utils._batched_linear import batchable_data, batchable_estimator, fit_segments
from ..utils._wrapped import _WrappedEstimatorMixin
from ..metafeatures import _metafeatures
from ..tasks import _split_support_query, _task_name
from ..utils._seeds import seed_of


#: Docstring paragraphs of both selectors (placeholder lines of their class bodies);
#: a *candidate* is one of the estimators or configurations they choose among.
# The parameters both selectors share, after their candidates (utils._params.make_init).
_PARAMS = {"n_shots": 5, "n_episodes": 3, "scoring": None, "meta_model": None,
           "label_space": "auto", "n_jobs": None, "verbose": 0, "random_state": None}

_DOCS = {
    "n_shots": """\
n_shots : int, default=5
    Support rows per class (per task for regression) of the meta-training
    episodes and of ``score``.""",
    "n_episodes": """\
n_episodes : int, default=3
    Episodes per training task; scores and meta-features are averaged.""",
    "label_space_n_jobs": """\
label_space : {"auto", "shared", "per_task"}, default="auto"
    Label setting of classification tasks.
n_jobs : int, default=None
    Parallel jobs over training tasks (joblib; any joblib backend). A plain
    ``LogisticRegression`` or ``Ridge`` candidate (with the default scoring,
    ``"accuracy"``, ``"r2"`` or ``"neg_mean_squared_error"``) is fitted on the
    support sets of all episodes at once (10,000 tasks: a few seconds); other
    candidates are fitted episode by episode in the jobs (about 10 ms per task
    and candidate on one core for a small model; ``benchmarks/scale.py``).
verbose : int, default=0
    Show a progress bar over the training tasks during ``fit``.""",
    "score_attributes": """\
task_scores_ : ndarray of shape (n_tasks, n_candidates)
    Mean query score of every candidate on every training task.
metafeatures_ : ndarray of shape (n_tasks, n_metafeatures)
    Mean support-set meta-features of every training task.
mean_relative_scores_ : ndarray of shape (n_candidates,)
    Relative score of every candidate averaged over tasks.
meta_model_ : regressor
    The fitted meta-model.
estimator_ : estimator or None
    The best candidate on average, fitted on all training rows (the
    zero-shot model); None with per-task label sets.""",
}


class _SelectionState:
    """The chosen, fitted candidate of one task and the predicted ranking."""

    def __init__(self, model, ranking, predicted):
        self.model = model
        self.ranking = ranking
        self.predicted = predicted


def _feasible_shots(y, n_shots, classification):
    """The most support shots (<= n_shots) leaving a query row, or 0."""
    if classification:
        smallest = np.unique(y, return_counts=True)[1].min()
        return int(min(n_shots, smallest - 1))
    return int(min(n_shots, y.shape[0] - 2))


def _task_episodes(y, classification, n_shots, seed, n_episodes, task_id):
    """The few-shot episodes of one task: (support, query) row positions per episode,
    and whether it used fewer than ``n_shots`` shots; None when it cannot give one.

    A task too small for ``n_shots`` support rows (per class) plus a query row uses as
    many shots as it can.
    """
    rng = np.random.default_rng(seed)
    shots = _feasible_shots(y, n_shots, classification)
    if shots < 1:
        return None
    episodes = [_split_support_query(y, shots, rng, classification=classification,
                                     task_id=task_id) for _ in range(n_episodes)]
    return episodes, shots < n_shots


def _evaluate_task(selector, X, y, classification, n_shots, seed, candidates, scorer,
                   n_episodes, task_id):
    """The episodes of one task and the query scores of ``candidates`` on each,
    shape (n_episodes, n_candidates); None when the task cannot give an episode."""
    drawn = _task_episodes(y, classification, n_shots, seed, n_episodes, task_id)
    if drawn is None:
        return None
    episodes, small = drawn
    scores = np.empty((len(episodes), len(candidates)))
    for e, (s, q) in enumerate(episodes):
        for c, cand in enumerate(candidates):
            model = selector._fit_candidate(cand, X[s], y[s], check_predict=False)
            scores[e, c] = np.nan if model is None else _safe_score(scorer, model, X[q], y[q])
    return episodes, scores, small


def _evaluate_tasks(selector, tasks, classification, n_shots, seeds, candidates, scorer,
                    n_episodes, task_ids):
    """:func:`_evaluate_task` of several tasks ``[(X, y), ...]`` (one job)."""
    return [_evaluate_task(selector, X, y, classification, n_shots, seed, candidates,
                           scorer, n_episodes, task_id)
            for (X, y), seed, task_id in zip(tasks, seeds, task_ids)]


def _vector_metric(scoring, classification):
    """The name of a metric :func:`_episode_scores` computes for every episode at
    once (the candidates' default ``score`` or a few scorer names), or None."""
    if scoring is None:
        return "accuracy" if classification else "r2"
    if isinstance(scoring, str) and scoring in {"accuracy", "r2", "neg_mean_squared_error"}:
        return scoring
    return None


def _episode_scores(metric, pred, y, seg, n_seg):
    """``metric`` of every episode from its query predictions (as scikit-learn
    computes it on each: an R^2 of one row is NaN, of constant targets 1 or 0)."""
    count = np.bincount(seg, minlength=n_seg).astype(np.float64)
    if metric == "accuracy":
        return np.bincount(seg, weights=(pred == y).astype(np.float64), minlength=n_seg) / count
    sq = np.bincount(seg, weights=(y - pred) ** 2, minlength=n_seg)
    if metric == "neg_mean_squared_error":
        return -sq / count
    mean = np.bincount(seg, weights=y, minlength=n_seg) / count
    total = np.bincount(seg, weights=(y - mean[seg]) ** 2, minlength=n_seg)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total != 0, 1.0 - sq / total, np.where(sq != 0, 0.0, 1.0))
    return np.where(count < 2, np.nan, r2)


def _batched_scores(template, metric, X, y, episodes):
    """Query scores of one linear candidate on every episode: one batched fit over all
    support sets (:mod:`sklearn_meta.utils._batched_linear`), vectorised scoring."""
    sup, sup_starts, qry, qry_seg = episodes
    fits = fit_segments(template, X[sup], y[sup], sup_starts)
    pred = fits.predict(X[qry], qry_seg)
    return _episode_scores(metric, pred, y[qry], qry_seg, len(sup_starts) - 1)


def _stack_episodes(tasks, drawn):
    """Row positions of all episodes' support and query sets in ``tasks.X``:
    (support rows, support segment starts, query rows, query segment of each row)."""
    sup, qry, sup_sizes, qry_sizes = [], [], [], []
    for t, episodes in drawn:
        offset = tasks.starts[t]
        for s, q in episodes:
            sup.append(offset + s)
            qry.append(offset + q)
            sup_sizes.append(len(s))
            qry_sizes.append(len(q))
    sup_starts = np.concatenate([[0], np.cumsum(sup_sizes)])
    qry_seg = np.repeat(np.arange(len(qry_sizes)), qry_sizes)
    return np.concatenate(sup), sup_starts, np.concatenate(qry), qry_seg


def _episode_metafeatures(tasks, episodes, classification):
    """Meta-features of every episode's support set, in one vectorised pass."""
    sup, sup_starts = episodes[0], episodes[1]
    y = tasks.y[sup]
    if classification:   # per-episode class codes 0..k-1
        seg = np.repeat(np.arange(len(sup_starts) - 1), np.diff(sup_starts))
        codes = np.asarray(y, dtype=np.int64)
        present = np.zeros((len(sup_starts) - 1, int(codes.max()) + 1), dtype=bool)
        present[seg, codes] = True
        y = (np.cumsum(present, axis=1) - 1)[seg, codes]
    return _metafeatures(tasks.X[sup], y, sup_starts, classification=classification)


def _safe_score(scorer, model, X, y):
    try:
        return float(scorer(model, X, y))
    except (ValueError, ArithmeticError):
        return np.nan


def _local_codes(y):
    return np.unique(y, return_inverse=True)[1]


class _CandidateSelectorMixin(_WrappedEstimatorMixin):
    """Learn from training tasks which candidate to fit on a new task."""

    _parameter_constraints: dict = {
        **BaseMetaEstimator._parameter_constraints,
        "label_space": [StrOptions({"auto", "shared", "per_task"})],
        "n_episodes": [Interval(Integral, 1, None, closed="left")],
        "scoring": [str, callable, None],
        "meta_model": [HasMethods(["fit", "predict"]), None],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    # -- hooks of the two learners ---------------------------------------------
    def _candidates(self):  # pragma: no cover - abstract
        """List of (name, unfitted estimator)."""
        raise NotImplementedError

    def _default_meta_model(self, n_tasks):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- fitting -----------------------------------------------------------------
    def _fit_candidate(self, candidate, X, y, return_error=False, check_predict=True):
        """Clone and fit a candidate; a one-class support set gets a constant.

        None when the candidate cannot be fitted on these rows (it is then
        scored as the worst and skipped at adaptation); with ``return_error``
        the ValueError it raised instead. ``check_predict``: also check that the
        fitted model predicts (meta-training scores it right away instead).
        """
        if self._is_classifier() and np.unique(y).size < 2:
            return DummyClassifier(strategy="prior").fit(X, y)
        model = clone(candidate)
        if "random_state" in model.get_params() and model.get_params()["random_state"] is None:
            # seed candidates that have none, so that fit is reproducible
            model.set_params(random_state=seed_of(self.random_state)
                             if self.random_state is not None else None)
        try:
            model.fit(X, y)
            if check_predict:
                model.predict(X[:1])
        except ValueError as exc:
            if not return_error and not np.isfinite(X).all():
                raise  # the candidate refuses NaN/infinity: the data, not the size
            # e.g. k nearest neighbours with fewer than k support rows: this
            # candidate cannot learn from so few rows
            return exc if return_error else None
        return None if return_error else model

    def _no_candidate_error(self, X, y, where):
        """The ValueError when no candidate can be fitted on ``(X, y)``, with the
        reason the first one gave (NaN in X, too few rows...)."""
        name, cand = self._candidates()[0]
        reason = self._fit_candidate(cand, X, y, return_error=True)
        why = f" ({name} raised: {str(reason).rstrip('.')})" if reason is not None else ""
        return ValueError(
            f"no candidate could be fitted on {where}{why}. Fix the data (e.g. impute "
            "missing values in a Pipeline candidate), give more rows or a candidate "
            "that learns from very few."
        )

    def _meta_fit(self, tasks):
        candidates = [c for _, c in self._candidates()]
        classification = self._is_classifier()
        scorer = check_scoring(candidates[0], scoring=self.scoring)
        rng = np.random.RandomState(seed_of(self.random_state))
        seeds = seed_of(rng, size=tasks.n_tasks)
        # a plain Ridge or LogisticRegression candidate is fitted on the support sets of
        # all episodes at once and scored on their query rows at once; the others are
        # fitted episode by episode in the jobs over tasks
        metric = _vector_metric(self.scoring, classification)
        data_ok = metric is not None and batchable_data(tasks.X)  # one scan of X
        batched = [data_ok and batchable_estimator(c, tasks.n_features)
                   for c in candidates]
        looped = [c for c, b in zip(candidates, batched) if not b]
        # jobs of several tasks each (at most ~100 jobs: little overhead per task, a
        # progress bar that moves)
        size = max(1, -(-tasks.n_tasks // 100))
        chunks = [range(lo, min(lo + size, tasks.n_tasks))
                  for lo in range(0, tasks.n_tasks, size)]
        jobs = (
            delayed(_evaluate_tasks)(
                self, [tasks[t] for t in chunk], classification, self.n_shots,
                seeds[chunk.start:chunk.stop], looped, scorer, self.n_episodes,
                tasks.task_ids[chunk.start:chunk.stop])
            for chunk in chunks
        )
        # finite features (checked once here) need no finiteness check, and the
        # candidates' parameters (validated once here) no validation, in every one of
        # the n_tasks x n_episodes x n_candidates small fits
        finite = tasks.X.dtype.kind != "f" or bool(np.isfinite(tasks.X).all())
        for cand in candidates:
            for est in [cand, *cand.get_params(deep=True).values()]:
                if hasattr(est, "_validate_params") and not isinstance(est, type):
                    est._validate_params()
        with config_context(assume_finite=finite, skip_parameter_validation=True):
            if self.verbose:  # a progress bar needs the results as they come
                from tqdm.auto import tqdm

                jobs = list(jobs)
                try:
                    results = []
                    with tqdm(total=tasks.n_tasks, desc=type(self).__name__,
                              unit="task") as bar:
                        for part in Parallel(n_jobs=self.n_jobs,
                                             return_as="generator")(jobs):
                            results.extend(part)
                            bar.update(len(part))
                except ValueError:  # a backend without generators (Ray): no bar
                    results = Parallel(n_jobs=self.n_jobs)(jobs)
                    results = [r for part in results for r in part]
            else:
                results = [r for part in Parallel(n_jobs=self.n_jobs)(jobs) for r in part]
        kept = [i for i, r in enumerate(results) if r is not None]
        if not kept:
            raise ValueError(
                "no training task can give a few-shot episode: each needs at "
                "least 2 rows per class (3 rows for regression), one for support "
                f"and one for query (the largest task has {int(tasks.sizes.max())} "
                "sample(s)). Give larger tasks."
            )
        n_small = sum(r[2] for r in results if r is not None)
        if len(kept) < len(results) or n_small:
            warnings.warn(
                f"{len(results) - len(kept) + n_small} of {len(results)} training "
                f"tasks have too few rows for n_shots={self.n_shots} (per class) "
                f"plus a query row; {n_small} were evaluated with fewer shots and "
                f"{len(results) - len(kept)} (a class with a single row) left out.",
                UserWarning,
            )
        episodes = _stack_episodes(tasks, [(i, results[i][0]) for i in kept])
        n_ep = self.n_episodes
        feats = _episode_metafeatures(tasks, episodes, classification)
        feats = feats.reshape(len(kept), n_ep, -1).mean(axis=1)
        scores = np.empty((len(kept), n_ep, len(candidates)))
        loop_scores = np.stack([results[i][1] for i in kept])  # (tasks, episodes, looped)
        scores[:, :, np.flatnonzero(~np.array(batched))] = loop_scores
        for c in np.flatnonzero(batched):
            scores[:, :, c] = _batched_scores(candidates[c], metric, tasks.X, tasks.y,
                                              episodes).reshape(len(kept), n_ep)
        scores = scores.mean(axis=1)
        if np.isnan(scores).all():
            X_t, y_t = tasks[kept[0]]
            raise self._no_candidate_error(
                X_t, y_t, f"the few-shot episodes of any training task (e.g. task "
                f"{_task_name(tasks.task_ids[kept[0]])})")
        self.metafeatures_ = feats
        self.task_scores_ = scores
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)       # all-NaN columns
            # a meta-feature that overflowed (features around 1e30) counts as missing
            finite = np.where(np.isfinite(feats), feats, np.nan)
            self._mf_mean = np.nan_to_num(np.nanmean(finite, axis=0))
            scale = np.nan_to_num(np.nanstd(finite, axis=0))
        self._mf_scale = np.where(scale > 1e-12, scale, 1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)       # all-NaN rows
            lo = np.nanmin(scores, axis=1, keepdims=True)
            hi = np.nanmax(scores, axis=1, keepdims=True)
        relative = np.where(hi > lo, (scores - lo) / np.where(hi > lo, hi - lo, 1.0), 0.5)
        relative = np.where(np.isnan(scores), 0.0, relative)   # could not fit: worst
        Z = self._standardise(feats)
        # relevance of every meta-feature: its largest absolute correlation
        # with a candidate's relative score across tasks (a learned metric)
        rc = relative - relative.mean(axis=0)
        corr = np.abs(Z.T @ rc) / len(kept) / np.maximum(rc.std(axis=0), 1e-12)
        self.metafeature_weights_ = corr.max(axis=1)
        self.meta_model_ = clone(
            self.meta_model if self.meta_model is not None
            else self._default_meta_model(len(kept))
        ).fit(Z * self.metafeature_weights_, relative)
        self.mean_relative_scores_ = relative.mean(axis=0)
        self.estimator_ = None
        if tasks.label_space != "per_task":
            for i in np.argsort(-self.mean_relative_scores_, kind="stable"):
                self.estimator_ = self._fit_candidate(candidates[i], tasks.X, tasks.y)
                if self.estimator_ is not None:
                    break

    def _standardise(self, feats):
        """Standardised meta-features; a missing (non-finite) one is the mean (0), so
        that the meta-model (nearest neighbours) never sees NaN."""
        Z = (feats - self._mf_mean) / self._mf_scale
        return np.where(np.isfinite(Z), Z, 0.0)

    # -- adaptation ----------------------------------------------------------------
    def _predicted_scores(self, X, y):
        if self._is_classifier():
            y = _local_codes(y)
        feats = _metafeatures(X, y, np.array([0, X.shape[0]]),
                              classification=self._is_classifier())
        Z = self._standardise(feats) * self.metafeature_weights_
        pred = self.meta_model_.predict(Z)
        return np.asarray(pred, dtype=np.float64).reshape(-1)

    def _rank(self, X_support, y_support):
        """Candidate positions for a support set, best first (state unchanged)."""
        check_is_fitted(self)
        X = self._validate_X(X_support, name="X_support")
        y = column_or_1d(np.asarray(y_support))
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"X_support has {X.shape[0]} rows but y_support has {y.shape[0]}; they "
                "must have the same number of rows."
            )
        if self._is_classifier():
            y = _local_codes(y)
        else:
            y = self._check_regression_targets(y, "y_support")
        return np.argsort(-self._predicted_scores(X, y), kind="stable")

    def _adapt(self, X, y, X_unlabeled):
        predicted = self._predicted_scores(X, y)
        ranking = np.argsort(-predicted, kind="stable")
        candidates = self._candidates()
        for i in ranking:          # the best candidate that can learn from these rows
            model = self._fit_candidate(candidates[i][1], X, y)
            if model is not None:
                ranking = np.r_[i, ranking[ranking != i]]
                return _SelectionState(model, ranking, predicted)
        raise self._no_candidate_error(X, y, f"the {X.shape[0]} support rows")

    def _model(self, state):
        return self.estimator_ if state is None else state.model

    def _adapted_state(self):
        adapted = getattr(self, "adapted_", None)
        if adapted is None:
            raise AttributeError(
                "the ranking of a task is set by adapt; call adapt(X_support, "
                "y_support) first."
            )
        return adapted.state
