"""Prototypical networks for tabular few-shot classification."""

from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval
from torch.func import functional_call

from .._nn._sampler import SUPPORT_CONSTRAINT
from .._nn._params import EPISODES_CLASSIFIER, EPISODIC_TRAINING, REPLAY, RUNTIME
from .._torch import _TORCH_PARAMETER_CONSTRAINTS, _build_module, _TorchMetaLearnerMixin
from ..base import BaseMetaClassifier
from ..utils._docstrings import fill_doc
from ..utils._math import decision_from_logits, softmax
from ..utils._params import make_init
from .._nn._prototypes import (
    class_prototypes,
    prototype_logits,
    prototypical_loss,
    refine_prototypes,
)

__all__ = ["ProtoNetClassifier"]


class _Prototypes:
    """Adapted state: class prototypes (and fine-tuned weights, if any), on the CPU."""

    def __init__(self, prototypes, params=None):
        self.prototypes = prototypes
        self.params = params


@fill_doc
class ProtoNetClassifier(_TorchMetaLearnerMixin,
                         BaseMetaClassifier):
    """Prototypical network: nearest class mean in a meta-learned embedding.

    An embedding network (a multi-layer perceptron by default, or your own ``module``) is
    meta-trained on N-way K-shot episodes drawn from the training tasks so that, in its
    embedding, rows lie close to the mean embedding (*prototype*) of their class computed
    from a few labelled rows (Snell et al., 2017). ``adapt`` embeds the support set and
    stores one prototype per class; it works for any number of classes and shots, not
    only those of meta-training. ``predict_proba`` is a softmax over the negative squared
    distances to the prototypes.

    Read more in the :ref:`User Guide <metric_learners>`.

    Parameters
    ----------
    n_shots : int, default=5
        Support rows per class of the meta-training episodes and of ``score``.
    n_way : int, default=None
        Classes per meta-training episode when tasks have their own label sets
        (``label_space="per_task"``); None uses all classes of a task (training with
        more classes than at test time often helps).
    n_queries : int, default=5
        Query rows per class of the meta-training episodes.
    %(meta_support)s
    embedding_dim : int, default=64
        Size of the embedding (output of the network).
    hidden_layer_sizes : array-like of shape (n_layers,), default=(128,)
        Hidden layers of the default embedding MLP.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the default MLP.
    module : callable, default=None
        ``module(n_features, embedding_dim) -> torch.nn.Module`` replacing the default
        MLP; its weights are drawn under ``random_state``.
    meta_batch_size : int, default=8
        Episodes (tasks) per meta-iteration.
    meta_lr : float, default=1e-3
        Adam learning rate of meta-training.
    max_iter : int, default=500
        Meta-iterations (per call of ``partial_fit``).
    tol : float or None, default=1e-4
        Stop when the monitored score (validation accuracy with ``early_stopping``, else
        the negative training loss) has not improved by ``tol`` for ``n_iter_no_change``
        checks; None trains ``max_iter`` iterations.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the tasks, check the episode accuracy on them
        every ``validation_interval`` iterations and keep the best embedding.
    %(validation_monitoring)s
    fine_tune_steps : int, default=0
        Adam steps that fine-tune a copy of the embedding on the support set at
        ``adapt`` (prototypical loss of the support rows against their prototypes);
        0 keeps the meta-learned embedding (fastest).
    fine_tune_lr : float, default=1e-3
        Learning rate of those steps.
    %(replay)s
    label_space : {"auto", "shared", "per_task"}, default="auto"
        Whether tasks share one label set (see
        :class:`~sklearn_meta.base.BaseMetaClassifier`).
    %(torch_runtime)s

    Attributes
    ----------
    network_ : torch.nn.Module
        The meta-trained embedding network (on the CPU).
    prototypes_ : ndarray of shape (n_classes, embedding_dim) or None
        Prototypes of the training classes (shared label space), used to predict
        before any ``adapt``; None with per-task label sets.
    %(episodic_classifier_attributes)s

    See Also
    --------
    sklearn_meta.model_based.NeuralProcessClassifier : In-context learner reading the
        support set with attention.
    sklearn.neighbors.NearestCentroid : The same rule on the raw features.

    Examples
    --------
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> from sklearn_meta.metric import ProtoNetClassifier
    >>> data = make_classification_tasks(n_tasks=20, n_classes=3,
    ...                                  per_task_labels=True, random_state=0)
    >>> clf = ProtoNetClassifier(n_shots=3, max_iter=20, random_state=0)
    >>> clf = clf.fit(data.tasks[:16])
    >>> X_new, y_new = data.tasks[16]
    >>> clf.adapt(X_new[:12], y_new[:12]).predict(X_new[12:]).shape
    (28,)
    """

    _parameter_constraints: dict = {
        **BaseMetaClassifier._parameter_constraints,
        **_TORCH_PARAMETER_CONSTRAINTS,
        "n_way": [Interval(Integral, 2, None, closed="left"), None],
        **SUPPORT_CONSTRAINT,
        "n_queries": [Interval(Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "meta_batch_size": [Interval(Integral, 1, None, closed="left")],
        "fine_tune_steps": [Interval(Integral, 0, None, closed="left")],
        "fine_tune_lr": [Interval(Real, 0, None, closed="neither")],
    }

    __init__ = make_init({
        **EPISODES_CLASSIFIER, "n_queries": 5, "embedding_dim": 64, "hidden_layer_sizes": (128,),
        "activation": "relu", "module": None, **EPISODIC_TRAINING, "meta_batch_size": 8,
        "max_iter": 500, "fine_tune_steps": 0, "fine_tune_lr": 1e-3, **REPLAY,
        "label_space": "auto", **RUNTIME})

    # -- meta-training -------------------------------------------------------------
    def _build_network(self, n_features, seed):
        return _build_module(
            self.module, n_features, self.embedding_dim,
            hidden_layer_sizes=self.hidden_layer_sizes, activation=self.activation,
            seed=seed,
        )

    def _episode_loss(self, net, ep, n_classes):
        return prototypical_loss(
            net(ep.X_s), ep.y_s, ep.m_s, net(ep.X_q), ep.y_q, ep.m_q, n_classes,
            ep.class_mask, shared=ep.class_mask is None,
        )

    def _meta_fit(self, tasks):
        self.prototypes_ = None
        self._fit_network(tasks, warm=self.warm_start and hasattr(self, "network_"))
        self._set_training_prototypes(tasks)

    def _partial_meta_fit(self, tasks, replay, task_picker, first):
        if first:
            self.prototypes_ = None
        super()._partial_meta_fit(tasks, replay, task_picker, first)
        self._set_training_prototypes(tasks)

    def _set_training_prototypes(self, tasks):
        """Class means of the training rows (shared labels): the zero-shot model.

        A class without rows in ``tasks`` keeps its earlier prototype (``partial_fit``).
        """
        if tasks.label_space != "shared":
            return
        with torch.no_grad():
            z = self._embed(tasks.X)[None]
            y = torch.as_tensor(tasks.y, device=z.device)[None]
            protos, counts = class_prototypes(z, y, torch.ones_like(z[..., 0]),
                                              len(self.meta_classes_))
        protos, absent = protos[0].cpu().numpy(), (counts[0] == 0).cpu().numpy()
        if self.prototypes_ is not None and len(self.prototypes_) == len(protos):
            protos[absent] = self.prototypes_[absent]
        self.prototypes_ = protos

    # -- adaptation ----------------------------------------------------------------
    def _embed(self, X, params=None):
        net = self._device_network()
        X = self._tensor(X)
        if params is None:
            return net(X)
        device = X.device
        return functional_call(net, {k: v.to(device) for k, v in params.items()}, (X,))

    def _fine_tune(self, X, y, n_classes):
        """A copy of the embedding's weights after a few steps on the support set."""
        net = self._device_network()
        params = {k: v.detach().clone().requires_grad_() for k, v in net.named_parameters()}
        X_t = self._tensor(X)[None]
        y_t = torch.as_tensor(y, device=X_t.device)[None]
        m = torch.ones_like(X_t[..., 0])
        optimizer = torch.optim.Adam(params.values(), lr=self.fine_tune_lr)
        for _ in range(self.fine_tune_steps):
            optimizer.zero_grad()
            z = functional_call(net, params, (X_t,))
            loss, _ = prototypical_loss(z, y_t, m, z, y_t, m, n_classes)
            loss.backward()
            optimizer.step()
        return {k: v.detach().cpu() for k, v in params.items()}

    def _adapt(self, X, y, X_unlabeled):
        n_classes = len(self.meta_classes_) if self._label_space_ == "shared" else int(y.max()) + 1
        params = self._fine_tune(X, y, n_classes) if self.fine_tune_steps else None
        with torch.no_grad():
            z = self._embed(X, params)[None]
            y_t = torch.as_tensor(y, device=z.device)[None]
            protos, counts = class_prototypes(z, y_t, torch.ones_like(z[..., 0]), n_classes)
            if self._label_space_ == "shared":
                # a shared class absent from the support set keeps its training prototype
                missing = counts[0] == 0
                if bool(missing.any()):
                    fallback = torch.as_tensor(self.prototypes_, dtype=z.dtype, device=z.device)
                    protos[0, missing] = fallback[missing]
                    counts[0, missing] = 1.0
            if X_unlabeled is not None and len(X_unlabeled):
                z_u = self._embed(X_unlabeled, params)[None]
                protos = refine_prototypes(protos, counts, z_u)
        return _Prototypes(protos[0].cpu().numpy(), params)

    # -- prediction ----------------------------------------------------------------
    def _predict_proba(self, X, state, n_classes):
        return softmax(self._logits(X, state), axis=1)

    def _decision_function(self, X, state, n_classes):
        return decision_from_logits(self._logits(X, state), n_classes)

    def _logits(self, X, state):
        if state is None:
            protos, params = self.prototypes_, None
        else:
            protos, params = state.prototypes, state.params
        with torch.no_grad():
            z = self._embed(X, params)
            p = torch.as_tensor(protos, dtype=z.dtype, device=z.device)
            return prototype_logits(z[None], p[None])[0].double().cpu().numpy()
