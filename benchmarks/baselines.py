"""Few-shot baselines on churn by state (held-out states).

    python benchmarks/baselines.py [--episodes 300] [--seed 0]

Meta-trains on 75% of the US states of modeldata's ``mlc_churn`` (bundled in
the package) and evaluates on episodes drawn from the held-out states at 1
and 5 shots per class (a support set of k churners and k non-churners; the
query set is the rest of the state). Held-out states with fewer than 6 rows
of a class cannot give 5-shot episodes and are left out of the evaluation.
Prints mean accuracy and ROC AUC with 95% confidence intervals.
"""

import argparse

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.datasets import load_churn
from sklearn_meta.model_selection import evaluate_few_shot, task_train_test_split
from sklearn_meta.pipeline import make_pipeline


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    data = load_churn(as_frame=False)
    X, y, g = data.X, data.y, data.groups
    Xtr, Xte, ytr, yte, gtr, gte = task_train_test_split(X, y, g, test_size=0.25,
                                                         random_state=args.seed)
    # keep held-out states that can give 5-shot episodes (>= 6 rows per class)
    counts = {t: np.bincount(yte[gte == t], minlength=2) for t in np.unique(gte)}
    keep = np.isin(gte, [t for t, c in counts.items() if c.min() >= 6])
    Xte, yte, gte = Xte[keep], yte[keep], gte[keep]
    print(f"{len(np.unique(gtr))} meta-training states, {len(np.unique(gte))} held-out states "
          f"usable at 5 shots (of {len(counts)})")

    estimators = {
        "PerTask(LogisticRegression)": make_pipeline(
            StandardScaler(), PerTaskEstimator(LogisticRegression(max_iter=1000))),
        "Pooled(HistGradientBoosting)": PooledEstimator(HistGradientBoostingClassifier()),
        "Pooled(LogisticRegression)": make_pipeline(
            StandardScaler(), PooledEstimator(LogisticRegression(max_iter=1000))),
    }
    for scoring in ("accuracy", "roc_auc"):
        res = evaluate_few_shot(estimators, (Xtr, ytr, gtr), (Xte, yte, gte), n_shots=(1, 5),
                                n_episodes=args.episodes, scoring=scoring,
                                random_state=args.seed)
        print(f"\n{scoring}, {args.episodes} episodes per shot count, 95% t-intervals")
        print(f"{'estimator':32s} {'shots':>5s} {'mean':>7s} {'95% CI':>17s} "
              f"{'fit s':>7s} {'adapt ms':>9s}")
        for r in res.sort_values(["n_shots", "mean"], ascending=[True, False]).itertuples():
            print(f"{r.estimator:32s} {r.n_shots:5d} {r.mean:7.3f} "
                  f"[{r.ci_low:6.3f}, {r.ci_high:6.3f}] {r.fit_time:7.2f} "
                  f"{1000 * r.adapt_time:9.2f}")


if __name__ == "__main__":
    main()
