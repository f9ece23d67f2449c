"""The two models of the gradient engine: :class:`FastMLP` and :class:`FunctionalModel`.

A model is what the engine (:mod:`._engine`) needs of a network, for a whole meta-batch
at once (tensors carry a leading *task* dimension ``T``; no Python loop over tasks):

- ``forward(params, X)``: outputs (T, n, out) with shared or task-batched ``params``;
- ``grads(params, X, y, m, class_mask, loss, unlabeled)``: per-task gradients of the
  support losses (the inner gradient), differentiable;
- ``split(params, scope)``: ``(features, head model, head parameters)``, ANIL's body
  computed once (``scope="head"``) or everything adapting (``"all"``);
- ``inner_loop(...)``: ``steps`` unrolled gradient steps;
- ``meta_loss(params, episodes, cfg, lr, class_mask)``: the mean query loss after
  adaptation, whose backward is the (first- or second-order) meta-gradient.

:class:`FunctionalModel` wraps any :class:`torch.nn.Module` with ``torch.func``
(``functional_call`` + ``grad``, ``vmap``-ed over tasks). :class:`FastMLP` is the default
MLP by hand and the only owner of its hand-written forward and backward pass. It exists
for speed: the meta-iteration of a small network on the CPU is bound by the number of
tensor operations (and the autograd nodes behind them), not by arithmetic, so it spends
as few as it can:

- a layer is one ``addmm`` while its weights are shared by all tasks (the first inner
  step, the ANIL body) and one ``baddbmm`` once they are per-task (adapted) weights;
- the inner gradient is a hand-written backward pass (one ``bmm`` per weight, one ``sum``
  per bias, ``threshold_backward`` for ReLU) made of differentiable operations, so the
  second-order meta-gradient is ordinary first-order autograd through a short graph (no
  double backward, no ``vmap``);
- a parameter update is one operation (``add`` with ``alpha=-lr``; ``addcmul`` with
  Meta-SGD's learned rates);
- the row weights of the masked mean losses, the one-hot targets and their products are
  computed once per meta-batch (:class:`_Targets`), outside the graph;
- first order runs the whole inner loop without autograd and joins the graph with one
  operation per parameter, ``theta - lr * sum(inner gradients)``: its memory does not
  grow with the number of inner steps.

Losses: ``"mse"`` (one output) or ``"ce"`` (cross-entropy on logits); masks ``m`` (float,
1 = real row) make padded rows count for nothing and ``class_mask`` (T, C) bool hides the
logits of classes absent from a task. ``unlabeled = (X_u, m_u, weight)`` adds ``weight``
x an information-maximisation term on unlabelled rows to the inner objective
(classification): the mean prediction entropy minus the entropy of the mean prediction.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

__all__ = ["FastMLP", "FunctionalModel", "make_model", "task_loss"]

_NEG = -1e9  # logit of a masked-out class: exp() underflows to exactly 0
_threshold_backward = torch.ops.aten.threshold_backward


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


def _entropy_dz(z, m, class_mask):
    """Gradient of :func:`_entropy` with respect to ``z`` (closed form)."""
    w = _row_weights(m).unsqueeze(-1)
    logp = F.log_softmax(_mask_logits(z, class_mask), dim=-1)
    p = logp.exp()
    h = -(p * logp).sum(-1, keepdim=True)
    log_bar = torch.log((w * p).sum(-2, keepdim=True).clamp_min(1e-30))
    d_cond = -w * p * (logp + h)
    d_marg = -w * p * (log_bar - (p * log_bar).sum(-1, keepdim=True))
    return d_cond - d_marg


def _step(v, g, lr, name):
    """``v - lr * g``; ``lr`` a float, a tensor, or a dict of per-parameter tensors."""
    if isinstance(lr, dict):
        return torch.addcmul(v, lr[name], g, value=-1.0)
    if isinstance(lr, torch.Tensor):
        return v - lr * g
    return torch.add(v, g, alpha=-lr)


def _episode_parts(episodes, class_mask):
    X_s, y_s, m_s, X_q, y_q, m_q = episodes[:6]
    if class_mask is None and len(episodes) > 6:
        class_mask = episodes[6]
    return X_s, y_s, m_s, X_q, y_q, m_q, class_mask


class _Model:
    """What both models share: the generic inner loop and meta-loss."""

    def inner_loop(self, params, X, y, m, *, lr, steps, loss, first_order=False,
                   class_mask=None, unlabeled=None):
        """``steps`` gradient steps on every task's support set from ``params``.

        Returns the adapted parameters (task-batched once ``steps >= 1``), differentiable
        with respect to ``params`` (and ``lr``) unless ``first_order``.
        """
        for _ in range(steps):
            grads = self.grads(params, X, y, m, class_mask, loss, unlabeled)
            if first_order:
                grads = {k: g.detach() for k, g in grads.items()}
            params = {k: _step(v, grads[k], lr, k) for k, v in params.items()}
        return params

    def adapted(self, params, X_s, y_s, m_s, cfg, lr, class_mask, X_u, m_u, steps):
        """(features, head model, adapted head parameters) for one batch of tasks."""
        features, head, hp = self.split(params, cfg.scope)
        if features is not None:
            X_s = features(X_s)
            X_u = None if X_u is None else features(X_u)
        unlabeled = None
        if cfg.unlabeled_weight > 0 and X_u is not None and cfg.loss != "mse":
            unlabeled = (X_u, m_u, cfg.unlabeled_weight)
        fast = head.inner_loop(hp, X_s, y_s, m_s, lr=lr, steps=steps, loss=cfg.loss,
                               first_order=cfg.first_order, class_mask=class_mask,
                               unlabeled=unlabeled)
        return features, head, fast

    def meta_loss(self, params, episodes, cfg, lr, class_mask=None):
        """Mean query loss over the tasks after adapting on their support sets."""
        X_s, y_s, m_s, X_q, y_q, m_q, class_mask = _episode_parts(episodes, class_mask)
        features, head, fast = self.adapted(params, X_s, y_s, m_s, cfg, lr, class_mask,
                                            X_q, m_q, cfg.steps)
        Hq = X_q if features is None else features(X_q)
        return task_loss(head.forward(fast, Hq), y_q, m_q, class_mask, cfg.loss).mean()


# --- the default MLP by hand --------------------------------------------------------
def _linear(W, b, A):
    """``A @ W.T + b`` for ``A`` (T, n, in); ``W`` shared (out, in) or per task (T, out, in)."""
    if W.dim() == 2 and b.dim() == 1:
        T, n, d = A.shape
        return torch.addmm(b, A.reshape(T * n, d), W.t()).view(T, n, -1)
    if W.dim() == 2:
        return torch.matmul(A, W.t()) + b.unsqueeze(-2)
    return torch.baddbmm(b.unsqueeze(-2), A, W.transpose(-1, -2))


def _linear_input_grad(dz, W):
    """``dz @ W``: gradient of ``A @ W.T`` with respect to ``A``."""
    if W.dim() == 2:
        T, n, o = dz.shape
        return torch.mm(dz.reshape(T * n, o), W).view(T, n, -1)
    return torch.bmm(dz, W)


class _Targets:
    """What a loss needs about its targets, computed once per meta-batch (no graph).

    ``w``: ``scale`` x the row weights (T, n, 1) of the masked mean (``scale=2`` for the
    gradient of the squared error, ``1/T`` for the mean over tasks); mse: ``y`` (T, n, 1);
    ce: ``nw = -onehot * w`` and the logit mask.
    """

    def __init__(self, y, m, class_mask, loss, n_out, scale=1.0):
        self.loss = loss
        self.class_mask = None if class_mask is None else ~class_mask.unsqueeze(-2)
        self.cm = class_mask
        total = m.sum(-1, keepdim=True).clamp_(min=1.0)
        if scale != 1.0:
            total.div_(scale)
        self.w = (m / total).unsqueeze(-1)
        if loss == "mse":
            self.y = y.unsqueeze(-1)
        else:
            onehot = torch.zeros(*y.shape, n_out, dtype=m.dtype, device=m.device)
            self.nw = onehot.scatter_(-1, y.unsqueeze(-1), -1.0).mul_(self.w)

    def _logits(self, z):
        return z if self.class_mask is None else z.masked_fill(self.class_mask, _NEG)

    def dz(self, z):
        """Gradient of the per-task losses (times ``scale``) with respect to ``z``."""
        if self.loss == "mse":
            return (z - self.y) * self.w
        return torch.addcmul(self.nw, torch.softmax(self._logits(z), dim=-1), self.w)

    def total(self, z):
        """Sum over tasks of the per-task losses (times ``scale``)."""
        if self.loss == "mse":
            r = (z - self.y).reshape(-1)
            return torch.dot(r * self.w.reshape(-1), r)
        return torch.dot(torch.log_softmax(self._logits(z), dim=-1).reshape(-1),
                         self.nw.reshape(-1))


class FastMLP(_Model):
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

    def _act_backward(self, da, a):
        """Gradient with respect to the pre-activation, from the activation's output."""
        act = self.activation
        if act == "relu":
            return _threshold_backward(da, a, 0)
        if act == "tanh":
            return da * (1.0 - a * a)
        if act == "logistic":
            return da * (a * (1.0 - a))
        return da

    def _forward(self, params, X, keep=False):
        """Outputs (T, n, out) and, with ``keep``, the inputs of every layer."""
        acts = [X]
        a = X
        last = len(self.layers) - 1
        for i, (wn, bn) in enumerate(self.layers):
            z = _linear(params[wn], params[bn], a)
            if i < last:
                a = self._act(z)
                if keep:
                    acts.append(a)
        return z, acts

    def forward(self, params, X):
        return self._forward(params, X)[0]

    def _n_out(self, params):
        return params[self.layers[-1][0]].shape[-2]

    def _backward(self, params, acts, dz):
        """Per-task parameter gradients from the output gradient ``dz``."""
        grads = {}
        for i in range(len(self.layers) - 1, -1, -1):
            wn, bn = self.layers[i]
            grads[wn] = torch.bmm(dz.transpose(-1, -2), acts[i])
            grads[bn] = dz.sum(-2)
            if i:
                dz = self._act_backward(_linear_input_grad(dz, params[wn]), acts[i])
        return grads

    def _target_grads(self, params, X, targets):
        z, acts = self._forward(params, X, keep=True)
        return self._backward(params, acts, targets.dz(z))

    def _support_targets(self, params, y, m, class_mask, loss):
        return _Targets(y, m, class_mask, loss, self._n_out(params),
                        scale=2.0 if loss == "mse" else 1.0)

    def grads(self, params, X, y, m, class_mask, loss, unlabeled=None):
        targets = self._support_targets(params, y, m, class_mask, loss)
        if unlabeled is None:
            return self._target_grads(params, X, targets)
        Xu, mu, beta = unlabeled
        n = X.shape[-2]
        z, acts = self._forward(params, torch.cat([X, Xu], dim=-2), keep=True)
        dz = torch.cat([targets.dz(z[..., :n, :]),
                        beta * _entropy_dz(z[..., n:, :], mu, class_mask)], dim=-2)
        return self._backward(params, acts, dz)

    def inner_loop(self, params, X, y, m, *, lr, steps, loss, first_order=False,
                   class_mask=None, unlabeled=None):
        if unlabeled is not None or steps == 0:
            return super().inner_loop(params, X, y, m, lr=lr, steps=steps, loss=loss,
                                      first_order=first_order, class_mask=class_mask,
                                      unlabeled=unlabeled)
        targets = self._support_targets(params, y, m, class_mask, loss)
        if not first_order or not torch.is_grad_enabled():
            for _ in range(steps):
                grads = self._target_grads(params, X, targets)
                params = {k: _step(v, grads[k], lr, k) for k, v in params.items()}
            return params
        with torch.no_grad():  # in place: memory flat in the number of steps
            theta = {k: v.detach() for k, v in params.items()}
            lr_ = {k: v.detach() for k, v in lr.items()} if isinstance(lr, dict) else lr
            phi, total = theta, None
            for s in range(steps):
                grads = self._target_grads(phi, X, targets)
                if total is None:
                    total = grads
                else:
                    for k in total:
                        total[k] += grads[k]
                del grads
                if s + 1 < steps:
                    phi = {k: _step(v, total[k], lr_, k) for k, v in theta.items()}
        # theta - lr * sum_s g_s: the value of phi, differentiable in theta (and Meta-SGD's lr)
        return {k: _step(v, total[k], lr, k) for k, v in params.items()}

    def meta_loss(self, params, episodes, cfg, lr, class_mask=None):
        if cfg.unlabeled_weight > 0 and cfg.loss != "mse":  # the entropy term: generic
            return super().meta_loss(params, episodes, cfg, lr, class_mask)
        X_s, y_s, m_s, X_q, y_q, m_q, class_mask = _episode_parts(episodes, class_mask)
        features, net, adapted = self.split(params, cfg.scope)  # ANIL: body features once
        if features is not None:
            X_s, X_q = features(X_s), features(X_q)
        fast = net.inner_loop(adapted, X_s, y_s, m_s, lr=lr, steps=cfg.steps, loss=cfg.loss,
                              first_order=cfg.first_order, class_mask=class_mask)
        query = _Targets(y_q, m_q, class_mask, cfg.loss, self._n_out(params),
                         scale=1.0 / X_q.shape[0])
        return query.total(net.forward(fast, X_q))

    def split(self, params, scope):
        """(features, head model, head parameters) for ``scope`` "all" or "head"."""
        if scope == "all" or len(self.layers) == 1:  # no hidden layer: the head is all
            return None, self, dict(params)
        body = FastMLP(self.layers[:-1], self.activation)
        head = FastMLP(self.layers[-1:], "identity")

        def features(X):
            return self._act(body.forward(params, X))

        return features, head, {n: params[n] for n in head.names}


# --- any module through torch.func --------------------------------------------------
class FunctionalModel(_Model):
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

    def grads(self, params, X, y, m, class_mask, loss, unlabeled=None):
        beta = unlabeled[2] if unlabeled is not None else 0.0

        def f(p, x, y_, m_, cm, xu, mu):
            value = task_loss(self._call(p, x), y_, m_, cm, loss)
            if xu is not None:
                value = value + beta * _entropy(self._call(p, xu), mu, cm)
            return value

        Xu, mu = (unlabeled[0], unlabeled[1]) if unlabeled is not None else (None, None)
        in_dims = (
            self._dims(params), 0, 0, 0,
            None if class_mask is None else 0,
            None if Xu is None else 0,
            None if mu is None else 0,
        )
        return vmap(grad(f), in_dims=in_dims)(params, X, y, m, class_mask, Xu, mu)

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
