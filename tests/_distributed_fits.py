"""The fits of tests/test_distributed.py, and the script its torchrun ranks run.

``python -m torch.distributed.run --nproc_per_node=2 tests/_distributed_fits.py OUT``:
every rank joins a gloo process group, runs every fit of :data:`FITS` with
``distributed="auto"`` and saves what it learned to ``OUT/rank<r>.pt``. The test fits the
same estimators in one process and compares.
"""

import io
import os
import sys
from contextlib import redirect_stderr

import numpy as np
import torch
from torch import nn


class _Recording(nn.Module):
    """An MLP embedding that records the number of tasks of every training batch."""

    def __init__(self, n_inputs, n_outputs):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_inputs, 16), nn.ReLU(), nn.Linear(16, n_outputs))
        self.batch_sizes = []

    def forward(self, X):
        if self.training and X.dim() == 3:
            self.batch_sizes.append(int(X.shape[0]))
        return self.net(X)


def _split(data):
    """Training tasks as flat arrays, and a new task (support rows, query rows)."""
    train = data.groups != data.groups[-1]
    X_new, y_new = data.X[~train], data.y[~train]
    return data.X[train], data.y[train], data.groups[train], (X_new[:6], y_new[:6], X_new[6:])


def _sinusoids():
    from sklearn_meta.datasets import make_sinusoid_tasks

    return _split(make_sinusoid_tasks(n_tasks=31, n_samples_per_task=20, random_state=0))


def _nway():
    from sklearn_meta.datasets import make_classification_tasks

    return _split(make_classification_tasks(n_tasks=31, n_samples_per_task=30, n_features=5,
                                            n_classes=3, per_task_labels=True,
                                            random_state=0))


def _maml():
    from sklearn_meta.gradient import MAMLRegressor

    # second order, early stopping on validation tasks, an odd meta-batch (3 + 2 tasks)
    return MAMLRegressor(hidden_layer_sizes=(16, 16), inner_steps=2, first_order=False,
                         meta_batch_size=5, max_iter=40, early_stopping=True,
                         validation_interval=5, n_iter_no_change=3, random_state=0)


def _reptile():
    from sklearn_meta.gradient import ReptileRegressor

    # the explicit-gradient path; meta_batch_size=1 < 2 ranks: rank 1 has no task
    return ReptileRegressor(hidden_layer_sizes=(16,), inner_steps=2, meta_batch_size=1,
                            max_iter=20, random_state=0)


def _protonet():
    from sklearn_meta.metric import ProtoNetClassifier

    return ProtoNetClassifier(module=_Recording, n_shots=2, n_queries=3, meta_batch_size=5,
                              max_iter=40, early_stopping=True, validation_interval=5,
                              n_iter_no_change=3, random_state=0, verbose=1)


def _metasgd():
    from sklearn_meta.gradient import MetaSGDClassifier

    # learned inner step sizes, per-task labels (3-way episodes), first order
    return MetaSGDClassifier(hidden_layer_sizes=(16,), n_shots=2, meta_batch_size=4,
                             max_iter=20, first_order=True, random_state=0)


def _finetune():
    from sklearn_meta.gradient import FineTuneRegressor

    return FineTuneRegressor(hidden_layer_sizes=(16,), meta_batch_size=6, max_iter=20,
                             random_state=0)


def _neural_process():
    from sklearn_meta.model_based import NeuralProcessRegressor

    return NeuralProcessRegressor(meta_batch_size=4, max_iter=10, random_state=0)


#: name -> (estimator factory, data factory)
FITS = {
    "maml": (_maml, _sinusoids),
    "reptile": (_reptile, _sinusoids),
    "protonet": (_protonet, _nway),
    "metasgd": (_metasgd, _nway),
    "finetune": (_finetune, _sinusoids),
    "neural_process": (_neural_process, _sinusoids),
}
#: fits whose random draws inside the loss are made per rank: the ranks agree, but the
#: fit equals the one-process fit only in distribution
PER_RANK_RANDOMNESS = {"neural_process"}


def learned(est, new_task):
    """What a fit learned: parameters (float64 numpy), its history and its predictions
    on a new task after ``adapt``."""
    if hasattr(est, "params_"):
        params = {k: v.double().numpy() for k, v in est.params_.items()}
    else:
        params = {k: v.detach().double().numpy() for k, v in est.network_.state_dict().items()}
    out = {"params": params, "n_iter": est.n_iter_, "loss_curve": list(est.loss_curve_),
           "validation_scores": est.validation_scores_}
    X_s, y_s, X_q = new_task
    adapted = est.adapt(X_s, y_s)
    out["prediction"] = (adapted.predict_proba(X_q) if hasattr(adapted, "predict_proba")
                         else adapted.predict(X_q))
    module = getattr(est, "network_", None)
    if isinstance(module, _Recording):
        out["batch_sizes"] = list(module.batch_sizes)
    return out


def fit(name):
    """Fit ``FITS[name]``; returns (learned, captured stderr)."""
    make_est, make_data = FITS[name]
    X, y, groups, new_task = make_data()
    err = io.StringIO()
    with redirect_stderr(err):
        est = make_est().fit(X, y, groups=groups)
    return learned(est, new_task), err.getvalue()


def mismatched_fit(rank, what):
    """Rank 1 passes one task fewer (``what="tasks"``) or another ``inner_lr``: every
    rank must raise the same clear error."""
    make_est, make_data = FITS["reptile"]
    X, y, groups, _ = make_data()
    keep = groups != groups[0] if rank == 1 and what == "tasks" else np.ones(len(y), bool)
    est = make_est()
    if rank == 1 and what == "settings":
        est.set_params(inner_lr=0.5)
    try:
        est.fit(X[keep], y[keep], groups=groups[keep])
    except ValueError as exc:
        return str(exc)
    return None


def _native_threads():
    """Names of this process's threads (Linux), None elsewhere."""
    tasks = "/proc/self/task"
    if not os.path.isdir(tasks):
        return None
    names = []
    for t in os.listdir(tasks):
        with open(os.path.join(tasks, t, "comm")) as f:
            names.append(f.read().strip())
    return names


def main(out):
    import torch.distributed as dist

    import sklearn_meta.gradient  # noqa: F401  (as a script does: imports first)

    dist.init_process_group("gloo")
    try:
        rank = dist.get_rank()
        result = {"world_size": dist.get_world_size()}
        for name in FITS:
            result[name], result[name + "_stderr"] = fit(name)
        for what in ("tasks", "settings"):
            result["mismatched_" + what] = mismatched_fit(rank, what)
    finally:
        dist.destroy_process_group()
    # the gloo threads must be gone once the group is destroyed: a group kept alive is
    # torn down at interpreter shutdown, which can abort the rank (SIGABRT)
    result["threads_after_destroy"] = _native_threads()
    torch.save(result, os.path.join(out, f"rank{rank}.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
