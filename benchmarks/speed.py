"""MAML speed on the sinusoid: meta-iterations per second, sklearn-meta against its peers.

The classic benchmark of Finn et al. (2017): an MLP 1-40-40-1 (ReLU), K=10 support and
10 query rows per task, one inner step with inner lr 0.01, Adam 1e-3 on the
meta-parameters, second order (and first order with ``--first-order`` / in the default
suite). One meta-iteration = sample-free update on a pre-drawn meta-batch: inner loop,
query loss, meta-gradient, Adam step. Every method trains the same network (same initial
weights) on the same pre-drawn meta-batches, in one process, with the same number of
torch threads, interleaved: each repetition times every method for ``--seconds`` in turn
(order rotated between repetitions), and the table reports the median rate over the
repetitions and the ratio to learn2learn.

Methods
-------
- ``learn2learn MAML``: ``learn2learn.algorithms.MAML`` (``clone()`` + ``adapt()`` per task).
- ``higher innerloop_ctx``: ``higher.innerloop_ctx`` with a differentiable SGD, per task.
- ``per-task autograd loop``: ``torch.autograd.grad(create_graph=True)`` per task.
- ``torch.func vmap``: a straightforward ``vmap(grad(...))`` of the per-task step.
- ``sklearn-meta engine``: ``sklearn_meta.gradient._engine.meta_loss`` (for the default
  MLP, ``FastMLP.meta_loss`` of ``gradient/_models.py``), i.e. what
  ``MAMLRegressor.fit`` runs per meta-iteration.
- ``sklearn-meta engine + fused Adam``: the same with ``torch.optim.Adam(fused=True)``;
  the peers (and the row above) use ``torch.optim.Adam``'s default implementation.
- ``sklearn-meta generic path``: the engine's ``torch.func`` path for any ``nn.Module``
  (``make_model(net, fast=False)``), for reference.
- ``sklearn-meta MAMLRegressor.fit``: the estimator end to end (episode sampling from
  the task table, the training loop's bookkeeping), rate = ``max_iter`` / fit time.

Installing the peers (done for the figures in benchmarks/RESULTS.md; Python 3.11,
torch 2.13.0+cpu already installed -- never let a peer pull another torch)::

    pip install --no-deps higher==0.2.1
    # learn2learn 0.2.0 is an sdist whose shipped Cython C files do not build on
    # Python 3.11 (longintrepr.h): regenerate them with a current Cython first.
    pip install cython
    pip download --no-deps --no-binary :all: learn2learn==0.2.0 -d /tmp/l2l
    tar xzf /tmp/l2l/learn2learn-0.2.0.tar.gz -C /tmp/l2l
    cd /tmp/l2l/learn2learn-0.2.0 && cython -3 learn2learn/data/*.pyx
    # its setup.py would also install a top-level ``tests`` package into site-packages
    # (shadowing any project's ``tests``): exclude it
    sed -i 's/packages=find_packages(),/packages=find_packages(exclude=["tests", "tests.*"]),/' setup.py
    pip install --no-deps --no-build-isolation /tmp/l2l/learn2learn-0.2.0
    # (in a fresh venv, e.g. ``python -m venv /tmp/l2lvenv --system-site-packages``:
    # ``pip install wheel`` first, or the build fails with "invalid command 'bdist_wheel'")

``import learn2learn`` imports gym, torchvision, ... (not installed); this script loads
only ``learn2learn/algorithms/maml.py`` (and the two small modules it imports) by
registering empty parent packages. A peer that is not installed is skipped with the
reason printed.

Usage::

    python benchmarks/speed.py                      # default suite (about 5 minutes)
    python benchmarks/speed.py --threads 1          # same, one torch thread
    python benchmarks/speed.py --meta-batch 25 --repeats 5 --seconds 2
    python benchmarks/speed.py --quick              # smoke run (a few seconds)
    python benchmarks/speed.py --threads 2 --meta-batch 25 --second-order \
        --methods "fused Adam" fit --repeats 15     # the fit / engine ratio only
"""

import argparse
import importlib
import importlib.util
import math
import os
import platform
import statistics
import sys
import time
import types
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

HIDDEN = (40, 40)
K = 10
INNER_LR = 0.01
META_LR = 1e-3


