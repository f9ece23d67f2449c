"""What every torch meta-learner shares: devices, parameter constraints, the base class.

- :func:`_resolve_device`: ``device="auto"|"cpu"|"cuda"`` to a :class:`torch.device`,
  with a clear error when CUDA is asked for and unavailable.
- ``_TORCH_PARAMETER_CONSTRAINTS``: the constructor parameters every torch learner has
  (scikit-learn's names: ``max_iter``, ``tol``, ``early_stopping``...).
- :class:`_TorchMetaLearnerMixin`: the trainer's callbacks (:mod:`._nn._trainer`), the
  whole-network fit of the metric and model-based learners (through
  :func:`._nn._fit.fit_episodes`), ``partial_fit`` with experience replay, and the
  private device cache (``_device_cache``, dropped by ``__getstate__``), so that a
  model fitted on CUDA pickles and loads on a CPU-only machine.

The default MLP and the ``module`` builder are in :mod:`._nn._modules`.
"""

import copy
import io
import math
from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils.metaestimators import available_if
from sklearn.utils._param_validation import Interval, StrOptions

from ._nn._trainer import (
    BestParameters,
    DivergenceGuard,
    EarlyStopping,
    LRPlateau,
    ProgressBar,
    Trainer,
)
from ._nn._sampler import _EpisodeSampler, _meta_support
from ._nn._continual import _validate_more_tasks, _with_classes
from ._nn._fit import Run, fit_episodes
from ._nn._modules import _ACTIVATIONS, _build_module, _make_mlp  # noqa: F401
from ._nn._replay import _TaskReplayBuffer, mixed_meta_batch
from .base import BaseMetaEstimator
from .tasks import _split_tasks
from .utils._seeds import seed_of

__all__ = []  # private module: nothing public

def _same_shapes(a, b):
    """Whether two modules have the same parameter and buffer names and shapes."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(sa[k].shape == sb[k].shape for k in sa)


# Parameter constraints shared by every torch meta-learner (scikit-learn's names).
_TORCH_PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like"],
    "activation": [StrOptions(set(_ACTIVATIONS))],
    "module": [callable, None],
    "meta_lr": [Interval(Real, 0, None, closed="neither")],
    "max_iter": [Interval(Integral, 0, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "validation_interval": [Interval(Integral, 1, None, closed="left")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left"), None],
    "lr_schedule": [StrOptions({"constant", "plateau"})],
    "device": [StrOptions({"auto", "cpu", "cuda"})],
    "distributed": [StrOptions({"auto"}), "boolean"],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "replay_buffer_size": [Interval(Integral, 0, None, closed="left")],
    "replay_ratio": [Interval(Real, 0, 1, closed="both")],
}


def _resolve_device(device):
    """Map ``"auto"|"cpu"|"cuda"`` (or a :class:`torch.device`) to a torch device.

    ``"auto"`` picks CUDA when available, else the CPU. ``"cuda"`` without a usable CUDA
    device raises a ValueError that says what to do.
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                "device='cuda' was requested but CUDA is not available on this machine "
                f"(torch {torch.__version__}). Use device='cpu' or device='auto', e.g. "
                "est.set_params(device='cpu'); a model fitted on a GPU predicts on the CPU."
            )
        return torch.device("cuda")
    raise ValueError(f"device must be 'auto', 'cpu' or 'cuda'; got {device!r}.")


def _numpy_rng(seed):
    return np.random.default_rng(seed)


