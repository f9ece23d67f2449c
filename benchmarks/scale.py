"""Scale cases: 10,000 tasks of 4 rows, and one task of 100,000 rows, for every estimator.

Every public estimator (found by :func:`sklearn_meta.utils.discovery.all_estimators`;
wrappers of a scikit-learn estimator as a classifier around ``LogisticRegression`` and a
regressor around ``Ridge``) is timed on two synthetic tables with 5 features:

- ``many``: ``--n-tasks`` (10,000) tasks of 4 rows each (binary labels 0/1/0/1 per task
  for classifiers, so every task holds both classes);
- ``big``: one task of ``--big-rows`` (100,000) rows.

For each: ``fit`` time, then ``adapt`` on 4 rows and ``predict`` on 1,000 rows (the
median of 5 adapt+predict calls), and whether the predictions are finite. The torch
learners run ``--max-iter`` (20) meta-iterations: this measures how the data size
costs, not training quality. On the ``many`` table ``n_shots=1`` (a 4-row task holds
one support row per class and query rows). Settings that are not defaults are in the
``settings`` column. The estimators run one after the other in this process (one core unless
``--n-jobs``); an error is reported in the table and the run goes on.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/scale.py                      # all, both tables
    OMP_NUM_THREADS=1 python benchmarks/scale.py --only HyperparameterWarmStart --n-jobs 2
    OMP_NUM_THREADS=1 python benchmarks/scale.py --time-cap 180 --cases many   # capped

``--time-cap`` stops an estimator's run on one table after that many seconds (SIGALRM;
Unix) and reports it as over the cap.
"""

import argparse
import inspect
import signal
import statistics
import time
import warnings

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.linear_model import LogisticRegression, Ridge

from sklearn_meta.utils.discovery import all_estimators

_REQUIRED = {
    "estimator": {"clf": LogisticRegression(), "reg": Ridge()},
    "estimators": {"clf": [LogisticRegression(), LogisticRegression(C=0.01)],
                   "reg": [Ridge(), Ridge(alpha=100.0)]},
    "param_grid": {"clf": {"C": [0.01, 1.0, 100.0]}, "reg": {"alpha": [0.1, 1.0, 10.0]}},
}


def _instances(max_iter, n_jobs, only):
    for name, cls in all_estimators():
        if only and not any(o in name for o in only):
            continue
        params = inspect.signature(cls).parameters
        required = [p for p, v in params.items() if v.default is inspect.Parameter.empty
                    and v.kind in (v.KEYWORD_ONLY, v.POSITIONAL_OR_KEYWORD)]
        for kind in (["clf", "reg"] if required else [None]):
            est = cls(**{p: clone(_REQUIRED[p][kind]) if hasattr(_REQUIRED[p][kind], "fit")
                         else _REQUIRED[p][kind] for p in required})
            settings = {"random_state": 0}
            if "max_iter" in params and "meta_lr" in params:  # torch learners
                settings["max_iter"] = max_iter
            if "n_jobs" in params and n_jobs:
                settings["n_jobs"] = n_jobs
            est.set_params(**settings)
            label = name + (f"({type(_REQUIRED['estimator'][kind]).__name__})" if kind else "")
            yield label, est, {k: v for k, v in settings.items() if k != "random_state"}


def _table(classifier, n_tasks, n_rows, seed=0):
    rng = np.random.default_rng(seed)
    n = n_tasks * n_rows
    X = rng.normal(size=(n, 5))
    groups = np.repeat(np.arange(n_tasks), n_rows)
    w = rng.normal(size=(n_tasks, 5))[groups]
    score = (X * w).sum(axis=1)
    if classifier:
        y = np.tile([0, 1], n // 2 + 1)[:n]
        X[:, 0] += 2.0 * y - 1.0
    else:
        y = score + 0.1 * rng.normal(size=n)
    return X, y, groups


class _TimeCap(Exception):
    pass


def _on_alarm(signum, frame):
    raise _TimeCap


def _run(est, X, y, groups, X_query, cap=None):
    if cap:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, cap)
    try:
        return _timed(est, X, y, groups, X_query)
    finally:
        if cap:
            signal.setitimer(signal.ITIMER_REAL, 0)


def _timed(est, X, y, groups, X_query):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        est.fit(X, y, groups=groups)
        fit_time = time.perf_counter() - t0
        times, pred = [], None
        for _ in range(5):
            t0 = time.perf_counter()
            pred = est.adapt(X[:4], y[:4]).predict(X_query)
            times.append(time.perf_counter() - t0)
    finite = bool(np.all(np.isfinite(np.asarray(pred, dtype=float))))
    return fit_time, statistics.median(times), finite


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-tasks", type=int, default=10_000)
    parser.add_argument("--big-rows", type=int, default=100_000)
    parser.add_argument("--max-iter", type=int, default=20)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--only", nargs="*", default=None, help="substrings of names")
    parser.add_argument("--time-cap", type=float, default=None,
                        help="seconds per estimator and table (fit + adapt + predict); "
                             "a run over it is reported as 'over the cap'")
    parser.add_argument("--cases", nargs="*", default=["many", "big"],
                        choices=["many", "big"])
    args = parser.parse_args(argv)

    cases = {"many": (args.n_tasks, 4), "big": (1, args.big_rows)}
    print("| estimator | settings | table | fit (s) | adapt 4 rows + predict 1,000 (ms) "
          "| finite |")
    print("| --- | --- | --- | ---: | ---: | --- |")
    total = time.perf_counter()
    for label, est, settings in _instances(args.max_iter, args.n_jobs, args.only):
        for case in args.cases:
            n_tasks, n_rows = cases[case]
            X, y, groups = _table(is_classifier(est), n_tasks, n_rows)
            desc = (f"{n_tasks:,} tasks x {n_rows} rows" if case == "many"
                    else f"1 task x {n_rows:,} rows")
            run = clone(est)
            shots = {}
            if case == "many" and "n_shots" in run.get_params():
                shots = {"n_shots": 1}  # 4-row tasks: 1 shot per class and a query row
                run.set_params(**shots)
            shown = {**settings, **shots} or ""
            try:
                fit_time, adapt_time, finite = _run(run, X, y, groups, X[:1000],
                                                    args.time_cap)
            except _TimeCap:
                print(f"| {label} | {shown} | {desc} | over the cap of {args.time_cap:.0f} s "
                      "| | |", flush=True)
                continue
            except Exception as exc:  # report, keep going
                print(f"| {label} | {shown} | {desc} | error: "
                      f"{type(exc).__name__}: {str(exc)[:80]} | | |", flush=True)
                continue
            print(f"| {label} | {shown} | {desc} | {fit_time:.2f} | "
                  f"{1000 * adapt_time:.1f} | {'yes' if finite else 'NO'} |", flush=True)
    print(f"\ntotal {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
