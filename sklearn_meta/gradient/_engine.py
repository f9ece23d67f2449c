"""The one functional inner-loop engine of the gradient-based meta-learners.

Every algorithm of :mod:`sklearn_meta.gradient` (MAML first/second order, Meta-SGD, ANIL,
Reptile, fine-tuning) is this engine with a different :class:`InnerConfig` and outer
update. All functions work on a whole meta-batch at once: tensors carry a leading *task*
dimension ``T`` and there is no Python loop over tasks.

Functional entry point
----------------------
::

    from sklearn_meta._torch import _make_mlp
    from sklearn_meta.gradient._engine import InnerConfig, make_model, meta_loss

    net = _make_mlp(1, 1, (40, 40), "relu")           # or any nn.Module
    model = make_model(net)                           # fast batched MLP path or torch.func
    params = {k: p.detach().clone().requires_grad_() for k, p in net.named_parameters()}
    cfg = InnerConfig(loss="mse", steps=1, first_order=False)
    opt = torch.optim.Adam(params.values(), lr=1e-3)
    # X_s (T, n_s, d), y_s (T, n_s), m_s (T, n_s) mask of real rows; same for the query
    loss = meta_loss(model, params, (X_s, y_s, m_s, X_q, y_q, m_q), cfg, lr=0.01)
    opt.zero_grad(); loss.backward(); opt.step()     # one MAML meta-iteration

- :func:`make_model` returns :class:`FastMLP` for a network built by
  :func:`sklearn_meta._torch._make_mlp` (hand-batched matrix products and a hand-written
  backward pass for the inner gradient, itself differentiable, so second order comes from
  ordinary autograd through it) and :class:`FunctionalModel` for any other module
  (``torch.func.functional_call`` + ``grad_and_value``, ``vmap``-ed over tasks).
- :func:`inner_loop`: ``steps`` unrolled gradient steps on the support sets; ``lr`` a
  float (MAML) or a dict of per-parameter tensors (Meta-SGD); ``first_order`` detaches the
  inner gradients (first-order MAML).
- :func:`meta_loss`: query loss after adaptation, mean over tasks; ``.backward()`` gives
  the meta-gradient. ``InnerConfig.scope="head"`` adapts only the last layer (ANIL): the
  body's features are computed once per episode.
- :func:`reptile_step`: Reptile's pseudo-gradient ``theta - mean_t(phi_t)`` (inner steps
  alternating between support and query rows), without any graph.
- :func:`adapt`: adapted parameters for a batch of tasks (what ``adapt`` stores) and
  :func:`forward`: predictions from (possibly task-batched) parameters.

Parameters are a dict ``name -> tensor`` with the module's parameter names; a tensor is
*shared* by all tasks (the module's shape) or *batched* (a leading ``T`` dimension).
Masks (``m_*``, float, 1 = real row) make padded rows count for nothing; ``class_mask``
(T, C) bool hides logits of classes absent from a task. With ``unlabeled_weight > 0`` the
inner objective adds ``unlabeled_weight`` x an information-maximisation term on unlabelled
rows (classification): the mean prediction entropy (entropy minimisation) minus the
entropy of the mean prediction (which rules out the trivial minimum that puts every row
in one class); meta-training uses the query rows as those unlabelled rows.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad_and_value, vmap

__all__ = [
    "InnerConfig",
    "FastMLP",
    "FunctionalModel",
    "make_model",
    "inner_loop",
    "meta_loss",
    "reptile_step",
    "adapt",
    "forward",
    "task_loss",
]

_NEG = -1e9  # logit of a masked-out class: exp() underflows to exactly 0


@dataclass(frozen=True)
class InnerConfig:
    """What the inner loop does.

    loss : {"mse", "ce"}
        Squared error (regression, one output) or cross-entropy on logits.
    steps : int
        Unrolled inner gradient steps.
    first_order : bool
        Stop gradients through the inner gradients (first-order MAML; Reptile).
    scope : {"all", "head"}
        Parameters that adapt: all of them, or the last layer only (ANIL).
    unlabeled_weight : float
        Weight of the information-maximisation term on unlabelled rows (classification).
    """

    loss: str = "ce"
    steps: int = 1
    first_order: bool = False
    scope: str = "all"
    unlabeled_weight: float = 0.0


# --- losses (any leading dimensions) ------------------------------------------------
def _mask_logits(z, class_mask):
    if class_mask is None:
        return z
    return z.masked_fill(~class_mask.unsqueeze(-2), _NEG)


def _row_weights(m):
    return m / m.sum(-1, keepdim=True).clamp_min(1.0)


def task_loss(z, y, m, class_mask=None, loss="ce"):
    """Mean loss over the real rows of each task: (..., n, out) -> (...)."""
    w = _row_weights(m)
    if loss == "mse":
        r = z[..., 0] - y
        return (w * r * r).sum(-1)
    logp = F.log_softmax(_mask_logits(z, class_mask), dim=-1)
    nll = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    return (w * nll).sum(-1)


def _entropy(z, m, class_mask=None):
    """Information-maximisation term on unlabelled rows: mean prediction entropy minus
    the entropy of the mean prediction (confident, but not all in one class)."""
    logp = F.log_softmax(_mask_logits(z, class_mask), dim=-1)
    p = logp.exp()
    w = _row_weights(m)
    h = -(p * logp).sum(-1)
    p_bar = (w.unsqueeze(-1) * p).sum(-2)
    h_bar = -(p_bar * torch.log(p_bar.clamp_min(1e-30))).sum(-1)
    return (w * h).sum(-1) - h_bar


def _loss_and_dz(z, y, m, class_mask, loss):
    """Per-task loss and its gradient with respect to the outputs ``z`` (closed form)."""
    w = _row_weights(m).unsqueeze(-1)
    if loss == "mse":
        r = z - y.unsqueeze(-1)
        return (w * r * r).sum((-1, -2)), 2.0 * w * r
    logp = F.log_softmax(_mask_logits(z, class_mask), dim=-1)
    p = logp.exp()
    onehot = F.one_hot(y, z.shape[-1]).to(z.dtype)
    return -(w * onehot * logp).sum((-1, -2)), w * (p - onehot)


def _entropy_and_dz(z, m, class_mask):
    """:func:`_entropy` and its gradient with respect to ``z`` (closed form)."""
    w = _row_weights(m).unsqueeze(-1)
    logp = F.log_softmax(_mask_logits(z, class_mask), dim=-1)
    p = logp.exp()
    h = -(p * logp).sum(-1, keepdim=True)
    p_bar = (w * p).sum(-2, keepdim=True)
    log_bar = torch.log(p_bar.clamp_min(1e-30))
    h_bar = -(p_bar * log_bar).sum((-1, -2))
    d_cond = -w * p * (logp + h)
    d_marg = -w * p * (log_bar - (p * log_bar).sum(-1, keepdim=True))
    return (w * h).sum((-1, -2)) - h_bar, d_cond - d_marg


# --- models ---------------------------------------------------------------------------
class FastMLP:
    """Batched MLP with a hand-written (differentiable) backward pass.

    ``layers``: list of ``(weight_name, bias_name)`` of the Linear layers in order, weights
    shaped ``(out, in)`` like :class:`torch.nn.Linear`; ``activation`` between layers.
    Works with shared ``(out, in)`` or task-batched ``(T, out, in)`` weights.
    """

    def __init__(self, layers, activation):
        self.layers = list(layers)
        self.activation = activation

    @property
    def names(self):
        return [n for pair in self.layers for n in pair]

    def _act(self, z):
        a = self.activation
        if a == "relu":
            return torch.relu(z)
        if a == "tanh":
            return torch.tanh(z)
        if a == "logistic":
            return torch.sigmoid(z)
        return z

    def _act_grad(self, a):
        act = self.activation
        if act == "relu":
            return (a > 0).to(a.dtype)
        if act == "tanh":
            return 1.0 - a * a
        if act == "logistic":
            return a * (1.0 - a)
        return None

    def _forward(self, params, X):
        acts = [X]
        a = X
        last = len(self.layers) - 1
        for i, (wn, bn) in enumerate(self.layers):
            W, b = params[wn], params[bn]
            if W.dim() == 2:  # shared by all tasks: one (T*n, in) x (in, out) product
                z = F.linear(a, W, b)
            else:  # task-batched
                z = torch.baddbmm(b.unsqueeze(-2), a, W.transpose(-1, -2))
            if i < last:
                a = self._act(z)
                acts.append(a)
        return z, acts

    def forward(self, params, X):
        return self._forward(params, X)[0]

    def loss_grads(self, params, X, y, m, class_mask, loss, unlabeled=None):
        n = X.shape[-2]
        if unlabeled is not None:
            Xu, mu, beta = unlabeled
            z, acts = self._forward(params, torch.cat([X, Xu], dim=-2))
            value, dz = _loss_and_dz(z[..., :n, :], y, m, class_mask, loss)
            hu, dzu = _entropy_and_dz(z[..., n:, :], mu, class_mask)
            value = value + beta * hu
            dz = torch.cat([dz, beta * dzu], dim=-2)
        else:
            z, acts = self._forward(params, X)
            value, dz = _loss_and_dz(z, y, m, class_mask, loss)
        grads = {}
        for i in range(len(self.layers) - 1, -1, -1):
            wn, bn = self.layers[i]
            grads[wn] = torch.bmm(dz.transpose(-1, -2), acts[i])
            grads[bn] = dz.sum(-2)
            if i:
                W = params[wn]
                dz = torch.matmul(dz, W) if W.dim() == 2 else torch.bmm(dz, W)
                g = self._act_grad(acts[i])
                if g is not None:
                    dz = dz * g
        return value, grads

    def split(self, params, scope):
        """(features, head model, head parameters) for ``scope`` "all" or "head"."""
        if scope == "all" or len(self.layers) == 1:  # no hidden layer: the head is all
            return None, self, dict(params)
        body = FastMLP(self.layers[:-1], self.activation)
        head = FastMLP(self.layers[-1:], "identity")

        def features(X):
            return self._act(body.forward(params, X))

        return features, head, {n: params[n] for n in head.names}


class FunctionalModel:
    """Any :class:`torch.nn.Module` through ``torch.func`` (vmap over tasks).

    ``fixed``: parameters not adapted (shared by all tasks, closed over).
    """

    def __init__(self, module, fixed=None):
        self.module = module
        self.fixed = dict(fixed or {})
        self._ndim = {k: p.dim() for k, p in module.named_parameters()}
        self._buffers = dict(module.named_buffers())

    @property
    def names(self):
        return [k for k in self._ndim if k not in self.fixed]

    def _call(self, params, x):
        return functional_call(self.module, {**self._buffers, **self.fixed, **params}, (x,))

    def _dims(self, params):
        return {k: 0 if v.dim() > self._ndim[k] else None for k, v in params.items()}

    def forward(self, params, X):
        return vmap(self._call, in_dims=(self._dims(params), 0))(params, X)

    def loss_grads(self, params, X, y, m, class_mask, loss, unlabeled=None):
        beta = unlabeled[2] if unlabeled is not None else 0.0

        def f(p, x, y_, m_, cm, xu, mu):
            value = task_loss(self._call(p, x), y_, m_, cm, loss)
            if xu is not None:
                value = value + beta * _entropy(self._call(p, xu), mu, cm)
            return value

        Xu, mu = (unlabeled[0], unlabeled[1]) if unlabeled is not None else (None, None)
        in_dims = (
            self._dims(params),
            0,
            0,
            0,
            None if class_mask is None else 0,
            None if Xu is None else 0,
            None if mu is None else 0,
        )
        grads, value = vmap(grad_and_value(f), in_dims=in_dims)(
            params, X, y, m, class_mask, Xu, mu
        )
        return value, grads

    def split(self, params, scope):
        if scope == "all":
            return None, self, dict(params)
        head_names = _head_names(self.module)
        fixed = {k: v for k, v in params.items() if k not in head_names}
        return None, FunctionalModel(self.module, fixed), {k: params[k] for k in head_names}


def _head_names(module):
    """Parameters of the last submodule that owns parameters (the 'head')."""
    names = [k for k, _ in module.named_parameters()]
    prefix = names[-1].rsplit(".", 1)[0] + "." if "." in names[-1] else ""
    return [k for k in names if k.startswith(prefix) and "." not in k[len(prefix):]]


def _mlp_layers(module):
    """``[(weight, bias), ...]`` and the activation when ``module`` is a plain MLP."""
    if not isinstance(module, nn.Sequential):
        return None
    acts = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "logistic", nn.Identity: "identity"}
    layers, activation = [], None
    for i, child in enumerate(module):
        if i % 2 == 0:
            if type(child) is not nn.Linear or child.bias is None:
                return None
            layers.append((f"{i}.weight", f"{i}.bias"))
        else:
            name = acts.get(type(child))
            if name is None or activation not in (None, name):
                return None
            activation = name
    if len(module) % 2 == 0:
        return None
    return layers, activation or "identity"


def make_model(module, fast=True):
    """:class:`FastMLP` for a plain Linear/activation MLP (when ``fast``), else
    :class:`FunctionalModel`."""
    spec = _mlp_layers(module) if fast else None
    if spec is not None:
        return FastMLP(*spec)
    return FunctionalModel(module)


# --- the engine -------------------------------------------------------------------------
def _step_size(lr, name):
    return lr[name] if isinstance(lr, dict) else lr


def inner_loop(model, params, X, y, m, *, lr, steps, loss, first_order=False,
               class_mask=None, unlabeled=None):
    """``steps`` gradient steps on every task's support set from ``params``.

    Returns the adapted parameters (task-batched once ``steps >= 1``). Differentiable with
    respect to ``params`` (and ``lr``) unless ``first_order``, which detaches the inner
    gradients.
    """
    for _ in range(steps):
        _, grads = model.loss_grads(params, X, y, m, class_mask, loss, unlabeled)
        if first_order:
            grads = {k: g.detach() for k, g in grads.items()}
        params = {k: v - _step_size(lr, k) * grads[k] for k, v in params.items()}
    return params


def _adapted(model, params, X_s, y_s, m_s, cfg, lr, class_mask, X_u, m_u, steps):
    """(features, head model, adapted head parameters) for one batch of tasks."""
    features, head, hp = model.split(params, cfg.scope)
    if features is not None:
        X_s = features(X_s)
        X_u = None if X_u is None else features(X_u)
    unlabeled = None
    if cfg.unlabeled_weight > 0 and X_u is not None and cfg.loss != "mse":
        unlabeled = (X_u, m_u, cfg.unlabeled_weight)
    fast = inner_loop(
        head, hp, X_s, y_s, m_s, lr=lr, steps=steps, loss=cfg.loss,
        first_order=cfg.first_order, class_mask=class_mask, unlabeled=unlabeled,
    )
    return features, head, fast


def meta_loss(model, params, episodes, cfg, lr, class_mask=None):
    """Mean query loss over the tasks after adapting on their support sets.

    ``episodes``: ``(X_s, y_s, m_s, X_q, y_q, m_q)`` (an ``_Episodes`` works; its
    ``class_mask`` is used when present). Backpropagating gives the (first- or second-order)
    meta-gradient with respect to ``params`` and, for Meta-SGD, ``lr``.
    """
    from . import _batched_mlp  # the default MLP's fast path: same contract, fewer ops

    if _batched_mlp.supports(model, cfg):
        return _batched_mlp.meta_loss(model, params, episodes, cfg, lr, class_mask)
    X_s, y_s, m_s, X_q, y_q, m_q = episodes[:6]
    if class_mask is None and len(episodes) > 6:
        class_mask = episodes[6]
    features, head, fast = _adapted(
        model, params, X_s, y_s, m_s, cfg, lr, class_mask, X_q, m_q, cfg.steps
    )
    Hq = X_q if features is None else features(X_q)
    z = head.forward(fast, Hq)
    return task_loss(z, y_q, m_q, class_mask, cfg.loss).mean()


def reptile_step(model, params, episodes, cfg, lr, class_mask=None):
    """Reptile: ``(loss, {name: theta - mean_t phi_t})``, no graph kept.

    The ``cfg.steps`` inner steps alternate between the support set (even steps) and the
    query set (odd steps) of each task: Reptile's inner minibatches, whose differing
    gradients carry its meta-learning signal. ``loss`` is the query loss after the
    steps (a training loss once ``steps >= 2``).
    """
    X_s, y_s, m_s, X_q, y_q, m_q = episodes[:6]
    if class_mask is None and len(episodes) > 6:
        class_mask = episodes[6]
    detached = {k: v.detach() for k, v in params.items()}
    batches = [(X_s, y_s, m_s), (X_q, y_q, m_q)]
    with torch.no_grad():
        fast = detached
        for step in range(cfg.steps):
            X, y, m = batches[step % 2]
            fast = inner_loop(model, fast, X, y, m, lr=lr, steps=1, loss=cfg.loss,
                              first_order=True, class_mask=class_mask)
        loss = task_loss(model.forward(fast, X_q), y_q, m_q, class_mask, cfg.loss).mean()
        pseudo = {
            k: (v - fast[k].mean(0)) if fast[k].dim() > v.dim() else torch.zeros_like(v)
            for k, v in detached.items()
        }
    return loss, pseudo


def adapt(model, params, X_s, y_s, m_s, cfg, lr, steps, class_mask=None, X_u=None,
          m_u=None):
    """Adapted parameters for a batch of tasks, without graph: a dict merging the shared
    meta-parameters with the task-batched adapted ones."""
    cfg1 = InnerConfig(cfg.loss, steps, True, cfg.scope, cfg.unlabeled_weight)
    detached = {k: v.detach() for k, v in params.items()}
    with torch.no_grad():
        _, _, fast = _adapted(
            model, detached, X_s, y_s, m_s, cfg1, lr, class_mask, X_u, m_u, steps
        )
    return {**detached, **{k: v.detach() for k, v in fast.items()}}


def forward(model, params, X):
    """Outputs (T, n, out) of the network with (shared or task-batched) ``params``."""
    with torch.no_grad():
        return model.forward(params, X)
