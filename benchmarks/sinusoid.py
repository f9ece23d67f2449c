"""Sinusoid few-shot regression (Finn et al., 2017) with MAML and Meta-SGD.

Protocol of Finn et al. and of the Meta-SGD paper (Li et al., 2017, Table 1): tasks
``y = A sin(x - phi)``, ``A ~ U[0.1, 5]``, ``phi ~ U[0, pi]``, ``x ~ U[-5, 5]``; an MLP
1-40-40-1 with ReLU; meta-batch 25 tasks; K support and K query rows per task during
meta-training; one inner gradient step of learning rate 0.01; Adam with learning rate 1e-3.
Evaluation: 600 new tasks, adapt on K rows (1 and 10 gradient steps of 0.01; Meta-SGD: of
its learned step sizes), mean squared error on 100 new rows of the task, mean with a 95%
confidence interval over tasks. A task whose adaptation diverges (the estimator warns and
falls back to the meta-learned parameters) is counted in the table.

The papers meta-train for 70,000 iterations; pass what you can afford with
``--iterations``. Usage::

    python benchmarks/sinusoid.py --iterations 10000 --shots 5 10 20
    python benchmarks/sinusoid.py --engine-paths   # fast MLP path vs torch.func
"""

import argparse
import time
import warnings

import numpy as np
from scipy import stats

from sklearn_meta.datasets import make_sinusoid_tasks
from sklearn_meta.gradient import MAMLRegressor, MetaSGDRegressor

LEARNERS = {"MAML": MAMLRegressor, "Meta-SGD": MetaSGDRegressor}


def _ci(values):
    values = np.asarray(values)
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean(), half


def run(name, shots, iterations, n_test_tasks=600, n_query=100, seed=0):
    cls = LEARNERS[name]
    # enough tasks that meta-training rarely sees a task twice
    n_train_tasks = min(25 * iterations, 100_000) if iterations else 25
    train = make_sinusoid_tasks(n_tasks=n_train_tasks, n_samples_per_task=2 * shots,
                                random_state=seed)
    test = make_sinusoid_tasks(n_tasks=n_test_tasks, n_samples_per_task=shots + n_query,
                               random_state=seed + 1)
    est = cls(hidden_layer_sizes=(40, 40), activation="relu", n_shots=shots, n_queries=shots,
              meta_batch_size=25, inner_lr=0.01, inner_steps=1, meta_lr=1e-3,
              max_iter=iterations, tol=None, random_state=seed, device="cpu")
    t0 = time.perf_counter()
    est.fit(train.X, train.y, groups=train.groups)
    fit_s = time.perf_counter() - t0
    row = {"learner": name, "shots": shots, "iterations": est.n_iter_, "fit_s": fit_s,
           "it_per_s": est.n_iter_ / fit_s if fit_s else float("nan")}
    for steps in (1, 10):
        est.set_params(adapt_steps=steps)
        mse, diverged = [], 0
        for X, y in test.tasks:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                pred = est.adapt(X[:shots], y[:shots]).predict(X[shots:])
            if any("diverged" in str(w.message) for w in caught):
                diverged += 1
            mse.append(np.mean((pred - y[shots:]) ** 2))
        row[f"mse_{steps}"] = _ci(mse)
        row[f"diverged_{steps}"] = diverged
    return row


def engine_paths(shots=10, meta_batch=25, repeats=3, n=200):
    """Meta-iterations per second of the engine's two paths on the sinusoid model."""
    import torch

    from sklearn_meta._torch import _make_mlp
    from sklearn_meta.gradient._engine import InnerConfig, make_model, meta_loss

    torch.manual_seed(0)
    net = _make_mlp(1, 1, (40, 40), "relu")
    X_s = torch.rand(meta_batch, shots, 1) * 10 - 5
    X_q = torch.rand(meta_batch, shots, 1) * 10 - 5
    y_s, y_q = torch.sin(X_s[..., 0]), torch.sin(X_q[..., 0])
    m = torch.ones(meta_batch, shots)
    cfg = InnerConfig("mse", 1, False)
    print("| engine path | meta-iterations/s |\n| --- | ---: |")
    for name, fast in [("FastMLP", True), ("FunctionalModel (torch.func)", False)]:
        model = make_model(net, fast=fast)
        params = {k: p.detach().clone().requires_grad_() for k, p in net.named_parameters()}
        opt = torch.optim.Adam(params.values(), lr=1e-3, foreach=True)

        def step():
            loss = meta_loss(model, params, (X_s, y_s, m, X_q, y_q, m), cfg, 0.01)
            opt.zero_grad()
            loss.backward()
            opt.step()

        for _ in range(20):
            step()
        best = 0.0
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            best = max(best, n / (time.perf_counter() - t0))
        print(f"| {name} | {best:.0f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--learners", nargs="+", default=list(LEARNERS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine-paths", action="store_true",
                        help="only time the engine's fast MLP path against torch.func")
    args = parser.parse_args()
    if args.engine_paths:
        return engine_paths()
    print("| learner | K | meta-iterations | it/s | MSE, 1 step (95% CI) | "
          "MSE, 10 steps (95% CI) |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    for name in args.learners:
        for shots in args.shots:
            r = run(name, shots, args.iterations, seed=args.seed)
            m1, h1 = r["mse_1"]
            m10, h10 = r["mse_10"]
            d1, d10 = (f" ({r[k]}/600 diverged)" if r[k] else "" for k in
                       ("diverged_1", "diverged_10"))
            print(f"| {name} | {shots} | {r['iterations']} | {r['it_per_s']:.0f} | "
                  f"{m1:.2f} ± {h1:.2f}{d1} | {m10:.2f} ± {h10:.2f}{d10} |", flush=True)


if __name__ == "__main__":
    main()
