"""The gradient-based meta-learners: one engine, each algorithm a small description.

An algorithm (:class:`Algorithm`) says which parameters adapt (all of them, ANIL's
head, or what ``fine_tune`` says), whether per-parameter inner step sizes are
meta-learned (Meta-SGD), whether adaptation starts from a new zero head (fine-tuning
with per-task labels), and its outer update as a function (:func:`maml_update`,
:func:`reptile_update`, :func:`pretrain_update`). :class:`_GradientMetaLearner` runs any
of them with :mod:`~sklearn_meta.gradient._engine` through
:func:`sklearn_meta._nn._fit.fit_episodes`; a public estimator is that class, the base
class of its kind and an ``_algorithm``.
"""

import copy
import warnings
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Callable, Optional

import numpy as np
import torch
from sklearn.utils._param_validation import HasMethods, Interval

from .._nn._sampler import SUPPORT_CONSTRAINT, _EpisodeSampler, _meta_support
from .._nn import _residual
from .._nn._fit import Run, fit_episodes
from .._nn._trainer import EXPLOSION as _EXPLOSION
from .._torch import (
    _TORCH_PARAMETER_CONSTRAINTS,
    _build_module,
    _cached,
    _to_cpu,
    _TorchMetaLearnerMixin,
)
from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..utils._math import softmax
from . import _engine

# Adapted logits beyond this count as divergence (probabilities saturate at 0/1).
_MAX_LOGIT = 1e2

GRADIENT_CONSTRAINTS = {
    **_TORCH_PARAMETER_CONSTRAINTS,
    "n_queries": [Interval(Integral, 1, None, closed="left"), None],
    "meta_batch_size": [Interval(Integral, 1, None, closed="left")],
    "inner_lr": [Interval(Real, 0, None, closed="left")],
    "inner_steps": [Interval(Integral, 0, None, closed="left")],
    "adapt_steps": [Interval(Integral, 0, None, closed="left"), None],
    "first_order": ["boolean"],
    "base_estimator": [HasMethods(["fit", "predict"]), None],
}
CLASSIFIER_CONSTRAINTS = {
    **BaseMetaClassifier._parameter_constraints,
    **GRADIENT_CONSTRAINTS,
    "n_way": [Interval(Integral, 2, None, closed="left"), None],
    "unlabeled_weight": [Interval(Real, 0, None, closed="left")],
    **SUPPORT_CONSTRAINT,
}
REGRESSOR_CONSTRAINTS = {**BaseMetaRegressor._parameter_constraints, **GRADIENT_CONSTRAINTS}


# --- outer updates: (model, params, episodes, cfg, lr) -> (loss, grads or None) ----------
def maml_update(model, params, episodes, cfg, lr):
    """MAML / Meta-SGD / ANIL: backpropagate the query loss through the inner loop."""
    return _engine.meta_loss(model, params, episodes, cfg, lr), None


def reptile_update(model, params, episodes, cfg, lr):
    """Reptile: the pseudo-gradient ``theta - mean(phi)``, no graph."""
    return _engine.reptile_step(model, params, episodes, cfg, lr)


def pretrain_update(model, params, episodes, cfg, lr):
    """Fine-tuning's pretraining: the supervised loss on all rows of the episodes."""
    X = torch.cat([episodes.X_s, episodes.X_q], dim=1)
    y = torch.cat([episodes.y_s, episodes.y_q], dim=1)
    m = torch.cat([episodes.m_s, episodes.m_q], dim=1)
    if episodes.classes is not None:  # episode labels -> global (task, class) ids
        y = episodes.classes.clamp_min(0).gather(1, y)
    loss = _engine.task_loss(model.forward(params, X), y, m, None, cfg.loss).mean()
    return loss, None


@dataclass(frozen=True)
class Algorithm:
    """A gradient-based meta-learning algorithm, as data.

    scope : {"all", "head"} or None
        Parameters that adapt; None: the estimator's ``fine_tune`` parameter.
    learned_lr : bool
        Meta-learn one inner step size per parameter entry (Meta-SGD); they are the
        fitted attribute ``inner_lrs_``.
    update : callable
        The outer update ``(model, params, episodes, cfg, lr) -> (loss, grads)``;
        ``grads`` None backpropagates ``loss``, a dict gives the gradient per parameter.
    new_head : bool
        With per-task labels, pretrain one output per (task, class) and adapt a new,
        zero ``n_way`` head (fine-tuning).
    first_order : bool or None
        Detach the inner steps from the meta-gradient; None: the estimator's
        ``first_order`` parameter. Reptile and fine-tuning never backpropagate through
        the inner loop.
    inner_loop : bool
        Meta-training runs ``inner_steps`` inner steps per episode; False (fine-tuning's
        pretraining): none, the only steps are the ``adapt_steps`` of ``adapt``.
    """

    scope: Optional[str] = "all"
    learned_lr: bool = False
    update: Callable = maml_update
    new_head: bool = False
    first_order: Optional[bool] = None
    inner_loop: bool = True


