"""Meta-training of a whole network on episodes: the metric and model-based learners.

:class:`_EpisodicNetworkMixin` is what ProtoNet and the neural-process learners share on
top of :class:`sklearn_meta._torch._TorchMetaLearnerMixin`: build the network (default
MLP pieces or the user's ``module``), draw meta-batches of episodes from the
:class:`~sklearn_meta.tasks.TaskSet` with :class:`sklearn_meta._episodes._EpisodeSampler`,
hold out validation tasks for early stopping, run the shared training loop, keep the
fitted parameters on the CPU and predict with them on the compute device.

A learner writes:

- ``_build_network(n_features, seed) -> nn.Module``;
- ``_episode_loss(net, episodes, n_classes) -> (loss, score)``: a scalar loss tensor and
  a higher-is-better score (accuracy, negative error) of the same episodes, used on the
  validation tasks.

Continual learning (:mod:`sklearn_meta.continual`) calls :meth:`_fit_episodes` with
``warm=True`` and the tasks of its replay buffer.
"""

import copy
from functools import partial

import numpy as np
import torch

from ._episodes import _EpisodeSampler, _warn_skipped
from .continual._replay import continued_seed, with_replay
from ._torch import _cached, _numpy_rng, _seed, _TorchMetaLearnerMixin
from ._nn._distributed import _start

__all__ = []


def _same_shapes(a, b):
    """Whether two modules have the same parameter and buffer names and shapes."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(sa[k].shape == sb[k].shape for k in sa)


class _EpisodicNetworkMixin(_TorchMetaLearnerMixin):
    """Episodic meta-training of one ``nn.Module`` (see the module docstring)."""

    # -- hooks ---------------------------------------------------------------------
    def _build_network(self, n_features, seed):  # pragma: no cover - abstract
        raise NotImplementedError

    def _episode_loss(self, net, episodes, n_classes):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- episodes ------------------------------------------------------------------
    def _sampler(self, tasks, rng, device, n_queries=None):
        kind = tasks.label_space or "regression"
        n_classes = None
        if kind == "shared":
            n_classes = len(self.meta_classes_)
        return _EpisodeSampler(
            tasks.X, tasks.y, tasks.starts, kind=kind, n_shots=self.n_shots,
            n_queries=self.n_queries if n_queries is None else n_queries,
            n_way=getattr(self, "n_way", None), n_classes=n_classes,
            meta_batch_size=self.meta_batch_size, task_ids=tasks.task_ids, rng=rng,
            device=device, warn=False,
        )

    def _n_classes(self, sampler):
        if sampler.kind == "shared":
            return len(self.meta_classes_)
        return getattr(sampler, "n_way", None)

    # -- fitting -------------------------------------------------------------------
    def _partial_meta_fit(self, tasks, replay, task_picker, first):
        """One ``partial_fit`` step (:class:`sklearn_meta.continual.ContinualMixin`)."""
        self._fit_episodes(tasks, warm=not first, replay=replay, task_picker=task_picker,
                           holdout=False)

    def _fit_episodes(self, tasks, *, warm=False, replay=None, task_picker=None,
                      holdout=True):
        """Meta-train on ``tasks`` (plus ``replay`` tasks drawn by ``task_picker``).

        ``warm``: continue from the fitted network (``partial_fit``, ``warm_start``).
        ``replay``: a TaskSet appended after ``tasks``; ``task_picker(rng, n_new=,
        n_total=)`` then draws the task indices of each meta-batch in the combined set.
        ``holdout``: hold out validation tasks when ``early_stopping`` is set.
        """
        device = self._device()
        seed = _seed(self.random_state)
        shard, seed = _start(self, tasks, seed, device, warm)  # distributed: rank 0's
        if warm:
            seed = continued_seed(seed, self.n_iter_)
        rng = _numpy_rng(seed)
        if holdout:
            train_idx, val_idx = self._train_split(tasks.n_tasks, rng)
        else:
            train_idx, val_idx = np.arange(tasks.n_tasks), np.arange(0)
        train = tasks.subset(train_idx) if len(val_idx) else tasks
        train, n_new = with_replay(train, replay)
        net = self._build_network(tasks.n_features, seed)
        old = getattr(self, "network_", None) if warm else None
        if old is not None and _same_shapes(old, net):
            net = copy.deepcopy(old)
        # else (e.g. a warm_start refit with other columns): start from the fresh
        # network, as the gradient learners do
        net = net.to(device)
        sampler = self._sampler(train, rng, device)
        if task_picker is not None and n_new < train.n_tasks:
            sampler.task_picker = partial(task_picker, n_new=n_new, n_total=train.n_tasks)
        n_classes = self._n_classes(sampler)
        if shard is not None:  # each rank computes its tasks of the global meta-batch
            sampler = shard.wrap(sampler)
        val_batches = None
        if len(val_idx):
            val_sampler = self._sampler(tasks.subset(val_idx), _numpy_rng(seed + 1), device)
            val_batches = val_sampler.sample_all()
        _warn_skipped([sampler] + ([val_sampler] if len(val_idx) else []))

        def step(it):
            loss, _ = self._episode_loss(net, sampler.sample(), n_classes)
            return loss, None

        def score():
            net.eval()
            try:
                values = [float(self._episode_loss(net, b, n_classes)[1]) for b in val_batches]
            finally:
                net.train()
            return float(np.mean(values))

        params = [p for p in net.parameters() if p.requires_grad]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self._train_loop(
                params, step, score if val_batches else None, desc=type(self).__name__,
                warm=warm, shard=shard,
            )
        net.eval()
        self.network_ = net.to("cpu")
        return self

    # -- prediction ----------------------------------------------------------------
    def _device_network(self):
        """The fitted network on the compute device, in float64 (cached outside
        ``__dict__``).

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


class _LogitsClassifierMixin:
    """Prediction hooks of a classifier whose ``_logits(X, state)`` gives class scores."""

    def _predict_proba(self, X, state, n_classes):
        logits = self._logits(X, state)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def _decision_function(self, X, state, n_classes):
        logits = self._logits(X, state)
        return logits[:, 1] - logits[:, 0] if n_classes == 2 else logits
