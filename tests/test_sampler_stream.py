"""The meta-training stream of the episode sampler (``_EpisodeSampler.batches``).

Meta-training draws a chunk of meta-batches at a time; each meta-batch must follow the
rules of a single :meth:`~_EpisodeSampler.sample` call: ``meta_batch_size`` distinct usable
tasks, rows of the episode's own task, disjoint support and query sets, uniform draws.
"""

import numpy as np
import pytest

from sklearn_meta._nn._sampler import _EpisodeSampler


def _tasks(sizes, seed=0, n_labels=3):
    rng = np.random.default_rng(seed)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    X = np.arange(starts[-1], dtype=float)[:, None]  # row id as the feature
    y = rng.integers(0, n_labels, starts[-1])
    return X, y, starts


def _sampler(kind, sizes, support="per_class", seed=0, **kw):
    X, y, starts = _tasks(sizes, seed)
    kw = {"n_shots": 2, "n_queries": 2, "meta_batch_size": 3, **kw}
    return _EpisodeSampler(X, y.astype(float) if kind == "regression" else y, starts,
                           kind=kind, n_classes=3, support=support,
                           rng=np.random.default_rng(seed), warn=False, **kw)


def _rows(ep, t):
    s = ep.X_s[t, ep.m_s[t] > 0, 0].long().numpy()
    q = ep.X_q[t, ep.m_q[t] > 0, 0].long().numpy()
    return s, q


@pytest.mark.parametrize("support", ["per_class", "random"])
@pytest.mark.parametrize("kind", ["regression", "shared", "per_task"])
def test_every_streamed_batch_follows_the_sampling_rules(kind, support):
    sizes = [12, 1, 9, 30, 2, 15, 20]  # task 1 (a single row) is skipped
    s = _sampler(kind, sizes, support)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    one = s.sample()
    stream = s.batches()
    assert s._chunk > 1  # several meta-batches per draw here
    for _ in range(5 * s._chunk):  # across several chunks and reshuffles
        ep = next(stream)
        assert len(ep.tasks) == 3 and len(set(ep.tasks.tolist())) == 3
        assert 1 not in ep.tasks.tolist()
        for field, ref in zip(ep, one):  # the shapes of a single sample()
            assert (field is None) == (ref is None)
            if field is not None:
                assert tuple(field.shape) == tuple(ref.shape)
        for t, task in enumerate(ep.tasks):
            rs, rq = _rows(ep, t)
            assert len(rs) >= 1 and len(rq) >= 1
            assert not set(rs) & set(rq) and len(set(rs)) == len(rs)
            rows = np.r_[rs, rq]
            assert ((starts[task] <= rows) & (rows < starts[task + 1])).all()


def test_streamed_task_picks_and_rows_are_uniform():
    s = _sampler("regression", [30] * 10, n_shots=5, n_queries=5)
    stream = s.batches()
    tasks = np.zeros(10)
    support = np.zeros(300)
    n = 4000
    for _ in range(n):
        ep = next(stream)
        tasks[ep.tasks] += 1
        support[ep.X_s[ep.m_s > 0].long().numpy()] += 1
    # each task in 3 of 10 picks: 1200 expected (binomial sd 29)
    np.testing.assert_allclose(tasks, n * 3 / 10, rtol=0.1)
    # each row of a drawn task in the support set 5 times in 30: 200 expected; the
    # spread over rows is 13-15 (binomial 13, plus the task counts' spread), as with
    # single sample() calls; a sampler favouring some rows of a task spreads far more
    # (the first 5 rows always: 75)
    assert support.sum() == n * 3 * 5
    assert support.std() < 20 and support.min() > 120


def test_stream_uses_the_task_picker_for_every_batch():
    s = _sampler("shared", [10] * 6)
    calls = []

    def picker(rng):
        calls.append(1)
        return [len(calls) % 6, (len(calls) + 1) % 6]

    s.task_picker = picker
    stream = s.batches()
    for i in range(1, 2 * s._chunk + 1):
        assert next(stream).tasks.tolist() == [i % 6, (i + 1) % 6]


def test_ranks_stream_their_slices_of_the_same_global_batches():
    full = _sampler("per_task", [12, 9, 30, 15, 20], meta_batch_size=5)
    ranks = [_sampler("per_task", [12, 9, 30, 15, 20], meta_batch_size=5)
             for _ in range(2)]
    for r, s in enumerate(ranks):
        s.shard = (r, 2)
    streams = [full.batches()] + [s.batches() for s in ranks]
    for _ in range(2 * full._chunk):
        whole, *parts = (next(st) for st in streams)
        for r, part in enumerate(parts):
            assert part.tasks.tolist() == whole.tasks[r::2].tolist()
            for a, b in zip(part, whole):
                if a is not None:
                    np.testing.assert_array_equal(np.asarray(a), np.asarray(b[r::2]))
        assert ranks[0].share == 3 / 5 and ranks[1].share == 2 / 5


@pytest.mark.parametrize("kind", ["regression", "shared"])
def test_unmasked_fast_path_draws_what_the_masked_path_draws(kind):
    """Tasks all large enough for an episode skip the mask arithmetic (``_full``): the
    same rows, labels and (all-one) masks as the general path, from the same seed."""
    sizes = [12, 30, 15, 20, 13]  # >= n_support + n_query = 12 (shared, 3 classes)
    fast, slow = _sampler(kind, sizes, seed=3), _sampler(kind, sizes, seed=3)
    assert fast._full
    slow._full = False
    for _ in range(5):
        a, b = fast.sample(), slow.sample()
        for name in ("X_s", "y_s", "m_s", "X_q", "y_q", "m_q"):
            assert getattr(a, name).dtype == getattr(b, name).dtype, name
            np.testing.assert_array_equal(getattr(a, name).numpy(),
                                          getattr(b, name).numpy(), err_msg=name)
        np.testing.assert_array_equal(a.tasks, b.tasks)
    # a task too small for a whole episode takes the masked path
    assert not _sampler(kind, [12, 3, 15], seed=3)._full
