"""Meta-training support protocol (issue 11): ``support="per_class"`` against ``"random"``.

On the bundled churn tasks (shared labels, binary; the CLI's split: 35 meta-training
states, 16 held out, seed 0) every episodic classifier of the default leaderboard is
meta-trained twice, with N-way K-shot sized support sets (``"per_class"``:
``n_shots * 2`` rows) and with ``n_shots`` random rows (``"random"``), then both are
evaluated on the SAME episodes with random support sets of ``k`` rows (the CLI's
default, what a new site has). The table gives the ROC AUC, its 95% CI (bootstrap over
the held-out tasks) and the paired difference random - per_class with its CI.

Regression is not run: both protocols draw ``n_shots`` random rows there.

Run: ``python benchmarks/support_protocol.py [--episodes 60] [--seeds 0 1]``
"""

import argparse
import time
import types
import warnings

import torch

from sklearn_meta.cli import _benchmark, _data, _learners
from sklearn_meta.model_selection import evaluate_few_shot


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", nargs="+", default=["maml", "protonet", "neural-process"])
    parser.add_argument("--shots", nargs="+", type=int, default=[1, 5, 10])
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    args = parser.parse_args()
    torch.set_num_threads(1)
    none = types.SimpleNamespace(data=None, target=None, group=None, task_type=None)
    ds = _data.check_tasks(_benchmark.load_dataset(none), test_size=0.3)
    train, test = _benchmark._split(ds, 0.3, 0)
    pre = _data.make_preprocessor(ds)
    print("learner         seed shots  per_class AUC [95% CI]   random AUC [95% CI]      "
          "random - per_class [95% CI]  tasks episodes")
    for seed in args.seeds:
        for name in args.learners:
            est = _learners.make_learner(_learners._BY_NAME[name], "classification",
                                         random_state=seed, scoring="roc_auc")
            models = {s: _benchmark._make_model(pre, est.__class__(
                **{**est.get_params(deep=False), "support": s}))
                for s in ("per_class", "random")}
            for k in args.shots:
                tic = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = evaluate_few_shot(models, train, test, n_shots=[k],
                                            n_episodes=args.episodes, scoring="roc_auc",
                                            support="random", random_state=seed,
                                            reference="per_class")
                pc, rd = (res[res.estimator == s].iloc[0] for s in ("per_class", "random"))
                print(f"{name:15s} {seed:4d} {k:5d}  {pc['mean']:.3f} [{pc.ci_low:.3f}, "
                      f"{pc.ci_high:.3f}]     {rd['mean']:.3f} [{rd.ci_low:.3f}, "
                      f"{rd.ci_high:.3f}]     {rd['diff']:+.3f} [{rd.diff_low:+.3f}, "
                      f"{rd.diff_high:+.3f}]      {rd.n_tasks:5d} {rd.n_episodes:8d}"
                      f"   ({time.perf_counter() - tic:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
