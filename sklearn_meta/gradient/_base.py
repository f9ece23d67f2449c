"""What the gradient-based meta-learners share: one engine, three switches.

:class:`_GradientMetaLearner` meta-trains with :mod:`~sklearn_meta.gradient._engine`
through the loop of :class:`~sklearn_meta._torch._TorchMetaLearnerMixin`. An algorithm is
a subclass that sets

- ``_scope``: ``"all"`` parameters adapt, or only the ``"head"`` (ANIL);
- ``_learned_lr``: per-parameter inner learning rates are meta-learned (Meta-SGD);
- ``_outer``: ``"maml"`` (backpropagate the query loss through the inner loop),
  ``"reptile"`` (Reptile's pseudo-gradient ``theta - mean(phi)``) or ``"pretrain"``
  (plain supervised training on the pooled tasks; see :mod:`._finetune`).
"""

import copy
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import softmax
from sklearn.utils._param_validation import HasMethods, Interval

from .._episodes import _EpisodeSampler, _warn_skipped
from .._torch import (
    _EXPLOSION,
    _TORCH_PARAMETER_CONSTRAINTS,
    _build_module,
    _cached,
    _numpy_rng,
    _seed,
    _to_cpu,
    _TorchMetaLearnerMixin,
)
from ..base import BaseMetaClassifier, BaseMetaRegressor
from ..continual import ContinualMixin
from .._nn import _residual
from .._nn._distributed import _start
from ..continual._replay import continued_seed, with_replay
from . import _engine

_LR = "lr:"  # prefix of Meta-SGD's learned inner learning rates in ``params_``

_GRADIENT_CONSTRAINTS = {
    **_TORCH_PARAMETER_CONSTRAINTS,
    "n_queries": [Interval(Integral, 1, None, closed="left"), None],
    "meta_batch_size": [Interval(Integral, 1, None, closed="left")],
    "inner_lr": [Interval(Real, 0, None, closed="left")],
    "inner_steps": [Interval(Integral, 0, None, closed="left")],
    "adapt_steps": [Interval(Integral, 0, None, closed="left"), None],
    "first_order": ["boolean"],
    "base_estimator": [HasMethods(["fit", "predict"]), None],
}
_CLASSIFIER_CONSTRAINTS = {
    "n_way": [Interval(Integral, 2, None, closed="left"), None],
    "unlabeled_weight": [Interval(Real, 0, None, closed="left")],
}


