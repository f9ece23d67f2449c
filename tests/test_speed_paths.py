"""The engine's fast batched-MLP path against a per-task autograd reference (float64).

``sklearn_meta.gradient._batched_mlp.meta_loss`` must give the meta-gradient of the
engine's generic path, for every algorithm switch (second/first order, Meta-SGD's learned
rates, ANIL's head-only adaptation), both losses, every activation, padded rows and
masked classes, to 1e-6 relative.
"""

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from sklearn_meta._torch import _make_mlp
from sklearn_meta.gradient import _batched_mlp, _engine

T, NS, NQ, D, C = 4, 6, 5, 3, 3


def _data(loss, seed=0):
    g = torch.Generator().manual_seed(seed)
    X_s = torch.randn(T, NS, D, generator=g, dtype=torch.float64)
    X_q = torch.randn(T, NQ, D, generator=g, dtype=torch.float64)
    if loss == "mse":
        y_s = torch.randn(T, NS, generator=g, dtype=torch.float64)
        y_q = torch.randn(T, NQ, generator=g, dtype=torch.float64)
        cm = None
    else:
        y_s = torch.randint(0, C - 1, (T, NS), generator=g)
        y_q = torch.randint(0, C - 1, (T, NQ), generator=g)
        cm = torch.ones(T, C, dtype=torch.bool)
        cm[1, C - 1] = False  # task 1 is a 2-way episode among 3 outputs
    m_s = torch.ones(T, NS, dtype=torch.float64)
    m_q = torch.ones(T, NQ, dtype=torch.float64)
    m_s[2, -3:] = 0  # padded rows
    m_q[0, -2:] = 0
    return X_s, y_s, m_s, X_q, y_q, m_q, cm


def _per_task_loss(net, params, X, y, m, cm, loss):
    z = functional_call(net, params, (X,))
    if loss == "mse":
        per = (z[:, 0] - y) ** 2
    else:
        per = F.cross_entropy(z if cm is None else z.masked_fill(~cm, -1e9), y,
                              reduction="none")
    return (per * m).sum() / m.sum()


def _reference(net, params, data, cfg, lr, names):
    """Plain loop over tasks with ``torch.autograd.grad(create_graph=True)``."""
    X_s, y_s, m_s, X_q, y_q, m_q, cm = data
    total = 0.0
    for t in range(T):
        cmt = None if cm is None else cm[t]
        fast = dict(params)
        for _ in range(cfg.steps):
            inner = _per_task_loss(net, fast, X_s[t], y_s[t], m_s[t], cmt, cfg.loss)
            gs = torch.autograd.grad(inner, [fast[n] for n in names],
                                     create_graph=not cfg.first_order)
            for n, g in zip(names, gs):
                g = g.detach() if cfg.first_order else g
                fast[n] = fast[n] - (lr[n] if isinstance(lr, dict) else lr) * g
        total = total + _per_task_loss(net, fast, X_q[t], y_q[t], m_q[t], cmt, cfg.loss)
    return total / T


def _grads(loss, params, lr):
    wrt = {**params, **({"lr:" + k: v for k, v in lr.items()} if isinstance(lr, dict) else {})}
    gs = torch.autograd.grad(loss, list(wrt.values()), allow_unused=True)
    return {k: torch.zeros_like(wrt[k]) if g is None else g for k, g in zip(wrt, gs)}


def _setup(loss, activation, first_order, scope, meta_sgd, steps):
    torch.manual_seed(0)
    net = _make_mlp(D, 1 if loss == "mse" else C, (8, 5), activation).double()
    model = _engine.make_model(net)
    params = {k: p.detach().clone().requires_grad_() for k, p in net.named_parameters()}
    names = list(params)[-2:] if scope == "head" else list(params)
    lr = 0.1
    if meta_sgd:
        g = torch.Generator().manual_seed(1)
        lr = {n: (0.05 + 0.1 * torch.rand(params[n].shape, generator=g, dtype=torch.float64)
                  ).requires_grad_() for n in names}
    cfg = _engine.InnerConfig(loss, steps, first_order, scope)
    return net, model, params, cfg, lr, names


