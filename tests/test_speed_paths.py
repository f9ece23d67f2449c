"""The engine's fast batched-MLP path against a per-task autograd reference (float64).

``FastMLP.meta_loss`` of ``sklearn_meta.gradient._models`` (what ``_engine.meta_loss``
runs for the default MLP) must give the meta-gradient of a plain per-task loop with
``torch.autograd.grad(create_graph=True)`` -- the reference of
tests/test_gradient_engine.py, reused here -- for every algorithm switch (second/first
order, Meta-SGD's learned rates, ANIL's head-only adaptation), both losses, every
activation, 0 to 3 inner steps, padded rows and masked classes, to 1e-6 relative.
"""

import pytest
import torch

from sklearn_meta._torch import _make_mlp
from sklearn_meta.gradient import _engine, _models
from test_gradient_engine import C, D, _assert_close, _data, _reference

SWITCHES = {  # (first_order, scope, meta_sgd)
    "maml": (False, "all", False),
    "fomaml": (True, "all", False),
    "metasgd": (False, "all", True),
    "metasgd-fo": (True, "all", True),
    "anil": (False, "head", False),
    "anil-metasgd-fo": (True, "head", True),
}


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


def _fast_grads(model, params, data, cfg, lr):
    loss = model.meta_loss(params, data[:6], cfg, lr, class_mask=data[6])
    wrt = {**params, **({"lr." + k: v for k, v in lr.items()} if isinstance(lr, dict) else {})}
    gs = torch.autograd.grad(loss, list(wrt.values()), allow_unused=True)
    return {k: torch.zeros_like(wrt[k]) if g is None else g for k, g in zip(wrt, gs)}


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("algo", list(SWITCHES))
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("steps", [1, 3])
def test_fast_path_meta_gradient_matches_per_task_reference(loss, algo, activation, steps):
    net, model, params, cfg, lr, names = _setup(loss, activation, *SWITCHES[algo], steps)
    assert isinstance(model, _models.FastMLP)
    data = _data(loss, seed=steps)
    _assert_close(_fast_grads(model, params, data, cfg, lr),
                  _reference(net, params, data, cfg, lr, names))


@pytest.mark.parametrize("activation", ["logistic", "identity"])
@pytest.mark.parametrize("steps", [0, 2])
def test_fast_path_other_activations_and_zero_steps(activation, steps):
    net, model, params, cfg, lr, names = _setup("ce", activation, False, "all", False, steps)
    data = _data("ce", seed=7)
    _assert_close(_fast_grads(model, params, data, cfg, lr),
                  _reference(net, params, data, cfg, lr, names))


def test_fast_path_matches_generic_torch_func_path():
    """Same value and meta-gradient as the engine's torch.func path on the same network."""
    net, model, params, cfg, lr, _ = _setup("ce", "relu", False, "all", True, 2)
    data = _data("ce", seed=11)
    generic = _engine.make_model(net, fast=False)
    assert not isinstance(generic, _models.FastMLP)
    got = model.meta_loss(params, data, cfg, lr)
    want = _engine.meta_loss(generic, params, data, cfg, lr)
    assert torch.allclose(got, want, rtol=1e-10, atol=0)
    wrt = [*params.values(), *lr.values()]
    for g, w in zip(torch.autograd.grad(got, wrt), torch.autograd.grad(want, wrt)):
        assert (g - w).norm() <= 1e-6 * w.norm()


def test_engine_runs_the_fast_path(monkeypatch):
    net, model, params, cfg, lr, _ = _setup("mse", "relu", False, "all", False, 1)
    calls = []
    generic = _models._Model.meta_loss
    monkeypatch.setattr(_models._Model, "meta_loss",
                        lambda *a, **k: calls.append(1) or generic(*a, **k))
    _engine.meta_loss(model, params, _data("mse")[:6], cfg, lr)
    assert calls == []
    # the semi-supervised term stays on the generic path
    net, model, params, cfg, lr, _ = _setup("ce", "relu", False, "all", False, 1)
    _engine.meta_loss(model, params, _data("ce")[:6],
                      _engine.InnerConfig("ce", 1, False, "all", 0.5), lr)
    assert calls == [1]


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
    """First order joins the graph with one node per parameter for the whole inner loop,
    whatever the number of steps (memory flat in inner steps); second order unrolls."""
    sizes = {}
    for first_order in (True, False):
        for steps in (1, 5):
            _, model, params, cfg, lr, _ = _setup("mse", "relu", first_order, "all", False,
                                                  steps)
            sizes[first_order, steps] = _graph_size(
                model.meta_loss(params, _data("mse")[:6], cfg, lr))
    assert sizes[True, 1] == sizes[True, 5]
    assert sizes[False, 5] > sizes[False, 1]
