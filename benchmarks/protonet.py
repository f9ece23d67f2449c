"""ProtoNetClassifier on N-way K-shot tabular benchmarks with held-out classes.

Flavia leaves (32 species, per-species botanical columns dropped by the loader as label
leaks): 5-way episodes of held-out species; scikit-learn digits: 4-way episodes of
held-out digits. Both are class-disjoint: no test class is seen in meta-training.
Baselines: nearest centroid (``PerTaskEstimator(NearestCentroid())``) fitted on the
support set alone, on the raw and on the standardised features. Features are
standardised with the mean and scale of the meta-training classes' rows only.
On digits, ProtoNet also runs with a convolutional embedding
(``module=ConvEmbedding((8, 8))``) on the raw pixels: the rows are images.

``--splits N`` repeats the digits comparison over N class-disjoint splits (seeds 0 to
N - 1: other sets of held-out digits) and prints the mean accuracy per split.

Run: ``python benchmarks/protonet.py [--episodes 600] [--max-iter 1000] [--splits 5]``
"""

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestCentroid
from sklearn.preprocessing import StandardScaler

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import load_digits_tasks, load_flavia_leaves
from sklearn_meta.metric import ConvEmbedding, ProtoNetClassifier
from sklearn_meta.model_selection import class_disjoint_split, evaluate_few_shot


def run(name, data, n_way, test_size, args, split=0, image_shape=None):
    X_tr, X_te, y_tr, y_te = class_disjoint_split(
        data.X, data.y, test_size=test_size, random_state=split
    )
    scaler = StandardScaler().fit(X_tr)
    raw = {"nearest centroid (raw)": PerTaskEstimator(NearestCentroid())}
    X_raw_tr, X_raw_te = X_tr, X_te
    if image_shape is not None:
        # images: one mean and scale for all pixels (training classes), which keeps the
        # image and leaves nearest centroid unchanged (it is invariant to that map)
        mean, scale = X_tr.mean(), X_tr.std()
        X_raw_tr, X_raw_te = (X_tr - mean) / scale, (X_te - mean) / scale
        raw["ProtoNetClassifier, conv embedding (raw)"] = ProtoNetClassifier(
            module=ConvEmbedding(image_shape), max_iter=args.max_iter, tol=None,
            label_space="per_task", random_state=0,
        )
    scaled = {
        "nearest centroid (standardised)": PerTaskEstimator(NearestCentroid()),
        "ProtoNetClassifier": ProtoNetClassifier(
            n_way=args.train_way, max_iter=args.max_iter, tol=None,
            label_space="per_task", random_state=0,
        ),
    }
    if args.fine_tune:
        scaled["ProtoNetClassifier (fine-tune 10)"] = ProtoNetClassifier(
            n_way=args.train_way, max_iter=args.max_iter, tol=None, fine_tune_steps=10,
            label_space="per_task", random_state=0,
        )
    common = dict(n_shots=(1, 5), n_episodes=args.episodes, n_way=n_way, n_queries=10,
                  random_state=0)
    res = [
        evaluate_few_shot(raw, (X_raw_tr, y_tr, None), (X_raw_te, y_te, None), **common),
        evaluate_few_shot(scaled, (scaler.transform(X_tr), y_tr, None),
                          (scaler.transform(X_te), y_te, None), **common),
    ]
    for r in res:
        r.attrs = {}  # per-episode scores: not needed, and they break pd.concat
    res = pd.concat(res, ignore_index=True)
    res.insert(0, "dataset", f"{name} {n_way}-way ({len(np.unique(y_tr))} train / "
                             f"{len(np.unique(y_te))} test classes)")
    # the held-out digits tell the splits apart (Flavia has one split: too long to print)
    res.insert(1, "test_classes",
               " ".join(str(c) for c in np.unique(y_te)) if image_shape else "-")
    return res


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=600)
    parser.add_argument("--max-iter", type=int, default=2000)
    parser.add_argument("--train-way", type=int, default=None)
    parser.add_argument("--fine-tune", action="store_true")
    parser.add_argument("--only", choices=["flavia", "digits"], default=None)
    parser.add_argument("--splits", type=int, default=1,
                        help="digits: class-disjoint splits to average over")
    args = parser.parse_args()
    tic = time.perf_counter()
    frames = []
    if args.only in (None, "flavia"):
        frames.append(run("Flavia leaves", load_flavia_leaves(as_frame=False), 5, 0.4, args))
    if args.only in (None, "digits"):
        digits = load_digits_tasks(as_frame=False)
        for split in range(args.splits):
            frames.append(run("digits", digits, 4, 0.4, args, split=split,
                              image_shape=(8, 8)))
    res = pd.concat(frames, ignore_index=True)
    cols = ["dataset", "test_classes", "estimator", "n_shots", "mean", "ci_low", "ci_high",
            "fit_time", "adapt_time"]
    with pd.option_context("display.width", 250, "display.max_colwidth", 60):
        print(res[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        if args.splits > 1:
            per_split = res[res.dataset.str.startswith("digits")]
            summary = per_split.groupby(["estimator", "n_shots"])["mean"].agg(
                ["mean", "min", "max", "count"])
            print(f"\ndigits, mean accuracy over {args.splits} class splits:")
            print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"total {time.perf_counter() - tic:.0f} s")


if __name__ == "__main__":
    main()
