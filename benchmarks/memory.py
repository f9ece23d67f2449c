"""MAML memory on the sinusoid: peak memory per configuration, each in a fresh process.

The network and data of ``benchmarks/speed.py`` (MLP 1-40-40-1, K=10 support + 10 query
rows, inner lr 0.01, Adam 1e-3) at meta-batch 25 and 1000, inner steps 1 and 5, first
and second order. Every configuration runs in its own subprocess (a clean high-water
mark): it builds the method, records the peak resident set size after setup, runs
``--iters`` meta-iterations and records the peak again (``resource.getrusage``,
``ru_maxrss``). The table gives the peak and the growth over the setup peak (what the
meta-iterations themselves needed; the setup peak is mostly the torch runtime).

With ``--device cuda`` the engine runs on the GPU and the figure is
``torch.cuda.max_memory_allocated()`` after ``reset_peak_memory_stats`` (setup excluded).
That code path exists but has not been run for benchmarks/RESULTS.md (no GPU there).

Usage::

    python benchmarks/memory.py                       # engine + generic path, CPU
    python benchmarks/memory.py --methods engine learn2learn loop
    python benchmarks/memory.py --device cuda         # GPU: max allocated
"""

import argparse
import json
import os
import resource
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = {
    "engine": "sklearn-meta engine",
    "generic": "sklearn-meta generic path",
    "learn2learn": "learn2learn MAML",
    "higher": "higher innerloop_ctx",
    "loop": "per-task autograd loop",
    "vmap": "torch.func vmap",
}


def _peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def child(method, n_tasks, steps, first_order, iters, device):
    """Run one configuration in this (fresh) process; print a JSON line."""
    import torch

    sys.path.insert(0, HERE)
    import speed

    if device == "cuda" and method != "engine":
        raise SystemExit("only the engine runs on cuda in this benchmark")
    makers = {
        "engine": speed.make_engine, "generic": speed.make_generic,
        "learn2learn": speed.make_learn2learn, "higher": speed.make_higher,
        "loop": speed.make_loop, "vmap": speed.make_vmap,
    }
    batches = speed.sinusoid_batches(2, n_tasks)
    if device == "cuda":
        batches = [tuple(t.cuda() for t in b) for b in batches]
        with torch.device("cuda"):
            step = makers[method](first_order, steps)
    else:
        step = makers[method](first_order, steps)
    setup = _peak_rss_mib()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    for i in range(iters):
        step(batches[i % len(batches)])
    result = {"peak_rss_mib": _peak_rss_mib(), "setup_rss_mib": setup}
    if device == "cuda":
        torch.cuda.synchronize()
        result["max_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(result))


def run(method, n_tasks, steps, first_order, iters, device, threads):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", method, str(n_tasks),
           str(steps), str(int(first_order)), "--iters", str(iters), "--device", device]
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", nargs=4, metavar=("METHOD", "TASKS", "STEPS", "FO"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--methods", nargs="*", default=["engine", "generic"],
                        choices=list(METHODS))
    parser.add_argument("--meta-batch", type=int, nargs="*", default=[25, 1000])
    parser.add_argument("--steps", type=int, nargs="*", default=[1, 5])
    parser.add_argument("--iters", type=int, default=3, help="meta-iterations per config")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS")
    args = parser.parse_args(argv)
    if args.child:
        method, n_tasks, steps, fo = args.child
        return child(method, int(n_tasks), int(steps), bool(int(fo)), args.iters, args.device)

    figure = "max allocated (MiB)" if args.device == "cuda" else "peak RSS (MiB)"
    print(f"# MAML sinusoid memory ({args.device}, {args.iters} meta-iterations per run)\n")
    print(f"Command: python benchmarks/memory.py {' '.join(sys.argv[1:] if argv is None else argv)}\n")
    print(f"| method | meta-batch | inner steps | order | {figure} | growth over setup (MiB) |")
    print("| --- | ---: | ---: | --- | ---: | ---: |")
    for method in args.methods:
        for n_tasks in args.meta_batch:
            for first_order in (True, False):
                for steps in args.steps:
                    r = run(method, n_tasks, steps, first_order, args.iters, args.device,
                            args.threads)
                    order = "first" if first_order else "second"
                    row = f"| {METHODS[method]} | {n_tasks} | {steps} | {order} | "
                    if "error" in r:
                        print(row + f"failed: {r['error']} | |", flush=True)
                    elif args.device == "cuda":
                        print(row + f"{r['max_allocated_mib']:.1f} | |", flush=True)
                    else:
                        grow = r["peak_rss_mib"] - r["setup_rss_mib"]
                        print(row + f"{r['peak_rss_mib']:.0f} | {grow:.1f} |", flush=True)


if __name__ == "__main__":
    main()
