"""The device checks of issue 3 in one script, for a session that is lent a CUDA GPU.

Run on the device machine (from the repository root; no install needed there)::

    PYTHONPATH=. python3 benchmarks/gpu_check.py --out $OUT/gpu_check.md

and copy the printed Markdown into ``benchmarks/RESULTS.md``. ``--device cpu`` runs the same
script on the CPU (a smoke test: what it prints there is not a GPU figure).

What it checks:

1. **Fitted on the device, used on a CPU-only machine.** ``MAMLClassifier``,
   ``ProtoNetClassifier`` and ``NeuralProcessRegressor`` are fitted with ``device=<device>``,
   adapted and pickled; a subprocess with CUDA hidden (``CUDA_VISIBLE_DEVICES=""``) unpickles
   them and predicts; the predictions must equal those of the fitting process.
2. **Speed of a second-order meta-iteration** (MAML on Finn et al.'s sinusoid, the
   network and data of ``benchmarks/speed.py``) at meta-batch 25 and 1000, as
   meta-iterations per second (median of ``--repeats`` timed runs of about ``--seconds``):

   - ``engine (eager)``: ``_engine.meta_loss`` + backward + Adam, what ``fit`` runs;
   - ``engine, torch.compile reduce-overhead``: the same function compiled with
     ``mode="reduce-overhead"`` (CUDA graphs under the hood on a GPU);
   - ``engine, CUDA graph of the whole step``: forward, backward and a capturable Adam
     captured once with :class:`torch.cuda.CUDAGraph` and replayed on new batches
     copied into static inputs (CUDA only);
   - ``MAMLRegressor.fit``: the estimator end to end, ``device=<device>``.

   The issue's target: at least 1,000 second-order meta-iterations per second at
   meta-batch 1000 on a CUDA GPU. A method that fails (e.g. a host sync inside a graph
   capture) is reported with its error instead of a rate.
"""

import argparse
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import speed  # noqa: E402  (the shared network, data and constants)

from sklearn_meta.gradient import MAMLClassifier, MAMLRegressor, _engine  # noqa: E402


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


# --- 1. fitted on the device, predicted on a CPU-only machine ---------------------------------
_LOAD = """
import pickle, sys
import numpy as np
import torch
assert not torch.cuda.is_available()
est, X = pickle.load(open(sys.argv[1], "rb"))
out = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
np.save(sys.argv[2], out)
"""


def check_pickle(device):
    from sklearn_meta.datasets import make_classification_tasks, make_sinusoid_tasks
    from sklearn_meta.metric import ProtoNetClassifier
    from sklearn_meta.model_based import NeuralProcessRegressor

    clf = make_classification_tasks(n_tasks=30, n_classes=3, per_task_labels=True,
                                    random_state=0)
    reg = make_sinusoid_tasks(n_tasks=30, random_state=0)
    cases = [
        ("MAMLClassifier", MAMLClassifier(max_iter=30, n_shots=3, random_state=0,
                                          device=device.type), clf),
        ("ProtoNetClassifier", ProtoNetClassifier(max_iter=30, n_shots=3, random_state=0,
                                                  device=device.type), clf),
        ("NeuralProcessRegressor", NeuralProcessRegressor(max_iter=30, n_shots=5,
                                                          random_state=0,
                                                          device=device.type), reg),
    ]
    rows = []
    for name, est, data in cases:
        try:
            est.fit(data.tasks[:25])
            X, y = data.tasks[25]
            est.adapt(X[:10], y[:10])
            here = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
            with tempfile.TemporaryDirectory() as tmp:
                path, out = os.path.join(tmp, "est.pkl"), os.path.join(tmp, "out.npy")
                with open(path, "wb") as f:
                    pickle.dump((est, X), f)
                env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
                proc = subprocess.run([sys.executable, "-c", _LOAD, path, out], env=env,
                                      capture_output=True, text=True, timeout=300)
                if proc.returncode:
                    raise RuntimeError(proc.stderr.strip().splitlines()[-1])
                there = np.load(out)
            diff = float(np.max(np.abs(there - here)))
            rows.append((name, "ok" if diff < 1e-6 else "MISMATCH", f"{diff:.1e}"))
        except Exception as exc:  # report, do not stop the other checks
            rows.append((name, f"failed: {type(exc).__name__}: {exc}"[:200], ""))
    return rows


