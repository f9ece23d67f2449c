"""Tests of continual meta-learning: partial_fit with an experience-replay buffer."""

import numpy as np
import pytest

from sklearn_meta._nn._replay import _TaskReplayBuffer, mixed_meta_batch
from sklearn_meta.datasets import make_classification_tasks, make_sinusoid_tasks
from sklearn_meta.gradient import MAMLRegressor, ReptileRegressor
from sklearn_meta.model_based import NeuralProcessRegressor
from sklearn_meta.metric import ProtoNetClassifier
from sklearn_meta.tasks import TaskSet, as_task_arrays

SMALL = dict(n_shots=3, max_iter=100, tol=None, embedding_dim=16,
             hidden_layer_sizes=(32,), random_state=0)


def _family(seed, n_tasks=50):
    # each family has its own informative subspace: a drift of the task distribution
    return make_classification_tasks(n_tasks=n_tasks, n_classes=2, n_features=10,
                                     n_samples_per_task=20, per_task_labels=True,
                                     random_state=seed).tasks


def test_replay_beats_no_replay_on_a_drifting_stream():
    first, second = _family(1), _family(2)
    X, y, g = as_task_arrays(first[30:])
    scores = {}
    for size in (0, 30):
        est = ProtoNetClassifier(replay_buffer_size=size, **SMALL)
        est.partial_fit(first[:30]).partial_fit(second[:30])
        scores[size] = est.score(X, y, groups=g)
    assert scores[30] > scores[0]


def _taskset(n_tasks, rows=3):
    X = np.arange(n_tasks * rows, dtype=float).reshape(-1, 1)
    starts = np.arange(0, n_tasks * rows + 1, rows)
    return TaskSet(X, np.zeros(n_tasks * rows), starts, np.arange(n_tasks))


def test_reservoir_keeps_a_uniform_sample_of_the_stream():
    kept = np.zeros(100)
    for seed in range(200):
        buf = _TaskReplayBuffer(10, seed)
        for start in range(0, 100, 20):  # five batches of 20 tasks
            ts = _taskset(100).subset(np.arange(start, start + 20))
            buf.add(ts)
        assert len(buf) == 10 and buf.n_seen == 100
        ids = buf.as_taskset(None).task_ids.astype(int)
        kept[ids] += 1
    share = kept / 200  # expected 0.1 for every task
    assert abs(share[:20].mean() - 0.1) < 0.02 and abs(share[80:].mean() - 0.1) < 0.02


def test_mixed_meta_batch_draws_the_replay_ratio():
    rng = np.random.default_rng(0)
    picks = [mixed_meta_batch(rng, 10, 30, 5, 0.3) for _ in range(2000)]
    assert all(len(p) == 5 for p in picks)
    replayed = np.mean([np.mean(p >= 10) for p in picks])
    assert abs(replayed - 0.3) < 0.02
    assert all(p.max() < 30 for p in picks)


def test_partial_fit_bookkeeping():
    tasks = _family(3, n_tasks=8)
    est = ProtoNetClassifier(**{**SMALL, "max_iter": 3, "replay_buffer_size": 5})
    est.partial_fit(tasks[:4])
    assert est.n_iter_ == 3 and len(est.replay_buffer_) == 4
    est.partial_fit(tasks[4:])
    assert est.n_iter_ == 6 and len(est.loss_curve_) == 6
    assert len(est.replay_buffer_) == 5 and est.replay_buffer_.n_seen == 8
    X = tasks[0][0]
    with pytest.raises(ValueError, match="features"):
        est.partial_fit([(X[:, :-1], tasks[0][1])])
    est.fit(tasks[:2])  # a new fit starts a new stream
    assert not hasattr(est, "replay_buffer_") and est.n_iter_ == 3


def test_partial_fit_shared_labels_need_classes_upfront():
    data = make_classification_tasks(n_tasks=6, n_classes=3, n_features=4,
                                     n_samples_per_task=30, random_state=0)
    two = [(X[y < 2], y[y < 2]) for X, y in data.tasks]
    est = ProtoNetClassifier(**{**SMALL, "max_iter": 2, "n_shots": 1})
    est.partial_fit(two[:3])
    with pytest.raises(ValueError, match="classes="):
        est.partial_fit(data.tasks[3:])
    est = ProtoNetClassifier(**{**SMALL, "max_iter": 2, "n_shots": 1})
    est.partial_fit(two[:3], classes=[0, 1, 2]).partial_fit(data.tasks[3:])
    assert list(est.classes_) == [0, 1, 2]
    assert est.predict_proba(data.tasks[0][0]).shape == (30, 3)


@pytest.mark.parametrize("make", [
    lambda: MAMLRegressor(hidden_layer_sizes=(8,), inner_steps=1, max_iter=3,
                          replay_buffer_size=4, random_state=0),
    lambda: ReptileRegressor(hidden_layer_sizes=(8,), inner_steps=1, max_iter=3,
                             replay_buffer_size=4, random_state=0),
    lambda: NeuralProcessRegressor(embedding_dim=8, n_heads=2, n_layers=1, max_iter=3,
                                   replay_buffer_size=4, random_state=0),
], ids=["maml", "reptile", "neural_process"])
def test_partial_fit_on_gradient_and_model_based_learners(make):
    tasks = make_sinusoid_tasks(n_tasks=8, random_state=0).tasks
    est = make().partial_fit(tasks[:4])
    first = est.predict(tasks[0][0])
    est.partial_fit(tasks[4:])
    assert est.n_iter_ == 6 and len(est.replay_buffer_) == 4
    assert not np.allclose(est.predict(tasks[0][0]), first)
    # reproducible stream for a fixed random_state
    again = make().partial_fit(tasks[:4]).partial_fit(tasks[4:])
    np.testing.assert_allclose(again.predict(tasks[0][0]), est.predict(tasks[0][0]))


@pytest.mark.parametrize("per_task", [False, True])
def test_finetune_partial_fit_continues_and_learns(per_task):
    from sklearn_meta.gradient import FineTuneClassifier

    data = make_classification_tasks(n_tasks=40, n_classes=2, n_features=6,
                                     n_samples_per_task=20, per_task_labels=per_task,
                                     random_state=3)
    tasks = data.tasks
    est = FineTuneClassifier(hidden_layer_sizes=(16,), max_iter=30, n_shots=3,
                             random_state=0)
    est.partial_fit(tasks[:15])
    first = {k: v.clone() for k, v in est.params_.items()}
    est.partial_fit(tasks[15:30])
    assert est.n_iter_ == 60 and len(est.loss_curve_) == 60
    assert len(est.replay_buffer_) == 30
    assert any(not np.allclose(first[k], est.params_[k]) for k in first)  # it trained on
    X, y = tasks[35]
    assert est.adapt(X[:6], y[:6]).predict(X[6:]).shape == (14,)