# --- data and model ------------------------------------------------------------------------
def sinusoid_batches(n_batches, n_tasks, seed=0):
    """Pre-drawn meta-batches (x_s, y_s, x_q, y_q), each (T, K, 1), Finn et al.'s family."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_batches):
        amp = 0.1 + 4.9 * torch.rand(n_tasks, 1, 1, generator=g)
        phase = math.pi * torch.rand(n_tasks, 1, 1, generator=g)
        xs = -5 + 10 * torch.rand(n_tasks, K, 1, generator=g)
        xq = -5 + 10 * torch.rand(n_tasks, K, 1, generator=g)
        out.append((xs, amp * torch.sin(xs + phase), xq, amp * torch.sin(xq + phase)))
    return out


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(1, HIDDEN[0]), nn.ReLU(), nn.Linear(HIDDEN[0], HIDDEN[1]), nn.ReLU(),
        nn.Linear(HIDDEN[1], 1),
    )


# --- the methods: each returns step(batch) doing one meta-iteration -------------------------
class Skip(Exception):
    """A method that cannot run here (peer not installed, ...)."""


def _load_learn2learn_maml():
    if "learn2learn" in sys.modules:
        root = list(sys.modules["learn2learn"].__path__)[0]
    else:
        spec = importlib.util.find_spec("learn2learn")
        if spec is None:
            raise Skip("learn2learn is not installed (see the install steps in this file)")
        root = spec.submodule_search_locations[0]
    # empty parents: learn2learn/__init__.py would import gym, torchvision, ...
    for name, path in (("learn2learn", root), ("learn2learn.algorithms", root + "/algorithms")):
        if name not in sys.modules:
            mod = types.ModuleType(name)
            mod.__path__ = [path]
            sys.modules[name] = mod
    maml = importlib.import_module("learn2learn.algorithms.maml")
    version = importlib.import_module("learn2learn._version").__version__
    return maml.MAML, version


def make_learn2learn(first_order, steps=1):
    MAML, _ = _load_learn2learn_maml()
    maml = MAML(mlp(), lr=INNER_LR, first_order=first_order)
    opt = torch.optim.Adam(maml.parameters(), META_LR)

    def step(batch):
        xs, ys, xq, yq = batch
        opt.zero_grad()
        total = 0.0
        for t in range(xs.shape[0]):
            learner = maml.clone()
            for _ in range(steps):
                learner.adapt(F.mse_loss(learner(xs[t]), ys[t]))
            total = total + F.mse_loss(learner(xq[t]), yq[t])
        (total / xs.shape[0]).backward()
        opt.step()

    return step


def make_higher(first_order, steps=1):
    try:
        import higher
    except ImportError:
        raise Skip("higher is not installed (pip install --no-deps higher==0.2.1)")
    net = mlp()
    opt = torch.optim.Adam(net.parameters(), META_LR)
    inner_opt = torch.optim.SGD(net.parameters(), lr=INNER_LR)

    def step(batch):
        xs, ys, xq, yq = batch
        opt.zero_grad()
        T = xs.shape[0]
        for t in range(T):
            with higher.innerloop_ctx(net, inner_opt, copy_initial_weights=False,
                                      track_higher_grads=not first_order) as (fnet, diffopt):
                for _ in range(steps):
                    diffopt.step(F.mse_loss(fnet(xs[t]), ys[t]))
                (F.mse_loss(fnet(xq[t]), yq[t]) / T).backward()
        opt.step()

    return step


def make_loop(first_order, steps=1):
    from torch.func import functional_call

    net = mlp()
    params = dict(net.named_parameters())
    opt = torch.optim.Adam(params.values(), META_LR)

    def step(batch):
        xs, ys, xq, yq = batch
        opt.zero_grad()
        total = 0.0
        for t in range(xs.shape[0]):
            fast = params
            for _ in range(steps):
                loss = F.mse_loss(functional_call(net, fast, (xs[t],)), ys[t])
                grads = torch.autograd.grad(loss, list(fast.values()),
                                            create_graph=not first_order)
                fast = {k: v - INNER_LR * g for (k, v), g in zip(fast.items(), grads)}
            total = total + F.mse_loss(functional_call(net, fast, (xq[t],)), yq[t])
        (total / xs.shape[0]).backward()
        opt.step()

    return step


def make_vmap(first_order, steps=1):
    from torch.func import functional_call, grad, vmap

    net = mlp()
    params = dict(net.named_parameters())
    opt = torch.optim.Adam(params.values(), META_LR)

    def task_loss(p, xs, ys, xq, yq):
        fast = p
        for _ in range(steps):
            g = grad(lambda q: F.mse_loss(functional_call(net, q, (xs,)), ys))(fast)
            if first_order:
                g = {k: v.detach() for k, v in g.items()}
            fast = {k: fast[k] - INNER_LR * g[k] for k in fast}
        return F.mse_loss(functional_call(net, fast, (xq,)), yq)

    batched = vmap(task_loss, in_dims=(None, 0, 0, 0, 0))

    def step(batch):
        opt.zero_grad()
        batched(params, *batch).mean().backward()
        opt.step()

    return step


def _engine():
    try:
        from sklearn_meta._torch import _make_mlp
        from sklearn_meta.gradient import _engine
    except ImportError as exc:
        raise Skip(f"sklearn_meta.gradient._engine is not importable ({exc})")
    return _engine, _make_mlp


def _episodes(batch):
    """The engine's episode layout: y (T, n) and row masks (T, n)."""
    xs, ys, xq, yq = batch
    ones = torch.ones(xs.shape[:2])
    return xs, ys[..., 0], ones, xq, yq[..., 0], ones


