"""Vectorised meta-training episode sampling from a task set.

:class:`_EpisodeSampler` draws meta-batches of episodes (one support and one query set per
task) as padded tensors with masks, ready for a learner that vmaps (or batches) over the
tasks of a meta-batch. All index arithmetic is numpy over whole arrays; there is no Python
loop over rows or tasks in :meth:`_EpisodeSampler.sample`.

Three settings:

- ``"regression"`` and ``"shared"`` (classification whose tasks share one label set):
  one block per task; the support set is ``n_shots * k`` rows of the task drawn without
  replacement (``k`` = number of global classes, 1 for regression), the query set the next
  ``n_queries * k`` rows of the same draw (fewer, masked, when the task is small). Labels
  are the global codes.
- ``"per_task"`` (N-way episodes): per task, ``n_way`` classes drawn at random among those
  with at least ``n_shots`` rows, relabelled ``0..n_way-1`` in random order; ``n_shots``
  support and up to ``n_queries`` query rows per class. Tasks with fewer eligible classes
  give episodes with fewer classes: ``class_mask`` marks the valid ones.

Rows are drawn as a window of a per-block random permutation starting at a uniformly random
offset (marginally a uniform draw without replacement); the permutation is reshuffled about
once per pass over the data, so one draw costs O(rows drawn), whatever the task sizes.
"""

from typing import NamedTuple

import numpy as np
import torch

from .tasks import _task_name


class _Episodes(NamedTuple):
    """A meta-batch of episodes; leading dimension = tasks.

    ``X_s`` (T, n_s, d), ``y_s`` (T, n_s), ``m_s`` (T, n_s) float mask of real rows;
    ``X_q``, ``y_q``, ``m_q`` likewise for the query sets; ``class_mask`` (T, n_way) bool or
    None (all classes valid); ``classes`` (T, n_way) int64 identifiers of the sampled
    (task, class) blocks or None; ``tasks`` (T,) int64 task indices.
    """

    X_s: torch.Tensor
    y_s: torch.Tensor
    m_s: torch.Tensor
    X_q: torch.Tensor
    y_q: torch.Tensor
    m_q: torch.Tensor
    class_mask: object = None
    classes: object = None
    tasks: object = None


