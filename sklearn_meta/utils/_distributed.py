"""Meta-training on an initialised :mod:`torch.distributed` process group.

What the torch learners' trainer needs to meta-train one model on several processes (a
script launched with ``torchrun --nproc_per_node=N``, on one or several machines), such
that every rank ends with the meta-parameters of a one-process fit with the same
``random_state`` and ``meta_batch_size``, up to floating-point reduction order:

- every rank draws the same *global* meta-batch from the same seed
  (:meth:`_MetaBatchShard.agree_seed`, :meth:`_MetaBatchShard.wrap`) and keeps a
  contiguous slice of its tasks, so a rank computes the meta-loss of
  ``meta_batch_size / world_size`` tasks;
- between ``backward`` and the optimiser step, :meth:`_MetaBatchShard.all_reduce` sums the
  meta-gradients (and the loss) of the ranks, each weighted by its share of the tasks (the
  meta-loss is a mean over tasks, so the sum is the gradient of the global mean); one
  flat all-reduce per meta-iteration;
- the optimiser then steps identically on every rank; the validation score used by early
  stopping and the plateau schedule is rank 0's on every rank
  (:meth:`_MetaBatchShard.agree`), so all ranks stop at the same iteration.

The meta-gradients are all-reduced explicitly rather than by wrapping the network in
:class:`torch.nn.parallel.DistributedDataParallel`: DDP's gradient hooks fire inside the
differentiable inner loop of MAML-style learners and break it (learn2learn issues #128
and #170), and nothing here needs DDP's bucketing.

A rank without a task of its own (``meta_batch_size < world_size``) computes the loss of
the batch's first task with weight 0: it takes part in every collective and changes
nothing.
"""

import numpy as np
import torch

__all__ = []


def _dist():
    import torch.distributed as dist

    return dist


def _initialised():
    dist = _dist()
    return dist.is_available() and dist.is_initialized()


def _start(estimator, tasks, seed, device, warm=False):
    """``(shard, seed)`` of a torch learner's fit: ``shard`` None unless distributed.

    When distributed, checks that every rank passes the same tasks and settings (the
    same error on every rank otherwise) and returns rank 0's ``seed``.
    """
    owner = type(estimator).__name__
    shard = _shard_for(getattr(estimator, "distributed", False), device, owner)
    if shard is None:
        return None, seed
    X = np.asarray(tasks.X, dtype=np.float64)
    y = np.asarray(tasks.y, dtype=np.float64)
    position = np.arange(1, len(y) + 1, dtype=np.float64)
    shard.check_same(
        n_tasks=tasks.n_tasks, n_rows=len(y), n_features=X.shape[1] if X.ndim > 1 else 1,
        X_checksum=float(np.nansum(X.reshape(len(y), -1).sum(1) * position)),
        y_checksum=float(np.nansum(y * position)), max_iter=estimator.max_iter,
        meta_batch_size=getattr(estimator, "meta_batch_size", 0), warm=bool(warm),
        n_iter_before=getattr(estimator, "n_iter_", 0) if warm else 0,
    )
    return shard, shard.agree_seed(seed)


def _shard_for(distributed, device, owner):
    """The :class:`_MetaBatchShard` of a fit, or None to train in this process alone.

    ``distributed``: ``"auto"`` (the default process group when one is initialised and
    has more than one rank), ``True`` (the same, but an error when no process group is
    initialised) or ``False``. ``device``: the compute device (where the collectives'
    tensors live). ``owner``: the estimator's class name, for error messages.
    """
    if distributed is False:
        return None
    if not _initialised():
        if distributed is True:
            raise ValueError(
                f"{owner}(distributed=True) needs an initialised torch.distributed process "
                "group, and none is: launch the script with torchrun (e.g. `torchrun "
                "--nproc_per_node=2 train.py`) and call "
                "torch.distributed.init_process_group('gloo') (or 'nccl' for GPUs) before "
                "fit, or use distributed='auto' (use one when there is one) or False."
            )
        return None
    if _dist().get_world_size() < 2:
        return None
    return _MetaBatchShard(device, owner)