class _GradientMetaLearner(_TorchMetaLearnerMixin):
    """Meta-training, adaptation and prediction for every gradient-based learner."""

    _scope = "all"
    _learned_lr = False
    _outer = "maml"

    # --- configuration ------------------------------------------------------------
    def _loss(self):
        return "ce" if self._is_classifier() else "mse"

    def _inner_config(self, steps):
        return _engine.InnerConfig(
            loss=self._loss(),
            steps=steps,
            first_order=getattr(self, "first_order", True),
            scope=self._scope,
            unlabeled_weight=getattr(self, "unlabeled_weight", 0.0),
        )

    def _adapt_steps(self):
        steps = getattr(self, "adapt_steps", None)
        return self.inner_steps if steps is None else steps

    def _kind(self, tasks):
        return "regression" if tasks.label_space is None else tasks.label_space

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
        )

    # --- model and parameters -----------------------------------------------------
    def _model(self):
        """The engine's model for ``module_`` on the compute device (cached)."""
        device = self._device()

        def build():
            return _engine.make_model(copy.deepcopy(self.module_).to(device))

        return _cached(self, "model", (self.module_, device), build)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # ``score`` is episodic and a short ``fit`` is far from converged: not the
        # training-set score scikit-learn's checks expect.
        for sub in (tags.classifier_tags, tags.regressor_tags):
            if sub is not None:
                sub.poor_score = True
        return tags

    @staticmethod
    def _split(params):
        """(network parameters, inner learning rate: dict for Meta-SGD or float)."""
        net = {k: v for k, v in params.items() if not k.startswith(_LR)}
        lrs = {k[len(_LR):]: v for k, v in params.items() if k.startswith(_LR)}
        return net, lrs

    def _lr(self, lrs):
        return lrs if lrs else self.inner_lr

    def _init_params(self, n_features, n_outputs, seed, device, warm=None):
        net = _build_module(
            self.module, _residual.n_network_inputs(self, n_features), n_outputs,
            hidden_layer_sizes=self.hidden_layer_sizes, activation=self.activation, seed=seed,
        )
        net = _residual.wrap(self, net, n_features)  # base_estimator: network + offset
        fresh = {k: p.detach() for k, p in net.named_parameters()}
        old = getattr(self, "params_", None)
        warm = self.warm_start if warm is None else warm
        if warm and old is not None and all(
            k in old and old[k].shape == v.shape for k, v in fresh.items()
        ):
            net, params = self.module_, dict(old)
        else:
            params = dict(fresh)
            if self._learned_lr:
                self.module_ = net
                heads = self._model().split(params, self._scope)[2]
                params.update(
                    {_LR + k: torch.full_like(v, float(self.inner_lr)) for k, v in heads.items()}
                )
        self.module_ = net
        return {k: v.to(device).clone().requires_grad_() for k, v in params.items()}

    def _store(self, params):
        self.params_ = _to_cpu(params)
        net, _ = self._split(self.params_)
        with torch.no_grad():
            for k, p in self.module_.named_parameters():
                p.copy_(net[k])

    # --- meta-training --------------------------------------------------------------
    def _n_outputs(self, tasks, sampler):
        """Outputs of the meta-trained network (fine-tuning overrides this)."""
        return self.n_outputs_

    def _step(self, model, params, sampler, reference):
        net, lrs = self._split(params)
        lr = self._lr(lrs)
        cfg = self._inner_config(self.inner_steps)
        cfg0 = self._inner_config(0)

        def remember(episodes):
            # the divergence guard's reference: the initial model's query loss before
            # adaptation, on the first meta-batch (no extra draw from the sampler)
            with torch.no_grad():
                reference.append(float(_engine.meta_loss(model, net, episodes, cfg0, lr)))

        if self._outer == "reptile":
            names = list(params)

            def step(it):
                episodes = sampler.sample()
                if not reference:
                    remember(episodes)
                loss, pseudo = _engine.reptile_step(model, net, episodes, cfg, lr)
                return loss, [pseudo[k] for k in names]

            return step

        def step(it):
            episodes = sampler.sample()
            if not reference:
                remember(episodes)
            return _engine.meta_loss(model, net, episodes, cfg, lr), None

        return step

    def _partial_meta_fit(self, tasks, replay, task_picker, first):
        """One ``partial_fit`` step (:class:`~sklearn_meta.continual.ContinualMixin`)."""
        self._meta_fit(tasks, warm=not first, replay=replay, task_picker=task_picker,
                       holdout=False)

    def _meta_fit(self, tasks, warm=None, replay=None, task_picker=None, holdout=True):
        """Meta-train; ``warm``/``replay``/``task_picker`` are set by ``partial_fit``."""
        tasks = _residual.prepare(self, tasks, warm)  # base_estimator: its offsets as columns
        device = self._device()
        seed = _seed(self.random_state)
        shard, seed = _start(self, tasks, seed, device, warm)  # distributed: rank 0's
        if warm:
            seed = continued_seed(seed, self.n_iter_)
        rng = _numpy_rng(seed)
        if not warm:  # a continued partial_fit keeps the output layer of the first call
            self.n_outputs_ = self._head_outputs(tasks)
        if holdout:
            train_idx, val_idx = self._train_split(tasks.n_tasks, rng)
        else:  # partial_fit holds out no validation tasks
            train_idx, val_idx = np.arange(tasks.n_tasks), np.arange(0)
        train = tasks.subset(train_idx) if len(val_idx) else tasks
        train, n_new = with_replay(train, replay)
        sampler = self._sampler(train, rng, device)
        if task_picker is not None and n_new < train.n_tasks:
            sampler.task_picker = partial(task_picker, n_new=n_new, n_total=train.n_tasks)
        params = self._init_params(
            tasks.n_features, self._n_outputs(tasks, sampler), seed, device, warm=warm
        )
        model = self._model()
        if shard is not None:  # each rank computes its tasks of the global meta-batch
            sampler = shard.wrap(sampler)
        score, episodes = None, []
        if len(val_idx):
            val = self._sampler(tasks.subset(val_idx), _numpy_rng(seed + 1), device)
            episodes = val.sample_all()
        _warn_skipped([sampler] + ([val] if len(val_idx) else []))
        if len(val_idx) and episodes:

            def score():
                return self._validation_score(model, params, episodes)

        reference = []
        self._train_loop(
            list(params.values()), self._step(model, params, sampler, reference), score,
            desc=type(self).__name__, warm=warm,
            reference=lambda: reference[0] if reference else None, shard=shard,
        )
        self._store(params)
        return self

    def _validation_score(self, model, params, episodes):
        """Accuracy (classifiers) or R^2 pooled over tasks (regressors) on the query
        sets of fixed validation episodes, after adaptation."""
        num = den = 0.0
        for ep in episodes:
            adapted = self._adapt_batch(model, params, ep.X_s, ep.y_s, ep.m_s,
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
    def _adapt_batch(self, model, params, X_s, y_s, m_s, class_mask, X_u, m_u):
        """Adapted parameters (shared meta-parameters + task-batched adapted ones)."""
        net, lrs = self._split(params)
        steps = self._adapt_steps()
        return _engine.adapt(model, net, X_s, y_s, m_s, self._inner_config(steps),
                             self._lr(lrs), steps, class_mask, X_u, m_u)

    def _adapt(self, X, y, X_unlabeled):
        X, X_unlabeled = _residual.augment(self, X), _residual.augment(self, X_unlabeled)
        device = self._device()
        model, params = self._model(), self._device_params()
        X_t = torch.as_tensor(X, dtype=torch.float32, device=device)[None]
        m = torch.ones(X_t.shape[:2], dtype=X_t.dtype, device=device)
        class_mask = None
        if self._loss() == "ce":
            y_t = torch.as_tensor(y, dtype=torch.int64, device=device)[None]
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
            y_t = torch.as_tensor(y, dtype=X_t.dtype, device=device)[None]
        X_u = m_u = None
        if X_unlabeled is not None and len(X_unlabeled):
            X_u = torch.as_tensor(X_unlabeled, dtype=X_t.dtype, device=device)[None]
            m_u = torch.ones(X_u.shape[:2], dtype=X_t.dtype, device=device)
        adapted = self._adapt_batch(model, params, X_t, y_t, m, class_mask, X_u, m_u)
        fitted = _engine.forward(model, adapted, X_t)
        diverged = not bool(torch.isfinite(fitted).all())
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
            lr = "the learned inner learning rates" if self._learned_lr else (
                f"inner_lr={self.inner_lr}")
            warnings.warn(
                f"Adaptation diverged (non-finite outputs, or a support loss over "
                f"{_EXPLOSION:.0e} times the meta-learned model's, after "
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
        params = self._split(self._device_params())[0]
        if state:
            params = {**params, **{k: v.to(device) for k, v in state.items()}}
        X_t = torch.as_tensor(X, dtype=torch.float32, device=device)[None]
        z = _engine.forward(self._model(), params, X_t)[0]
        return z.double().cpu().numpy()


class _GradientClassifierMixin:
    def _predict_proba(self, X, state, n_classes):
        z = self._outputs(X, state)[:, :n_classes]
        return softmax(z, axis=1)


class _GradientRegressorMixin:
    def _predict(self, X, state):
        return self._outputs(X, state)[:, 0]


class _GradientClassifierBase(_GradientClassifierMixin, _GradientMetaLearner,
                              BaseMetaClassifier):
    _parameter_constraints = {
        **BaseMetaClassifier._parameter_constraints,
        **_GRADIENT_CONSTRAINTS,
        **_CLASSIFIER_CONSTRAINTS,
    }


class _GradientRegressorBase(_GradientRegressorMixin, _GradientMetaLearner, BaseMetaRegressor):
    _parameter_constraints = {
        **BaseMetaRegressor._parameter_constraints,
        **_GRADIENT_CONSTRAINTS,
    }


class _GradientClassifier(ContinualMixin, _GradientClassifierBase):
    """Meta-learning classifiers (with ``partial_fit``: continual learning)."""

    _parameter_constraints = {
        **_GradientClassifierBase._parameter_constraints,
        **ContinualMixin._parameter_constraints,
    }


class _GradientRegressor(ContinualMixin, _GradientRegressorBase):
    """Meta-learning regressors (with ``partial_fit``: continual learning)."""

    _parameter_constraints = {
        **_GradientRegressorBase._parameter_constraints,
        **ContinualMixin._parameter_constraints,
    }
