"""Tests of the metric-based meta-learner (prototypical networks)."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.neighbors import NearestCentroid
from sklearn_meta.utils.estimator_checks import parametrize_with_checks

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import make_classification_tasks
from sklearn_meta.metric import ProtoNetClassifier
from sklearn_meta.tasks import as_task_arrays
from sklearn_meta._nn._prototypes import (
    class_prototypes,
    prototypical_loss,
    refine_prototypes,
)

FAST = dict(max_iter=5, n_shots=1, embedding_dim=8, hidden_layer_sizes=(16,),
            random_state=0, device="cpu")


@parametrize_with_checks([ProtoNetClassifier(**FAST)])
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def per_task():
    data = make_classification_tasks(n_tasks=70, n_classes=3, n_features=10,
                                     n_samples_per_task=30, per_task_labels=True,
                                     random_state=0)
    return data.tasks[:50], as_task_arrays(data.tasks[50:])


@pytest.fixture(scope="module")
def fitted(per_task):
    train, _ = per_task
    return ProtoNetClassifier(n_shots=3, max_iter=150, tol=None, embedding_dim=16,
                              hidden_layer_sizes=(32,), random_state=0).fit(train)


def test_beats_nearest_centroid_and_untrained(per_task, fitted):
    train, (X, y, groups) = per_task
    score = fitted.score(X, y, groups=groups)
    untrained = clone(fitted).set_params(max_iter=0).fit(train).score(X, y, groups=groups)
    naive = PerTaskEstimator(NearestCentroid(), n_shots=3, random_state=0).fit(train)
    assert score > naive.score(X, y, groups=groups) + 0.05
    assert score > untrained + 0.05


def test_adapt_any_number_of_classes_and_shots(fitted):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 10))
    y = np.repeat(["a", "b", "c", "d", "e"], 8)  # 5-way, 8 shots; trained 3-way 3-shot
    proba = fitted.adapt(X, y).predict_proba(X)
    assert proba.shape == (40, 5)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(fitted.classes_) == ["a", "b", "c", "d", "e"]
    assert fitted.decision_function(X).shape == (40, 5)


def test_adapt_leaves_meta_parameters_alone(per_task, fitted):
    _, (X, y, _) = per_task
    # fine_tune_steps acts at adapt: no refit needed
    est = copy.deepcopy(fitted).set_params(fine_tune_steps=3, fine_tune_lr=0.01)
    before = {k: v.clone() for k, v in est.network_.state_dict().items()}
    Xa, ya, Xb, yb = X[:30], y[:30], X[30:60], y[30:60]
    pred_b = est.adapt(Xb, yb).predict_proba(Xb)
    est.adapt(Xa, ya)
    for k, v in est.network_.state_dict().items():
        assert torch.equal(v, before[k])
    np.testing.assert_allclose(est.adapt(Xb, yb).predict_proba(Xb), pred_b)
    # fine-tuning changes the task model, not the meta-learned one
    assert not np.allclose(fitted.adapt(Xb, yb).predict_proba(Xb), pred_b)


def test_class_prototypes_with_masks():
    z = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [9.0, 9.0], [0.0, 4.0]]])
    y = torch.tensor([[0, 0, 0, 1]])
    m = torch.tensor([[1.0, 1.0, 0.0, 1.0]])  # the third row is padding
    protos, counts = class_prototypes(z, y, m, 3)
    np.testing.assert_allclose(protos[0].numpy(), [[1, 0], [0, 4], [0, 0]])
    np.testing.assert_allclose(counts[0].numpy(), [2, 1, 0])


def test_prototypical_loss_ignores_padding_and_absent_classes():
    g = torch.Generator().manual_seed(0)
    z_s, z_q = torch.randn(2, 6, 3, generator=g), torch.randn(2, 4, 3, generator=g)
    y_s = torch.tensor([[0, 0, 1, 1, 2, 2], [0, 1, 0, 1, 0, 1]])
    y_q = torch.tensor([[0, 1, 2, 0], [1, 0, 1, 2]])
    m_s, m_q = torch.ones(2, 6), torch.ones(2, 4)
    loss, acc = prototypical_loss(z_s, y_s, m_s, z_q, y_q, m_q, 3)
    assert torch.isfinite(loss) and 0 <= float(acc) <= 1
    # query row of class 2 in task 1 (no prototype) counts for nothing
    m_q2 = m_q.clone()
    m_q2[1, 3] = 0
    loss2, _ = prototypical_loss(z_s, y_s, m_s, z_q, y_q, m_q2, 3)
    assert torch.allclose(loss, loss2)
    # padded support rows change nothing
    z_pad = torch.cat([z_s, 100 * torch.ones(2, 2, 3)], 1)
    y_pad = torch.cat([y_s, torch.zeros(2, 2, dtype=torch.int64)], 1)
    m_pad = torch.cat([m_s, torch.zeros(2, 2)], 1)
    loss3, _ = prototypical_loss(z_pad, y_pad, m_pad, z_q, y_q, m_q, 3)
    assert torch.allclose(loss, loss3)


def test_unlabeled_rows_move_prototypes_toward_their_cluster():
    protos = torch.tensor([[[0.0, 0.0], [4.0, 0.0]]])
    counts = torch.tensor([[1.0, 1.0]])
    z_u = torch.tensor([[[0.0, 1.0], [0.0, 1.2], [4.0, -1.0]]])
    refined = refine_prototypes(protos, counts, z_u)
    assert refined[0, 0, 1] > 0.4 and refined[0, 1, 1] < -0.3


def test_transductive_adapt(per_task, fitted):
    _, (X, y, _) = per_task
    s, q = slice(0, 9), slice(9, 30)
    plain = fitted.adapt(X[s], y[s]).predict_proba(X[q])
    trans = fitted.adapt(X[s], y[s], X_unlabeled=X[q]).predict_proba(X[q])
    assert plain.shape == trans.shape and not np.allclose(plain, trans)


def test_shared_label_space_zero_shot_and_missing_class():
    data = make_classification_tasks(n_tasks=10, n_classes=3, n_features=5,
                                     n_samples_per_task=30, random_state=1)
    est = ProtoNetClassifier(**{**FAST, "n_shots": 2}).fit(data.tasks)
    X, y = data.tasks[0]
    assert est.predict(X).shape == (30,)  # zero-shot: training prototypes
    keep = y != 2
    proba = est.adapt(X[keep][:4], y[keep][:4]).predict_proba(X)
    assert proba.shape == (30, 3)


def _tanh_module(n_in, n_out):
    return torch.nn.Sequential(torch.nn.Linear(n_in, n_out), torch.nn.Tanh())


def test_deterministic_pickle_and_custom_module(per_task):
    train, (X, y, _) = per_task
    a = ProtoNetClassifier(**{**FAST, "module": _tanh_module}).fit(train[:10])
    b = ProtoNetClassifier(**{**FAST, "module": _tanh_module}).fit(train[:10])
    assert a.loss_curve_ == b.loss_curve_
    assert isinstance(a.network_[1], torch.nn.Tanh)
    a.adapt(X[:9], y[:9])
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_allclose(c.predict_proba(X[9:30]), a.predict_proba(X[9:30]))


def test_early_stopping_records_validation_scores(per_task):
    est = ProtoNetClassifier(**{**FAST, "max_iter": 10, "early_stopping": True,
                                "validation_interval": 5}).fit(per_task[0][:10])
    assert len(est.validation_scores_) == 2
    assert est.best_validation_score_ == max(est.validation_scores_)