class _MetaBatchShard:
    """This rank's part of a distributed meta-training (see the module docstring).

    Parameters
    ----------
    device : torch.device
        The compute device; the tensors of the collectives live there.
    owner : str
        The estimator's class name, for error messages.
    group : ProcessGroup or None
        The process group (None: the default one).
    """

    def __init__(self, device, owner, group=None):
        dist = _dist()
        self.group = group
        self.rank = dist.get_rank(group)
        self.world_size = dist.get_world_size(group)
        self.device = torch.device(device)
        self.owner = owner
        backend = str(dist.get_backend(group)).lower()
        if backend == "nccl" and self.device.type != "cuda":
            raise ValueError(
                f"{owner} meta-trains on device {self.device} but the process group uses "
                "the 'nccl' backend, which only moves CUDA tensors. Use device='cuda' "
                "(and torch.cuda.set_device(local_rank) on every rank) or a 'gloo' "
                "process group for CPU training."
            )
        #: this rank's share of the tasks of the last meta-batch drawn by :meth:`wrap`
        self.weight = 1.0

    @property
    def is_main(self):
        """Whether this is rank 0 (the one that shows progress)."""
        return self.rank == 0

    # --- agreeing before training ---------------------------------------------------
    def check_same(self, **values):
        """Raise the same ValueError on every rank unless all ranks pass equal ``values``.

        Meta-training ranks must see the same tasks and settings: otherwise they draw
        different meta-batches or run different numbers of iterations (and the ranks that
        run more wait forever in the next all-reduce). Each value is a number.
        """
        names = list(values)
        mine = torch.tensor([float(values[k]) for k in names], dtype=torch.float64,
                            device=self.device)
        every = [torch.empty_like(mine) for _ in range(self.world_size)]
        _dist().all_gather(every, mine, group=self.group)
        table = torch.stack(every).cpu().numpy()
        differ = [j for j in range(len(names)) if not np.all(table[:, j] == table[0, j])]
        if differ:
            shown = "; ".join(
                f"{names[j]}: " + ", ".join(f"rank {r}: {table[r, j]:g}"
                                            for r in range(self.world_size))
                for j in differ
            )
            raise ValueError(
                f"The ranks of the torch.distributed process group called {self.owner}.fit "
                f"with different tasks or settings ({shown}). Every rank must pass the "
                "same tasks and parameters (including random_state); each draws the same "
                "global meta-batch and keeps its slice of the tasks. Load the same data on "
                "every rank, or fit with distributed=False."
            )

    def agree_seed(self, seed):
        """Rank 0's seed on every rank (``random_state=None`` draws one per process)."""
        t = torch.tensor([int(seed)], dtype=torch.int64, device=self.device)
        _dist().broadcast(t, 0, group=self.group)
        return int(t.item())

    def broadcast_(self, tensors):
        """Overwrite ``tensors`` (in place) with rank 0's values: one identical start."""
        tensors = list(tensors)
        with torch.no_grad():
            flat = torch.cat([t.detach().reshape(-1).to(self.device, torch.float64)
                              for t in tensors])
            _dist().broadcast(flat, 0, group=self.group)
            offset = 0
            for t in tensors:
                n = t.numel()
                t.copy_(flat[offset:offset + n].view(t.shape))
                offset += n

    # --- the meta-batch ---------------------------------------------------------------
    def bounds(self, n_tasks):
        """``(start, stop)`` of this rank's contiguous slice of ``n_tasks`` tasks."""
        return (n_tasks * self.rank // self.world_size,
                n_tasks * (self.rank + 1) // self.world_size)

    def wrap(self, sampler):
        """An episode sampler that draws the global meta-batch and returns this rank's
        slice (sets :attr:`weight`)."""
        return _ShardedSampler(sampler, self)

    def all_reduce(self, params, loss):
        """Sum the ranks' task-weighted gradients into ``p.grad``; the global loss.

        Call after ``backward`` (or after setting ``p.grad``) and before the optimiser
        step. A parameter whose gradient is None on every rank keeps None (the optimiser
        skips it, as in one process); None on some ranks counts as zeros there.
        """
        w = float(self.weight)
        grads = [p.grad for p in params]
        dtype = params[0].dtype
        with torch.no_grad():
            parts = [
                (torch.zeros(p.numel(), dtype=dtype, device=p.device) if g is None
                 else g.reshape(-1).to(dtype) * w)
                for p, g in zip(params, grads)
            ]
            flags = torch.tensor([0.0 if g is None else 1.0 for g in grads], dtype=dtype,
                                 device=params[0].device)
            loss_part = loss.detach().reshape(1).to(dtype=dtype, device=params[0].device) * w
            buf = torch.cat(parts + [flags, loss_part])
            _dist().all_reduce(buf, group=self.group)
            sizes = [p.numel() for p in params]
            total = sum(sizes)
            present = (buf[total:total + len(params)] > 0).tolist()  # one sync
            offset = 0
            for p, n, has in zip(params, sizes, present):
                p.grad = buf[offset:offset + n].view(p.shape).to(p.dtype) if has else None
                offset += n
            return buf[-1].to(loss.dtype)

    def agree(self, value):
        """Rank 0's ``value`` (a float) on every rank: one early-stopping decision."""
        t = torch.tensor([float(value)], dtype=torch.float64, device=self.device)
        _dist().broadcast(t, 0, group=self.group)
        return float(t.item())


class _ShardedSampler:
    """An episode sampler's global meta-batch, cut to one rank's slice of the tasks.

    Every rank's sampler holds the same tasks and random generator, so all draw the same
    global meta-batch (the generator advances as in one process); this rank keeps tasks
    ``shard.bounds(n)`` of it. Other attributes are the wrapped sampler's.
    """

    def __init__(self, sampler, shard):
        self._sampler = sampler
        self._shard = shard

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_sampler", "_shard"):
            raise AttributeError(name)
        return getattr(self._sampler, name)

    def sample(self, tasks=None):
        episodes = self._sampler.sample(tasks)
        n = int(episodes[0].shape[0])
        lo, hi = self._shard.bounds(n)
        self._shard.weight = (hi - lo) / n
        if hi == lo:  # no task of its own: compute one, count it for nothing
            lo, hi = 0, 1
        return type(episodes)(*(None if v is None else v[lo:hi] for v in episodes))
