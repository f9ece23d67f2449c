"""Experience replay over tasks: a reservoir buffer and meta-batch mixing."""

import numpy as np

from ..tasks import TaskSet

__all__ = []


class _TaskReplayBuffer:
    """A fixed-size uniform sample (reservoir sampling) of all tasks seen so far.

    Every task of the stream has the same chance ``capacity / n_seen`` of being in the
    buffer, whatever its position, so the earliest tasks stay represented however long
    the stream runs.
    """

    def __init__(self, capacity, seed):
        self.capacity = int(capacity)
        self.rng = np.random.default_rng(seed)
        self.n_seen = 0
        self.tasks = []  # (X, y, task_id, classes)

    def __len__(self):
        return len(self.tasks)

    def add(self, taskset):
        """Offer every task of ``taskset`` to the reservoir."""
        for i in range(taskset.n_tasks):
            X, y = taskset[i]
            classes = None if taskset.classes is None else taskset.classes[i]
            item = (X.copy(), y.copy(), taskset.task_ids[i], classes)
            if len(self.tasks) < self.capacity:
                self.tasks.append(item)
            else:
                j = int(self.rng.integers(self.n_seen + 1))
                if j < self.capacity:
                    self.tasks[j] = item
            self.n_seen += 1

    def as_taskset(self, label_space):
        """The buffered tasks as one :class:`~sklearn_meta.tasks.TaskSet` (or None)."""
        if not self.tasks:
            return None
        Xs, ys, ids, classes = zip(*self.tasks)
        sizes = [len(y) for y in ys]
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        task_ids = np.empty(len(ids), dtype=object)
        task_ids[:] = list(ids)
        return TaskSet(
            np.concatenate(Xs), np.concatenate(ys), starts, task_ids, label_space,
            None if classes[0] is None else list(classes),
        )


def mixed_meta_batch(rng, n_new, n_total, batch_size, ratio):
    """Task indices of one meta-batch: ``ratio`` of it from the replay tasks.

    Tasks ``0..n_new-1`` are the current batch of the stream, ``n_new..n_total-1`` the
    replayed ones. The number of replayed tasks is ``batch_size * ratio`` rounded at
    random (so its mean is exact even for a meta-batch of one task).
    """
    n_old = n_total - n_new
    expected = batch_size * ratio if n_old else 0.0
    n_rep = int(np.floor(expected)) + int(rng.random() < expected - np.floor(expected))
    n_rep = min(n_rep, batch_size)
    n_cur = batch_size - n_rep
    cur = rng.choice(n_new, size=n_cur, replace=n_cur > n_new)
    rep = n_new + rng.choice(n_old, size=n_rep, replace=n_rep > n_old) if n_rep else cur[:0]
    return np.concatenate([cur, rep]).astype(np.int64)


def with_replay(tasks, replay):
    """``(tasks followed by the replay tasks, number of new tasks)`` as one TaskSet."""
    n_new = tasks.n_tasks
    if replay is None or not replay.n_tasks:
        return tasks, n_new
    starts = np.concatenate([tasks.starts, tasks.starts[-1] + replay.starts[1:]])
    classes = None if tasks.classes is None else list(tasks.classes) + list(replay.classes)
    ids = np.empty(n_new + replay.n_tasks, dtype=object)
    ids[:n_new], ids[n_new:] = list(tasks.task_ids), list(replay.task_ids)
    combined = TaskSet(
        np.concatenate([tasks.X, replay.X]), np.concatenate([tasks.y, replay.y]), starts,
        ids, tasks.label_space, classes,
    )
    return combined, n_new
