"""Neural processes over tasks with different columns (heterogeneous attribute spaces).

After Iwata and Kumagai, "Meta-learning from Tasks with Heterogeneous Attribute Spaces"
(NeurIPS 2020). A support set is read as a set of (column, value, label) observations:

1. **attribute embeddings from the support rows**: for every column of the task, a set
   network over the (value, label) pairs of the support rows where that column is
   observed gives the column's embedding. Nothing is tied to a column's position or name,
   so a column never seen in meta-training gets an embedding the same way;
2. **row embeddings**: a set network over the row's cells, each (column embedding,
   value, missing flag), pooled over the columns the task has. A column the task lacks
   is left out; a value missing in a column the task has enters with its flag;
3. **prediction from the support set**: classification by distance to class prototypes
   of the support row embeddings (with a learned prior prototype for a class the support
   set lacks, shared label sets); regression by a small neural-process decoder
   (attention over the support rows and a mean task representation) with a Gaussian
   mean and standard deviation.

A column seen in meta-training also gets a learned embedding of its name, added to the
one from its support rows; meta-training hides the names of a random part of the columns
of every episode, so that a column never seen in fit (which has only the embedding from
its support rows) is read as well.

Everything is batched over tasks, rows and columns with masks: a cell is a finite value
(observed), NaN (missing in a column the task has) or +inf (a column the task lacks).
"""

import contextlib
import copy
import math
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d
from torch import nn

from .._columns import align_columns
from .._nn import _residual
from .._nn._prototypes import logits_loss
from .._torch import _TorchMetaLearnerMixin
from .._nn._sampler import SUPPORT_CONSTRAINT
from .._nn._params import (EPISODES_CLASSIFIER, EPISODES_REGRESSOR, EPISODIC_TRAINING, REPLAY,
                          RUNTIME)
from .._torch import _TORCH_PARAMETER_CONSTRAINTS, _build_module, _make_mlp
from ..base import BaseMetaClassifier, BaseMetaRegressor, _Adaptation
from ..tasks import TaskSet, _split_tasks
from ..utils._docstrings import fill_doc
from ..utils._math import decision_from_logits, softmax
from ..utils._numeric import raise_for_non_numeric
from ..utils._params import make_init
from ..utils._seeds import seed_of
from ._neural_process import _episode_mse, _zero_shot_rows, gaussian_nll

__all__ = ["HeterogeneousNeuralProcessClassifier", "HeterogeneousNeuralProcessRegressor"]

_CLIP = 10.0  # standardised values are clipped to [-_CLIP, _CLIP]
_NEG = -1e9  # logit of a class that is not in the episode
# base_estimator="auto": the held-out training tasks it chooses on (fraction, at least
# 2), episodes per held-out task, and the fewest tasks it chooses with (else: plain)
_AUTO_HELD_FRACTION = 0.2
_AUTO_EPISODES = 8
_AUTO_MIN_TASKS = 5


def _mlp(n_in, n_out, hidden):
    return _make_mlp(n_in, n_out, (hidden,), "relu")


def _cells(X):
    """(values with 0 where not observed, observed, present) of a cell tensor."""
    observed = torch.isfinite(X)
    present = ~torch.isinf(X)
    return torch.where(observed, X, torch.zeros_like(X)), observed.to(X.dtype), \
        present.to(X.dtype)


def _positions(names, among):
    """Index of every name of ``names`` in ``among`` (-1 where absent), by hashing."""
    return pd.Index(among).get_indexer(pd.Index(names)).astype(np.int64)


def _masked_mean(values, weights, dim):
    """Weighted mean of ``values`` over ``dim`` (0 where the weights sum to 0)."""
    total = (weights.unsqueeze(-1) * values).sum(dim)
    return total / weights.sum(dim).clamp_min(1.0).unsqueeze(-1)


