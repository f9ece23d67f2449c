"""Continual meta-learning on a drifting stream of task families, with and without replay.

The stream: ``--families`` task families, each from ``make_classification_tasks`` with
its own random informative subspace (3-way tasks with per-task labels, 20 features,
2 informative directions), arriving one after the other in ``--batches`` batches of
``--tasks`` tasks. A learner calls ``partial_fit`` on every batch. After the stream ends
we score it (5-shot episodic accuracy, ``score``) on held-out tasks of every family,
above all the earliest one, which a learner without replay tends to forget. Reported:
mean over ``--seeds`` streams (each seed: new families, new network) and a 95%
t-interval over seeds.

Compared: ``replay_buffer_size=0`` (no replay) against a replay buffer of 60 tasks with
``replay_ratio=0.5``, and the same learner fitted on all training tasks at once (joint
training, an upper reference).

``--learner maml`` runs the same stream with ``MAMLClassifier`` (second order, its
defaults) instead of ``ProtoNetClassifier``.

Run: ``python benchmarks/replay.py [--seeds 5] [--learner protonet|maml]``
"""

import argparse
import time

import numpy as np
from scipy import stats
from sklearn.base import clone

from sklearn_meta.datasets import make_classification_tasks
from sklearn_meta.gradient import MAMLClassifier
from sklearn_meta.metric import ProtoNetClassifier

LEARNERS = {"protonet": ProtoNetClassifier, "maml": MAMLClassifier}
from sklearn_meta.tasks import as_task_arrays


def _score(est, tasks):
    X, y, groups = as_task_arrays(tasks)
    return est.score(X, y, groups=groups)


def one_stream(seed, args):
    n_train = args.batches * args.tasks
    fams = [
        make_classification_tasks(
            n_tasks=n_train + 30, n_classes=3, n_features=20, n_informative=2,
            n_samples_per_task=30, per_task_labels=True, random_state=1000 * seed + f,
        ).tasks
        for f in range(args.families)
    ]
    base = LEARNERS[args.learner](n_shots=5, max_iter=args.max_iter, tol=None,
                                  random_state=seed)
    out = {}
    for name, size in (("no replay", 0), ("replay (60 tasks)", 60)):
        est = clone(base).set_params(replay_buffer_size=size, replay_ratio=0.5)
        for fam in fams:
            for b in range(args.batches):
                est.partial_fit(fam[b * args.tasks:(b + 1) * args.tasks])
        out[name] = [_score(est, fam[n_train:]) for fam in fams]
    joint = clone(base).set_params(
        max_iter=args.max_iter * args.batches * args.families
    ).fit([t for fam in fams for t in fam[:n_train]])
    out["joint (all tasks at once)"] = [_score(joint, fam[n_train:]) for fam in fams]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--families", type=int, default=4)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--max-iter", type=int, default=150)
    parser.add_argument("--learner", choices=sorted(LEARNERS), default="protonet")
    args = parser.parse_args()
    tic = time.perf_counter()
    runs = [one_stream(seed, args) for seed in range(args.seeds)]
    print(f"{args.learner}: {args.families} families x {args.batches} batches x {args.tasks} tasks, "
          f"{args.max_iter} meta-iterations per partial_fit, {args.seeds} seeds")
    print("5-shot 3-way accuracy on held-out tasks of each family after the stream "
          "(mean [95% CI over seeds])")
    header = "".join(f"{'family ' + str(f + 1):>24}" for f in range(args.families))
    print(f"{'':28}{header}")
    for name in runs[0]:
        scores = np.array([r[name] for r in runs])  # (seeds, families)
        cells = []
        for f in range(args.families):
            m = scores[:, f].mean()
            h = (stats.t.ppf(0.975, len(scores) - 1) * scores[:, f].std(ddof=1)
                 / np.sqrt(len(scores))) if len(scores) > 1 else 0.0
            cells.append(f"{m:.3f} [{m - h:.3f}, {m + h:.3f}]".rjust(24))
        print(f"{name:28}" + "".join(cells))
    print(f"total {time.perf_counter() - tic:.0f} s")


if __name__ == "__main__":
    main()
