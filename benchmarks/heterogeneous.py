"""Tasks with different columns (issue 14): the heterogeneous neural process against
the per-task model and the pooled gradient-boosting model on the union of the columns.

    python benchmarks/heterogeneous.py [--quick] [--write] [--variants]

The learner is run with its default, ``base_estimator="auto"`` (the network alone or
over the pooled HistGradientBoosting model, chosen inside ``fit`` on held-out training
tasks); ``--variants`` adds the two explicit settings. ``--write`` writes the session-5
subsection of the issue-14 section of RESULTS.md (earlier subsections are kept).

Four experiments, each on held-out tasks, every learner scored on the same episodes:

1. synthetic classification (:func:`make_heterogeneous_tasks`): 300 meta-training tasks,
   100 held-out tasks;
2. synthetic regression (same family, ``task_type="regression"``);
3. columns never seen in training: meta-training tasks lose the columns f08..f11, the
   held-out tasks are those whose label is driven by one of these columns;
4. the bundled churn data made heterogeneous (:func:`load_heterogeneous_churn`: every
   state keeps a random subset of 8-16 of the 20 columns); 4 folds over the 51 states
   (GroupKFold), so that every state is held out once.

A k-shot episode: k rows drawn at random from a held-out task as the support set (not
k per class: a support set as a user has it), the other rows of the task as the query
set. Per task, the score is the mean over its episodes; the figures are means over
tasks with 95% bootstrap intervals over tasks (2000 resamples), and the paired
difference to the best baseline (same tasks, same episodes).

Baselines: the per-task model (StandardScaler + LogisticRegression / Ridge fitted on the
support rows alone, on the task's own columns; a one-class support set predicts its
class); the pooled HistGradientBoosting model fitted on all meta-training rows on the
union of the columns (NaN where a task lacks a column), and, on churn (where the pooled
model is the one to beat; about 1 s per adapt), the same refitted with the support rows
added five times (``PooledEstimator(refit=True, support_weight=5)``).
"""

import argparse
import re
import time
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_meta.baselines import PooledEstimator
from sklearn_meta.datasets import load_heterogeneous_churn, make_heterogeneous_tasks
from sklearn_meta.model_based import (
    HeterogeneousNeuralProcessClassifier,
    HeterogeneousNeuralProcessRegressor,
)

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Tasks with different columns (issue 14)"
SUBSECTION = '### Session 5: the default base_estimator="auto"'


def _choices_line(title, choices):
    if not choices:
        return f"{title}: no choice made (the explicit settings only)."
    picked = [c["chosen"] for c in choices]
    detail = "; ".join(
        f"{c['chosen']} (held-out plain {c['plain']:.3f}, residual {c['residual']:.3f}, "
        f"se {c['se']:.3f}, {c['n_tasks']} tasks)" for c in choices)
    return (f"{title}: auto chose {picked.count('residual')} x residual, "
            f"{picked.count('plain')} x plain: {detail}.")


def bootstrap_ci(values, rng, n_boot=2000):
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    means = values[idx].mean(axis=1)
    return float(values.mean()), float(np.quantile(means, 0.025)), float(
        np.quantile(means, 0.975))


class _PerTask:
    """The per-task model on the support set's own columns."""

    def __init__(self, classification):
        self.classification = classification

    def fit(self, train):
        return self

    def adapt(self, X, y):
        if self.classification and len(np.unique(y)) < 2:
            self.model_ = ("constant", y[0])
            return self
        inner = LogisticRegression() if self.classification else Ridge()
        self.model_ = clone(make_pipeline(StandardScaler(), inner)).fit(X.to_numpy(), y)
        return self

    def predict(self, X):
        if isinstance(self.model_, tuple):
            return np.full(len(X), self.model_[1])
        return self.model_.predict(X.to_numpy())

    def predict_proba(self, X):
        if isinstance(self.model_, tuple):
            return np.ones((len(X), 1))
        return self.model_.predict_proba(X.to_numpy())

    @property
    def classes_(self):
        if isinstance(self.model_, tuple):
            return np.array([self.model_[1]])
        return self.model_.classes_


