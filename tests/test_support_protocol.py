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


# --- the learners' ``support`` parameter reaches their episode sampler ---------------------

import sklearn_meta._nn._sampler as _sampler_module  # noqa: E402
from sklearn_meta.datasets import make_classification_tasks  # noqa: E402
from sklearn_meta.gradient import (  # noqa: E402
    ANILClassifier, FineTuneClassifier, MAMLClassifier, MetaSGDClassifier, MAMLRegressor,
    ReptileClassifier,
)
from sklearn_meta.metric import ProtoNetClassifier  # noqa: E402
from sklearn_meta.model_based import NeuralProcessClassifier  # noqa: E402

CLASSIFIERS = [MAMLClassifier, MetaSGDClassifier, ANILClassifier, ReptileClassifier,
               FineTuneClassifier, ProtoNetClassifier, NeuralProcessClassifier]


@pytest.fixture
def sampler_spy(monkeypatch):
    """The support protocol of every episode sampler built during the test."""
    seen = []
    original = _sampler_module._EpisodeSampler.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append((self.kind, self.support, getattr(self, "n_support", None)))

    monkeypatch.setattr(_sampler_module._EpisodeSampler, "__init__", spy)
    return seen


def _tasks(per_task_labels=False, seed=0):
    return make_classification_tasks(n_tasks=6, n_samples_per_task=30, n_classes=3,
                                     per_task_labels=per_task_labels,
                                     random_state=seed).tasks


@pytest.mark.parametrize("Est", CLASSIFIERS)
@pytest.mark.parametrize("support", ["per_class", "random"])
def test_support_param_reaches_the_sampler(Est, support, sampler_spy):
    est = Est(n_shots=2, support=support, max_iter=2, random_state=0).fit(_tasks())
    assert sampler_spy and {s for _, s, _ in sampler_spy} == {support}
    assert {k for k, _, _ in sampler_spy} == {"shared"}
    # the episodes' support sets: n_shots rows, or n_shots per class
    assert {n for _, _, n in sampler_spy} == {2 if support == "random" else 6}
    assert est.support == support  # a parameter, left as given


@pytest.mark.parametrize("Est", CLASSIFIERS)
def test_auto_support_is_per_class_in_both_label_spaces(Est, sampler_spy):
    Est(n_shots=2, max_iter=2, random_state=0).fit(_tasks())
    assert {s for _, s, _ in sampler_spy} == {"per_class"}
    sampler_spy.clear()
    Est(n_shots=2, max_iter=2, random_state=0).fit(_tasks(per_task_labels=True))
    assert {(k, s) for k, s, _ in sampler_spy} == {("per_task", "per_class")}


def test_bad_support_param_is_a_clear_error():
    with pytest.raises(ValueError, match="'support' parameter of MAMLClassifier must be"):
        MAMLClassifier(support="stratified", max_iter=1).fit(_tasks())


# --- evaluate_few_shot and the CLI set the meta-training protocol they evaluate ---------

from sklearn_meta.model_selection import evaluate_few_shot  # noqa: E402


@pytest.mark.parametrize("support", ["per_class", "random"])
def test_evaluate_few_shot_trains_as_it_tests(support, sampler_spy):
    tasks = _tasks()
    evaluate_few_shot({"maml": MAMLClassifier(max_iter=2, random_state=0),
                       "fixed": MAMLClassifier(support="per_class", max_iter=2,
                                               random_state=0)},
                      tasks[:4], tasks[4:], n_shots=[2], n_episodes=2, support=support,
                      random_state=0)
    # "auto" takes the evaluated protocol; an explicit "per_class" is kept
    assert [s for _, s, _ in sampler_spy] == [support, "per_class"]
    assert [n for _, _, n in sampler_spy] == [2 if support == "random" else 6, 6]


def test_evaluate_few_shot_without_support_keeps_the_learners_auto(sampler_spy):
    tasks = _tasks()
    res = evaluate_few_shot({"maml": MAMLClassifier(max_iter=2, random_state=0),
                             "protonet": ProtoNetClassifier(max_iter=2, random_state=0)},
                            tasks[:4], tasks[4:], n_shots=[2], n_episodes=2,
                            random_state=0)
    assert res["support"].tolist() == ["random", "random"]  # the evaluation's default
    assert [s for _, s, _ in sampler_spy] == ["per_class", "per_class"]


