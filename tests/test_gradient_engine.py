"""The gradient engine's meta-gradients against a plain per-task autograd loop (float64)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from sklearn_meta._nn._sampler import _EpisodeSampler
from sklearn_meta._torch import _make_mlp
from sklearn_meta.gradient._engine import (
    FastMLP,
    FunctionalModel,
    InnerConfig,
    adapt,
    make_model,
    meta_loss,
    reptile_step,
)

T, NS, NQ, D, C = 4, 6, 5, 3, 3


class _Custom(torch.nn.Module):
    """Not a plain Sequential MLP: exercises the torch.func path."""

    def __init__(self, d, c):
        super().__init__()
        self.body = torch.nn.Linear(d, 7)
        self.head = torch.nn.Linear(7, c)

    def forward(self, x):
        return self.head(torch.tanh(self.body(x)))


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
        cm[0, C - 1] = False  # task 0 is a 2-way episode among 3 outputs
    m_s = torch.ones(T, NS, dtype=torch.float64)
    m_q = torch.ones(T, NQ, dtype=torch.float64)
    m_s[1, -2:] = 0  # padded rows
    m_q[2, -1:] = 0
    return X_s, y_s, m_s, X_q, y_q, m_q, cm


def _ref_loss(z, y, m, cm, loss):
    if loss == "mse":
        per = (z[:, 0] - y) ** 2
    else:
        if cm is not None:
            z = z.masked_fill(~cm, -1e9)
        per = F.cross_entropy(z, y, reduction="none")
    return (per * m).sum() / m.sum()


def _ref_entropy(z, m, cm):
    if cm is not None:
        z = z.masked_fill(~cm, -1e9)
    logp = F.log_softmax(z, -1)
    p = logp.exp()
    p_bar = (p * m[:, None]).sum(0) / m.sum()
    h_bar = -(p_bar * torch.log(p_bar.clamp_min(1e-30))).sum()
    return (-(p * logp).sum(-1) * m).sum() / m.sum() - h_bar


def _reference(net, params, data, cfg, lr, adapt_names, reptile=False):
    """Straightforward per-task loop with torch.autograd.grad(create_graph=True)."""
    X_s, y_s, m_s, X_q, y_q, m_q, cm = data
    total = 0.0
    phis = []
    for t in range(T):
        cmt = None if cm is None else cm[t]
        fast = dict(params)
        for step in range(cfg.steps):
            X, y, m = (X_q, y_q, m_q) if reptile and step % 2 else (X_s, y_s, m_s)
            z = functional_call(net, fast, (X[t],))
            inner = _ref_loss(z, y[t], m[t], cmt, cfg.loss)
            if cfg.unlabeled_weight:
                zu = functional_call(net, fast, (X_q[t],))
                inner = inner + cfg.unlabeled_weight * _ref_entropy(zu, m_q[t], cmt)
            gs = torch.autograd.grad(
                inner, [fast[n] for n in adapt_names],
                create_graph=not (cfg.first_order or reptile),
            )
            for n, g in zip(adapt_names, gs):
                if cfg.first_order or reptile:
                    g = g.detach()
                step = lr[n] if isinstance(lr, dict) else lr
                fast[n] = fast[n] - step * g
        phis.append({n: v.detach() for n, v in fast.items()})
        total = total + _ref_loss(functional_call(net, fast, (X_q[t],)), y_q[t], m_q[t], cmt,
                                  cfg.loss)
    if reptile:
        return {n: params[n].detach() - torch.stack([p[n] for p in phis]).mean(0)
                for n in params}
    wrt = dict(params)
    if isinstance(lr, dict):
        wrt.update({"lr." + k: v for k, v in lr.items()})
    gs = torch.autograd.grad(total / T, list(wrt.values()))
    return dict(zip(wrt, gs))


def _engine_grads(model, params, data, cfg, lr):
    loss = meta_loss(model, params, data[:6], cfg, lr, class_mask=data[6])
    wrt = dict(params)
    if isinstance(lr, dict):
        wrt.update({"lr." + k: v for k, v in lr.items()})
    gs = torch.autograd.grad(loss, list(wrt.values()), allow_unused=True)
    return {k: torch.zeros_like(wrt[k]) if g is None else g for k, g in zip(wrt, gs)}


ALGOS = {
    "maml": dict(first_order=False, scope="all", meta_sgd=False),
    "fomaml": dict(first_order=True, scope="all", meta_sgd=False),
    "metasgd": dict(first_order=False, scope="all", meta_sgd=True),
    "anil": dict(first_order=False, scope="head", meta_sgd=False),
    "anil-metasgd-fo": dict(first_order=True, scope="head", meta_sgd=True),
}


def _setup(path, loss, algo, steps=2, unlabeled_weight=0.0):
    torch.manual_seed(0)
    n_out = 1 if loss == "mse" else C
    net = (_make_mlp(D, n_out, (8, 5), "tanh") if path == "fast" else _Custom(D, n_out)).double()
    model = make_model(net)
    assert isinstance(model, FastMLP if path == "fast" else FunctionalModel)
    params = {k: p.detach().clone().requires_grad_() for k, p in net.named_parameters()}
    spec = ALGOS.get(algo, dict(first_order=True, scope="all", meta_sgd=False))
    cfg = InnerConfig(loss, steps, spec["first_order"], spec["scope"], unlabeled_weight)
    names = list(params)
    if spec["scope"] == "head":
        names = names[-2:]
    if spec["meta_sgd"]:
        g = torch.Generator().manual_seed(1)
        lr = {n: (0.05 + 0.1 * torch.rand(params[n].shape, generator=g, dtype=torch.float64)
                  ).requires_grad_() for n in names}
    else:
        lr = 0.1
    return net, model, params, cfg, lr, names


def _assert_close(got, want):
    for k in want:
        g, w = got[k].detach(), want[k].detach()
        err = (g - w).norm() / w.norm().clamp_min(1e-12)
        assert err < 1e-6, (k, float(err))


@pytest.mark.parametrize("path", ["fast", "func"])
@pytest.mark.parametrize("loss", ["ce", "mse"])
@pytest.mark.parametrize("algo", list(ALGOS))
def test_meta_gradient_matches_reference(path, loss, algo):
    net, model, params, cfg, lr, names = _setup(path, loss, algo)
    data = _data(loss)
    _assert_close(_engine_grads(model, params, data, cfg, lr),
                  _reference(net, params, data, cfg, lr, names))


@pytest.mark.parametrize("path", ["fast", "func"])
def test_meta_gradient_with_unlabeled_term(path):
    net, model, params, cfg, lr, names = _setup(path, "ce", "maml", unlabeled_weight=0.7)
    data = _data("ce", seed=3)
    _assert_close(_engine_grads(model, params, data, cfg, lr),
                  _reference(net, params, data, cfg, lr, names))


@pytest.mark.parametrize("path", ["fast", "func"])
@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_reptile_pseudo_gradient_matches_reference(path, loss):
    net, model, params, cfg, lr, names = _setup(path, loss, "reptile", steps=3)
    data = _data(loss, seed=5)
    _, got = reptile_step(model, params, data[:6], cfg, lr, class_mask=data[6])
    _assert_close(got, _reference(net, params, data, cfg, lr, names, reptile=True))


def test_adapt_leaves_meta_parameters_and_matches_inner_loop():
    net, model, params, cfg, lr, names = _setup("fast", "ce", "maml", steps=3)
    before = {k: v.detach().clone() for k, v in params.items()}
    X_s, y_s, m_s, *_ , cm = _data("ce")
    fast = adapt(model, params, X_s, y_s, m_s, cfg, lr, steps=3, class_mask=cm)
    for k in params:
        assert torch.equal(params[k].detach(), before[k])
        assert fast[k].shape == (T, *params[k].shape)
    func = adapt(FunctionalModel(net), params, X_s, y_s, m_s, cfg, lr, steps=3, class_mask=cm)
    _assert_close(fast, func)


def test_episode_sampler_per_task_relabels_and_masks():
    rng = np.random.default_rng(0)
    # task 0: classes 0..3 with 8 rows each; task 1: 2 classes, one with exactly n_shots rows
    y0 = np.repeat(np.arange(4), 10)
    y1 = np.array([0] * 3 + [1] * 9)
    X = np.arange(len(y0) + len(y1), dtype=float)[:, None]
    y = np.concatenate([y0, y1])
    starts = np.array([0, 40, 52])
    s = _EpisodeSampler(X, y, starts, kind="per_task", n_shots=3, n_queries=4, n_way=3,
                        meta_batch_size=2, rng=rng)
    for _ in range(20):
        ep = s.sample(np.array([0, 1]))
        assert ep.X_s.shape == (2, 9, 1) and ep.X_q.shape == (2, 12, 1)
        assert ep.class_mask.tolist() == [[True] * 3, [True, True, False]]
        for t in range(2):
            rows_s = ep.X_s[t, ep.m_s[t] > 0, 0].long().numpy()
            rows_q = ep.X_q[t, ep.m_q[t] > 0, 0].long().numpy()
            assert len(set(rows_s) | set(rows_q)) == len(rows_s) + len(rows_q)  # disjoint
            orig = y[np.concatenate([rows_s, rows_q])]
            new = np.concatenate([ep.y_s[t, ep.m_s[t] > 0], ep.y_q[t, ep.m_q[t] > 0]])
            # relabelling is a bijection within the episode
            assert len(set(zip(orig, new))) == len(set(orig)) == len(set(new))
            assert (starts[t] <= rows_s).all() and (rows_s < starts[t + 1]).all()
        assert ep.m_s[1].sum() == 6  # two real classes x 3 shots
    # n_shots=9: task 'b' (3 + 9 rows) is used with 2 shots of its small class, no error
    s = _EpisodeSampler(X, y, starts, kind="per_task", n_shots=9, n_queries=1,
                        task_ids=np.array(["a", "b"]), rng=rng)
    assert s.skipped.size == 0
    ep = s.sample(np.array([1]))
    assert sorted(np.bincount(ep.y_s[0, ep.m_s[0] > 0].numpy()).tolist()) == [2, 9]



@pytest.mark.parametrize("kind", ["regression", "per_task"])
def test_episode_sampler_shard_gives_each_rank_its_slice_of_the_global_batch(kind):
    rng = np.random.default_rng(0)
    y = np.tile(np.repeat(np.arange(3), 6), 10)
    X = rng.normal(size=(len(y), 2))
    starts = np.arange(0, len(y) + 1, 18)

    def sampler(shard):
        s = _EpisodeSampler(X, y if kind == "per_task" else y.astype(float), starts,
                            kind=kind, n_shots=2, n_queries=2, meta_batch_size=6,
                            rng=np.random.default_rng(1))
        s.shard = shard
        return s

    full = sampler(None)
    ranks = [sampler((r, 3)) for r in range(3)]
    for _ in range(3):  # several draws: the ranks' random streams stay in step
        ep = full.sample()
        parts = [s.sample() for s in ranks]
        for r, part in enumerate(parts):
            np.testing.assert_array_equal(part.tasks, ep.tasks[r::3])
            assert torch.equal(part.X_s, ep.X_s[r::3]) and torch.equal(part.y_q, ep.y_q[r::3])