def _assert_close(got, want, tol=1e-6):
    assert got.keys() == want.keys()
    for k in want:
        err = (got[k] - want[k]).norm() / want[k].norm().clamp_min(1e-12)
        assert err < tol, (k, float(err))


SWITCHES = {  # (first_order, scope, meta_sgd)
    "maml": (False, "all", False),
    "fomaml": (True, "all", False),
    "metasgd": (False, "all", True),
    "metasgd-fo": (True, "all", True),
    "anil": (False, "head", False),
    "anil-metasgd-fo": (True, "head", True),
}


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("algo", list(SWITCHES))
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("steps", [1, 3])
def test_fast_path_meta_gradient_matches_per_task_reference(loss, algo, activation, steps):
    net, model, params, cfg, lr, names = _setup(loss, activation, *SWITCHES[algo], steps)
    assert _batched_mlp.supports(model, cfg)
    data = _data(loss, seed=steps)
    got = _batched_mlp.meta_loss(model, params, data[:6], cfg, lr, class_mask=data[6])
    want = _reference(net, params, data, cfg, lr, names)
    assert torch.allclose(got, want, rtol=1e-10, atol=0)
    _assert_close(_grads(got, params, lr), _grads(want, params, lr))


@pytest.mark.parametrize("activation", ["logistic", "identity"])
@pytest.mark.parametrize("steps", [0, 2])
def test_fast_path_other_activations_and_zero_steps(activation, steps):
    net, model, params, cfg, lr, names = _setup("ce", activation, False, "all", False, steps)
    data = _data("ce", seed=7)
    got = _batched_mlp.meta_loss(model, params, data[:6], cfg, lr, class_mask=data[6])
    want = _reference(net, params, data, cfg, lr, names)
    _assert_close(_grads(got, params, lr), _grads(want, params, lr))


def test_fast_path_matches_generic_torch_func_path():
    """Same value and meta-gradient as the engine's torch.func path on the same network."""
    net, model, params, cfg, lr, _ = _setup("ce", "relu", False, "all", True, 2)
    data = _data("ce", seed=11)
    generic = _engine.make_model(net, fast=False)
    assert not _batched_mlp.supports(generic, cfg)
    got = _batched_mlp.meta_loss(model, params, data, cfg, lr)
    want = _engine.meta_loss(generic, params, data, cfg, lr)
    assert torch.allclose(got, want, rtol=1e-10, atol=0)
    _assert_close(_grads(got, params, lr), _grads(want, params, lr))


def test_engine_dispatches_to_fast_path(monkeypatch):
    net, model, params, cfg, lr, _ = _setup("mse", "relu", False, "all", False, 1)
    calls = []
    fast = _batched_mlp.meta_loss
    monkeypatch.setattr(_batched_mlp, "meta_loss", lambda *a, **k: calls.append(1) or fast(*a, **k))
    _engine.meta_loss(model, params, _data("mse")[:6], cfg, lr)
    assert calls == [1]
    # the semi-supervised entropy term stays on the generic path
    assert not _batched_mlp.supports(model, _engine.InnerConfig("ce", 1, False, "all", 0.5))


def _graph_size(loss):
    seen, todo = set(), [loss.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        todo.extend(f for f, _ in fn.next_functions)
    return len(seen)


def test_first_order_graph_does_not_grow_with_inner_steps():
    """First order keeps one graph node per parameter for the inner loop, whatever the
    number of steps (memory flat in inner steps); second order unrolls them."""
    sizes = {}
    for first_order in (True, False):
        for steps in (1, 5):
            _, model, params, cfg, lr, _ = _setup("mse", "relu", first_order, "all", False,
                                                  steps)
            sizes[first_order, steps] = _graph_size(
                _batched_mlp.meta_loss(model, params, _data("mse")[:6], cfg, lr))
    assert sizes[True, 1] == sizes[True, 5]
    assert sizes[False, 5] > sizes[False, 1]