class _EpisodeSampler:
    """Draw meta-batches of episodes from stacked tasks.

    Parameters
    ----------
    X : ndarray (n_rows, n_features); y : ndarray (n_rows,)
        All tasks stacked; task ``i`` is rows ``starts[i]:starts[i+1]``.
    starts : ndarray (n_tasks + 1,)
    kind : {"regression", "shared", "per_task"}
    n_shots, n_queries : int
    n_way : int or None
        ``"per_task"`` only: classes per episode (None: the most classes of any task).
    n_classes : int
        ``"shared"`` only: size of the global label set.
    meta_batch_size : int
    task_ids : sequence or None
        Names of the tasks for error messages.
    rng : numpy Generator
    device, dtype : where the tensors go.
    """

    def __init__(
        self,
        X,
        y,
        starts,
        *,
        kind,
        n_shots,
        n_queries,
        n_way=None,
        n_classes=None,
        meta_batch_size=1,
        task_ids=None,
        rng=None,
        device="cpu",
        dtype=torch.float32,
    ):
        self.kind = kind
        self.rng = np.random.default_rng() if rng is None else rng
        self.meta_batch_size = int(meta_batch_size)
        starts = np.asarray(starts, dtype=np.int64)
        self.n_tasks = len(starts) - 1
        sizes = np.diff(starts)
        task_ids = np.arange(self.n_tasks) if task_ids is None else np.asarray(task_ids)
        n_rows = int(starts[-1])
        row_task = np.repeat(np.arange(self.n_tasks), sizes)
        self.n_shots, self.n_queries = int(n_shots), int(n_queries)

        if kind == "per_task":
            y_int = np.asarray(y, dtype=np.int64)
            order = np.lexsort((y_int, row_task))
            key_task, key_y = row_task[order], y_int[order]
            new = np.ones(n_rows, dtype=bool)
            new[1:] = (key_task[1:] != key_task[:-1]) | (key_y[1:] != key_y[:-1])
            block_start = np.flatnonzero(new)
            block_count = np.diff(np.append(block_start, n_rows))
            block_task = key_task[block_start]
            eligible = block_count >= self.n_shots
            n_elig = np.bincount(block_task[eligible], minlength=self.n_tasks)
            has_query = np.zeros(self.n_tasks, dtype=bool)
            has_query[block_task[block_count > self.n_shots]] = True
            bad = np.flatnonzero((n_elig == 0) | ~has_query)
            if bad.size:
                i = int(bad[0])
                counts = block_count[block_task == i].tolist()
                raise ValueError(
                    f"Task {_task_name(task_ids[i])} has {int(sizes[i])} rows with class counts "
                    f"{counts}: too small for n_shots={self.n_shots} (a class needs at "
                    f"least n_shots rows, and one class one more row for the query set). "
                    f"Lower n_shots or drop this task."
                )
            self.n_way = int(n_elig.max()) if n_way is None else int(n_way)
            self._elig_blocks = np.flatnonzero(eligible)  # sorted by task
            self._elig_start = np.concatenate([[0], np.cumsum(n_elig)])
            self._n_elig = n_elig
            self._need = self.n_shots + self.n_queries
        else:
            order = np.arange(n_rows)
            block_start = starts[:-1].copy()
            block_count = sizes.copy()
            k = 1 if kind == "regression" else int(n_classes)
            self.n_support, self.n_query = self.n_shots * k, self.n_queries * k
            bad = np.flatnonzero(sizes < self.n_support + 1)
            if bad.size:
                i = int(bad[0])
                raise ValueError(
                    f"Task {_task_name(task_ids[i])} has {int(sizes[i])} rows (n_samples = "
                    f"{int(sizes[i])}): too small for "
                    f"n_shots={self.n_shots} ({self.n_support} support rows"
                    + (f" = n_shots x {k} classes" if k > 1 else "")
                    + " and at least one query row). Lower n_shots or drop this task."
                )
            self._need = self.n_support + self.n_query

        self._order = order
        self._block_start = block_start
        self._block_count = block_count
        # block id of every position of ``order``, as the float sort key of _reshuffle
        self._block_key = np.repeat(np.arange(len(block_start), dtype=np.float64), block_count)
        self._perm = None
        self._draws = 0
        self._arange, self._ones = {}, {}  # per-shape constants of the draws
        rows_per_batch = max(1, self.meta_batch_size * self._need)
        self._reshuffle_every = max(1, n_rows // rows_per_batch)

        self.device = torch.device(device)
        # a copy: the caller's array may be read-only (a memmap), which torch warns about
        self.X = torch.tensor(np.asarray(X), dtype=dtype, device=self.device)
        y_dtype = dtype if kind == "regression" else torch.int64
        self.y = torch.tensor(np.asarray(y), dtype=y_dtype, device=self.device)

    # --- internals ----------------------------------------------------------------
    def _reshuffle(self):
        # rows of every block in a new random order: sort by (block, random key). Block id
        # + key in [0, 1) as one float key gives lexsort's order 9x faster (the keys keep
        # over 30 bits next to a block id below 2**20, so ties do not happen)
        keys = self.rng.random(len(self._order))
        self._perm = self._order[np.argsort(self._block_key + keys)]

    def _draw_rows(self, blocks, need):
        """(len(blocks), need) row indices drawn without replacement per block + mask."""
        if self._perm is None or self._draws >= self._reshuffle_every:
            self._reshuffle()
            self._draws = 0
        self._draws += 1
        count = self._block_count[blocks][:, None]
        offset = (self.rng.random((len(blocks), 1)) * count).astype(np.int64)
        j = self._positions(need)
        pos = self._block_start[blocks][:, None] + (offset + j) % count
        return self._perm[pos], j < count

    def _positions(self, need):
        j = self._arange.get(need)
        if j is None:
            j = self._arange[need] = np.arange(need)[None, :]
        return j

    def _mask(self, mask):
        """Float tensor of ``mask``; all-ones masks (every task big enough) are cached."""
        if mask.all():
            ones = self._ones.get(mask.shape)
            if ones is None:
                ones = self._ones[mask.shape] = torch.ones(
                    mask.shape, device=self.device, dtype=self.X.dtype)
            return ones
        return torch.as_tensor(mask, device=self.device, dtype=self.X.dtype)

    def _tensors(self, rows, mask):
        rows_t = torch.as_tensor(rows, device=self.device)
        return self.X[rows_t], self.y[rows_t], self._mask(mask)


    # --- public -------------------------------------------------------------------
    #: ``task_picker(rng) -> task indices`` of one meta-batch, replacing the uniform
    #: draw (continual learning mixes replayed tasks in this way); None: uniform.
    task_picker = None
    #: ``(rank, world_size)``: :meth:`sample` draws the GLOBAL meta-batch (the same on
    #: every rank for the same seed: every rank consumes the same random numbers) and
    #: returns only this rank's tasks, positions ``rank::world_size``; None: all tasks.
    shard = None
    #: this rank's fraction of the tasks of the last meta-batch (1.0 without ``shard``):
    #: the weight of its meta-gradient in the all-reduce
    share = 1.0

    def _mine(self, n):
        """Positions of this rank's tasks in a meta-batch of ``n`` tasks."""
        if self.shard is None:
            return slice(None)
        rank, world = (int(v) for v in self.shard)
        self.share = len(range(rank, n, world)) / n
        if rank >= n:  # no task of its own: the first one, all-reduced with weight 0
            return slice(0, 1)
        return slice(rank, None, world)

    def sample_tasks(self):
        """Indices of ``meta_batch_size`` tasks (without replacement when possible)."""
        if self.task_picker is not None:
            return np.asarray(self.task_picker(self.rng), dtype=np.int64)
        B = self.meta_batch_size
        return self.rng.choice(self.n_tasks, size=B, replace=B > self.n_tasks)

    def sample(self, tasks=None):
        """One :class:`_Episodes` batch (``tasks``: task indices; default a random batch)."""
        tasks = self.sample_tasks() if tasks is None else np.asarray(tasks, dtype=np.int64)
        if self.kind != "per_task":
            rows, valid = self._draw_rows(tasks, self._need)
            mine = self._mine(len(tasks))
            tasks, rows, valid = tasks[mine], rows[mine], valid[mine]
            ns = self.n_support
            # one gather for support and query rows (views of it), fewer ops per batch
            X, y, _ = self._tensors(rows, valid[:, :0])
            return _Episodes(X[:, :ns], y[:, :ns], self._mask(valid[:, :ns]), X[:, ns:],
                             y[:, ns:], self._mask(valid[:, ns:]), tasks=tasks)

        T, W, S, Q = len(tasks), self.n_way, self.n_shots, self.n_queries
        n_elig = self._n_elig[tasks]
        width = int(n_elig.max())
        j = np.arange(width)[None, :]
        pick = self._elig_start[tasks][:, None] + np.minimum(j, n_elig[:, None] - 1)
        keys = self.rng.random((T, width))
        keys[j >= n_elig[:, None]] = np.inf
        chosen = np.argsort(keys, axis=1)[:, :W]  # random classes, random new labels
        class_valid = np.arange(W)[None, :] < np.minimum(n_elig, W)[:, None]
        if chosen.shape[1] < W:  # fewer eligible classes than n_way in every task
            chosen = np.pad(chosen, ((0, 0), (0, W - chosen.shape[1])))
        blocks = self._elig_blocks[np.take_along_axis(pick, chosen, axis=1)]
        rows, valid = self._draw_rows(blocks.ravel(), S + Q)
        rows = rows.reshape(T, W, S + Q)
        valid = valid.reshape(T, W, S + Q) & class_valid[:, :, None]
        mine = self._mine(T)
        tasks, rows, valid = tasks[mine], rows[mine], valid[mine]
        class_valid, blocks = class_valid[mine], blocks[mine]
        T = len(tasks)
        labels = np.broadcast_to(np.arange(W)[None, :, None], (T, W, S + Q))

        def part(sl, n):
            r = rows[:, :, sl].reshape(T, W * n)
            m = valid[:, :, sl].reshape(T, W * n)
            X, _, mt = self._tensors(r, m)
            lab = torch.as_tensor(
                np.ascontiguousarray(labels[:, :, sl]).reshape(T, W * n), device=self.device
            )
            return X, lab, mt

        X_s, y_s, m_s = part(slice(0, S), S)
        X_q, y_q, m_q = part(slice(S, S + Q), Q)
        class_mask = torch.as_tensor(class_valid, device=self.device)
        classes = torch.as_tensor(np.where(class_valid, blocks, -1), device=self.device)
        return _Episodes(X_s, y_s, m_s, X_q, y_q, m_q, class_mask, classes, tasks)

    def sample_all(self, max_batch=None):
        """One episode per task, in task order, as a list of batches (for validation)."""
        size = max_batch or max(self.meta_batch_size, 64)
        return [
            self.sample(np.arange(i, min(i + size, self.n_tasks)))
            for i in range(0, self.n_tasks, size)
        ]

    @property
    def n_blocks(self):
        """Number of (task, class) blocks: global ids of ``_Episodes.classes``."""
        return len(self._block_start)
