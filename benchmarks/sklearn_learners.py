"""Benchmark of the scikit-learn based meta-learners (ensemble, prior, selection).

* Churn by state (``load_churn``): held-out states, 1 and 5 shots per class,
  accuracy, against ``PerTaskEstimator(LogisticRegression())`` and
  ``PooledEstimator(HistGradientBoostingClassifier())``.
* Maths achievement by school (``load_school_math``, mlmRev/Hsb82):
  held-out schools, 5 and 10 support rows, mean squared error, against
  ``PerTaskEstimator(Ridge())`` and ``PooledEstimator(HistGradientBoostingRegressor())``.
* Adaptation latency of the learned linear priors on a 5-shot task.

Features are standardised with one scaler fitted on the training tasks' rows
(the learned priors assume features comparable across tasks). Prints
markdown tables (mean with 95% t-interval over episodes, meta-fit time and
adaptation time per task).

Usage::

    python benchmarks/sklearn_learners.py [--episodes 200] [--quick]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.preprocessing import StandardScaler

from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.datasets import load_churn, load_school_math
from sklearn_meta.ensemble import (
    MixtureOfExpertsClassifier,
    MixtureOfExpertsRegressor,
    TaskEnsembleClassifier,
    TaskEnsembleRegressor,
)
from sklearn_meta.model_selection import evaluate_few_shot, task_train_test_split
from sklearn_meta.prior import MetaPriorLogisticRegression, MetaPriorRidge
from sklearn_meta.selection import AlgorithmSelector, HyperparameterWarmStart


def _standardised_split(data, seed, min_per_class=None):
    """Held-out tasks (test_size=0.25), features scaled on the training rows.

    With ``min_per_class``, held-out tasks with fewer rows of a class are
    dropped (a 5-shot episode needs 5 support rows and one query row).
    """
    X_tr, X_te, y_tr, y_te, g_tr, g_te = task_train_test_split(
        data.X, data.y, data.groups, test_size=0.25, random_state=seed)
    if min_per_class is not None:
        keep = [t for t in np.unique(g_te)
                if np.bincount(y_te[g_te == t], minlength=2).min() >= min_per_class]
        rows = np.isin(g_te, keep)
        X_te, y_te, g_te = X_te[rows], y_te[rows], g_te[rows]
    scaler = StandardScaler().fit(X_tr)
    return (scaler.transform(X_tr), y_tr, g_tr), (scaler.transform(X_te), y_te, g_te)


def _table(res, sign=1.0):
    lines = ["| estimator | shots | mean | 95% CI | fit (s) | adapt (ms/task) |",
             "| --- | ---: | ---: | --- | ---: | ---: |"]
    for r in res.itertuples():
        lo, hi = sorted((sign * r.ci_low, sign * r.ci_high))
        lines.append(f"| {r.estimator} | {r.n_shots} | {sign * r.mean:.3f} | "
                     f"[{lo:.3f}, {hi:.3f}] | {r.fit_time:.1f} | {1000 * r.adapt_time:.2f} |")
    return "\n".join(lines)


def churn(n_episodes, seed, scoring):
    train, test = _standardised_split(load_churn(as_frame=False), seed, min_per_class=6)
    estimators = {
        "PerTask(LogisticRegression)": PerTaskEstimator(LogisticRegression()),
        "Pooled(HistGradientBoosting)": PooledEstimator(HistGradientBoostingClassifier()),
        "TaskEnsembleClassifier": TaskEnsembleClassifier(),
        "MixtureOfExpertsClassifier": MixtureOfExpertsClassifier(n_experts=4),
        "MetaPriorLogisticRegression": MetaPriorLogisticRegression(),
        "MetaPriorLogisticRegression(diag)": MetaPriorLogisticRegression(covariance="diag"),
        "HyperparameterWarmStart(LR, C)": HyperparameterWarmStart(
            LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0]}),
        "AlgorithmSelector(LR, kNN, RF)": AlgorithmSelector(
            [LogisticRegression(), KNeighborsClassifier(3),
             RandomForestClassifier(n_estimators=100)]),
    }
    return evaluate_few_shot(estimators, train, test, n_shots=(1, 5),
                             n_episodes=n_episodes, scoring=scoring, random_state=seed)


def school(n_episodes, seed):
    train, test = _standardised_split(load_school_math(as_frame=False), seed)
    estimators = {
        "PerTask(Ridge)": PerTaskEstimator(Ridge()),
        "Pooled(HistGradientBoosting)": PooledEstimator(HistGradientBoostingRegressor()),
        "TaskEnsembleRegressor": TaskEnsembleRegressor(),
        "MixtureOfExpertsRegressor": MixtureOfExpertsRegressor(n_experts=4),
        "MetaPriorRidge": MetaPriorRidge(),
        "HyperparameterWarmStart(Ridge, alpha)": HyperparameterWarmStart(
            Ridge(), {"alpha": [0.1, 1.0, 10.0, 100.0, 1000.0]},
            scoring="neg_mean_squared_error"),
        "AlgorithmSelector(Ridge, kNN, RF)": AlgorithmSelector(
            [Ridge(), KNeighborsRegressor(3), RandomForestRegressor(n_estimators=100)],
            scoring="neg_mean_squared_error"),
    }
    return evaluate_few_shot(estimators, train, test, n_shots=(5, 10),
                             n_episodes=n_episodes, scoring="neg_mean_squared_error",
                             random_state=seed)


def adapt_latency(seed, repeats=2000):
    """Median time of ``adapt`` (public, validated) and of the core ``_adapt``."""
    train, test = _standardised_split(load_churn(as_frame=False), seed, min_per_class=6)
    X, y, g = test
    rows = np.flatnonzero(g == g[0])
    Xt, yt = X[rows], y[rows]
    s = np.r_[np.flatnonzero(yt == 0)[:5], np.flatnonzero(yt == 1)[:5]]
    out = []
    for name, est in [("MetaPriorLogisticRegression", MetaPriorLogisticRegression()),
                      ("MetaPriorRidge (churn features, 0/1 target)", MetaPriorRidge())]:
        est.fit(*train[:2], groups=train[2])
        Xs, ys = Xt[s], yt[s]
        codes = ys.astype(np.int64) if hasattr(est, "predict_proba") else ys.astype(float)
        times = {}
        for label, fn in [("adapt", lambda: est.adapt(Xs, ys)),
                          ("_adapt", lambda: est._adapt(Xs, codes, None))]:
            fn()
            t = np.empty(repeats)
            for i in range(repeats):
                t0 = time.perf_counter()
                fn()
                t[i] = time.perf_counter() - t0
            times[label] = 1e6 * np.median(t)
        out.append(f"| {name} | {len(s)} rows, {Xs.shape[1]} features | "
                   f"{times['adapt']:.0f} | {times['_adapt']:.0f} |")
    return "\n".join(["| learner | support | adapt (µs, median) | core _adapt (µs) |",
                      "| --- | --- | ---: | ---: |"] + out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["churn", "school", "latency"], default=None)
    parser.add_argument("--scoring", default="accuracy",
                        help="churn metric: accuracy or roc_auc (default accuracy)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.only in (None, "latency"):
        print("## Adaptation latency, 5-shot binary task (churn)\n")
        print(adapt_latency(args.seed), "\n", flush=True)
    if args.only in (None, "churn"):
        t = time.time()
        print(f"## Churn by state: {args.scoring}, held-out states, {args.episodes} "
              "episodes\n")
        print(_table(churn(args.episodes, args.seed, args.scoring)),
              f"\n\n({time.time() - t:.0f} s)\n", flush=True)
    if args.only in (None, "school"):
        t = time.time()
        print(f"## Maths achievement by school: MSE, held-out schools, {args.episodes} "
              "episodes\n")
        print(_table(school(args.episodes, args.seed), sign=-1.0),
              f"\n\n({time.time() - t:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