def make_engine(first_order, steps=1, fast=True, fused_adam=False):
    engine, make_mlp = _engine()
    net = mlp()
    model = engine.make_model(net, fast=fast)
    params = {k: p.detach().clone().requires_grad_() for k, p in net.named_parameters()}
    # the peers' optimiser, or its fused kernel (a few ops for all parameters)
    opt = torch.optim.Adam(params.values(), META_LR, fused=True if fused_adam else None)
    cfg = engine.InnerConfig(loss="mse", steps=steps, first_order=first_order)
    cache = {}

    def step(batch):
        ep = cache.get(id(batch))
        if ep is None:
            ep = cache[id(batch)] = _episodes(batch)
        opt.zero_grad()
        engine.meta_loss(model, params, ep, cfg, INNER_LR).backward()
        opt.step()

    return step


def make_generic(first_order, steps=1):
    return make_engine(first_order, steps, fast=False)


def make_engine_fused(first_order, steps=1):
    return make_engine(first_order, steps, fused_adam=True)


def estimator_rate(first_order, n_tasks, seconds, device="cpu"):
    """MAMLRegressor.fit end to end: returns ``measure() -> (wall, CPU) rates``."""
    try:
        from sklearn_meta.gradient import MAMLRegressor
    except ImportError as exc:
        raise Skip(f"MAMLRegressor is not importable ({exc})")
    rng = np.random.default_rng(0)
    n_task_pool, rows = max(200, n_tasks), 2 * K
    amp = rng.uniform(0.1, 5.0, n_task_pool)
    phase = rng.uniform(0, np.pi, n_task_pool)
    X = rng.uniform(-5, 5, (n_task_pool, rows))
    y = amp[:, None] * np.sin(X + phase[:, None])
    groups = np.repeat(np.arange(n_task_pool), rows)
    X, y = X.reshape(-1, 1), y.reshape(-1)

    def fit(max_iter):
        est = MAMLRegressor(
            hidden_layer_sizes=HIDDEN, n_shots=K, n_queries=K, meta_batch_size=n_tasks,
            inner_lr=INNER_LR, inner_steps=1, first_order=first_order, meta_lr=META_LR,
            max_iter=max_iter, device=device, random_state=0,
        )
        start, cpu = time.perf_counter(), time.process_time()
        est.fit(X, y, groups=groups)
        return np.array([time.perf_counter() - start, time.process_time() - cpu])

    fit(2)  # warm-up (lazy imports of the first fit)
    n = 10
    while True:  # calibrate max_iter to about `seconds`
        elapsed = fit(n)[0]
        if elapsed >= seconds or n >= 100_000:
            break
        n = int(n * min(10.0, 1.5 * seconds / max(elapsed, 1e-3)))

    def measure():
        """(wall, CPU) rates of the meta-iterations, fixed fit costs subtracted."""
        d = fit(n) - fit(1)
        return tuple((n - 1) / np.maximum(d, 1e-9))

    return measure


METHODS = {
    "learn2learn MAML": make_learn2learn,
    "higher innerloop_ctx": make_higher,
    "per-task autograd loop": make_loop,
    "torch.func vmap": make_vmap,
    "sklearn-meta generic path": make_generic,
    "sklearn-meta engine": make_engine,
    "sklearn-meta engine + fused Adam": make_engine_fused,
}


# --- timing ---------------------------------------------------------------------------------
def rate(step, batches, seconds, min_iters=2):
    """Meta-iterations per second of wall time and per second of process CPU time (all
    threads), over about ``seconds`` of wall time."""
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        step(batches[n % len(batches)])
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and n >= min_iters:
            return n / elapsed, n / max(time.process_time() - cpu, 1e-9)


