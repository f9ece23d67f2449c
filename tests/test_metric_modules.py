"""Tests of the embedding networks for the ``module`` parameter (ConvEmbedding)."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.neighbors import NearestCentroid

from sklearn_meta.baselines import PerTaskEstimator
from sklearn_meta.datasets import load_digits_tasks
from sklearn_meta.gradient import MAMLClassifier
from sklearn_meta.metric import ConvEmbedding, ProtoNetClassifier
from sklearn_meta.model_selection import class_disjoint_split, evaluate_few_shot


@pytest.mark.parametrize(
    "shape, n_features, expected",
    [((8, 8), 64, 32 * 2 * 2), ((12,), 12, 32 * 3), ((3, 4, 4), 48, 32 * 1 * 1),
     ((1, 1), 1, 32)],
)
def test_output_size_and_leading_dimensions(shape, n_features, expected):
    net = ConvEmbedding(shape)(n_features, 7)
    assert net(torch.zeros(5, n_features)).shape == (5, expected)
    assert net(torch.zeros(2, 3, n_features)).shape == (2, 3, expected)
    head = ConvEmbedding(shape, head=True)(n_features, 7)
    assert head(torch.zeros(2, 3, n_features)).shape == (2, 3, 7)


def test_rows_are_read_as_images_in_c_order():
    """A shift of the image moves the feature map: the network sees 2-D structure."""
    net = ConvEmbedding((4, 4), n_blocks=1, channels=1)(16, 1)
    with torch.no_grad():
        net.layers[0].weight.zero_()
        net.layers[0].weight[0, 0, 1, 1] = 1.0  # identity filter
        net.layers[0].bias.zero_()
    img = torch.zeros(4, 4)
    img[0, 1] = 1.0  # row 0, column 1 -> pooled cell (0, 0)
    out = net(img.reshape(1, 16))
    np.testing.assert_array_equal(out.detach().numpy(), [[1.0, 0.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(image_shape=(8, 9)), "holds 72 values but the rows have 64"),
     (dict(image_shape=8), "image_shape must be a tuple"),
     (dict(image_shape=(2, 2, 2, 8)), "image_shape must be a tuple"),
     (dict(image_shape=(8, 0)), "image_shape must be a tuple"),
     (dict(image_shape=(8, 8), channels=0), "channels must be a positive integer"),
     (dict(image_shape=(8, 8), n_blocks=1.5), "n_blocks must be a positive integer")],
)
def test_bad_parameters_raise_at_fit(kwargs, match):
    X = np.random.default_rng(0).normal(size=(40, 64))
    y = np.repeat(np.arange(4), 10)
    est = ProtoNetClassifier(module=ConvEmbedding(**kwargs), max_iter=1, n_shots=2)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_clone_pickle_and_gradient_learner():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 16)), np.repeat(np.arange(3), 20)
    groups = np.tile(np.arange(3), 20)
    est = ProtoNetClassifier(module=ConvEmbedding((4, 4), channels=4), max_iter=3,
                             n_shots=2, random_state=0)
    assert "ConvEmbedding(image_shape=(4, 4)" in repr(est)
    a = est.fit(X, y, groups=groups)
    b = clone(est).fit(X, y, groups=groups)
    assert a.loss_curve_ == b.loss_curve_
    a.adapt(X[:6], y[:6])
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_allclose(c.predict_proba(X[6:]), a.predict_proba(X[6:]))
    # a gradient-based learner needs class scores: head=True
    maml = MAMLClassifier(module=ConvEmbedding((4, 4), channels=4, head=True),
                          max_iter=2, n_shots=2, random_state=0)
    maml.fit(X, y, groups=groups).adapt(X[:6], y[:6])
    assert maml.predict(X[6:]).shape == (54,)


def test_meta_trained_conv_embedding_beats_untrained_and_nearest_centroid():
    """Held-out digits, 4-way 1-shot: meta-training on 6 other digits helps.

    The benchmark (``benchmarks/protonet.py``) measures 0.78 against 0.74 with 1000
    meta-iterations and 600 episodes; here 300 iterations and 150 episodes.
    """
    data = load_digits_tasks(as_frame=False)
    X_tr, X_te, y_tr, y_te = class_disjoint_split(data.X, data.y, test_size=0.4,
                                                  random_state=0)
    mean, scale = X_tr.mean(), X_tr.std()
    X_tr, X_te = (X_tr - mean) / scale, (X_te - mean) / scale
    proto = ProtoNetClassifier(module=ConvEmbedding((8, 8)), max_iter=300, tol=None,
                               label_space="per_task", random_state=0, device="cpu")
    ests = {"trained": proto, "untrained": clone(proto).set_params(max_iter=0),
            "nearest centroid": PerTaskEstimator(NearestCentroid())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NearestCentroid: no spread from 1 row a class
        res = evaluate_few_shot(ests, (X_tr, y_tr, None), (X_te, y_te, None), n_shots=1,
                                n_way=4, n_queries=10, n_episodes=150, random_state=0)
    acc = res.set_index("estimator")["mean"]
    assert acc["trained"] > acc["untrained"] + 0.03
    assert acc["trained"] > acc["nearest centroid"] + 0.01


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=3),
       n_blocks=st.integers(1, 3), extra=st.integers(-2, 2))
def test_any_shape_either_builds_or_names_the_mismatch(shape, n_blocks, extra):
    """Property: a shape whose product is the number of features always builds and maps
    (tasks, rows, features) to (tasks, rows, k); any other number of features is a
    ValueError naming both sizes."""
    n_features = int(np.prod(shape)) + extra
    factory = ConvEmbedding(tuple(shape), channels=2, n_blocks=n_blocks)
    if extra != 0:
        if n_features >= 1:
            with pytest.raises(ValueError, match=f"holds {int(np.prod(shape))} values but "
                                                 f"the rows have {n_features} features"):
                factory(n_features, 3)
        return
    net = factory(n_features, 3)
    out = net(torch.zeros(2, 4, n_features))
    assert out.shape[:2] == (2, 4) and out.shape[2] >= 2
    assert torch.isfinite(out).all()
