"""Bad input and faults: every case ends in a clear error or a finite, sane output."""

import warnings

import numpy as np
import pytest

from sklearn_meta.gradient import (
    ANILClassifier,
    ANILRegressor,
    FineTuneClassifier,
    FineTuneRegressor,
    MAMLClassifier,
    MetaSGDClassifier,
    ReptileClassifier,
)
from sklearn_meta.metric import ProtoNetClassifier
from sklearn_meta.model_based import NeuralProcessClassifier, NeuralProcessRegressor

_TINY = dict(max_iter=3, n_shots=2, random_state=0)


def _binary_tasks(n_features=3, n_tasks=6, n_rows=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_tasks * n_rows, n_features))
    y = (X[:, 0] > 0).astype(int)
    return X, y, np.repeat(np.arange(n_tasks), n_rows)


# -- small fixes in the torch learners -------------------------------------------------
@pytest.mark.parametrize(
    "cls", [ANILClassifier, FineTuneClassifier, ANILRegressor, FineTuneRegressor,
            MAMLClassifier])
def test_no_hidden_layer_fits_adapts_and_predicts(cls):
    X, y, g = _binary_tasks()
    est = cls(hidden_layer_sizes=(), **_TINY).fit(X, y, groups=g)
    est.adapt(X[:10], y[:10])
    pred = est.predict(X)
    assert pred.shape == (len(X),)
    assert np.all(np.isfinite(pred.astype(float)))
    assert est.params_["0.weight"].shape[1] == X.shape[1]  # one linear layer


@pytest.mark.parametrize(
    "cls", [ProtoNetClassifier, NeuralProcessClassifier, NeuralProcessRegressor,
            MAMLClassifier])
def test_warm_start_refit_with_other_n_features_reinitialises(cls):
    est = cls(warm_start=True, **_TINY)
    est.fit(*_binary_tasks(n_features=3)[:2], groups=_binary_tasks()[2])
    X, y, g = _binary_tasks(n_features=5, seed=1)
    est.fit(X, y, groups=g)
    assert est.n_features_in_ == 5
    est.adapt(X[:10], y[:10])
    assert est.predict(X).shape == (len(X),)
    # a refit with the same columns still continues from the fitted network
    assert est.fit(X, y, groups=g).n_iter_ > _TINY["max_iter"]


def _many_class_table(n_classes=15, n_rows=12, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_rows)
    X = rng.normal(size=(len(y), 4)) + 0.3 * y[:, None]
    return X, y


@pytest.mark.parametrize(
    "cls", [MAMLClassifier, MetaSGDClassifier, ANILClassifier, ReptileClassifier,
            FineTuneClassifier, ProtoNetClassifier, NeuralProcessClassifier])
def test_n_way_on_many_class_table_implies_per_task_labels(cls):
    X, y = _many_class_table()
    est = cls(n_way=5, **_TINY).fit(X, y)
    rng = np.random.default_rng(1)
    new = np.repeat(np.array(["a", "b", "c", "d", "e"]), 4)
    X_new = rng.normal(size=(len(new), 4))
    est.adapt(X_new, new)
    assert set(est.predict(X_new)) <= set(new)
    np.testing.assert_array_equal(est.classes_, np.unique(new))
    # n_way covering every class keeps the shared label space
    est = cls(n_way=15, **_TINY).fit(X, y)
    assert est._label_space_ == "shared"


def test_n_way_per_task_single_class_task_names_n_way():
    X, y = _many_class_table(n_classes=6)
    groups = np.where(y == 0, 0, 1)  # task 0 holds one class
    with pytest.raises(ValueError, match=r"task 0 has a single class.*n_way=3"):
        MAMLClassifier(n_way=3, **_TINY).fit(X, y, groups=groups)
