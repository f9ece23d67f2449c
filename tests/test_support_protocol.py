"""The support protocol of meta-training episodes (issue 11): ``support="per_class"``
(N-way K-shot sized sets) and ``support="random"`` (``n_shots`` rows as a new task has
them), in the episode sampler, the torch learners, ``evaluate_few_shot`` and the CLI."""

import numpy as np
import pytest

from sklearn_meta._nn._sampler import _EpisodeSampler


def _stack(sizes, labels, seed=0):
    starts = np.concatenate([[0], np.cumsum(sizes)])
    X = np.arange(starts[-1], dtype=float)[:, None]  # row id as the feature
    return X, np.asarray(labels), starts


def _support_rows(ep, t):
    return ep.X_s[t, ep.m_s[t] > 0, 0].long().numpy()


def _query_rows(ep, t):
    return ep.X_q[t, ep.m_q[t] > 0, 0].long().numpy()


@pytest.mark.parametrize("support, n_support", [("random", 2), ("per_class", 6)])
def test_shared_support_size_follows_the_protocol(support, n_support):
    # three global classes, balanced tasks of 30 rows: "random" gives n_shots rows in all,
    # "per_class" n_shots * n_classes
    labels = np.tile([0, 1, 2], 20)
    X, y, starts = _stack([30, 30], labels)
    s = _EpisodeSampler(X, y, starts, kind="shared", n_shots=2, n_queries=3, n_classes=3,
                        support=support, rng=np.random.default_rng(0))
    one_class = 0
    for _ in range(200):
        ep = s.sample(np.array([0, 1]))
        for t in range(2):
            rs, rq = _support_rows(ep, t), _query_rows(ep, t)
            assert len(rs) == n_support and len(rq) == 9
            assert not set(rs) & set(rq)
            assert ((starts[t] <= rs) & (rs < starts[t + 1])).all()
            one_class += len(set(y[rs])) == 1
    if support == "random":  # P(two rows of one class) = 1/3 - a little: ~120 of 400
        assert 60 < one_class < 200
    else:
        assert one_class < 10


def test_random_support_small_tasks_keep_todays_rule():
    # a task smaller than n_shots + 1 gives all its rows but one as support
    labels = np.r_[[0, 1, 1], np.tile([0, 1], 20), [1, 1]]
    X, y, starts = _stack([3, 40, 2], labels)
    s = _EpisodeSampler(X, y, starts, kind="shared", n_shots=5, n_queries=5, n_classes=2,
                        support="random", rng=np.random.default_rng(1))
    assert s.skipped.size == 0
    ep = s.sample(np.arange(3))
    assert [len(_support_rows(ep, t)) for t in range(3)] == [2, 5, 1]
    assert [len(_query_rows(ep, t)) for t in range(3)] == [1, 10, 1]


def test_per_task_random_support_is_a_uniform_draw_of_n_shots_rows():
    # one task, per-task labels: class 0 has 30 rows, class 1 has 10. A uniform draw of 4
    # support rows among the 40 - 2 rows each class can spare has hypergeometric class
    # counts: E[#class 1] = 4 * 9 / 38 ~ 0.95 (per_class would give exactly 4 each)
    labels = np.r_[np.zeros(30, int), np.ones(10, int)]
    X, y, starts = _stack([40], labels)
    s = _EpisodeSampler(X, y, starts, kind="per_task", n_shots=4, n_queries=3,
                        support="random", rng=np.random.default_rng(0))
    n_minor, single = [], 0
    for _ in range(2000):
        ep = s.sample(np.array([0]))
        rs, rq = _support_rows(ep, 0), _query_rows(ep, 0)
        assert len(rs) == 4 and len(set(rs)) == 4 and not set(rs) & set(rq)
        shown = set(y[rs])
        # the query set: only classes the support set shows, up to n_queries rows each
        assert set(y[rq]) == shown
        assert all((y[rq] == c).sum() == 3 for c in shown)
        # class_mask marks the shown classes; the episode labels agree with the rows
        valid = ep.class_mask[0].numpy()
        assert valid.sum() == len(shown)
        lab_s = ep.y_s[0, ep.m_s[0] > 0].numpy()
        assert valid[lab_s].all()
        assert len({(a, b) for a, b in zip(lab_s, y[rs])}) == len(shown)
        n_minor.append(int((y[rs] == 1).sum()))
        single += len(shown) == 1
    assert abs(np.mean(n_minor) - 4 * 9 / 38) < 0.08
    assert single > 300  # P(no row of class 1) = C(29,4)/C(38,4) ~ 0.33


def test_per_task_random_small_classes_keep_a_query_row():
    # task 0: classes of 2 and 2 rows (n_shots=5 > the 2 spare rows); task 1: one row
    labels = np.r_[[0, 0, 1, 1], [3]]
    X, y, starts = _stack([4, 1], labels)
    s = _EpisodeSampler(X, y, starts, kind="per_task", n_shots=5, n_queries=3,
                        support="random", rng=np.random.default_rng(0), warn=False)
    assert s.skipped.tolist() == [1]
    for _ in range(20):
        ep = s.sample(np.array([0, 1]))
        assert sorted(y[_support_rows(ep, 0)].tolist()) == [0, 1]
        assert sorted(y[_query_rows(ep, 0)].tolist()) == [0, 1]
        assert ep.m_s[1].sum() == 0 and ep.m_q[1].sum() == 0


def test_bad_support_is_a_clear_error():
    X, y, starts = _stack([10], np.tile([0, 1], 5))
    with pytest.raises(ValueError, match="support='stratified' must be 'per_class' or"):
        _EpisodeSampler(X, y, starts, kind="shared", n_shots=2, n_queries=2, n_classes=2,
                        support="stratified")
