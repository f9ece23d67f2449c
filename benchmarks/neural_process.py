"""NeuralProcessRegressor vs MAML and a per-task ridge: MSE with 95% CIs, adapt latency.

Two task families:

- sinusoid regression (``make_sinusoid_tasks``: amplitude 0.1-5, phase 0-pi, x in
  [-5, 5]); 400 training tasks, 100 held-out tasks;
- maths achievement by school (``load_school_math``, ``mlmRev::Hsb82``): one task per
  school, 75% of the schools for meta-training, 25% held out. Features and target are
  standardised with the training schools' rows; the MSE is reported in the original
  units (score points squared).

Every estimator sees the same episodes (``evaluate_few_shot``): ``n_shots`` support rows,
the rest of the task as query rows. ``adapt_time`` is seconds per task.

Run: ``python benchmarks/neural_process.py [--episodes 300] [--max-iter 3000]``
"""

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import load_school_math, make_sinusoid_tasks
from sklearn_meta.model_based import NeuralProcessRegressor
from sklearn_meta.model_selection import evaluate_few_shot, task_train_test_split


def _estimators(args):
    ests = {
        "NeuralProcessRegressor": NeuralProcessRegressor(
            max_iter=args.max_iter, tol=None, random_state=0
        ),
        "PerTaskEstimator(Ridge())": PerTaskEstimator(Ridge()),
    }
    try:
        from sklearn_meta.gradient import MAMLRegressor
    except ImportError:  # pragma: no cover - the gradient family is not installed
        print("MAMLRegressor not available: skipped")
    else:
        ests["MAMLRegressor"] = MAMLRegressor(
            max_iter=args.max_iter, tol=None, random_state=0
        )
    return ests


def _report(res, name, scale=1.0):
    res = res.copy()
    res.attrs = {}  # per-episode scores: not needed, and they break pd.concat
    for c in ("mean", "ci_low", "ci_high", "std"):
        res[c] = -res[c] * scale  # neg_mean_squared_error -> MSE (original units)
    res = res.rename(columns={"ci_low": "ci_high", "ci_high": "ci_low"})
    res.insert(0, "dataset", name)
    return res


def sinusoid(args):
    data = make_sinusoid_tasks(n_tasks=500, n_samples_per_task=30, random_state=0)
    res = evaluate_few_shot(
        _estimators(args), data.tasks[:400], data.tasks[400:], n_shots=(5, 10),
        n_episodes=args.episodes, scoring="neg_mean_squared_error", random_state=0,
    )
    return _report(res, "sinusoid")


def school(args):
    data = load_school_math(as_frame=False)
    X_tr, X_te, y_tr, y_te, g_tr, g_te = task_train_test_split(
        data.X, data.y, data.groups, test_size=0.25, random_state=0
    )
    xs = StandardScaler().fit(X_tr)
    mu, sd = float(np.mean(y_tr)), float(np.std(y_tr))
    res = evaluate_few_shot(
        _estimators(args), (xs.transform(X_tr), (y_tr - mu) / sd, g_tr),
        (xs.transform(X_te), (y_te - mu) / sd, g_te), n_shots=(5, 10),
        n_episodes=args.episodes, scoring="neg_mean_squared_error", random_state=0,
    )
    return _report(res, f"school maths ({len(np.unique(g_te))} held-out schools)", sd**2)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--max-iter", type=int, default=3000)
    parser.add_argument("--only", choices=["sinusoid", "school"], default=None)
    args = parser.parse_args()
    tic = time.perf_counter()
    frames = []
    if args.only in (None, "sinusoid"):
        frames.append(sinusoid(args))
    if args.only in (None, "school"):
        frames.append(school(args))
    res = pd.concat(frames, ignore_index=True)
    res["adapt_ms"] = 1000 * res["adapt_time"]
    cols = ["dataset", "estimator", "n_shots", "mean", "ci_low", "ci_high", "fit_time",
            "adapt_ms"]
    with pd.option_context("display.width", 200):
        print("mean = MSE over episodes (lower is better); 95% t-interval")
        print(res[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"total {time.perf_counter() - tic:.0f} s")


if __name__ == "__main__":
    main()