def _to_cpu(tensors):
    """Detached CPU copies of a dict of tensors (what fitted estimators store)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in tensors.items()}


def _to_device(tensors, device, dtype=None):
    return {k: v.to(device=device, dtype=dtype or v.dtype) for k, v in tensors.items()}


def _cached(owner, key, token, build):
    """``build()`` cached for ``owner`` under ``key`` while the items of ``token`` are
    the same objects (devices: equal).

    The cache is the estimator's private ``_device_cache`` dict: created by ``fit``
    (so that ``predict`` changes nothing in ``__dict__``), mutated in place, and dropped
    by ``__getstate__`` (nothing device-bound is pickled).
    """
    cache = owner.__dict__.setdefault("_device_cache", {})
    entry = cache.get(key)
    if entry is None or len(entry[0]) != len(token) or not all(
        a is b or (isinstance(a, torch.device) and a == b) for a, b in zip(entry[0], token)
    ):
        entry = cache[key] = (token, build())
    return entry[1]


class _TorchMetaLearnerMixin:
    """What every torch meta-learner shares: devices, the trainer, ``partial_fit``.

    Subclasses use the constructor parameters named in ``_TORCH_PARAMETER_CONSTRAINTS``
    (``meta_lr``, ``max_iter``, ``early_stopping``, ``validation_fraction``,
    ``validation_interval``, ``n_iter_no_change``, ``tol``, ``lr_schedule``, ``device``,
    ``verbose``, ``warm_start``) and ``replay_buffer_size`` / ``replay_ratio``
    (``_REPLAY_CONSTRAINTS``), and meta-train with
    :func:`sklearn_meta._nn._fit.fit_episodes`.

    Two kinds of learner stand on it:

    - the gradient learners (:mod:`sklearn_meta.gradient`) override ``_meta_fit`` and
      keep their meta-parameters in ``params_`` (a dict of CPU tensors);
    - the whole-network learners (metric, model-based) write ``_build_network(n_features,
      seed)`` and ``_episode_loss(net, episodes, n_classes) -> (loss, score)`` and call
      :meth:`_fit_network`; the fitted module is ``network_`` (on the CPU).

    Device copies of the fitted state are private state (``_device_cache``): built once,
    mutated in place (``predict`` changes nothing in ``__dict__``), dropped by
    ``__getstate__``, so nothing device-bound is pickled.
    """

    _float32_features = True  # the networks compute in float32: base refuses |x| > 3.4e38

    # --- devices and private state ----------------------------------------------------
    def _device(self):
        return _resolve_device(self.device)

    def _device_params(self):
        """The fitted parameters on the compute device (cached in ``_device_cache``)."""
        device = self._device()
        return _cached(self, "params", (self.params_, device),
                       lambda: _to_device(self.params_, device))

    def _device_network(self):
        """The fitted network on the compute device, in float64 (cached).

        Predictions are computed in double precision so that they do not depend on how
        many rows are predicted at once (float32 matrix products do).
        """
        device = self._device()

        def build():
            return copy.deepcopy(self.network_).to(device=device, dtype=torch.float64).eval()

        return _cached(self, "network", (self.network_, device), build)

    def _tensor(self, X, dtype=torch.float64):
        # a copy: X may be read-only (a memmap), which torch warns about
        return torch.tensor(np.asarray(X), dtype=dtype, device=self._device())

    # pickling: the device cache is dropped; the state goes through torch.save, so that
    # torch.load maps every tensor to the CPU when it is unpickled (fitted state is kept
    # on the CPU anyway; this also covers a tensor left on a GPU, which plain pickle
    # cannot load without one), and a model fitted on CUDA loads on a CPU-only machine
    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_device_cache", None)
        buffer = io.BytesIO()
        torch.save(state, buffer)
        return {"_torch_state": buffer.getvalue()}

    def __setstate__(self, state):
        if "_torch_state" in state:
            state = torch.load(io.BytesIO(state["_torch_state"]), map_location="cpu",
                               weights_only=False)  # an estimator: as trusted as pickle
        setstate = getattr(super(), "__setstate__", None)
        if setstate is not None:
            setstate(state)
        else:
            self.__dict__.update(state)
        self.__dict__.setdefault("_device_cache", {})  # empty: rebuilt on demand

    def __copy__(self):  # a plain shallow copy (``score`` copies the estimator)
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    # --- episodes ---------------------------------------------------------------------
    def _sampler(self, tasks, rng, device):
        """The episode sampler of ``tasks`` (whole-network learners; gradient overrides)."""
        kind = tasks.label_space or "regression"
        n_classes = len(self.meta_classes_) if kind == "shared" else None
        return _EpisodeSampler(
            tasks.X, tasks.y, tasks.starts, kind=kind, n_shots=self.n_shots,
            n_queries=self.n_queries, n_way=self.n_way if kind == "per_task" else None,
            n_classes=n_classes, meta_batch_size=self.meta_batch_size,
            task_ids=tasks.task_ids, rng=rng, device=device, warn=False,
            support=_meta_support(self, kind),
        )

    # --- whole-network learners ---------------------------------------------------------
    def _fit_network(self, tasks, *, warm=False, replay=None, task_picker=None,
                     holdout=True):
        """Meta-train ``network_`` with :func:`~sklearn_meta._nn._fit.fit_episodes`."""

        def init(all_tasks, sampler, seed, device):
            net = self._build_network(all_tasks.n_features, seed)
            old = getattr(self, "network_", None) if warm else None
            if old is not None and _same_shapes(old, net):
                net = copy.deepcopy(old)
            # else (e.g. a warm_start refit with other columns): the fresh network
            net = net.to(device)
            n_classes = (len(self.meta_classes_) if sampler.kind == "shared"
                         else getattr(sampler, "n_way", None))

            def step(episodes):
                return self._episode_loss(net, episodes, n_classes)[0], None

            def score(batches):
                net.eval()
                try:
                    return float(np.mean(
                        [float(self._episode_loss(net, b, n_classes)[1]) for b in batches]))
                finally:
                    net.train()

            def finish():
                net.eval()
                self.network_ = net.to("cpu")

            params = [p for p in net.parameters() if p.requires_grad]
            return Run(params, step, score, finish)

        self._device_cache = {}
        return fit_episodes(self, tasks, init, warm=warm, replay=replay,
                            task_picker=task_picker, holdout=holdout)

    # --- continual learning: partial_fit with experience replay ------------------------
    def _partial_meta_fit(self, tasks, replay, task_picker, first):
        """Meta-train ``max_iter`` iterations from the current state (from scratch when
        ``first``) on ``tasks`` and ``replay`` (a TaskSet of past tasks or None), the
        meta-batches drawn by ``task_picker``, no validation tasks held out."""
        self._fit_network(tasks, warm=not first, replay=replay, task_picker=task_picker,
                          holdout=False)

    def fit(self, X, y=None, groups=None):
        self.__dict__.pop("replay_buffer_", None)  # a new fit starts a new stream
        return super().fit(X, y, groups=groups)

    fit.__doc__ = BaseMetaEstimator.fit.__doc__

    @available_if(lambda self: "replay_buffer_size" in self.get_params(deep=False))
    def partial_fit(self, X, y=None, groups=None, classes=None):
        """Continue meta-training on one more batch of tasks of a stream.

        Each call runs ``max_iter`` meta-iterations from the current meta-parameters on
        episodes of the new tasks, mixed with tasks replayed from a buffer of past tasks:
        a fraction ``replay_ratio`` of every meta-batch comes from the buffer, which
        keeps a uniform sample of ``replay_buffer_size`` tasks of the whole stream
        (reservoir sampling). This protects what was learned on earlier tasks from being
        forgotten when the task distribution drifts. ``replay_buffer_size=0`` trains on
        the new tasks only. Early stopping is not used by ``partial_fit``.

        Parameters
        ----------
        X : sequence of (X, y) pairs, or array-like of shape (n_rows, n_features)
            The new tasks, in any input form of :meth:`fit`.
        y : array-like of shape (n_rows,), default=None
            Targets of all rows; omitted when ``X`` is a list of tasks.
        groups : array-like of shape (n_rows,), default=None
            The task id of every row.
        classes : array-like, default=None
            Classifiers: all labels the stream will use, needed on the first call only
            when tasks share one label set and later batches bring labels the first one
            lacks.

        Returns
        -------
        self : object
            The estimator, meta-trained on the stream so far.
        """
        self._validate_params()
        first = not hasattr(self, "n_features_in_")
        if first:
            tasks = self._validate_tasks(X, y, groups)
            if classes is not None and self._is_classifier():
                tasks = _with_classes(self, tasks, np.union1d(self.meta_classes_, classes))
        else:
            tasks = _validate_more_tasks(self, X, y, groups)
        buffer = getattr(self, "replay_buffer_", None)
        if buffer is None:
            buffer = _TaskReplayBuffer(self.replay_buffer_size, seed_of(self.random_state))
        replay = buffer.as_taskset(tasks.label_space) if self.replay_ratio > 0 else None
        picker = partial(mixed_meta_batch, batch_size=self.meta_batch_size,
                         ratio=self.replay_ratio)
        self.__dict__.pop("adapted_", None)
        self._partial_meta_fit(tasks, replay, picker, first)
        buffer.add(tasks)
        self.replay_buffer_ = buffer
        return self

    # --- the loop -----------------------------------------------------------------
    def _train_split(self, n_tasks, rng):
        """Indices (train, validation) of the tasks; validation empty unless early stopping."""
        if not self.early_stopping:
            return _split_tasks(n_tasks, 0, rng)
        if n_tasks < 2:
            raise ValueError(
                "early_stopping=True holds out validation tasks, which needs at least 2 "
                f"tasks; got {n_tasks}. Pass more tasks (groups=) or early_stopping=False."
            )
        n_val = min(n_tasks - 1, max(1, int(math.ceil(self.validation_fraction * n_tasks))))
        return _split_tasks(n_tasks, n_val, rng)

    def _callbacks(self, desc, reference=None, shard=None):
        """The trainer's callbacks for this estimator's parameters (extend to add one).

        ``shard`` (distributed meta-training, :mod:`sklearn_meta._nn._distributed`): its
        callback comes first (all-reduced meta-gradients and loss, rank 0's validation
        score), the divergence reference is the mean over the ranks, and only rank 0
        prints or shows progress.
        """
        verbose = self.verbose
        if shard is not None:
            reference = shard.task_mean(reference)
            verbose = verbose if shard.is_main else 0
        callbacks = [] if shard is None else [shard.callback()]
        callbacks += [
            DivergenceGuard(reference),
            BestParameters(),
            EarlyStopping(self.n_iter_no_change, self.tol, verbose),
        ]
        if self.lr_schedule == "plateau":
            callbacks.append(LRPlateau(max(1, self.n_iter_no_change // 2), self.tol,
                                       verbose=verbose))
        if verbose:
            callbacks.append(ProgressBar(self.max_iter, desc))
        return callbacks

    def _train_loop(self, params, step, score=None, *, desc=None, warm=None,
                    reference=None, shard=None):
        """Meta-train ``params`` in place with :class:`sklearn_meta._nn._trainer.Trainer`.

        Parameters
        ----------
        params : list of torch.Tensor
            Leaf tensors with ``requires_grad=True`` (the meta-parameters).
        step : callable
            ``step(iteration) -> (loss, grads)``: ``loss`` is a scalar tensor; ``grads``
            is None (the loop calls ``loss.backward()``) or a sequence of tensors, one per
            parameter, used as the gradient (e.g. Reptile's pseudo-gradient).
        score : callable or None
            ``score() -> float``, higher is better, evaluated every
            ``validation_interval`` iterations on held-out validation tasks; used for
            early stopping (best parameters restored) and the plateau schedule.
        warm : bool or None
            Whether to continue the history (``n_iter_``, ``loss_curve_``...) of an
            earlier fit, as ``partial_fit`` does; None: ``warm_start`` decides.
        reference : float or None
            The loss of a sane model (the initial one): the divergence guard's scale.
        shard : :class:`~sklearn_meta._nn._distributed._MetaBatchShard` or None
            Distributed meta-training: ``step`` computes this rank's tasks of the
            meta-batch (see :meth:`_callbacks`).

        Sets ``n_iter_``, ``loss_curve_``, ``validation_scores_``,
        ``best_validation_score_`` and ``best_loss_``.
        """
        if warm is None:
            warm = self.warm_start
        warm = warm and hasattr(self, "loss_curve_")
        loss_curve = list(self.loss_curve_) if warm else []
        val_scores = list(self.validation_scores_ or []) if warm else []
        n_iter_before = self.n_iter_ if warm else 0
        callbacks = self._callbacks(desc, reference, shard)
        trainer = Trainer(
            params, step, max_iter=self.max_iter, interval=self.validation_interval,
            lr=self.meta_lr, score=score, callbacks=callbacks, n_iter_before=n_iter_before,
        ).run()
        val_scores += [r["validation_score"] for r in trainer.history
                       if r["validation_score"] is not None]
        self.n_iter_ = n_iter_before + trainer.it
        self._stop_reason = trainer.stop_reason
        self.loss_curve_ = loss_curve + trainer.loss_curve
        self.validation_scores_ = val_scores if score is not None else None
        self.best_validation_score_ = (
            max(val_scores) if score is not None and val_scores else None
        )
        best = trainer.best_loss
        self.best_loss_ = best if np.isfinite(best) else None
        return self
