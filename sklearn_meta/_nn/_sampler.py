"""Vectorised meta-training episode sampling from a task set.

:class:`_EpisodeSampler` draws meta-batches of episodes (one support and one query set per
task) as padded tensors with masks, ready for a learner that vmaps (or batches) over the
tasks of a meta-batch. All index arithmetic is numpy over whole arrays; there is no Python
loop over rows or tasks in :meth:`_EpisodeSampler.sample`.

Three settings:

- ``"regression"`` and ``"shared"`` (classification whose tasks share one label set):
  one block per task; the support set is ``n_support`` rows of the task drawn without
  replacement, the query set the next ``n_queries * k`` rows of the same draw (fewer,
  masked, when the task is small; ``k`` = number of global classes, 1 for regression).
  ``n_support`` is ``n_shots * k`` with ``support="per_class"`` (the size of an N-way
  K-shot set) and ``n_shots`` with ``support="random"`` (``n_shots`` rows as a new task
  has them, whatever their classes; the same for regression, where ``k`` is 1). Labels
  are the global codes. A task with fewer than ``n_support + 1`` rows gives all its rows
  but one as support and one as query: every task with 2 rows or more is used, one-class
  tasks included.
- ``"per_task"`` (N-way episodes): per task, ``n_way`` classes drawn at random among those
  with at least 2 rows, relabelled ``0..n_way-1`` in random order. With
  ``support="per_class"``: ``n_shots`` support and up to ``n_queries`` query rows per
  class; a class with fewer than ``n_shots`` rows (but 2 or more) gives all its rows but
  one as support. With ``support="random"``: ``n_shots`` support rows drawn at random
  among the rows of the chosen classes (each class keeps one row for the query set),
  whatever their classes; the query set is up to ``n_queries`` rows of every class the
  support set shows (a class it does not show cannot be predicted with per-task labels).
  Tasks with fewer eligible classes give episodes with fewer classes: ``class_mask``
  marks the valid ones (with ``"random"``: the classes the support set shows).

Tasks that give no episode at all (a single row; per-task labels: no class with 2 rows)
are ``skipped``: never drawn, and counted in one warning (:func:`_warn_skipped`) instead
of an error. Only a task set without any usable task is an error.

Rows are drawn as a window of a per-block random permutation starting at a uniformly random
offset (marginally a uniform draw without replacement); the permutation is reshuffled about
once per pass over the data, so one draw costs O(rows drawn), whatever the task sizes.

Meta-training reads :meth:`_EpisodeSampler.batches`: the meta-batches of up to one pass
(at most ``_MAX_CHUNK``) drawn at once, one index array and one ``index_select`` into the
tensors placed on the device at construction, then a view per meta-batch; each follows
the rules of one :meth:`_EpisodeSampler.sample`, whose fixed Python cost is paid once per
chunk.
"""

import warnings
from typing import NamedTuple

import numpy as np
import torch
from sklearn.utils._param_validation import StrOptions

from ..tasks import _task_name

#: the ``support`` parameter of the episodic torch classifiers
SUPPORT_CONSTRAINT = {"support": [StrOptions({"auto", "per_class", "random"})]}


def _meta_support(estimator, kind):
    """The support protocol of ``estimator``'s meta-training episodes of ``kind``.

    Regression has one protocol (``n_shots`` rows at random: both names give it).
    ``"auto"`` is ``"per_class"``: measured on the bundled churn tasks, meta-training
    on random support sets gained nothing consistent (benchmarks/RESULTS.md, issue
    11); ``evaluate_few_shot(support=...)`` sets ``"auto"`` to the protocol it tests.
    """
    if kind == "regression" or estimator.support == "auto":
        return "per_class"
    return estimator.support


# most meta-batches :meth:`_EpisodeSampler.batches` draws at once
_MAX_CHUNK = 32


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