class _Union:
    """A sklearn-meta learner fed the union of the training columns (pooled models)."""

    def __init__(self, est):
        self.est = est

    def fit(self, train):
        self.est.fit(train)
        self.cols = self.est.feature_names_in_
        return self

    def adapt(self, X, y):
        self.est.adapt(X.reindex(columns=self.cols), y)
        return self

    def predict(self, X):
        return self.est.predict(X.reindex(columns=self.cols))

    def predict_proba(self, X):
        return self.est.predict_proba(X.reindex(columns=self.cols))

    @property
    def classes_(self):
        return self.est.classes_


def evaluate(learners, train, test, shots, n_episodes, classification, seed, auc=False,
             choices=None):
    """Per-task scores {learner: {k: array(n_tasks)}} and adapt times (s per adapt).

    ``auc``: also the query ROC AUC (second scores dict; NaN for a task whose query
    rows are all of one class in every episode). ``choices``: a list that receives the
    ``base_selection_`` of every fitted learner that has one.
    """
    fitted, fit_time = {}, {}
    for name, make in learners.items():
        t0 = time.perf_counter()
        fitted[name] = make().fit(train)
        fit_time[name] = time.perf_counter() - t0
        if choices is not None and getattr(fitted[name], "base_selection_", None):
            choices.append(fitted[name].base_selection_)
    rng = np.random.default_rng(seed)
    scores = {n: {k: [] for k in shots} for n in learners}
    aucs = {n: {k: [] for k in shots} for n in learners}
    adapt_time = {n: [] for n in learners}
    for X, y in test:
        y = np.asarray(y)
        for k in shots:
            per = {n: [] for n in learners}
            per_auc = {n: [] for n in learners}
            for _ in range(n_episodes):
                idx = rng.permutation(len(y))
                s, q = idx[:k], idx[k:]
                for n, est in fitted.items():
                    t0 = time.perf_counter()
                    est.adapt(X.iloc[s], y[s])
                    adapt_time[n].append(time.perf_counter() - t0)
                    pred = est.predict(X.iloc[q])
                    if classification:
                        per[n].append(np.mean(pred == y[q]))
                        if auc and len(np.unique(y[q])) == 2:
                            per_auc[n].append(roc_auc_score(
                                y[q], _positive_proba(est, X.iloc[q])))
                    else:
                        per[n].append(np.mean((pred - y[q]) ** 2))
            for n in learners:
                scores[n][k].append(np.mean(per[n]))
                aucs[n][k].append(np.mean(per_auc[n]) if per_auc[n] else np.nan)
    times = {n: float(np.mean(v)) for n, v in adapt_time.items()}
    if auc:
        return scores, fit_time, times, aucs
    return scores, fit_time, times


def _positive_proba(est, X):
    """Probability of the positive class (1); 0/1 for a one-class support set."""
    proba = est.predict_proba(X)
    classes = list(est.classes_)
    if 1 in classes:
        return proba[:, classes.index(1)]
    return np.zeros(len(X))


OURS = ("HeterogeneousNP (default: auto)", "HeterogeneousNP (base_estimator=None)",
        "HeterogeneousNP + HGB residual")


def table(title, scores, fit_time, adapt_time, shots, n_tasks, metric, higher, rng,
          ours=OURS):
    lines = [f"#### {title}", "",
             f"{n_tasks} held-out tasks; {metric} ({'higher' if higher else 'lower'} is "
             "better), mean over tasks with a 95% bootstrap CI over tasks; the last "
             "column is the paired difference to the best baseline at that shot count.",
             "",
             "| learner | k (support rows) | " + metric + " (95% CI) | vs best baseline "
             "(95% CI) | fit s | adapt ms |",
             "| --- | ---: | --- | --- | ---: | ---: |"]
    for k in shots:
        means = {n: np.mean(v[k]) for n, v in scores.items()}
        base = [n for n in scores if n not in ours]
        best = (max if higher else min)(base, key=lambda n: means[n])
        for n in scores:
            m, lo, hi = bootstrap_ci(scores[n][k], rng)
            if n in ours:
                d = np.asarray(scores[n][k]) - np.asarray(scores[best][k])
                dm, dlo, dhi = bootstrap_ci(d, rng)
                diff = f"{dm:+.3f} [{dlo:+.3f}, {dhi:+.3f}] vs {best}"
            else:
                diff = ""
            lines.append(f"| {n} | {k} | {m:.3f} [{lo:.3f}, {hi:.3f}] | {diff} | "
                         f"{fit_time[n]:.1f} | {1000 * adapt_time[n]:.2f} |")
    return lines