def test_evaluate_few_shot_regressor_without_support_param(sampler_spy):
    from sklearn_meta.datasets import make_regression_tasks

    tasks = make_regression_tasks(n_tasks=6, n_samples_per_task=20, random_state=0).tasks
    res = evaluate_few_shot({"maml": MAMLRegressor(max_iter=2, random_state=0)},
                            tasks[:4], tasks[4:], n_shots=[3], n_episodes=2,
                            support="random", random_state=0)
    assert res["support"].tolist() == ["random"]
    assert [(k, n) for k, _, n in sampler_spy] == [("regression", 3)]


@pytest.mark.parametrize("support", ["per_class", "random"])
def test_cli_support_sets_the_meta_training_protocol(support, tmp_path, sampler_spy,
                                                     capsys):
    from sklearn_meta.__main__ import main

    rng = np.random.default_rng(0)
    lines = ["site,x1,x2,label"] + [
        f"s{t},{rng.normal():.3f},{rng.normal():.3f},{'yes' if i % 2 else 'no'}"
        for t in range(6) for i in range(20)]
    (tmp_path / "sites.csv").write_text("\n".join(lines) + "\n")
    rc = main(["benchmark", "--data", str(tmp_path / "sites.csv"), "--target", "label",
               "--group", "site", "--learners", "maml", "protonet", "--shots", "2",
               "--support", support, "--episodes", "2", "--quiet",
               "--output", str(tmp_path / "out")])
    assert rc == 0
    assert len(sampler_spy) == 2  # one fit per learner
    assert {s for _, s, _ in sampler_spy} == {support}
    assert {n for _, _, n in sampler_spy} == {2 if support == "random" else 4}


# --- shared labels: a training support set that lacks a class borrows it -------------------

import torch  # noqa: E402

from sklearn_meta._nn._prototypes import (  # noqa: E402
    borrow_prototypes, borrow_rows, prototypical_loss,
)


def test_borrow_rows_adds_other_tasks_rows_of_missing_classes_only():
    X = torch.arange(6.0).reshape(3, 2, 1)
    y = torch.tensor([[0, 0], [1, 1], [1, 0]])
    m = torch.tensor([[1.0, 1.0], [1.0, 1.0], [1.0, 0.0]])  # task 2's class-0 row: padding
    Xb, yb, mb = borrow_rows(X, y, m, n_classes=2, n_per_class=1)
    got = [sorted(Xb[t, mb[t] > 0, 0].tolist()) for t in range(3)]
    # task 0 lacks class 1: one row of it from task 1 (the first); task 1 lacks class 0:
    # one row from task 0; task 2 lacks class 0 (its row is padding): from task 0
    assert got == [[0.0, 1.0, 2.0], [0.0, 2.0, 3.0], [0.0, 4.0]]
    assert all(set(yb[t, mb[t] > 0].tolist()) == {0, 1} for t in range(3))


def test_borrow_prototypes_is_the_other_tasks_class_mean():
    z = torch.tensor([[[1.0], [3.0]], [[10.0], [20.0]], [[5.0], [7.0]]])  # (T=3, n=2, e=1)
    y = torch.tensor([[0, 0], [1, 1], [1, 0]])
    m = torch.ones(3, 2)
    protos, counts = torch.zeros(3, 2, 1), torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    p, valid = borrow_prototypes(protos, counts, z, y, m, 2)
    assert valid.all()
    assert p[0, 1, 0] == pytest.approx((10 + 20 + 5) / 3)  # class 1 of tasks 1 and 2
    assert p[1, 0, 0] == pytest.approx((1 + 3 + 7) / 3)  # class 0 of tasks 0 and 2
    assert p[2].abs().sum() == 0  # task 2 has both classes: its own prototypes are kept


def test_one_class_support_sets_still_train_a_prototypical_network():
    # shared labels, one support row per task: without borrowing, every episode has one
    # prototype, the loss is 0 and no gradient flows (the 1-shot collapse on churn)
    z_s = torch.randn(4, 1, 3, requires_grad=True)
    y_s = torch.tensor([[0], [1], [0], [1]])
    z_q = torch.randn(4, 5, 3)
    y_q = torch.randint(0, 2, (4, 5))
    ones = torch.ones(4, 1), torch.ones(4, 5)
    plain, _ = prototypical_loss(z_s, y_s, ones[0], z_q, y_q, ones[1], 2)
    borrowed, _ = prototypical_loss(z_s, y_s, ones[0], z_q, y_q, ones[1], 2, shared=True)
    assert float(plain.detach()) == 0.0 and float(borrowed.detach()) > 0.0
    borrowed.backward()
    assert z_s.grad.abs().sum() > 0