class _HeterogeneousNet(nn.Module):
    """The network: attribute embeddings, row embeddings, prototypes or NP decoder.

    ``cell_encoder`` maps ``(2 * embedding_dim + 2)`` cell inputs (column embedding,
    value, value times embedding, missing flag) to ``hidden`` features (the default MLP or the user's ``module``).
    ``n_shared_classes``: the size of a shared label set (learned class embeddings and
    prior prototypes), 0 for per-task labels or regression.
    """

    def __init__(self, cell_encoder, dim, hidden, target, n_shared_classes=0, n_known=0):
        super().__init__()
        self.target = target
        self.dim = dim
        # columns seen in fit also get a learned embedding of their name (id n_known:
        # a column never seen in fit, which has only the embedding from its support rows)
        self.column_embedding = nn.Parameter(torch.zeros(int(n_known) + 1, dim))
        n_cls = max(int(n_shared_classes), 1)
        self.shared = n_shared_classes > 0
        if target == "value":
            self.attr_cell = _mlp(3, hidden, hidden)  # (x, y, x * y)
            self.attr_out = _mlp(hidden + 1, dim, hidden)
        else:
            self.attr_cell = _mlp(1, hidden, hidden)
            self.class_embedding = nn.Parameter(0.1 * torch.randn(n_cls, hidden))
            # per class: centred mean of the cell features and of the raw value
            self.attr_class = _mlp(2 * hidden + 2, hidden, hidden)
            self.attr_out = _mlp(2 * hidden + 2, dim, hidden)
        self.cell_encoder = cell_encoder
        self.row_out = _mlp(hidden, dim, hidden)
        if target == "value":
            self.key = nn.Linear(dim, dim)
            self.query = nn.Linear(dim, dim)
            self.value = _mlp(dim + 1, dim, hidden)
            self.null_key = nn.Parameter(torch.zeros(dim))
            self.null_value = nn.Parameter(torch.zeros(dim))
            self.head = nn.Sequential(
                nn.Linear(3 * dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                nn.ReLU(), nn.Linear(hidden, 2),
            )
        else:
            self.prior = nn.Parameter(torch.zeros(n_cls, dim))
            self.log_prior_weight = nn.Parameter(torch.tensor(0.0))
            self.log_scale = nn.Parameter(torch.tensor(0.0))
            self.bias = nn.Parameter(torch.zeros(n_cls))
            # base_estimator: how much of the base model's log-probabilities to keep
            # (softplus(0.5413) = 1: all of it at the start)
            self.offset_weight = nn.Parameter(torch.tensor(0.5413))

    # -- attributes and rows ---------------------------------------------------------
    def attributes(self, X_s, y_s, m_s, n_classes=None, ids=None):
        """Column embeddings (T, F, dim) and which columns the support set has (T, F).

        ``ids`` (T, F) or (F,): the index of every column among the columns of fit
        (``n_known`` for a new one); None: the columns of fit in order."""
        x, observed, present = _cells(X_s)
        rows = m_s.unsqueeze(-1)
        w = observed * rows  # (T, N, F)
        count = w.sum(1)
        available = (present * rows).amax(1) if X_s.shape[1] else present.sum(1) * 0
        log_count = torch.log1p(count).unsqueeze(-1)
        if self.target == "value":
            y = y_s.to(x.dtype).unsqueeze(-1).expand_as(x)
            u = self.attr_cell(torch.stack([x, y, x * y], dim=-1))  # (T, N, F, H)
            feat = torch.cat([_masked_mean(u, w, 1), log_count], dim=-1)
        else:
            u = torch.cat([self.attr_cell(x.unsqueeze(-1)), x.unsqueeze(-1)], dim=-1)
            overall = _masked_mean(u, w, 1)  # (T, F, H + 1)
            onehot = nn.functional.one_hot(y_s.clamp_min(0), n_classes).to(x.dtype)
            wk = w.unsqueeze(-1) * (onehot * rows).unsqueeze(2)  # (T, N, F, K)
            n_k = wk.sum(1)  # (T, F, K)
            means = torch.einsum("tnfk,tnfh->tfkh", wk, u) / n_k.clamp_min(1.0).unsqueeze(-1)
            centred = means - overall.unsqueeze(2)
            emb = self.class_embedding[:n_classes] if self.shared else self.class_embedding
            emb = emb.expand(*centred.shape[:2], n_classes, emb.shape[-1])
            spread = centred[..., -1:].abs()  # how far the class means of the value lie
            q = self.attr_class(torch.cat([centred, emb, spread], dim=-1))  # (T, F, K, H)
            by_class = _masked_mean(q, (n_k > 0).to(x.dtype), 2)
            feat = torch.cat([overall, by_class, log_count], dim=-1)
        if ids is None:
            ids = torch.arange(X_s.shape[-1], device=X_s.device).clamp_max(
                self.column_embedding.shape[0] - 1)
        return self.attr_out(feat) + self.column_embedding[ids], available

    def rows(self, X, attributes, available):
        """Row embeddings (T, N, dim) from the row's cells in the task's columns."""
        x, observed, present = _cells(X)
        T, N, F = x.shape
        v = attributes.unsqueeze(1).expand(T, N, F, attributes.shape[-1])
        xv = x.unsqueeze(-1)
        # (column embedding, value, value x embedding, missing flag): the product lets a
        # column's relevance (its embedding) scale its value without learning to multiply
        cells = torch.cat([v, xv, xv * v, (present - observed).unsqueeze(-1)], dim=-1)
        h = self.cell_encoder(cells)  # (T, N, F, H)
        w = present * available.unsqueeze(1)
        return self.row_out(_masked_mean(h, w, 2))

    # -- support set -> context -> query ---------------------------------------------
    def encode(self, X_s, y_s, m_s, n_classes=None, ids=None):
        attributes, available = self.attributes(X_s, y_s, m_s, n_classes, ids)
        z = self.rows(X_s, attributes, available)
        context = {"attributes": attributes, "available": available}
        if self.target == "value":
            vals = self.value(torch.cat([z, y_s.to(z.dtype).unsqueeze(-1)], dim=-1))
            context.update(keys=self.key(z), values=vals, mask=m_s,
                           summary=_masked_mean(vals, m_s, 1))
            return context
        onehot = nn.functional.one_hot(y_s.clamp_min(0), n_classes).to(z.dtype)
        onehot = onehot * m_s.unsqueeze(-1)
        n_k = onehot.sum(1)  # (T, K)
        sums = torch.einsum("tnk,tnd->tkd", onehot, z)
        alpha = nn.functional.softplus(self.log_prior_weight)
        prior = self.prior[:n_classes] if self.shared else self.prior.expand(n_classes, -1)
        context["prototypes"] = (sums + alpha * prior) / (n_k + alpha).unsqueeze(-1)
        context["valid"] = (
            torch.ones_like(n_k, dtype=torch.bool) if self.shared else n_k > 0
        )
        return context

    def decode(self, X_q, context, offsets=None):
        """Query predictions; ``offsets`` (T, Nq, K): the base model's centred
        log-probabilities, added to the logits with a learned weight."""
        z = self.rows(X_q, context["attributes"], context["available"])
        if self.target == "value":
            T = z.shape[0]
            keys = torch.cat([self.null_key.expand(T, 1, -1), context["keys"]], dim=1)
            vals = torch.cat([self.null_value.expand(T, 1, -1), context["values"]], dim=1)
            m = context["mask"]
            mask = torch.cat([torch.ones(T, 1, dtype=m.dtype, device=m.device), m], 1)
            scores = torch.einsum("tqd,tkd->tqk", self.query(z), keys) / math.sqrt(self.dim)
            scores = scores.masked_fill(mask.unsqueeze(1) <= 0, float("-inf"))
            read = torch.softmax(scores, dim=-1) @ vals
            summary = context["summary"].unsqueeze(1).expand_as(read)
            out = self.head(torch.cat([z, read, summary], dim=-1))
            return out[..., 0], 1e-3 + nn.functional.softplus(out[..., 1])
        protos = context["prototypes"]
        d2 = ((z.unsqueeze(2) - protos.unsqueeze(1)) ** 2).sum(-1)  # (T, Nq, K)
        bias = self.bias[: protos.shape[1]] if self.shared else self.bias[:1]
        logits = -torch.exp(self.log_scale) * d2 / math.sqrt(self.dim) + bias
        if offsets is not None:
            logits = logits + nn.functional.softplus(self.offset_weight) * offsets
        return logits.masked_fill(~context["valid"].unsqueeze(1), _NEG)


class _HeterogeneousMixin(_TorchMetaLearnerMixin):
    """What the heterogeneous classifier and regressor share."""

    _target = None
    _reads_absent_columns = True  # the CLI keeps NaN (absent columns) for it

    def _allow_nan(self):
        return True  # a missing value is a cell with its missing flag

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # -- columns -----------------------------------------------------------------------
    def _names_in(self):
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = np.arange(self.n_features_in_)
        return np.asarray(names, dtype=object)

    def _validate_X(self, X, *, reset=False, name="X"):
        # scoring over many tasks (score, episodic scorers): the columns of fit, by name;
        # columns never seen in fit are dropped silently there (adapt/predict use them)
        return super()._validate_X(align_columns(self, X, name, warn_new=False), name=name)

    def _read_columns(self, X, name):
        """(values, column names, whether absence is explicit) of the rows ``X``.

        A DataFrame keeps all its columns (known or new) with their names (after a fit
        without column names, one as wide as ``fit``'s is read by position); an array has
        the columns of ``fit``, and a column missing on every support row is absent.
        """
        shape = getattr(X, "shape", ())
        positional = getattr(self, "feature_names_in_", None) is None and \
            len(shape) == 2 and shape[1] == self.n_features_in_
        if hasattr(X, "columns") and hasattr(X, "iloc") and not positional:
            names = np.asarray(list(X.columns), dtype=object)
            if len(set(names.tolist())) != len(names):
                raise ValueError(
                    f"{name} has duplicated column names; columns are matched by name."
                )
            try:
                values = check_array(X, dtype=np.float64, ensure_all_finite="allow-nan",
                                     input_name=name)
            except (ValueError, TypeError) as exc:
                raise_for_non_numeric(self, X, exc, name)
            return values, names, True
        return self._validate_X(X, name=name), self._names_in(), False

    def _standardise(self, X, names, mean=None, scale=None):
        """Standardised values and the (mean, scale) used: the statistics of ``fit`` for
        known columns, of ``X`` itself for columns never seen in ``fit``."""
        if mean is None:
            pos = _positions(names, self._names_in())
            with np.errstate(all="ignore"), _quiet():
                own_mean = np.nan_to_num(np.nanmean(X, axis=0)) if X.shape[0] else \
                    np.zeros(X.shape[1])
                own_scale = np.nanstd(X, axis=0) if X.shape[0] else np.ones(X.shape[1])
            own_scale = np.where(np.isfinite(own_scale) & (own_scale > 0), own_scale, 1.0)
            mean = np.where(pos >= 0, self.column_mean_[pos], own_mean)
            scale = np.where(pos >= 0, self.column_scale_[pos], own_scale)
        Z = np.clip((X - mean) / scale, -_CLIP, _CLIP)
        return Z, mean, scale

    def _support_state(self, X, y, names, explicit, n_classes=None):
        """The adapted state of a support set given with its column names."""
        keep = np.ones(X.shape[1], dtype=bool) if explicit else ~np.isnan(X).all(axis=0)
        if X.shape[0] == 0:
            keep[:] = True
        X, names = X[:, keep], names[keep]
        Z, mean, scale = self._standardise(X, names)
        return self._state(Z, y, names, mean, scale, n_classes)

    def _state(self, Z, y, names, mean, scale, n_classes):
        net = self._device_network()
        ids = _positions(names, self._names_in())
        ids[ids < 0] = self.n_features_in_  # a column never seen in fit: no name embedding
        with torch.no_grad():
            dtype = torch.int64 if self._target == "class" else torch.float64
            X_t = self._tensor(Z)[None]
            y_t = self._tensor(y, dtype)[None]
            m_t = torch.ones(y_t.shape, dtype=torch.float64, device=X_t.device)
            ctx = net.encode(X_t, y_t, m_t, n_classes, self._tensor(ids, torch.int64)[None])
        return {"columns": names, "mean": mean, "scale": scale,
                "context": {k: v.cpu() for k, v in ctx.items()}}

    def _query(self, X, names, state):
        """Query rows laid out in the columns of ``state`` (+inf: the row lacks one)."""
        pos = _positions(state["columns"], names)
        Q = X[:, np.maximum(pos, 0)] if X.shape[1] else np.zeros((X.shape[0], len(pos)))
        Q = np.clip((Q - state["mean"]) / state["scale"], -_CLIP, _CLIP)
        Q[:, pos < 0] = np.inf
        return Q

    def _decode_named(self, X, names, state):
        net = self._device_network()
        device = self._device()
        Q = self._query(X, names, state)
        offsets = self._offsets_of(X, names) if self._target == "class" else None
        with torch.no_grad():
            ctx = {k: v.to(device) for k, v in state["context"].items()}
            if offsets is not None:
                offsets = self._tensor(offsets)[None]
            return net.decode(self._tensor(Q)[None], ctx, offsets)

    # -- fit -----------------------------------------------------------------------------
    def _build_network(self, n_features, seed):
        hidden = int(self.hidden_layer_sizes[0]) if len(self.hidden_layer_sizes) else \
            self.embedding_dim
        cell = _build_module(
            self.module, 2 * self.embedding_dim + 2, hidden,
            hidden_layer_sizes=self.hidden_layer_sizes, activation=self.activation,
            seed=seed,
        )
        n_shared = len(self.meta_classes_) if (
            self._target == "class" and self._label_space_ == "shared") else 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1)
            return _HeterogeneousNet(cell, self.embedding_dim, hidden, self._target,
                                     n_shared, _residual.n_network_inputs(self, n_features)
                                     ).float()

    def partial_fit(self, X, y=None, groups=None, classes=None):
        """Continue meta-training on one more batch of tasks of a stream.

        As for the other torch learners: ``max_iter`` meta-iterations from the current
        network on the new tasks mixed with tasks replayed from a reservoir of past
        ones (``replay_buffer_size``, ``replay_ratio``); no early stopping. The column
        statistics (and the base model) of the first call are kept.

        Parameters
        ----------
        X : sequence of (X, y) pairs, or array-like of shape (n_rows, n_features)
            The new tasks, in any input form of :meth:`fit`. DataFrames are matched by
            name with the columns of the first call: a column a task lacks is absent;
            columns the first call did not have are ignored, with a warning.
        y : array-like of shape (n_rows,), default=None
            Targets of all rows; omitted when ``X`` is a list of tasks.
        groups : array-like of shape (n_rows,), default=None
            The task id of every row.
        classes : array-like, default=None
            Classifiers: every label of the stream, needed on the first call when
            tasks share one label set and later batches bring new labels.

        Returns
        -------
        self : object
            The estimator, meta-trained on the stream so far.
        """
        if hasattr(self, "n_features_in_"):
            X = self._in_first_columns(X, y)
        return super().partial_fit(X, y, groups=groups, classes=classes)

    def _in_first_columns(self, X, y):
        """A later ``partial_fit`` batch of DataFrames in the columns of the first one
        (by name; absent columns are NaN blocks, read as absent; new ones dropped)."""
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return X
        names = list(names)
        known, new = set(names), []

        def align(frame):
            if not hasattr(frame, "reindex") or list(frame.columns) == names:
                return frame
            new.extend(c for c in frame.columns if c not in known and c not in new)
            return frame.reindex(columns=names)

        if y is None and isinstance(X, (list, tuple)):  # a list of (X, y) tasks
            X = [(align(Xi), yi) for Xi, yi in X]
        else:
            X = align(X)
        if new:
            warnings.warn(
                f"partial_fit: column(s) {[str(c) for c in new]} were not in the first "
                f"batch of the stream; {type(self).__name__} keeps the columns of its "
                "first partial_fit call and ignores them (adapt and predict still use "
                "columns never seen in fit).", UserWarning, stacklevel=3)
        return X

    def _meta_fit(self, tasks):
        warm = self.warm_start and hasattr(self, "network_")
        if self._resolve_base_estimator(tasks, keep=warm):
            self._fit_with_base(tasks, warm)

    def _fit_with_base(self, tasks, warm):
        """Meta-train on ``tasks`` with the base model already resolved."""
        tasks = self._network_tasks(tasks, first=True)
        self._fit_network(tasks, warm=warm)
        self._default_state = self._zero_shot_state(tasks)

    def _partial_meta_fit(self, tasks, replay, task_picker, first):
        # the column statistics, target scale and base model of the first batch stay
        if not self._resolve_base_estimator(tasks, keep=not first):
            return  # interrupted while choosing: the trial network is kept
        tasks = self._network_tasks(tasks, first=first)
        if replay is not None:
            replay = self._network_tasks(replay, first=False)
        super()._partial_meta_fit(tasks, replay, task_picker, first)
        self._default_state = self._zero_shot_state(tasks)

    def _network_tasks(self, tasks, first):
        """The tasks as the network reads them: standardised values, +inf for a column a
        task lacks, scaled targets, and the base model's offsets as extra columns.

        ``first``: compute the column statistics (and fit the base model) on ``tasks``;
        otherwise those of the first fit are used (``partial_fit``'s later batches and
        the replayed tasks).
        """
        X = tasks.X
        if first:
            with np.errstate(all="ignore"), _quiet():
                mean = np.nanmean(X, axis=0) if X.shape[0] else np.zeros(X.shape[1])
                scale = np.nanstd(X, axis=0) if X.shape[0] else np.ones(X.shape[1])
            self.column_mean_ = np.nan_to_num(mean)
            self.column_scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        Z = np.clip((X - self.column_mean_) / self.column_scale_, -_CLIP, _CLIP)
        Z[~tasks.present[tasks.task_index]] = np.inf
        if self._target == "class":
            prepared = _residual.prepare(self, tasks, warm=not first)
            Z = np.hstack([Z, prepared.X[:, X.shape[1]:]])  # the offsets (if any)
            y = tasks.y
        else:
            y = self._scaled_targets(_residual.residual_targets(self, tasks, not first).y,
                                     first)
        return TaskSet(Z, y, tasks.starts, tasks.task_ids, tasks.label_space,
                       tasks.classes, tasks.present)

    # -- base_estimator="auto": the plain network or the residual variant ----------------
    def _resolve_base_estimator(self, tasks, keep=False):
        """Set ``_base_estimator``, the base model this fit uses (None: the plain network),
        and ``base_selection_``. ``keep``: a continued fit keeps the earlier choice.

        ``base_estimator="auto"`` chooses by validation on held-out *training* tasks: a
        random ``_AUTO_HELD_FRACTION`` of the tasks (at least 2) is held out, the plain
        network and the residual variant (over a pooled ``HistGradientBoosting`` model)
        are meta-trained on the other tasks, and both are scored on the same
        ``_AUTO_EPISODES`` episodes of every held-out task (accuracy, or minus the mean
        squared error). The residual variant is chosen when its mean paired gain exceeds
        one standard error (over the held-out tasks): the one-standard-error rule, in
        favour of the simpler model without a base model. The chosen variant is then
        meta-trained on all tasks.

        Returns False when a KeyboardInterrupt stopped a trial fit: the interrupted trial
        (meta-trained on part of the tasks) is then kept as the fitted model, with a
        warning, and nothing more is trained.
        """
        auto = isinstance(self.base_estimator, str) and self.base_estimator == "auto"
        if keep and (auto and "_base_estimator" in self.__dict__ or not auto):
            if not auto:
                self._base_estimator, self.base_selection_ = self.base_estimator, None
            return True
        self.base_selection_ = None
        self.base_estimator_ = None  # the fitted base model, set by the fit if any
        self._base_estimator = None if auto else self.base_estimator
        if not auto:
            return True
        seed = seed_of(self.random_state)
        shared = self._target == "value" or self._label_space_ == "shared"
        if not shared or tasks.n_tasks < _AUTO_MIN_TASKS:
            return True  # per-task labels (the base model predicts shared classes), few tasks
        hgb = HistGradientBoostingClassifier if self._target == "class" else \
            HistGradientBoostingRegressor
        candidate = hgb(random_state=seed)
        n_held = max(2, int(math.ceil(_AUTO_HELD_FRACTION * tasks.n_tasks)))
        inner, held = (tasks.subset(idx) for idx in
                       _split_tasks(tasks.n_tasks, n_held, np.random.default_rng(seed)))
        scores = {}
        for name, base in (("plain", None), ("residual", candidate)):
            trial = copy.copy(self)
            trial._base_estimator, trial.base_estimator_ = base, None
            trial._fit_with_base(inner, warm=False)
            if trial.__dict__.pop("_stop_reason", None) == "interrupted":
                self.__dict__.update(trial.__dict__)
                warnings.warn(
                    f"{type(self).__name__}: interrupted while base_estimator='auto' was "
                    f"choosing; kept the {name} variant meta-trained on {inner.n_tasks} "
                    f"of the {tasks.n_tasks} tasks (usable; fit again to choose).",
                    UserWarning, stacklevel=4)
                return False
            scores[name] = trial._held_out_scores(held)
        plain, residual = scores["plain"], scores["residual"]
        diff = residual - plain
        se = float(np.std(diff, ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else np.inf
        chosen = "residual" if len(diff) and float(np.mean(diff)) > se else "plain"
        self.base_selection_ = {
            "chosen": chosen, "plain": float(np.mean(plain)) if len(diff) else np.nan,
            "residual": float(np.mean(residual)) if len(diff) else np.nan, "se": se,
            "n_tasks": int(len(diff)),
        }
        if chosen == "residual":
            self._base_estimator = candidate
        if self.verbose:
            print(f"{type(self).__name__}: base_estimator='auto' chose the {chosen} "
                  f"variant on {len(diff)} held-out training tasks ({self.base_selection_})")
        return True

    def _held_out_scores(self, tasks):
        """Per-task score (higher is better) of the fitted network on ``_AUTO_EPISODES``
        episodes of each of ``tasks`` (not seen in fit): accuracy, or minus the mean
        squared error in target units. Tasks too small for an episode are left out."""
        prepared = self._network_tasks(tasks, first=False)
        device = self._device()
        sampler = self._sampler(prepared, np.random.default_rng(0), device)
        if not len(sampler.usable):
            return np.zeros(0)
        ep = sampler.sample(np.repeat(sampler.usable, _AUTO_EPISODES))
        net = copy.deepcopy(self.network_).to(device).eval()
        with torch.no_grad():
            score = self._episode_scores(net, ep)
        return score.double().cpu().numpy().reshape(-1, _AUTO_EPISODES).mean(1)

    def _in_fit_columns(self, X, names):
        """Rows ``X`` with columns ``names`` in the columns of ``fit`` (NaN where one is
        absent; new columns dropped): what the base model reads."""
        fit_names = self._names_in()
        if len(names) == len(fit_names) and (names == fit_names).all():
            return X
        pos = _positions(fit_names, names)
        aligned = np.full((X.shape[0], len(fit_names)), np.nan)
        aligned[:, pos >= 0] = X[:, pos[pos >= 0]]
        return aligned

    def _offsets_of(self, X, names):
        """The base model's centred log-probabilities of rows ``X`` (None without one)."""
        if not getattr(self, "_n_offsets", 0):
            return None
        return _residual.augment(self, self._in_fit_columns(X, names))[:, -self._n_offsets:]

    def _episode(self, net, ep, keep_one_row):
        """``(X_s, X_q, m_s, ids, query offsets)`` of a batch of episodes; in training,
        a random part of every task's columns and support rows is dropped and the name
        of some columns hidden (as if never seen in fit)."""
        X_s, _ = _residual.split(self, ep.X_s)
        X_q, offsets = _residual.split(self, ep.X_q)
        if not net.training:
            return X_s, X_q, ep.m_s, None, offsets
        return (*self._augment(X_s, X_q, ep.m_s, keep_one_row), offsets)

    def _augment(self, X_s, X_q, m_s, keep_one_row):
        T, _, F = X_s.shape
        dev = X_s.device
        ids = torch.arange(F, device=dev).expand(T, F)
        hide = torch.rand(T, F, device=dev) < 0.5 * torch.rand(T, 1, device=dev)
        ids = torch.where(hide, torch.full_like(ids, F), ids)
        if self.column_dropout > 0 and F > 1:
            rate = self.column_dropout * torch.rand(T, 1, device=dev)
            drop = torch.rand(T, F, device=dev) < rate
            has = ~torch.isinf(X_s).all(1)  # (T, F): columns the task has
            kept = has & ~drop
            drop = drop & kept.any(1, keepdim=True)  # keep at least one column
            X_s = X_s.masked_fill(drop.unsqueeze(1), float("inf"))
            X_q = X_q.masked_fill(drop.unsqueeze(1), float("inf"))
        if keep_one_row:
            n_s = m_s.shape[1]
            keep = torch.randint(1, n_s + 1, (T, 1), device=dev)
            rank = torch.argsort(torch.rand(m_s.shape, device=dev), dim=1)
            m_s = m_s * (rank < keep).to(m_s.dtype)
        return X_s, X_q, m_s, ids

    # -- adapt / predict -----------------------------------------------------------------
    def adapt(self, X_support, y_support, X_unlabeled=None):
        """Adapt to one new task: one forward pass over its support set.

        Parameters
        ----------
        X_support : array-like or DataFrame of shape (n_support, n_columns)
            Labelled rows of the new task. A DataFrame may have any columns: those seen
            in ``fit`` (any subset, any order) and new ones, matched by name. An array
            has the columns of ``fit``; a column missing on every row is absent.
        y_support : array-like of shape (n_support,)
            Their targets.
        X_unlabeled : ignored
            Not used; present for the common ``adapt`` signature.

        Returns
        -------
        self : object
            The estimator, adapted to the task.
        """
        check_is_fitted(self)
        X, names, explicit = self._read_columns(X_support, "X_support")
        y = column_or_1d(np.asarray(y_support), warn=True)
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"X_support has {X.shape[0]} rows but y_support has "
                f"{y.shape[0]}; they must have the same number of rows."
            )
        if self._target == "value":
            y = self._check_regression_targets(y, "y_support")
        classes, codes = self._encode_support(y)
        state = self._adapt_named(X, codes, names, explicit)
        self.adapted_ = _Adaptation(classes, state)
        return self

    def _adapt(self, X, y, X_unlabeled):
        # arrays in the columns of fit (episodic score): absence from NaN blocks
        return self._adapt_named(X, y, self._names_in(), False)

    def _rows_and_state(self, X, name="X"):
        check_is_fitted(self)
        X, names, _ = self._read_columns(X, name)
        state, classes = self._state_and_classes()
        return X, names, state, classes


# How base_estimator="auto" chooses (both classes).
_AUTO_DOC = """\
    "auto" chooses between the two in ``fit`` by validation on held-out *training*
    tasks: 20% of the tasks (at least 2, drawn with ``random_state``) are held out,
    the network alone and the residual mode over a pooled
    ``HistGradientBoosting`` model are meta-trained on the others and scored on the
    same 8 episodes of every held-out task (query accuracy, or mean squared error).
    The residual mode is kept when its mean gain over the network alone exceeds one
    standard error of the paired differences over the held-out tasks (the
    one-standard-error rule, in favour of the model without a base model); the
    chosen variant is then meta-trained on all tasks, so ``fit`` costs about three
    fits. ``base_selection_`` records the choice. With fewer than 5 tasks, or (the
    classifier) tasks with their own label sets, "auto" is the network alone; a
    continued fit (``warm_start``, later ``partial_fit`` calls) keeps the choice of
    the first (``partial_fit`` chooses on its first batch)."""

# Parameter paragraphs shared by the classifier and the regressor.
# The network parameters of both learners (utils._params.make_init).
_NETWORK = {"embedding_dim": 16, "hidden_layer_sizes": (32,), "activation": "relu",
            "module": None, "column_dropout": 0.5, "base_estimator": "auto"}

_DOCS = {
    "network": """\
embedding_dim : int, default=16
    Width of the column and row embeddings.
hidden_layer_sizes : array-like of shape (n_layers,), default=(32,)
    Hidden layers of the default cell network; its first entry is also the width of
    the set networks.
activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
    Activation of the default cell network.
module : callable, default=None
    ``module(2 * embedding_dim + 2, hidden) -> torch.nn.Module``: your cell network,
    applied to every cell of a row (column embedding, value, value times embedding,
    missing flag) before the cells are pooled over the row's columns; ``hidden`` is
    ``hidden_layer_sizes[0]``.
column_dropout : float, default=0.5
    Meta-training episodes hide a random fraction (up to this) of every task's
    columns, so the model learns to predict from whichever columns a task has.""",
    "base_estimator_class": """\
base_estimator : "auto", estimator or None, default="auto"
    Residual mode: a scikit-learn classifier that accepts NaN (e.g.
    ``HistGradientBoostingClassifier()``) fitted on the meta-training rows in the
    union of the columns (NaN where a task lacks a column). The network meta-learns a
    correction of its predictions: its logits are added to the base model's centred
    log-probabilities, weighted by a meta-learned factor (out-of-fold margins over 5
    folds of tasks for the training episodes; ``base_estimator_`` on all rows at
    ``adapt``/``predict``; columns never seen in ``fit`` are not read by the base
    model). Needs one label set shared by all tasks. None: the network alone.
""" + _AUTO_DOC,
    "base_estimator_value": """\
base_estimator : "auto", estimator or None, default="auto"
    Residual mode: a scikit-learn regressor that accepts NaN (e.g.
    ``HistGradientBoostingRegressor()``) fitted on the meta-training rows in the union
    of the columns (NaN where a task lacks a column); the network reads and predicts
    the residuals ``y - base prediction`` (out-of-fold over 5 folds of tasks for the
    training episodes; ``base_estimator_`` on all rows at ``adapt``/``predict``).
    None: the network alone.
""" + _AUTO_DOC,
    "base_attributes": """\
base_estimator_ : estimator or None
    The fitted base model of the residual mode (on all meta-training rows), None for
    the network alone (also when "auto" chose it).
base_selection_ : dict or None
    With ``base_estimator="auto"`` and a choice made: ``"chosen"`` ("plain" or
    "residual"), the mean held-out scores ``"plain"`` and ``"residual"`` (accuracy, or
    minus the mean squared error), ``"se"`` (the standard error of their paired
    difference) and ``"n_tasks"`` (held-out tasks); else None.""",
    "training": """\
meta_lr : float, default=1e-3
    Adam learning rate.
tol : float or None, default=1e-4
    Stop when the monitored score has not improved by ``tol`` for
    ``n_iter_no_change`` checks; None trains ``max_iter`` iterations.""",
    "columns": """\
The tasks may have different columns: give them as pandas DataFrames (aligned by column
name; a column a task lacks is absent, which is not the same as a missing value, NaN),
or as one table with ``groups`` where a column missing on every row of a task is absent
from it. ``adapt`` and ``predict`` accept a DataFrame with any columns (any subset of
the columns of ``fit``, in any order, and new ones) and predict each query row from the
columns it has in common with the support set.""",
    "checks": """\
Notes
-----
Because columns are matched by name and any subset of them (or new ones) is accepted,
scikit-learn's ``check_dataframe_column_names_consistency`` (which expects an error for
reordered, new or missing column names) does not apply; every other check passes.""",
}


@contextlib.contextmanager
def _quiet():
    """Silence numpy's all-NaN-column warnings of nanmean/nanstd."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


_COMMON_CONSTRAINTS = {
    **_TORCH_PARAMETER_CONSTRAINTS,
    "n_queries": [Interval(Integral, 1, None, closed="left")],
    "embedding_dim": [Interval(Integral, 1, None, closed="left")],
    "column_dropout": [Interval(Real, 0, 1, closed="left")],
    "meta_batch_size": [Interval(Integral, 1, None, closed="left")],
    "base_estimator": [HasMethods(["fit", "predict"]), StrOptions({"auto"}), None],
}


@fill_doc(**_DOCS)
class HeterogeneousNeuralProcessClassifier(_HeterogeneousMixin, BaseMetaClassifier):
    """Neural-process classifier for tasks with different columns.

    A model-based meta-learner after Iwata and Kumagai (NeurIPS 2020) that reads a
    support set as a set of (column, value, label) observations. Every column of the
    task gets an embedding from the support rows themselves (a set network over its
    (value, label) pairs), every row an embedding from a set network over its cells
    (column embedding, value, missing flag), and a query row is classified by its
    distance to the class prototypes of the support rows. No column needs a fixed
    position, so one model serves tasks with different columns and uses columns never
    seen in meta-training. ``adapt`` is one forward pass.

    %(columns)s

    Read more in the :ref:`User Guide <heterogeneous_columns>`.

    Parameters
    ----------
    n_shots : int, default=5
        Support rows per class of the meta-training episodes (shared labels: the
        support set is ``n_shots * n_classes`` random rows of the task, of which
        episodes keep a random number) and of ``score``.
    n_way : int, default=None
        Classes per meta-training episode with per-task label sets; None: all classes
        of a task.
    n_queries : int, default=5
        Query rows per class of the meta-training episodes.
    %(meta_support)s
    %(network)s
    %(base_estimator_class)s
    meta_batch_size : int, default=16
        Episodes per meta-iteration.
    %(training)s
    max_iter : int, default=1000
        Meta-iterations.
    early_stopping : bool, default=False
        Keep the network with the best episode accuracy on held-out tasks.
    %(validation_monitoring)s
    label_space : {"auto", "shared", "per_task"}, default="auto"
        Whether tasks share one label set.
    %(replay)s
    %(torch_runtime)s

    Attributes
    ----------
    network_ : torch.nn.Module
        The meta-trained network (on the CPU).
    column_mean_ : ndarray of shape (n_features_in_,)
        Mean of every column of ``fit`` (values are standardised with it; a column
        never seen in ``fit`` is standardised with its support rows).
    column_scale_ : ndarray of shape (n_features_in_,)
        Standard deviation of every column of ``fit`` (1 when constant).
    %(base_attributes)s
    %(episodic_classifier_attributes)s

    See Also
    --------
    HeterogeneousNeuralProcessRegressor : The regression counterpart.
    NeuralProcessClassifier : For tasks that share one set of columns.

    %(checks)s

    References
    ----------
    T. Iwata and A. Kumagai, "Meta-learning from Tasks with Heterogeneous Attribute
    Spaces", NeurIPS 2020.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_heterogeneous_tasks
    >>> from sklearn_meta.model_based import HeterogeneousNeuralProcessClassifier
    >>> data = make_heterogeneous_tasks(n_tasks=20, random_state=0)
    >>> clf = HeterogeneousNeuralProcessClassifier(max_iter=10, random_state=0)
    >>> clf = clf.fit(data.tasks[:16])
    >>> X_new, y_new = data.tasks[16]
    >>> sorted(X_new.columns) == sorted(X_new.columns.intersection(clf.feature_names_in_))
    True
    >>> clf.adapt(X_new[:10], y_new[:10]).predict_proba(X_new[10:]).shape
    (30, 2)
    """

    _target = "class"

    _parameter_constraints: dict = {
        **BaseMetaClassifier._parameter_constraints,
        **_COMMON_CONSTRAINTS,
        "n_way": [Interval(Integral, 2, None, closed="left"), None],
        **SUPPORT_CONSTRAINT,
    }

    __init__ = make_init({
        **EPISODES_CLASSIFIER, "n_queries": 5, **_NETWORK, **EPISODIC_TRAINING,
        "label_space": "auto", **REPLAY, **RUNTIME})

    def _n_support_classes(self, y):
        if self._label_space_ == "shared":
            return len(self.meta_classes_)
        return int(y.max()) + 1

    def _zero_shot_state(self, tasks):
        if tasks.label_space != "shared":
            return None
        rows = _zero_shot_rows(tasks.y, len(self.meta_classes_), self.n_shots)
        names = self._names_in()
        return self._state(tasks.X[rows, :len(names)], tasks.y[rows], names,
                           self.column_mean_, self.column_scale_, len(self.meta_classes_))

    def _forward(self, net, ep, n_classes):
        """Query logits of a batch of episodes and the valid classes."""
        X_s, X_q, m_s, ids, offsets = self._episode(
            net, ep, keep_one_row=self._label_space_ == "shared")
        context = net.encode(X_s, ep.y_s, m_s, n_classes, ids)
        if ep.class_mask is not None:
            context["valid"] = context["valid"] & ep.class_mask
        return net.decode(X_q, context, offsets), context["valid"]

    def _episode_loss(self, net, ep, n_classes):
        logits, valid = self._forward(net, ep, n_classes)
        return logits_loss(logits, ep.y_q.clamp_min(0), ep.m_q, valid)

    def _episode_scores(self, net, ep):
        """Query accuracy of every episode (shared labels)."""
        logits, _ = self._forward(net, ep, len(self.meta_classes_))
        hit = (logits.argmax(-1) == ep.y_q).to(ep.m_q.dtype)
        return (ep.m_q * hit).sum(-1) / ep.m_q.sum(-1).clamp_min(1.0)

    def _adapt_named(self, X, y, names, explicit):
        return self._support_state(X, y, names, explicit, self._n_support_classes(y))

    def _logits(self, X, names, state):
        if state is None:
            state = self._default_state
        return self._decode_named(X, names, state)[0].double().cpu().numpy()

    def _proba(self, logits):
        return softmax(logits, axis=1)

    # base-class hooks (arrays in the columns of fit: the episodic score)
    def _predict_proba(self, X, state, n_classes):
        return self._proba(self._logits(X, self._names_in(), state))

    def predict(self, X):
        """Predict the labels of query rows with the adapted (or zero-shot) model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Query rows; a DataFrame may have any columns, matched by name.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, from ``classes_``.
        """
        X, names, state, classes = self._rows_and_state(X)
        return classes[np.argmax(self._logits(X, names, state), axis=1)]

    def predict_proba(self, X):
        """Class probabilities of query rows with the adapted (or zero-shot) model.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Query rows; a DataFrame may have any columns, matched by name.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        X, names, state, _ = self._rows_and_state(X)
        return self._proba(self._logits(X, names, state))

    def decision_function(self, X):
        """Class scores (logits) of query rows; one column for binary problems.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Query rows; a DataFrame may have any columns, matched by name.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Scores, columns in the order of ``classes_``.
        """
        X, names, state, classes = self._rows_and_state(X)
        return decision_from_logits(self._logits(X, names, state), len(classes))


@fill_doc(**_DOCS)
class HeterogeneousNeuralProcessRegressor(_HeterogeneousMixin, BaseMetaRegressor):
    """Neural-process regressor for tasks with different columns.

    A model-based meta-learner after Iwata and Kumagai (NeurIPS 2020) that reads a
    support set as a set of (column, value, target) observations. Every column of the
    task gets an embedding from the support rows themselves (a set network over its
    (value, target) pairs), every row an embedding from a set network over its cells
    (column embedding, value, missing flag), and a small neural-process decoder
    (attention over the support rows plus a mean task representation) predicts a
    Gaussian mean and standard deviation for every query row. No column needs a fixed
    position, so one model serves tasks with different columns and uses columns never
    seen in meta-training. ``adapt`` is one forward pass; before any ``adapt`` it
    predicts from an empty support set (the meta-learned prior mean).

    %(columns)s

    Targets are standardised with the mean and scale of the meta-training targets.

    Read more in the :ref:`User Guide <heterogeneous_columns>`.

    Parameters
    ----------
    n_shots : int, default=5
        Support rows of the meta-training episodes (at most: episodes keep between 1
        and ``n_shots``) and of ``score``.
    n_queries : int, default=10
        Query rows per meta-training episode.
    %(network)s
    %(base_estimator_value)s
    meta_batch_size : int, default=16
        Episodes per meta-iteration.
    %(training)s
    max_iter : int, default=1000
        Meta-iterations.
    early_stopping : bool, default=False
        Keep the network with the lowest query mean squared error on held-out tasks.
    %(validation_monitoring)s
    %(replay)s
    %(torch_runtime)s

    Attributes
    ----------
    network_ : torch.nn.Module
        The meta-trained network (on the CPU).
    column_mean_ : ndarray of shape (n_features_in_,)
        Mean of every column of ``fit``.
    column_scale_ : ndarray of shape (n_features_in_,)
        Standard deviation of every column of ``fit`` (1 when constant).
    y_mean_ : float
        Mean of the meta-training targets.
    y_scale_ : float
        Their standard deviation (1 when constant).
    n_iter_ : int
        Meta-iterations run.
    loss_curve_ : list of float
        Training loss (Gaussian negative log-likelihood) of every meta-iteration.
    validation_scores_ : list of float or None
        Negative validation mean squared error at every check (``early_stopping``).
    best_validation_score_ : float or None
        Best of them.
    %(base_attributes)s
    %(fitted_features)s

    See Also
    --------
    HeterogeneousNeuralProcessClassifier : The classification counterpart.
    NeuralProcessRegressor : For tasks that share one set of columns.

    %(checks)s

    References
    ----------
    T. Iwata and A. Kumagai, "Meta-learning from Tasks with Heterogeneous Attribute
    Spaces", NeurIPS 2020.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_heterogeneous_tasks
    >>> from sklearn_meta.model_based import HeterogeneousNeuralProcessRegressor
    >>> data = make_heterogeneous_tasks(n_tasks=20, task_type="regression",
    ...                                 random_state=0)
    >>> reg = HeterogeneousNeuralProcessRegressor(max_iter=10, random_state=0)
    >>> reg = reg.fit(data.tasks[:16])
    >>> X_new, y_new = data.tasks[16]
    >>> mean, std = reg.adapt(X_new[:5], y_new[:5]).predict(X_new[5:], return_std=True)
    >>> mean.shape, bool((std > 0).all())
    ((35,), True)
    """

    _target = "value"

    _parameter_constraints: dict = {
        **BaseMetaRegressor._parameter_constraints,
        **_COMMON_CONSTRAINTS,
    }

    __init__ = make_init({
        **EPISODES_REGRESSOR, "n_queries": 10, **_NETWORK, **EPISODIC_TRAINING, **REPLAY,
        **RUNTIME})

    def _scaled_targets(self, y, first):
        if first:
            self.y_mean_ = float(np.mean(y))
            scale = float(np.std(y))
            self.y_scale_ = scale if scale > 0 else 1.0
        return (y - self.y_mean_) / self.y_scale_

    def _zero_shot_state(self, tasks):
        names = self._names_in()
        empty = np.zeros((0, len(names)))
        return self._state(empty, np.zeros(0), names, self.column_mean_,
                           self.column_scale_, None)

    def _forward(self, net, ep):
        """Query means and standard deviations of a batch of episodes."""
        X_s, X_q, m_s, ids, _ = self._episode(net, ep, keep_one_row=True)
        return net.decode(X_q, net.encode(X_s, ep.y_s, m_s, None, ids))

    def _episode_loss(self, net, ep, n_classes):
        mean, std = self._forward(net, ep)
        loss = gaussian_nll(mean, std, ep.y_q, ep.m_q)
        with torch.no_grad():
            mse = _episode_mse(mean, ep.y_q, ep.m_q).mean()
        return loss, -mse

    def _episode_scores(self, net, ep):
        """Minus the query mean squared error of every episode, in target units."""
        mean, _ = self._forward(net, ep)
        return -_episode_mse(mean, ep.y_q, ep.m_q) * self.y_scale_ ** 2

    def _base_value(self, X, names):
        """The base model's prediction of rows ``X`` (0 without a base model)."""
        if _residual.base_param(self) is None:
            return 0.0
        return _residual.base_prediction(self, self._in_fit_columns(X, names))

    def _adapt_named(self, X, y, names, explicit):
        y = self._scaled_targets(y - self._base_value(X, names), first=False)
        return self._support_state(X, y, names, explicit)

    def _mean_std(self, X, names, state, return_std):
        if state is None:
            state = self._default_state
        mean, std = self._decode_named(X, names, state)
        mean = mean[0].double().cpu().numpy() * self.y_scale_ + self.y_mean_
        mean = mean + self._base_value(X, names)
        if not return_std:
            return mean
        return mean, std[0].double().cpu().numpy() * self.y_scale_

    def _predict(self, X, state, return_std=False):
        return self._mean_std(X, self._names_in(), state, return_std)

    def predict(self, X, return_std=False):
        """Predict query rows with the adapted model (the prior mean before ``adapt``).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Query rows; a DataFrame may have any columns, matched by name.
        return_std : bool, default=False
            Also return the predictive standard deviation of every row.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
            Predictive means.
        y_std : ndarray of shape (n_samples,)
            Predictive standard deviations; only when ``return_std`` is True.
        """
        X, names, state, _ = self._rows_and_state(X)
        return self._mean_std(X, names, state, return_std)