def _learners(classification, hnp_params, refit=True, variants=False):
    if classification:
        hgb = HistGradientBoostingClassifier
        hnp = HeterogeneousNeuralProcessClassifier
    else:
        hgb = HistGradientBoostingRegressor
        hnp = HeterogeneousNeuralProcessRegressor
    learners = {"HeterogeneousNP (default: auto)": lambda: hnp(**hnp_params)}
    if variants:
        learners["HeterogeneousNP (base_estimator=None)"] = lambda: hnp(
            **hnp_params, base_estimator=None)
        learners["HeterogeneousNP + HGB residual"] = lambda: hnp(
            **hnp_params, base_estimator=hgb())
    learners.update({
        "PerTask(Logistic/Ridge)": lambda: _PerTask(classification),
        "Pooled(HGB, union)": lambda: _Union(PooledEstimator(hgb())),
    })
    if refit:  # about 1 s per adapt: only where the pooled model is the one to beat
        learners["Pooled(HGB, union) + support refit"] = lambda: _Union(
            PooledEstimator(hgb(), refit=True, support_weight=5))
    return learners


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (minutes)")
    parser.add_argument("--write", action="store_true", help="write RESULTS.md")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--max-iter", type=int, default=2000)
    parser.add_argument("--test-tasks", type=int, default=100)
    parser.add_argument("--variants", action="store_true",
                        help="also the explicit base_estimator=None and HGB settings")
    args = parser.parse_args(argv)
    V = args.variants
    q = args.quick
    n_train, n_test = (60, 20) if q else (300, args.test_tasks)
    iters = 200 if q else args.max_iter
    shots = (5, 10)
    rng = np.random.default_rng(args.seed)
    out = [SUBSECTION, "",
           f"`python benchmarks/heterogeneous.py{' --quick' if q else ''} --write "
           f"--max-iter {args.max_iter} --test-tasks {args.test_tasks} --episodes "
           f"{args.episodes}{' --variants' if V else ''}` (seed {args.seed}; "
           "meta-iterations: max-iter on the "
           "synthetic family, half of it per churn fold). "
           "Support sets are k random rows of a held-out task (not k per class); "
           "query: the rest of the task. See the script's docstring for the baselines.",
           ""]
    t_start = time.time()
    chosen = []
    common = dict(max_iter=iters, tol=None, meta_lr=2e-3, random_state=args.seed,
                  device="cpu")

    # 1-2. synthetic family
    for task_type, metric, higher in (("classification", "accuracy", True),
                                      ("regression", "MSE", False)):
        data = make_heterogeneous_tasks(n_tasks=n_train + n_test, n_samples_per_task=40,
                                        task_type=task_type, random_state=args.seed)
        cls = task_type == "classification"
        params = dict(common, n_shots=5 if cls else 10)
        picks = []
        res = evaluate(_learners(cls, params, refit=False, variants=V),
                       data.tasks[:n_train], data.tasks[n_train:],
                       shots, args.episodes, cls, args.seed, choices=picks)
        chosen.append(_choices_line(f"Synthetic {task_type}", picks))
        out += table(f"Synthetic {task_type} (make_heterogeneous_tasks, 40 rows per task, "
                     f"{n_train} meta-training tasks)", *res, shots, n_test, metric,
                     higher, rng)
        out.append("")
        print("\n".join(out[-12:]), flush=True)

    # 3. columns never seen in training
    unseen = ["f08", "f09", "f10", "f11"]
    data = make_heterogeneous_tasks(n_tasks=4 * (n_train + n_test), n_samples_per_task=40,
                                    random_state=args.seed + 1)
    driven = np.isin(data.relevant, unseen)
    train = [(X.drop(columns=unseen, errors="ignore"), y)
             for (X, y), d in zip(data.tasks, driven) if not d][:n_train]
    test = [t for t, d in zip(data.tasks, driven) if d][:n_test]
    picks = []
    res = evaluate(_learners(True, dict(common, n_shots=5), refit=False, variants=V), train,
                   test, shots, args.episodes, True, args.seed, choices=picks)
    chosen.append(_choices_line("Columns never seen in training", picks))
    out += table("Columns never seen in training (synthetic classification: meta-training "
                 "tasks without f08..f11; every held-out task's label is driven by one of "
                 "them)", *res, shots, len(test), "accuracy", True, rng)
    out.append("")
    print("\n".join(out[-12:]), flush=True)

    # 4. churn made heterogeneous, 4 folds over the states
    churn = load_heterogeneous_churn(random_state=args.seed)
    states = np.arange(len(churn.tasks))
    folds = GroupKFold(n_splits=4).split(states, groups=states)
    all_scores, all_auc, fit_t, adapt_t, picks = None, None, {}, {}, []
    for tr, te in folds:
        train = [churn.tasks[i] for i in tr]
        test = [churn.tasks[i] for i in te]
        params = dict(common, n_shots=5, max_iter=iters // 2, embedding_dim=32,
                      hidden_layer_sizes=(64,))
        s, f, a, u = evaluate(_learners(True, params, variants=V), train, test, shots,
                              args.episodes, True, args.seed, auc=True, choices=picks)
        if all_scores is None:
            all_scores, all_auc = s, u
        else:
            for n in s:
                for k in shots:
                    all_scores[n][k] += s[n][k]
                    all_auc[n][k] += u[n][k]
        for n in f:
            fit_t[n] = fit_t.get(n, 0) + f[n] / 4
            adapt_t[n] = adapt_t.get(n, 0) + a[n] / 4
    title = ("Churn by state made heterogeneous (load_heterogeneous_churn: 8-16 of the "
             "20 columns per state; 4 folds over the 51 states, 38 meta-training states "
             "per fold; fit s is per fold)")
    out += table(title, all_scores, fit_t, adapt_t, shots, len(churn.tasks), "accuracy",
                 True, rng)
    out.append("")
    n_auc = min(int(np.sum(~np.isnan(v[k]))) for v in all_auc.values() for k in shots)
    out += table(title.replace("(load_", "ROC AUC (load_"), all_auc, fit_t, adapt_t, shots,
                 n_auc, "ROC AUC", True, rng)
    out.append("")
    chosen.append(_choices_line("Churn (one fit per fold)", picks))
    out += ["What base_estimator='auto' chose (inside fit, on held-out training tasks):", ""]
    out += [f"- {line}" for line in chosen]
    out.append("")
    out.append(f"Total run time {time.time() - t_start:.0f} s.")
    text = "\n".join(out) + "\n"
    print(text)
    if args.write:
        _write(text)


def _write(text):
    """Put ``text`` as the session-5 subsection at the end of the issue-14 section
    (replacing an earlier session-5 subsection; the other subsections stay)."""
    old = RESULTS.read_text()
    if SECTION not in old:
        old = old.rstrip("\n") + "\n\n" + SECTION + "\n"
    start = old.index(SECTION)
    nxt = re.compile(r"^## ", re.M).search(old, start + len(SECTION))
    end = nxt.start() if nxt else len(old)
    section = old[start:end]
    if SUBSECTION in section:
        section = section[:section.index(SUBSECTION)]
    section = section.rstrip("\n") + "\n\n" + text + "\n"
    RESULTS.write_text(old[:start] + section + old[end:])


if __name__ == "__main__":
    main()
