"""``fit_episodes``: the episodic meta-training set-up every torch learner shares.

One function does, for gradient, metric and model-based learners alike: the seed of the
fit (a continued ``partial_fit`` gets a fresh, reproducible one), the hold-out split of
validation tasks for early stopping, replay tasks and their task picker (continual
learning), the episode sampler, fixed validation episodes, and the training loop
(:mod:`._trainer`). A learner supplies only

- ``init(tasks, sampler, seed, device) -> Run``: its meta-parameters (a list of leaf
  tensors) and, as closures over them,
- ``Run.step(episodes) -> (loss, grads)``: one meta-iteration's loss on a meta-batch
  (``grads`` None: backpropagate the loss; else the gradient tensors, e.g. Reptile's);
- ``Run.score(list_of_episodes) -> float``: higher is better, on the validation episodes;
- optionally ``Run.reference() -> float or None``: the loss of a sane (initial) model, the
  divergence guard's scale; and ``Run.finish()``: store the fitted state.

The estimator provides ``_sampler(tasks, rng, device)`` and the torch mixin's
``_train_split`` / ``_train_loop`` / ``_device``.
"""

from functools import partial
from typing import Callable, NamedTuple, Optional

import numpy as np
import torch

from ._sampler import _warn_skipped
from ..utils._seeds import continued_seed, seed_of
from ._distributed import _start
from ._replay import with_replay

__all__ = []  # private


class Run(NamedTuple):
    """What a learner's ``init`` returns to :func:`fit_episodes`."""

    params: list
    step: Callable
    score: Callable
    finish: Callable
    reference: Optional[Callable] = None


def fit_episodes(est, tasks, init, *, warm=False, replay=None, task_picker=None,
                 holdout=True):
    """Meta-train ``est`` on episodes of ``tasks`` (see the module docstring).

    ``warm``: continue from the fitted state and history (``partial_fit``,
    ``warm_start``). ``replay``: a TaskSet of past tasks appended after ``tasks``;
    ``task_picker(rng, n_new=, n_total=)`` then draws the task indices of each meta-batch
    in the combined set. ``holdout``: hold out validation tasks when ``early_stopping``.
    """
    device = est._device()
    seed = seed_of(est.random_state)
    shard, seed = _start(est, tasks, seed, device, warm)  # distributed: rank 0's seed
    if warm:
        seed = continued_seed(seed, est.n_iter_)
    rng = np.random.default_rng(seed)
    if holdout:
        train_idx, val_idx = est._train_split(tasks.n_tasks, rng)
    else:  # partial_fit holds out no validation tasks
        train_idx, val_idx = np.arange(tasks.n_tasks), np.arange(0)
    train = tasks.subset(train_idx) if len(val_idx) else tasks
    train, n_new = with_replay(train, replay)
    sampler = est._sampler(train, rng, device)
    if task_picker is not None and n_new < train.n_tasks:
        sampler.task_picker = partial(task_picker, n_new=n_new, n_total=train.n_tasks)
    run = init(tasks, sampler, seed, device)
    if shard is not None:  # each rank computes its tasks of the global meta-batch
        sampler = shard.wrap(sampler)
    score, samplers = None, [sampler]
    if len(val_idx):
        val = est._sampler(tasks.subset(val_idx), np.random.default_rng(seed + 1), device)
        samplers.append(val)
        episodes = val.sample_all()
        if episodes:  # none when every validation task is too small for an episode

            def score():
                return run.score(episodes)
    _warn_skipped(samplers)  # one warning for the tasks too small for any episode

    # Drawn a chunk of meta-batches at a time, in this thread (a worker thread that
    # prefetched them only fought the training loop for the GIL and the cores)
    stream = sampler.batches()

    def step(it):
        return run.step(next(stream))

    with torch.random.fork_rng(devices=[]):  # dropout etc.: seeded, global RNG kept
        torch.manual_seed(seed)
        est._train_loop(run.params, step, score, desc=type(est).__name__, warm=warm,
                        reference=run.reference, shard=shard)
    run.finish()
    return est