def _warn_skipped(samplers):
    """One warning for the tasks the ``samplers`` (training, then validation) skip; a
    ValueError when the training sampler has no usable task."""
    s0 = samplers[0]
    if not s0.usable.size:
        i = int(s0.skipped[0]) if s0.n_tasks else None
        where = "" if i is None else (
            f"; task {_task_name(s0.task_ids[i])} has n_samples = {int(s0._task_sizes[i])}"
        )
        raise ValueError(
            f"No task has enough rows for an episode at n_shots={s0.n_shots} "
            f"({s0.skip_rule}){where}. Give tasks with more rows."
        )
    skipped = [(s, i) for s in samplers for i in s.skipped]
    if not skipped:
        return
    n_total = sum(s.n_tasks for s in samplers)
    names = ", ".join(_task_name(s.task_ids[i]) for s, i in skipped[:5])
    more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    warnings.warn(
        f"{len(skipped)} of {n_total} tasks are too small for any episode at "
        f"n_shots={s0.n_shots} ({s0.skip_rule}) and are not used in meta-training: "
        f"task(s) {names}{more}. Smaller tasks are used with fewer shots.",
        UserWarning,
        stacklevel=3,
    )


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
    support : {"per_class", "random"}
        The support protocol (see the module docstring).
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
        warn=True,
        support="per_class",
    ):
        if support not in ("per_class", "random"):
            raise ValueError(f"support={support!r} must be 'per_class' or 'random'.")
        self.kind = kind
        self.support = support
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
            # support rows per class: n_shots, or all but one (kept for the query set) of a
            # class with fewer rows; a class without a support row is not eligible
            block_shots = np.where(block_count >= self.n_shots, self.n_shots, block_count - 1)
            usable = np.zeros(self.n_tasks, dtype=bool)
            usable[block_task[block_count > block_shots]] = True  # some query row
            eligible = (block_shots >= 1) & usable[block_task]
            n_elig = np.bincount(block_task[eligible], minlength=self.n_tasks)
            usable &= n_elig > 0
            self.n_way = int(max(n_elig.max(), 1)) if n_way is None else int(n_way)
            self._elig_blocks = np.flatnonzero(eligible)  # sorted by task
            self._elig_start = np.concatenate([[0], np.cumsum(n_elig)])
            self._n_elig = n_elig
            self._block_shots = block_shots
            self._need = self.n_shots + self.n_queries
            rule = ("a class needs 2 rows (1 support and 1 query row); a task at least one "
                    "such class")
        else:
            order = np.arange(n_rows)
            block_start = starts[:-1].copy()
            block_count = sizes.copy()
            k = 1 if kind == "regression" else int(n_classes)
            self.n_query = self.n_queries * k
            self.n_support = self.n_shots * (k if support == "per_class" else 1)
            # a task smaller than n_support + 1 gives all its rows but one as support
            self._block_shots = np.clip(sizes - 1, 0, self.n_support)
            usable = sizes >= 2
            self._need = self.n_support + self.n_query
            rule = "a task needs 2 rows (1 support and 1 query row)"

        self._block_usable = usable[block_task] if kind == "per_task" else usable
        # shared labels or regression, every task with a whole episode's rows: no mask
        self._full = kind != "per_task" and bool((sizes >= self._need).all())
        self.usable = np.flatnonzero(usable)
        #: task indices that give no episode (too few rows), and why
        self.skipped = np.flatnonzero(~usable)
        self.skip_rule = rule
        self.task_ids = task_ids
        self._task_sizes = sizes
        if warn:
            _warn_skipped([self])
        self._order = order
        self._block_start = block_start
        self._block_count = block_count
        # block id of every position of ``order``, as the float sort key of _reshuffle
        self._block_key = np.repeat(np.arange(len(block_start), dtype=np.float64), block_count)
        self._perm = None
        # rows drawn from the current permutation; a new one once they reach a pass
        self._drawn = 0
        self._n_rows = n_rows
        per_block = self.n_way if kind == "per_task" else 1
        rows_per_batch = max(1, self.meta_batch_size * per_block * self._need)
        #: meta-batches :meth:`batches` draws at once: as many as one pass over the rows
        #: takes (the draws that share a permutation), at most ``_MAX_CHUNK``
        self._chunk = int(np.clip(n_rows // rows_per_batch, 1, _MAX_CHUNK))

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
        if self._perm is None or self._drawn >= self._n_rows:
            self._reshuffle()
            self._drawn = 0
        self._drawn += len(blocks) * need
        count = self._block_count[blocks][:, None]
        offset = (self.rng.random((len(blocks), 1)) * count).astype(np.int64)
        j = np.arange(need)[None, :]
        pos = self._block_start[blocks][:, None] + (offset + j) % count
        return self._perm[pos], j < count

    def _rows(self, rows):
        # one index_select of the flat row indices into the tensors already on the
        # device (cheaper than advanced indexing), then a view
        rows_t = torch.from_numpy(np.ascontiguousarray(rows).reshape(-1)).to(self.device)
        X = self.X.index_select(0, rows_t).view(*rows.shape, self.X.shape[1])
        return X, self.y.index_select(0, rows_t).view(rows.shape)

    def _ones(self, like):
        return torch.ones(like.shape, dtype=self.X.dtype, device=self.device)

    def _tensors(self, rows, mask):
        m = torch.from_numpy(np.ascontiguousarray(mask)).to(self.device, self.X.dtype)
        return *self._rows(rows), m

    def _split(self, rows, valid, blocks, n_s, n_q, shots=None):
        """Support and query rows and masks of drawn blocks.

        ``rows``/``valid`` (len(blocks), >= n_s + n_q) are draws without replacement: the
        support set is the first ``shots`` of them (default ``n_s``, or all rows but one
        of a smaller block), the query set the next ``n_q``.
        """
        shots = (self._block_shots[blocks] if shots is None else shots)[:, None]
        count = self._block_count[blocks][:, None]
        m_s = valid[:, :n_s] & (np.arange(n_s)[None, :] < shots)
        pos_q = shots + np.arange(n_q)[None, :]
        m_q = (pos_q < count) & self._block_usable[blocks][:, None]
        pos_q = np.minimum(pos_q, rows.shape[1] - 1)
        m_q &= np.take_along_axis(valid, pos_q, axis=1)
        return rows[:, :n_s], m_s, np.take_along_axis(rows, pos_q, axis=1), m_q

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
        """Indices of ``meta_batch_size`` usable tasks (without replacement when
        possible)."""
        if self.task_picker is not None:
            return np.asarray(self.task_picker(self.rng), dtype=np.int64)
        B, pool = self.meta_batch_size, self.usable
        if len(pool) == self.n_tasks:
            return self.rng.choice(self.n_tasks, size=B, replace=B > self.n_tasks)
        return pool[self.rng.choice(len(pool), size=B, replace=B > len(pool))]

    def sample(self, tasks=None):
        """One :class:`_Episodes` batch (``tasks``: task indices; default a random batch).

        A skipped task (see ``skipped``) gives an episode whose masks are all zero."""
        tasks = self.sample_tasks() if tasks is None else np.asarray(tasks, dtype=np.int64)
        return self._draw(tasks, self._mine)

    def _draw(self, tasks, mine):
        """Episodes of ``tasks``, keeping positions ``mine(len(tasks))`` (a slice)."""
        if self.kind != "per_task":
            rows, valid = self._draw_rows(tasks, self._need)
            mine = mine(len(tasks))
            tasks, rows, valid = tasks[mine], rows[mine], valid[mine]
            if self._full:
                # every task has n_support + n_query rows: the support set is the first
                # n_support of each draw, the query set the rest, no row is masked
                # (what _split gives then, without its mask arithmetic)
                n_s = self.n_support
                X_s, y_s = self._rows(rows[:, :n_s])
                X_q, y_q = self._rows(rows[:, n_s:])
                return _Episodes(X_s, y_s, self._ones(y_s), X_q, y_q, self._ones(y_q),
                                 tasks=tasks)
            r_s, m_s, r_q, m_q = self._split(rows, valid, tasks, self.n_support, self.n_query)
            X_s, y_s, m_s = self._tensors(r_s, m_s)
            X_q, y_q, m_q = self._tensors(r_q, m_q)
            return _Episodes(X_s, y_s, m_s, X_q, y_q, m_q, tasks=tasks)

        T, W, S, Q = len(tasks), self.n_way, self.n_shots, self.n_queries
        n_elig = self._n_elig[tasks]
        width = int(max(n_elig.max(), 1))
        j = np.arange(width)[None, :]
        pick = self._elig_start[tasks][:, None] + np.clip(j, 0, np.maximum(n_elig[:, None] - 1, 0))
        pick = np.minimum(pick, max(len(self._elig_blocks) - 1, 0))
        keys = self.rng.random((T, width))
        keys[j >= n_elig[:, None]] = np.inf
        chosen = np.argsort(keys, axis=1)[:, :W]  # random classes, random new labels
        class_valid = np.arange(W)[None, :] < np.minimum(n_elig, W)[:, None]
        if chosen.shape[1] < W:  # fewer eligible classes than n_way in every task
            chosen = np.pad(chosen, ((0, 0), (0, W - chosen.shape[1])))
        blocks = self._elig_blocks[np.take_along_axis(pick, chosen, axis=1)]
        rows, valid = self._draw_rows(blocks.ravel(), S + Q)
        valid &= class_valid.reshape(-1, 1)
        shots = None
        if self.support == "random":
            shots = self._random_shots(blocks, class_valid)
            class_valid = class_valid & (shots > 0)  # a class the support set shows
            valid &= class_valid.reshape(-1, 1)
        mine = mine(T)
        tasks, class_valid, blocks = tasks[mine], class_valid[mine], blocks[mine]
        rows = rows.reshape(T, W, S + Q)[mine].reshape(-1, S + Q)
        valid = valid.reshape(T, W, S + Q)[mine].reshape(-1, S + Q)
        T = len(tasks)
        if shots is not None:
            shots = shots[mine].ravel()
        r_s, v_s, r_q, v_q = self._split(rows, valid, blocks.ravel(), S, Q, shots)
        labels = np.arange(W)

        def part(r, v, n):
            X, _, mt = self._tensors(r.reshape(T, W * n), v.reshape(T, W * n))
            lab = torch.as_tensor(np.repeat(labels, T * n).reshape(W, T, n)
                                  .transpose(1, 0, 2).reshape(T, W * n), device=self.device)
            return X, lab, mt

        X_s, y_s, m_s = part(r_s, v_s, S)
        X_q, y_q, m_q = part(r_q, v_q, Q)
        class_mask = torch.as_tensor(class_valid, device=self.device)
        classes = torch.as_tensor(np.where(class_valid, blocks, -1), device=self.device)
        return _Episodes(X_s, y_s, m_s, X_q, y_q, m_q, class_mask, classes, tasks)

    def _random_shots(self, blocks, class_valid):
        """(T, W) support rows per chosen class of ``support="random"``: ``n_shots`` rows
        drawn at random among the rows of the task's chosen classes, each class keeping
        one row for the query set (all of those rows when there are fewer).

        The counts of a uniform draw without replacement are multivariate
        hypergeometric: one conditional hypergeometric draw per class position
        (a loop over the ``n_way`` positions, vectorised over tasks).
        """
        avail = np.where(class_valid, self._block_count[blocks] - 1, 0)
        rest = avail.sum(axis=1)
        left = np.minimum(self.n_shots, rest)
        shots = np.zeros_like(avail)
        for c in range(avail.shape[1]):
            rest = rest - avail[:, c]
            shots[:, c] = self.rng.hypergeometric(avail[:, c], rest, left)
            left = left - shots[:, c]
        return shots

    def batches(self):
        """Endless iterator of meta-batches, as repeated :meth:`sample` calls.

        Draws ``_chunk`` meta-batches at a time: their task picks (one
        :meth:`sample_tasks` each, so ``task_picker`` applies to each), then one
        :meth:`sample` of all their tasks (one permutation window per block, as that
        many single draws of one pass would take), then a view per meta-batch. The
        sampler's fixed cost is paid once per chunk instead of once per meta-batch.
        Distributed (``shard`` set): the chunk of GLOBAL meta-batches, then this rank's
        tasks of each (see ``shard``; ``share`` is set as each is yielded).
        """
        def whole(n):
            return slice(None)

        while True:
            picks = self._pick_chunk(self._chunk)
            sizes = [len(p) for p in picks]
            episodes = self._draw(np.concatenate(picks), whole)
            bounds = np.cumsum([0] + sizes).tolist()
            parts = [[None] * len(sizes) if v is None else (
                v.split(sizes) if torch.is_tensor(v)
                else [v[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
                for v in episodes]
            for fields in zip(*parts):
                if self.shard is not None:
                    mine = self._mine(len(fields[-1]))
                    fields = [None if v is None else v[mine] for v in fields]
                yield _Episodes(*fields)

    def _pick_chunk(self, n_batches):
        """Task indices of ``n_batches`` meta-batches: a list of :meth:`sample_tasks`
        draws, or for the uniform draw from a small pool (most task sets) the same
        law for all of them at once (``meta_batch_size`` smallest of random keys per
        meta-batch, an (n_batches, pool) array: without replacement within each)."""
        B, pool = self.meta_batch_size, self.usable
        n = len(pool)
        if self.task_picker is not None or B > n or n * n_batches > 1 << 16:
            return [self.sample_tasks() for _ in range(n_batches)]
        keys = self.rng.random((n_batches, n))
        idx = np.argpartition(keys, B - 1, axis=1)[:, :B] if B < n else keys.argsort(1)
        return list(idx if n == self.n_tasks else pool[idx])

    def sample_all(self, max_batch=None):
        """One episode per usable task, in task order, as a list of batches (for
        validation)."""
        size = max_batch or max(self.meta_batch_size, 64)
        pool = self.usable
        return [self.sample(pool[i:i + size]) for i in range(0, len(pool), size)]

    @property
    def n_blocks(self):
        """Number of (task, class) blocks: global ids of ``_Episodes.classes``."""
        return len(self._block_start)
