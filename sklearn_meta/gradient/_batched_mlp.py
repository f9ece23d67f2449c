"""Fast path of the gradient engine for the default MLP: few, large batched operations.

:func:`meta_loss` has the contract of :func:`sklearn_meta.gradient._engine.meta_loss`
(same arguments, same value, same gradients) for a model the engine built as a
:class:`~sklearn_meta.gradient._engine.FastMLP` (a plain ``Linear``/activation stack), and
the engine dispatches to it when :func:`supports` says so. It exists for speed only: the
meta-iteration of small networks on the CPU is bound by the number of tensor operations
(and the autograd nodes behind them), not by arithmetic, so this module spends as few
operations as it can per meta-iteration:

- the tasks of a meta-batch are a leading dimension of every tensor; a layer is one
  ``addmm`` while its weights are shared by all tasks (the first inner step, the ANIL
  body) and one ``baddbmm`` once they are per-task (adapted) weights;
- the inner gradient is a hand-written backward pass (one ``bmm`` per weight, one ``sum``
  per bias, ``threshold_backward`` for ReLU), itself made of differentiable operations,
  so the second-order meta-gradient is ordinary first-order autograd through a short
  graph (no double backward, no ``vmap``);
- a parameter update is one operation (``add`` with ``alpha=-lr``; ``addcmul`` with
  Meta-SGD's learned rates);
- the row weights of the masked mean losses, the one-hot targets and their products are
  computed once per meta-batch, outside the graph;
- first order runs the whole inner loop without autograd and joins the graph with one
  operation per parameter, ``theta - lr * sum(inner gradients)``: its memory does not
  grow with the number of inner steps.

The semi-supervised entropy term (``unlabeled_weight > 0`` with a classification loss)
is left to the generic path (:func:`supports` is False).
"""

import torch

from ._engine import _NEG, FastMLP

__all__ = []  # private module

_threshold_backward = torch.ops.aten.threshold_backward


def supports(model, cfg):
    """Whether :func:`meta_loss` handles ``model`` with ``cfg`` (else use the engine)."""
    return (
        isinstance(model, FastMLP)
        and cfg.scope in ("all", "head")
        and cfg.loss in ("mse", "ce")
        and not (cfg.unlabeled_weight > 0 and cfg.loss != "mse")
    )


# --- building blocks --------------------------------------------------------------------
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


def _activation_grad(da, a, activation):
    """Gradient with respect to the pre-activation, from the activation's output ``a``."""
    if activation == "relu":
        return _threshold_backward(da, a, 0)
    if activation == "tanh":
        return da * (1.0 - a * a)
    if activation == "logistic":
        return da * (a * (1.0 - a))
    return da


class _Targets:
    """What a loss needs about its targets, computed once per meta-batch (no graph).

    ``w``: ``scale`` x the row weights (T, n, 1) of the masked mean (``scale=2`` for the
    gradient of the squared error, ``1/T`` for the mean over tasks); mse: ``y`` (T, n, 1);
    ce: ``nw = -onehot * w`` and the logit mask.
    """

    def __init__(self, y, m, class_mask, loss, n_out, scale=1.0):
        self.loss = loss
        self.class_mask = None if class_mask is None else ~class_mask.unsqueeze(-2)
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


def _forward(net, params, X, keep=False):
    """Outputs (T, n, out) of the FastMLP ``net`` and, with ``keep``, its layers' inputs."""
    acts = [X]
    a = X
    last = len(net.layers) - 1
    for i, (wn, bn) in enumerate(net.layers):
        z = _linear(params[wn], params[bn], a)
        if i < last:
            a = net._act(z)
            if keep:
                acts.append(a)
    return z, acts


def _grads(net, params, X, targets):
    """Per-task gradients (T, ...) of the support losses: a hand-written backward pass."""
    z, acts = _forward(net, params, X, keep=True)
    dz = targets.dz(z)
    grads = {}
    for i in range(len(net.layers) - 1, -1, -1):
        wn, bn = net.layers[i]
        grads[wn] = torch.bmm(dz.transpose(-1, -2), acts[i])
        grads[bn] = dz.sum(-2)
        if i:
            dz = _activation_grad(_linear_input_grad(dz, params[wn]), acts[i], net.activation)
    return grads


def _step(v, g, lr, name):
    if isinstance(lr, dict):
        return torch.addcmul(v, lr[name], g, value=-1.0)
    if isinstance(lr, torch.Tensor):
        return v - lr * g
    return torch.add(v, g, alpha=-lr)


def _inner_loop(net, params, X, targets, lr, steps, first_order):
    """Adapted parameters after ``steps`` gradient steps (differentiable unless first order)."""
    if not first_order:
        for _ in range(steps):
            grads = _grads(net, params, X, targets)
            params = {k: _step(v, grads[k], lr, k) for k, v in params.items()}
        return params
    if steps == 0:
        return params
    with torch.no_grad():  # in place: memory flat in the number of steps
        theta = {k: v.detach() for k, v in params.items()}
        lr_ = {k: v.detach() for k, v in lr.items()} if isinstance(lr, dict) else lr
        phi, total = theta, None
        for s in range(steps):
            grads = _grads(net, phi, X, targets)
            if total is None:
                total = grads
            else:
                for k in total:
                    total[k] += grads[k]
            del grads
            if s + 1 < steps:
                phi = {k: _step(v, total[k], lr_, k) for k, v in theta.items()}
    # theta - lr * sum_s g_s: the value of phi, differentiable in theta (and in Meta-SGD's lr)
    return {k: _step(v, total[k], lr, k) for k, v in params.items()}


# --- the engine's contract ------------------------------------------------------------------
def meta_loss(model, params, episodes, cfg, lr, class_mask=None):
    """Mean query loss over the tasks after adapting on their support sets.

    Same contract as :func:`sklearn_meta.gradient._engine.meta_loss` for a
    :class:`~sklearn_meta.gradient._engine.FastMLP` ``model`` (see :func:`supports`).
    """
    X_s, y_s, m_s, X_q, y_q, m_q = episodes[:6]
    if class_mask is None and len(episodes) > 6:
        class_mask = episodes[6]
    n_out = params[model.layers[-1][0]].shape[0]
    features, net, adapted = model.split(params, cfg.scope)  # ANIL: body features once
    if features is not None:
        X_s, X_q = features(X_s), features(X_q)
    support = _Targets(y_s, m_s, class_mask, cfg.loss, n_out,
                       scale=2.0 if cfg.loss == "mse" else 1.0)
    fast = _inner_loop(net, adapted, X_s, support, lr, cfg.steps, cfg.first_order)
    query = _Targets(y_q, m_q, class_mask, cfg.loss, n_out, scale=1.0 / X_q.shape[0])
    return query.total(_forward(net, fast, X_q)[0])
