"""Residual mode (``base_estimator``) of MAMLClassifier against plain MAML, synthetic family.

    python benchmarks/residual_offsets.py [--seed 0]

Tasks share a nonlinear ``f(x)`` (``sin(2 x0) + x1**2 - 1 + 0.5 x2``) and differ by an
intercept and a scale of it (logit ``a_t + 2 (1 + s_t) f``); 40 training and 20 held-out
tasks of 50 rows. Every held-out task is adapted to its first 10 rows and scored (log
loss) on the other 40. Reported: the mean query log loss over the 20 held-out tasks, the
base model's own log loss on the held-out rows and the size of its logits (the offsets
the network corrects). One seed: indicative, not a benchmark with CIs.
"""

import argparse
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from sklearn_meta.baselines import PooledEstimator
from sklearn_meta.gradient import MAMLClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    T, n = 60, 50
    groups = np.repeat(np.arange(T), n)
    X = rng.normal(size=(T * n, 3))
    f = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 - 1 + 0.5 * X[:, 2]
    a, s = rng.normal(size=T), 0.4 * rng.normal(size=T)
    eta = a[groups] + (1 + s[groups]) * 2 * f
    y = (rng.uniform(size=T * n) < 1 / (1 + np.exp(-eta))).astype(int)
    train = groups < 40
    st = dict(hidden_layer_sizes=(32, 32), max_iter=300, meta_batch_size=8, inner_steps=1,
              random_state=args.seed)
    hgb = HistGradientBoostingClassifier
    models = {
        "MAML": MAMLClassifier(**st),
        "MAML + HGB()": MAMLClassifier(base_estimator=hgb(), **st),
        "MAML + HGB(max_iter=30, max_depth=3)": MAMLClassifier(
            base_estimator=hgb(max_iter=30, max_depth=3), **st),
        "MAML + HGB(early_stopping=True)": MAMLClassifier(
            base_estimator=hgb(early_stopping=True), **st),
        "MAML + LogisticRegression()": MAMLClassifier(base_estimator=LogisticRegression(),
                                                      **st),
        "pooled HGB()": PooledEstimator(hgb()),
    }
    print("| learner | query log loss | base model alone | base logits: 99th pct of abs | fit s |")
    print("| --- | --- | --- | --- | --- |")
    for name, est in models.items():
        tic = time.perf_counter()
        est.fit(X[train], y[train], groups=groups[train])
        fit = time.perf_counter() - tic
        ll = []
        for t in range(40, 60):
            Xt, yt = X[groups == t], y[groups == t]
            p = np.clip(est.adapt(Xt[:10], yt[:10]).predict_proba(Xt[10:]), 1e-6, 1)
            ll.append(log_loss(yt[10:], p, labels=[0, 1]))
        base = alone = "-"
        if getattr(est, "base_estimator", None) is not None:
            proba = np.clip(est.base_estimator_.predict_proba(X[~train]), 1e-9, 1)
            alone = f"{log_loss(y[~train], proba):.4f}"
            base = f"{np.percentile(np.abs(np.log(proba[:, 1] / proba[:, 0])), 99):.1f}"
        print(f"| {name} | {np.mean(ll):.4f} | {alone} | {base} | {fit:.1f} |", flush=True)


if __name__ == "__main__":
    main()
