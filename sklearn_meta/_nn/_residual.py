"""Residual mode of the torch learners: a scikit-learn model underneath the network.

With ``base_estimator`` set, a scikit-learn model is fitted on the meta-training rows and
the network meta-learns a correction added to its output: the logits (to the base
model's log-probabilities) or the prediction. During meta-training the offsets are the
base model's out-of-fold margins over 5 folds of tasks (so the network learns to correct
errors the base model makes on tasks it did not see); at ``adapt`` and ``predict`` they
are the margins of the base model fitted on all meta-training rows.

The offsets travel as extra input columns (appended to ``X``), so the episode sampler,
the engine and the trainer need no change; :class:`OffsetModule` splits them off again
and adds them to the network's output.
"""

import numpy as np
from sklearn.base import clone
from torch import nn

from ..tasks import TaskSet, _require_shared_labels
from ..utils._wrapped import fill_empty_columns

_N_FOLDS = 5
_EPS = 1e-9


class OffsetModule(nn.Module):
    """``net(x[..., :n_features]) + x[..., n_features:]``: a network over an offset."""

    def __init__(self, net, n_features):
        super().__init__()
        self.net = net
        self.n_features = n_features

    def forward(self, x):
        return self.net(x[..., :self.n_features]) + x[..., self.n_features:]


def _margins(est, model, X):
    """Offsets of the network's outputs: centred log-probabilities, or the prediction."""
    if not est._is_classifier():
        return np.asarray(model.predict(X), dtype=np.float64).reshape(-1, 1)
    K = len(est.meta_classes_)
    proba = np.zeros((X.shape[0], K))
    if isinstance(model, _OneClass):
        proba[:, model.code] = 1.0
    else:
        proba[:, np.asarray(model.classes_, dtype=np.int64)] = model.predict_proba(X)
    logp = np.log(np.clip(proba, _EPS, None))
    return logp - logp.mean(axis=1, keepdims=True)


class _OneClass:
    def __init__(self, code):
        self.code = code


def base_param(est):
    """The base model ``est`` uses: ``est._base_estimator`` once the learner has resolved
    its ``base_estimator`` parameter (e.g. ``"auto"``, chosen in ``fit``), else the
    parameter itself (None: no base model)."""
    if "_base_estimator" in est.__dict__:
        return est.__dict__["_base_estimator"]
    return getattr(est, "base_estimator", None)


def _fit(est, X, y):
    if est._is_classifier() and np.unique(y).size < 2:
        return _OneClass(int(y[0]))
    return clone(base_param(est)).fit(fill_empty_columns(X), y)


def _offsets(est, tasks, warm):
    """The training rows' offsets (out of fold over 5 folds of tasks); fits the base model."""
    _require_shared_labels(  # regression tasks have no label space: nothing to refuse
        tasks, f"base_estimator={base_param(est)!r}", "it predicts their classes",
        "use base_estimator=None for N-way episodes")
    if warm and getattr(est, "base_estimator_", None) is not None:
        return _margins(est, est.base_estimator_, tasks.X)
    est.base_estimator_ = _fit(est, tasks.X, tasks.y)
    n_folds = min(_N_FOLDS, tasks.n_tasks)
    if n_folds < 2:  # one task: in-sample margins
        return _margins(est, est.base_estimator_, tasks.X)
    fold = np.repeat(np.arange(tasks.n_tasks) % n_folds, np.diff(tasks.starts))
    offsets = None
    for f in range(n_folds):
        held = fold == f
        m = _margins(est, _fit(est, tasks.X[~held], tasks.y[~held]), tasks.X[held])
        if offsets is None:
            offsets = np.empty((tasks.X.shape[0], m.shape[1]))
        offsets[held] = m
    return offsets


def prepare(est, tasks, warm=False):
    """The tasks with the base model's offsets as extra columns (``tasks`` if none).

    Fits ``est.base_estimator_`` (all rows) and sets ``est._n_offsets``; a warm
    (continued) fit keeps the fitted base model and uses its margins.
    """
    if base_param(est) is None:
        est._n_offsets = 0
        return tasks
    offsets = _offsets(est, tasks, warm)
    est._n_offsets = offsets.shape[1]
    return TaskSet(np.hstack([tasks.X, offsets]), tasks.y, tasks.starts, tasks.task_ids,
                   tasks.label_space, tasks.classes)


def residual_targets(est, tasks, warm=False):
    """Regression: the tasks with targets minus the base model's (out-of-fold) prediction."""
    if base_param(est) is None:
        return tasks
    offsets = _offsets(est, tasks, warm)
    return TaskSet(tasks.X, tasks.y - offsets[:, 0], tasks.starts, tasks.task_ids,
                   tasks.label_space, tasks.classes)


def base_prediction(est, X):
    """Regression: the fitted base model's prediction (0 without a base model)."""
    if base_param(est) is None or getattr(est, "base_estimator_", None) is None:
        return 0.0
    return _margins(est, est.base_estimator_, X)[:, 0]


def split(est, X):
    """``(features, offsets)`` of rows that carry offset columns (offsets None if none)."""
    n_off = getattr(est, "_n_offsets", 0)
    if not n_off:
        return X, None
    return X[..., :-n_off], X[..., -n_off:]


def augment(est, X):
    """``X`` with the fitted base model's offsets (``X`` itself without a base model)."""
    if X is None or not getattr(est, "_n_offsets", 0):
        return X
    return np.hstack([X, _margins(est, est.base_estimator_, X)])


def wrap(est, net, n_inputs):
    """The network over the base model's offsets (``net`` without a base model)."""
    n_off = getattr(est, "_n_offsets", 0)
    return OffsetModule(net, n_inputs - n_off) if n_off else net


def n_network_inputs(est, n_inputs):
    """Inputs of the user's network: the features without the offset columns."""
    return n_inputs - getattr(est, "_n_offsets", 0)


__all__ = ["OffsetModule", "augment", "base_param", "base_prediction", "n_network_inputs", "prepare",
           "residual_targets", "split", "wrap"]