# --- 2. speed ---------------------------------------------------------------------------------
def _setup(n_tasks, device):
    net = speed.mlp().to(device)
    model = _engine.make_model(net, fast=True)
    params = {k: p.detach().clone().requires_grad_() for k, p in net.named_parameters()}
    cfg = _engine.InnerConfig(loss="mse", steps=1, first_order=False)
    batches = [tuple(t.to(device) for t in speed._episodes(b))
               for b in speed.sinusoid_batches(5, n_tasks)]
    return model, params, cfg, batches


def eager_step(n_tasks, device):
    model, params, cfg, batches = _setup(n_tasks, device)
    opt = torch.optim.Adam(params.values(), speed.META_LR, foreach=True)

    def step(i):
        opt.zero_grad(set_to_none=True)
        _engine.meta_loss(model, params, batches[i % 5], cfg, speed.INNER_LR).backward()
        opt.step()

    return step


def compiled_step(n_tasks, device):
    model, params, cfg, batches = _setup(n_tasks, device)
    opt = torch.optim.Adam(params.values(), speed.META_LR, foreach=True)
    loss_fn = torch.compile(
        lambda p, ep: _engine.meta_loss(model, p, ep, cfg, speed.INNER_LR),
        mode="reduce-overhead", dynamic=False,
    )

    def step(i):
        opt.zero_grad(set_to_none=True)
        loss_fn(params, batches[i % 5]).backward()
        opt.step()

    return step


def graph_step(n_tasks, device):
    if device.type != "cuda":
        raise RuntimeError("CUDA graphs need a CUDA device")
    model, params, cfg, batches = _setup(n_tasks, device)
    opt = torch.optim.Adam(params.values(), speed.META_LR, capturable=True)
    static = tuple(t.clone() for t in batches[0])

    def body():
        opt.zero_grad(set_to_none=False)
        _engine.meta_loss(model, params, static, cfg, speed.INNER_LR).backward()
        opt.step()

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up on a side stream, as the CUDA-graph docs say
        for _ in range(3):
            body()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        body()

    def step(i):
        for dst, src in zip(static, batches[i % 5]):
            dst.copy_(src)
        graph.replay()

    return step


def fit_rate(n_tasks, device, seconds):
    measure = speed.estimator_rate(False, n_tasks, seconds, device=device.type)
    return measure()[0]


def timed(step, device, seconds, repeats):
    for i in range(3):  # warm-up: compilation, capture, lazy initialisation
        step(i)
    _sync(device)
    rates = []
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while True:
            step(n)
            n += 1
            if n % 10 == 0:
                _sync(device)
                elapsed = time.perf_counter() - start
                if elapsed >= seconds:
                    break
        rates.append(n / elapsed)
    return statistics.median(rates)


def check_speed(device, seconds, repeats):
    methods = {
        "engine (eager)": eager_step,
        "engine, torch.compile reduce-overhead": compiled_step,
        "engine, CUDA graph of the whole step": graph_step,
    }
    rows = []
    for n_tasks in (25, 1000):
        for name, make in methods.items():
            try:
                rows.append((n_tasks, name, f"{timed(make(n_tasks, device), device, seconds, repeats):.1f}"))
            except Exception as exc:
                rows.append((n_tasks, name, f"failed: {type(exc).__name__}: {exc}"[:200]))
        try:
            rows.append((n_tasks, "MAMLRegressor.fit", f"{fit_rate(n_tasks, device, seconds):.1f}"))
        except Exception as exc:
            rows.append((n_tasks, "MAMLRegressor.fit", f"failed: {type(exc).__name__}: {exc}"[:200]))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="also write the Markdown here")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    warnings.filterwarnings("ignore", category=UserWarning)
    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else platform.processor() or platform.machine())
    lines = [f"# Device check ({device.type}: {name})", "",
             f"python {platform.python_version()}, torch {torch.__version__}, "
             f"`python benchmarks/gpu_check.py --device {args.device}`", "",
             "## Fitted on the device, predicted in a process without CUDA", "",
             "| estimator | result | max abs difference |", "| --- | --- | ---: |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in check_pickle(device)]
    lines += ["", "## Second-order MAML meta-iterations per second (sinusoid, median)", "",
              "| meta-batch | method | meta-it/s |", "| ---: | --- | ---: |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in check_speed(device, args.seconds,
                                                                 args.repeats)]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
