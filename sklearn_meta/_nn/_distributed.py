"""Meta-training on an initialised :mod:`torch.distributed` process group.

What the torch learners' trainer needs to meta-train one model on several processes (a
script launched with ``torchrun --nproc_per_node=N``, on one or several machines), such
that every rank ends with the meta-parameters of a one-process fit with the same
``random_state`` and ``meta_batch_size``, up to floating-point reduction order:

- every rank draws the same *global* meta-batch from the same seed
  (:meth:`_MetaBatchShard.agree_seed`; :meth:`_MetaBatchShard.wrap` sets the episode
  sampler's ``shard = (rank, world_size)``) and keeps its tasks (positions
  ``rank::world_size``), so a rank computes the meta-loss of about
  ``meta_batch_size / world_size`` tasks;
- between ``backward`` and the optimiser step (the trainer's ``on_grads`` hook, see
  :class:`_ShardCallback`), :meth:`_MetaBatchShard.all_reduce` sums the meta-gradients
  (and the loss) of the ranks, each weighted by its share of the tasks (the meta-loss is
  a mean over tasks, so the sum is the gradient of the global mean): one flat all-reduce
  per meta-iteration;
- the optimiser then steps identically on every rank; the validation score used by early
  stopping and the plateau schedule is rank 0's on every rank (``on_validation``,
  :meth:`_MetaBatchShard.agree`) and the divergence guard's reference loss is the
  task-weighted mean over the ranks, so every rank takes the same decisions and stops at
  the same iteration.

The meta-gradients are all-reduced explicitly rather than by wrapping the network in
:class:`torch.nn.parallel.DistributedDataParallel`: DDP's gradient hooks fire inside the
differentiable inner loop of MAML-style learners and break it (learn2learn issues #128
and #170), and nothing here needs DDP's bucketing.

A rank without a task of its own (``meta_batch_size < world_size``) computes the loss of
the batch's first task with weight 0 (the sampler's ``share``): it takes part in every
collective and changes nothing.
"""

import zlib

import numpy as np
import torch

from ._trainer import Callback

if torch.distributed.is_available():
    # torch 2.13: when torch.distributed._shard is first imported AFTER
    # init_process_group (the first step of any torch optimiser does it, through
    # torch._dynamo), the default process group outlives destroy_process_group: its
    # gloo threads run on until interpreter shutdown, where tearing them down can
    # abort a rank that has finished ("terminate called without an active exception",
    # SIGABRT). Imported here, with the torch learners, before a script initialises its
    # process group, it holds nothing (about 0.02 s).
    import torch.distributed._shard  # noqa: F401

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
    shard = _shard_for(estimator.distributed, device, owner)
    if shard is None:
        return None, seed
    X = np.asarray(tasks.X, dtype=np.float64)
    y = np.asarray(tasks.y, dtype=np.float64)
    position = np.arange(1, len(y) + 1, dtype=np.float64)
    shard.check_same(
        n_tasks=tasks.n_tasks, n_rows=len(y), n_features=X.shape[1] if X.ndim > 1 else 1,
        X_checksum=float(np.nansum(X.reshape(len(y), -1).sum(1) * position)),
        y_checksum=float(np.nansum(y * position)), max_iter=estimator.max_iter,
        meta_batch_size=estimator.meta_batch_size, warm=bool(warm),
        n_iter_before=getattr(estimator, "n_iter_", 0) if warm else 0,
        settings_checksum=_settings_checksum(estimator),
    )
    return shard, shard.agree_seed(seed)


def _settings_checksum(estimator):
    """A checksum of the estimator's plain parameters (numbers, strings, tuples), the
    same in every process; ``verbose`` (rank 0 only may show progress) and objects
    (a ``module`` callable prints with its address) are left out."""
    plain = (bool, int, float, str, type(None), tuple, list)
    items = sorted((k, v) for k, v in estimator.get_params(deep=False).items()
                   if k != "verbose" and isinstance(v, plain))
    return zlib.crc32(repr(items).encode())


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
        self._sampler = None
        self._first_weight = None

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
    def wrap(self, sampler):
        """Make the episode sampler draw the global meta-batch and return this rank's
        tasks; returns it."""
        sampler.shard = (self.rank, self.world_size)
        self._sampler = sampler
        return sampler

    @property
    def weight(self):
        """This rank's share of the tasks of the last meta-batch drawn."""
        return 1.0 if self._sampler is None else float(self._sampler.share)

    def callback(self):
        """The trainer callback of this shard (:class:`_ShardCallback`)."""
        return _ShardCallback(self)

    def task_mean(self, value):
        """A callable giving the task-weighted mean over the ranks of ``value()`` (a
        float or None, the same on every rank) computed on the first meta-batch."""

        def agreed():
            v = value() if callable(value) else value
            if v is None:
                return None
            w = 1.0 if self._first_weight is None else self._first_weight
            t = torch.tensor([float(v) * w], dtype=torch.float64, device=self.device)
            _dist().all_reduce(t, group=self.group)
            return float(t.item())

        return agreed

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


class _ShardCallback(Callback):
    """The trainer's side of a :class:`_MetaBatchShard`: the all-reduce between
    ``backward`` and the optimiser step, and rank 0's validation score."""

    def __init__(self, shard):
        self.shard = shard

    def on_train_begin(self, trainer):
        # one start on every rank (even a user module with its own random init)
        self.shard.broadcast_(trainer.params)

    def on_grads(self, trainer):
        if self.shard._first_weight is None:
            self.shard._first_weight = self.shard.weight
        trainer.loss = self.shard.all_reduce(trainer.params, trainer.loss)

    def on_validation(self, trainer, value):
        return self.shard.agree(value)
