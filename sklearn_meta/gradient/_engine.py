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

- :func:`make_model` returns :class:`~._models.FastMLP` for a network built by
  :func:`sklearn_meta._torch._make_mlp` (hand-batched matrix products and a hand-written
  backward pass for the inner gradient, itself differentiable, so second order comes from
  ordinary autograd through it) and :class:`~._models.FunctionalModel` for any other
  module (``torch.func``, ``vmap``-ed over tasks). Both live in :mod:`._models`, the only
  module this one imports; each exposes one ``meta_loss``.
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

from ._models import FastMLP, FunctionalModel, _episode_parts, make_model, task_loss

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


def inner_loop(model, params, X, y, m, *, lr, steps, loss, first_order=False,
               class_mask=None, unlabeled=None):
    """``steps`` gradient steps on every task's support set from ``params``.

    Returns the adapted parameters (task-batched once ``steps >= 1``). Differentiable with
    respect to ``params`` (and ``lr``) unless ``first_order``, which detaches the inner
    gradients.
    """
    return model.inner_loop(params, X, y, m, lr=lr, steps=steps, loss=loss,
                            first_order=first_order, class_mask=class_mask,
                            unlabeled=unlabeled)


def meta_loss(model, params, episodes, cfg, lr, class_mask=None):
    """Mean query loss over the tasks after adapting on their support sets.

    ``episodes``: ``(X_s, y_s, m_s, X_q, y_q, m_q)`` (an ``_Episodes`` works; its
    ``class_mask`` is used when present). Backpropagating gives the (first- or second-order)
    meta-gradient with respect to ``params`` and, for Meta-SGD, ``lr``.
    """
    return model.meta_loss(params, episodes, cfg, lr, class_mask)


def reptile_step(model, params, episodes, cfg, lr, class_mask=None):
    """Reptile: ``(loss, {name: theta - mean_t phi_t})``, no graph kept.

    The ``cfg.steps`` inner steps alternate between the support set (even steps) and the
    query set (odd steps) of each task: Reptile's inner minibatches, whose differing
    gradients carry its meta-learning signal. ``loss`` is the query loss after the
    steps (a training loss once ``steps >= 2``).
    """
    X_s, y_s, m_s, X_q, y_q, m_q, class_mask = _episode_parts(episodes, class_mask)
    detached = {k: v.detach() for k, v in params.items()}
    batches = [(X_s, y_s, m_s), (X_q, y_q, m_q)]
    with torch.no_grad():
        fast = detached
        for step in range(cfg.steps):
            X, y, m = batches[step % 2]
            fast = model.inner_loop(fast, X, y, m, lr=lr, steps=1, loss=cfg.loss,
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
        _, _, fast = model.adapted(detached, X_s, y_s, m_s, cfg1, lr, class_mask, X_u, m_u,
                                   steps)
    return {**detached, **{k: v.detach() for k, v in fast.items()}}


def forward(model, params, X):
    """Outputs (T, n, out) of the network with (shared or task-batched) ``params``."""
    with torch.no_grad():
        return model.forward(params, X)
