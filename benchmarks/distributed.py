"""Distributed meta-training: meta-iterations per second of 1, 2 and 4 gloo processes.

``python benchmarks/distributed.py`` launches ``torchrun --nproc_per_node=P`` for every P
in ``--procs`` (default 1 2 4). Each rank fits the same MAMLRegressor (default MLP
(40, 40), second order, 1 inner step) on sinusoid tasks at ``meta_batch_size=1000``
(every rank draws the global meta-batch and computes its tasks), once to warm up and
once timed, with one torch thread per process. Rank 0 reports

- meta-iterations per second of the timed fit;
- the all-reduce of one meta-iteration: its bytes (float32 meta-gradients, one presence
  flag per parameter tensor, the loss) and its time inside the fit, which includes the
  wait for the slowest rank;
- a bare all-reduce of buffers of several sizes after a barrier (latency and bandwidth of
  the process group, without waiting for a slower rank).

With ``--json PATH`` the figures are written as JSON. The projection onto N GPUs is in
benchmarks/RESULTS.md; it uses these figures.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load():
    return os.getloadavg()[0]


def worker(out, meta_batch_size, max_iter, n_tasks):
    import numpy as np
    import torch
    import torch.distributed as dist

    from sklearn_meta._nn import _distributed
    from sklearn_meta.datasets import make_sinusoid_tasks
    from sklearn_meta.gradient import MAMLRegressor

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(1)
    data = make_sinusoid_tasks(n_tasks=n_tasks, n_samples_per_task=20, random_state=0)

    comm = {"seconds": 0.0, "calls": 0, "bytes": 0}
    original = _distributed._MetaBatchShard.all_reduce

    def timed(self, params, loss):
        start = time.perf_counter()
        result = original(self, params, loss)
        comm["seconds"] += time.perf_counter() - start
        comm["calls"] += 1
        comm["bytes"] = 4 * (sum(p.numel() for p in params) + len(params) + 1)
        return result

    _distributed._MetaBatchShard.all_reduce = timed

    def fit(n_iter):
        est = MAMLRegressor(meta_batch_size=meta_batch_size, max_iter=n_iter, tol=None,
                            random_state=0)
        if world > 1:
            dist.barrier()
        start = time.perf_counter()
        est.fit(data.X, data.y, groups=data.groups)
        return time.perf_counter() - start, est

    fit(2)  # warm-up: first-call costs (imports, allocator)
    comm.update(seconds=0.0, calls=0)
    load_before = _load()
    seconds, est = fit(max_iter)
    load_after = _load()
    n_params = int(sum(v.numel() for v in est.params_.values()))

    bare = {}
    if world > 1:
        for n_floats in (1 << 9, 1 << 14, 1 << 18, 1 << 22):  # 2 KB .. 16 MB
            buf = torch.zeros(n_floats)
            for _ in range(3):
                dist.all_reduce(buf)
            reps = 20 if n_floats < (1 << 20) else 5
            dist.barrier()
            start = time.perf_counter()
            for _ in range(reps):
                dist.all_reduce(buf)
            bare[4 * n_floats] = (time.perf_counter() - start) / reps

    result = {
        "processes": world, "meta_batch_size": meta_batch_size, "max_iter": max_iter,
        "n_tasks": n_tasks, "n_params": n_params, "seconds": seconds,
        "iterations_per_second": est.n_iter_ / seconds,
        "allreduce_bytes": comm["bytes"],
        "allreduce_seconds_per_iteration": (comm["seconds"] / comm["calls"]
                                            if comm["calls"] else 0.0),
        "bare_allreduce_seconds": bare, "load_before": load_before,
        "load_after": load_after, "final_loss": float(np.mean(est.loss_curve_[-5:])),
    }
    if rank == 0:
        Path(out).write_text(json.dumps(result))
    dist.destroy_process_group()


def run(procs, meta_batch_size, max_iter, n_tasks):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    results = []
    for p in procs:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp, "result.json")
            cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={p}", __file__, "--worker", str(out),
                   "--meta-batch-size", str(meta_batch_size), "--max-iter", str(max_iter),
                   "--n-tasks", str(n_tasks)]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode:
                raise RuntimeError(proc.stderr[-3000:])
            results.append(json.loads(out.read_text()))
        r = results[-1]
        print(f"{p} process(es): {r['iterations_per_second']:.2f} meta-it/s "
              f"({r['seconds']:.1f} s for {r['max_iter']} it), all-reduce "
              f"{r['allreduce_bytes']} B, {1e3 * r['allreduce_seconds_per_iteration']:.2f} "
              f"ms/it in the fit; load {r['load_before']:.1f} -> {r['load_after']:.1f}; "
              f"final loss {r['final_loss']:.4f}")
        for size, sec in r["bare_allreduce_seconds"].items():
            print(f"    bare all-reduce {int(size):>9} B: {1e3 * sec:.3f} ms")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--meta-batch-size", type=int, default=1000)
    parser.add_argument("--max-iter", type=int, default=20)
    parser.add_argument("--n-tasks", type=int, default=2000)
    parser.add_argument("--json", default=None)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.meta_batch_size, args.max_iter, args.n_tasks)
        return
    print(f"{os.cpu_count()} CPU cores, load average {_load():.1f} before the runs")
    results = run(args.procs, args.meta_batch_size, args.max_iter, args.n_tasks)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