MAML = Algorithm()
METASGD = Algorithm(learned_lr=True)
ANIL = Algorithm(scope="head")
REPTILE = Algorithm(update=reptile_update, first_order=True)
FINETUNE = Algorithm(scope=None, update=pretrain_update, new_head=True, first_order=True,
                     inner_loop=False)


class _GradientMetaLearner(_TorchMetaLearnerMixin):
    """Meta-training, adaptation and prediction for every gradient-based learner."""

    _algorithm = MAML

    # --- configuration ------------------------------------------------------------
    def _loss(self):
        return "ce" if self._is_classifier() else "mse"

    def _scope(self):
        scope = self._algorithm.scope
        return self.fine_tune if scope is None else scope

    def _inner_config(self, steps):
        first_order = self._algorithm.first_order
        return _engine.InnerConfig(
            loss=self._loss(),
            steps=steps,
            first_order=self.first_order if first_order is None else first_order,
            scope=self._scope(),
            # the information-maximisation term is on class probabilities: classifiers
            unlabeled_weight=self.unlabeled_weight if self._is_classifier() else 0.0,
        )

    def _adapt_steps(self):
        return self.inner_steps if self.adapt_steps is None else self.adapt_steps

    def _kind(self, tasks):
        return "regression" if tasks.label_space is None else tasks.label_space

    def _per_task_head(self):
        return self._algorithm.new_head and getattr(self, "_label_space_", None) == "per_task"

    def _head_outputs(self, tasks):
        """Outputs of the network used after adaptation (classes or 1)."""
        kind = self._kind(tasks)
        if kind == "regression":
            return 1
        if kind == "shared":
            return len(self.meta_classes_)
        return int(self.n_way or tasks.n_classes.max())

    def _sampler(self, tasks, rng, device):
        kind = self._kind(tasks)
        return _EpisodeSampler(
            tasks.X, tasks.y, tasks.starts, kind=kind, n_shots=self.n_shots,
            n_queries=self.n_queries or self.n_shots,
            n_way=self.n_outputs_ if kind == "per_task" else None,
            n_classes=self.n_outputs_, meta_batch_size=self.meta_batch_size,
            task_ids=tasks.task_ids, rng=rng, device=device, warn=False,
            support=_meta_support(self, kind),
        )

    # --- model and parameters -----------------------------------------------------
    def _model(self):
        """The engine's model for ``module_`` on the compute device (cached)."""
        device = self._device()

        def build():
            return _engine.make_model(copy.deepcopy(self.module_).to(device))

        return _cached(self, "model", (self.module_, device), build)

    def _device_lrs(self):
        """Meta-SGD's learned step sizes on the compute device, else ``inner_lr``."""
        lrs = getattr(self, "inner_lrs_", None)
        if not lrs:
            return self.inner_lr
        device = self._device()
        return _cached(self, "lrs", (lrs, device),
                       lambda: {k: v.to(device) for k, v in lrs.items()})

    def _init_params(self, n_features, n_outputs, seed, device, warm):
        """(network parameters, learned step sizes or None) as leaf tensors on ``device``."""
        warm = self.warm_start if warm is None else warm
        net = _build_module(
            self.module, _residual.n_network_inputs(self, n_features), n_outputs,
            hidden_layer_sizes=self.hidden_layer_sizes, activation=self.activation, seed=seed,
        )
        net = _residual.wrap(self, net, n_features)  # base_estimator: network + offset
        fresh = {k: p.detach() for k, p in net.named_parameters()}
        old = getattr(self, "params_", None)
        lrs = None
        if warm and old is not None and all(
            k in old and old[k].shape == v.shape for k, v in fresh.items()
        ):
            net, params = self.module_, dict(old)
            if self._algorithm.learned_lr:
                lrs = dict(self.inner_lrs_)
        else:
            params = dict(fresh)
            if self._algorithm.learned_lr:
                self.module_ = net
                heads = self._model().split(params, self._scope())[2]
                lrs = {k: torch.full_like(v, float(self.inner_lr)) for k, v in heads.items()}
        self.module_ = net

        def leaf(d):
            return {k: v.to(device).clone().requires_grad_() for k, v in d.items()}

        return leaf(params), None if lrs is None else leaf(lrs)

    def _store(self, params, lrs):
        self.params_ = _to_cpu(params)
        if lrs is not None:
            self.inner_lrs_ = _to_cpu(lrs)
        with torch.no_grad():
            for k, p in self.module_.named_parameters():
                p.copy_(self.params_[k])

    # --- meta-training --------------------------------------------------------------
    def _meta_fit(self, tasks, warm=None, replay=None, task_picker=None, holdout=True):
        """Meta-train; ``warm``/``replay``/``task_picker`` are set by ``partial_fit``
        (``warm=None``: a ``fit``, continuing the parameters when ``warm_start``)."""
        tasks = _residual.prepare(self, tasks, warm)  # base_estimator: its offsets as columns
        if not warm:  # a continued partial_fit keeps the output layer of the first call
            self.n_outputs_ = self._head_outputs(tasks)
        self._device_cache = {}
        return fit_episodes(self, tasks, self._training_run(warm), warm=warm,
                            replay=replay, task_picker=task_picker, holdout=holdout)

    def _partial_meta_fit(self, tasks, replay, task_picker, first):
        self._meta_fit(tasks, warm=not first, replay=replay, task_picker=task_picker,
                       holdout=False)

    def _training_run(self, warm):
        """``init`` of :func:`~sklearn_meta._nn._fit.fit_episodes` for this algorithm."""
        algorithm = self._algorithm

        def init(tasks, sampler, seed, device):
            n_outputs = self.n_outputs_
            if algorithm.new_head and self._kind(tasks) == "per_task":
                n_outputs = sampler.n_blocks  # one output per (task, class) to pretrain
            net, lrs = self._init_params(tasks.n_features, n_outputs, seed, device, warm)
            model = self._model()
            if algorithm.new_head and self._per_task_head() and not isinstance(
                    model, _engine.FastMLP):
                raise ValueError(
                    f"{type(self).__name__} with per-task label sets replaces the "
                    "network's last layer at adaptation, which needs the default MLP "
                    "(module=None); use label_space='shared' or another learner for a "
                    "custom module."
                )
            lr = self.inner_lr if lrs is None else lrs
            cfg = self._inner_config(self.inner_steps if algorithm.inner_loop else 0)
            cfg0 = self._inner_config(0)
            reference = []
            names = list(net)

            def step(episodes):
                if not reference and algorithm.update is not pretrain_update:
                    # the divergence guard's scale: the initial model's query loss
                    # before adaptation, on the first meta-batch (no extra draw)
                    with torch.no_grad():
                        reference.append(float(_engine.meta_loss(model, net, episodes,
                                                                 cfg0, lr)))
                loss, grads = algorithm.update(model, net, episodes, cfg, lr)
                return loss, None if grads is None else [grads[k] for k in names]

            def score(episodes):
                return self._validation_score(model, net, lr, episodes)

            params = list(net.values()) + ([] if lrs is None else list(lrs.values()))
            return Run(params, step, score, lambda: self._store(net, lrs),
                       lambda: reference[0] if reference else None)

        return init

    def _validation_score(self, model, params, lr, episodes):
        """Accuracy (classifiers) or R^2 pooled over tasks (regressors) on the query
        sets of fixed validation episodes, after adaptation."""
        num = den = 0.0
        for ep in episodes:
            adapted = self._adapt_batch(model, params, lr, ep.X_s, ep.y_s, ep.m_s,
                                        ep.class_mask, ep.X_q, ep.m_q)
            z = _engine.forward(model, adapted, ep.X_q)
            if self._loss() == "ce":
                if ep.class_mask is not None:
                    z = z.masked_fill(~ep.class_mask.unsqueeze(-2), -np.inf)
                num += float(((z.argmax(-1) == ep.y_q) * ep.m_q).sum())
                den += float(ep.m_q.sum())
            else:
                n = ep.m_q.sum(-1, keepdim=True).clamp_min(1)
                mean = (ep.y_q * ep.m_q).sum(-1, keepdim=True) / n
                num += float((((z[..., 0] - ep.y_q) ** 2) * ep.m_q).sum())
                den += float((((ep.y_q - mean) ** 2) * ep.m_q).sum())
        if self._loss() == "ce":
            return num / max(den, 1.0)
        return 1.0 - num / den if den > 0 else -num

    # --- adaptation and prediction ----------------------------------------------------
    def _adapt_batch(self, model, params, lr, X_s, y_s, m_s, class_mask, X_u, m_u):
        """Adapted parameters (shared meta-parameters + task-batched adapted ones)."""
        if self._per_task_head():  # a new zero head with n_way outputs
            w, b = model.layers[-1]
            hidden = params[w].shape[1]
            params = {**params, w: params[w].new_zeros(self.n_outputs_, hidden),
                      b: params[b].new_zeros(self.n_outputs_)}
        steps = self._adapt_steps()
        return _engine.adapt(model, params, X_s, y_s, m_s, self._inner_config(steps),
                             lr, steps, class_mask, X_u, m_u)

    def _adapt(self, X, y, X_unlabeled):
        X, X_unlabeled = _residual.augment(self, X), _residual.augment(self, X_unlabeled)
        device = self._device()
        model, params = self._model(), self._device_params()
        X_t = self._tensor(X, torch.float32)[None]
        m = torch.ones(X_t.shape[:2], dtype=X_t.dtype, device=device)
        class_mask = None
        if self._loss() == "ce":
            y_t = self._tensor(y, torch.int64)[None]
            k = int(y.max()) + 1
            if self._label_space_ == "per_task":
                if k > self.n_outputs_:
                    raise ValueError(
                        f"The support set has {k} classes but {type(self).__name__} was "
                        f"meta-trained for at most n_way={self.n_outputs_}; refit with "
                        f"n_way>={k}."
                    )
                class_mask = (torch.arange(self.n_outputs_, device=device) < k)[None]
        else:
            y_t = self._tensor(y, X_t.dtype)[None]
        X_u = m_u = None
        if X_unlabeled is not None and len(X_unlabeled):
            X_u = self._tensor(X_unlabeled, X_t.dtype)[None]
            m_u = torch.ones(X_u.shape[:2], dtype=X_t.dtype, device=device)
        adapted = self._adapt_batch(model, params, self._device_lrs(), X_t, y_t, m,
                                    class_mask, X_u, m_u)
        fitted = _engine.forward(model, adapted, X_t)
        diverged = not bool(torch.isfinite(fitted).all())
        if not diverged and self._loss() == "ce":
            # logits this large give probabilities of exactly 0 and 1: no few rows justify
            # them (a new head fitted with a huge inner_lr, as FineTune's or ANIL's)
            diverged = bool(fitted.abs().max() > _MAX_LOGIT)
        same = all(k in params and params[k].shape in (v.shape, v.shape[1:])
                   for k, v in adapted.items())  # adapted tensors may carry a task axis
        if not diverged and same:
            # a finite blow-up is divergence too: the support loss after the steps far
            # above the meta-learned model's (Meta-SGD's step sizes, many adapt_steps).
            # Only where the adapted parameters are the meta-learned ones moved (not a
            # new head fitted from scratch, as FineTune's)
            loss = self._loss()
            start = _engine.forward(model, {k: params[k] for k in adapted}, X_t)
            before = _engine.task_loss(start, y_t, m, class_mask, loss)
            after = _engine.task_loss(fitted, y_t, m, class_mask, loss)
            diverged = bool((after > _EXPLOSION * before.clamp_min(1e-8)).any()) or not bool(
                torch.isfinite(after).all())
        if diverged:
            lr = "the learned inner learning rates" if self._algorithm.learned_lr else (
                f"inner_lr={self.inner_lr}")
            warnings.warn(
                f"Adaptation diverged (non-finite outputs, logits over {_MAX_LOGIT:g}, "
                f"or a support loss over {_EXPLOSION:.0e} times the meta-learned model's, "
                "after "
                f"{self._adapt_steps()} steps with {lr}); predicting with the "
                "meta-learned parameters instead. Lower adapt_steps or inner_lr, or "
                "rescale the targets/features.",
                RuntimeWarning,
                stacklevel=3,
            )
            return {}
        return {
            k: v.detach().cpu() for k, v in adapted.items()
            if k not in params or v.shape != params[k].shape
        }

    def _outputs(self, X, state):
        """Network outputs (n, n_outputs) as float64 for the adapted ``state``."""
        X = _residual.augment(self, X)
        device = self._device()
        params = self._device_params()
        if state:
            params = {**params, **{k: v.to(device) for k, v in state.items()}}
        X_t = self._tensor(X, torch.float32)[None]
        z = _engine.forward(self._model(), params, X_t)[0]
        return z.double().cpu().numpy()

    def _predict_proba(self, X, state, n_classes):
        return softmax(self._outputs(X, state)[:, :n_classes], axis=1)

    def _predict(self, X, state):
        return self._outputs(X, state)[:, 0]