def run_config(n_tasks, first_order, repeats, seconds, estimator=True, methods=None):
    batches = sinusoid_batches(8, n_tasks)
    steps, skipped = {}, {}
    for name, make in METHODS.items():
        if methods and not any(m in name for m in methods):
            continue
        try:
            steps[name] = make(first_order)
            for b in batches[:2]:  # warm-up (allocator, lazy init)
                steps[name](b)
        except Skip as why:
            skipped[name] = str(why)
    timers = {name: partial(rate, step, batches, seconds) for name, step in steps.items()}
    if estimator and (not methods or any(m in "MAMLRegressor.fit" for m in methods)):
        name = "sklearn-meta MAMLRegressor.fit"
        try:
            timers[name] = estimator_rate(first_order, n_tasks, seconds)
        except Skip as why:
            skipped[name] = str(why)
    # interleaved, the estimator too: every repetition times every method once, in an
    # order rotated between repetitions, so that a change of the machine's load (a
    # shared VM) hits all methods alike and the ratios stay comparable
    rates = {name: [] for name in timers}
    names = list(timers)
    for r in range(repeats):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            rates[name].append(timers[name]())
    return rates, skipped


def report(title, rates, skipped):
    print(f"\n### {title}\n")
    wall = {k: statistics.median(r[0] for r in v) for k, v in rates.items()}
    cpu = {k: statistics.median(r[1] for r in v) for k, v in rates.items()}
    ref = "learn2learn MAML"
    print("| method | meta-it/s (median, wall) | runs (wall) | x learn2learn | "
          "meta-it per CPU-second (median) | x learn2learn (CPU) |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for name, values in rates.items():
        ratio = f"{wall[name] / wall[ref]:.1f}" if ref in wall else "n/a"
        ratio_cpu = f"{cpu[name] / cpu[ref]:.1f}" if ref in cpu else "n/a"
        runs = ", ".join(f"{v[0]:.3g}" for v in values)
        print(f"| {name} | {wall[name]:.4g} | {runs} | {ratio} | {cpu[name]:.4g} | "
              f"{ratio_cpu} |")
    for name, why in skipped.items():
        print(f"| {name} | skipped: {why} | | | | |")
    fit, engine = "sklearn-meta MAMLRegressor.fit", "sklearn-meta engine + fused Adam"
    if fit in rates and engine in rates:
        # the estimator trains with fused Adam: its own engine's rate is the fused row;
        # per repetition (interleaved, so both saw about the same load), then the median
        per_run = [f[0] / e[0] for f, e in zip(rates[fit], rates[engine])]
        print(f"\n`MAMLRegressor.fit` / engine + fused Adam: {wall[fit] / wall[engine]:.0%} "
              f"(medians); per repetition {', '.join(f'{x:.0%}' for x in per_run)}, "
              f"median {statistics.median(per_run):.0%}")
    sys.stdout.flush()


def environment():
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "numpy": np.__version__}
    try:
        versions["learn2learn"] = _load_learn2learn_maml()[1]
    except Skip:
        versions["learn2learn"] = "not installed"
    try:
        import higher  # noqa: F401
        from importlib.metadata import version

        versions["higher"] = version("higher")
    except ImportError:
        versions["higher"] = "not installed"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return (f"{cpu}, {os.cpu_count()} logical CPUs, torch threads "
            f"{torch.get_num_threads()}, load average {load}; "
            + ", ".join(f"{k} {v}" for k, v in versions.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's default)")
    parser.add_argument("--meta-batch", type=int, nargs="*", default=None,
                        help="meta-batch sizes (default: 25 and 1000)")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions at 25 tasks")
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per timing")
    parser.add_argument("--first-order", action="store_true", help="first order only")
    parser.add_argument("--second-order", action="store_true", help="second order only")
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--methods", nargs="*", default=None,
                        help="time only the methods whose name contains one of these "
                             "(e.g. --methods 'fused Adam' fit: the fit / engine ratio)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = args.meta_batch or [25, 1000]
    orders = [False, True]
    if args.first_order != args.second_order:
        orders = [args.first_order]
    repeats, seconds = args.repeats, args.seconds
    if args.quick:
        sizes, repeats, seconds = [s for s in sizes if s <= 100] or [25], 2, 0.2
    print(f"# MAML sinusoid speed\n\nMachine: {environment()}")
    print(f"Command: python benchmarks/speed.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    for n_tasks in sizes:
        for first_order in orders:
            # far fewer repetitions at large meta-batches: the per-task peers take seconds
            reps = repeats if n_tasks <= 100 else max(1, min(repeats, 3))
            rates, skipped = run_config(n_tasks, first_order, reps, seconds,
                                        methods=args.methods)
            report(f"meta-batch {n_tasks}, {'first' if first_order else 'second'} order",
                   rates, skipped)
    print(f"\nLoad average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
