"""Shared torch conventions of the torch-based meta-learners.

One place for what every torch learner of sklearn-meta needs and does the same way:

- :func:`_resolve_device`: ``device="auto"|"cpu"|"cuda"`` to a :class:`torch.device`,
  with a clear error when CUDA is asked for and unavailable.
- :func:`_make_mlp` / :func:`_build_module`: the default MLP (``hidden_layer_sizes``,
  ``activation`` with scikit-learn's names) or a user's ``module`` callable
  ``(n_inputs, n_outputs) -> nn.Module``; weights are drawn from ``random_state`` only, so
  a clone builds fresh, reproducible weights.
- :func:`_seed` (from :mod:`sklearn_meta.base`) / :func:`_numpy_rng`: one integer seed per
  fit derived from ``random_state``.
- :class:`_TorchMetaLearnerMixin`: the reusable meta-training loop
  (:meth:`~_TorchMetaLearnerMixin._train_loop`): Adam on the meta-parameters, a
  per-iteration history (``loss_curve_``, ``validation_scores_``), early stopping on
  held-out validation tasks that restores the best meta-parameters, an optional
  plateau schedule for ``meta_lr``, a divergence guard (a non-finite loss, or one over
  ``_EXPLOSION`` times its starting value, stops training,
  keeps the best parameters and warns with the iteration), a tqdm progress bar when
  ``verbose``, and CPU storage of the fitted parameters so that a model fitted on CUDA
  pickles and loads on a CPU-only machine.

The loop is algorithm-agnostic: a learner hands it the list of meta-parameters and a
``step(iteration) -> (loss, grads)`` function (``grads=None`` means "call
``loss.backward()``"; a tuple of tensors is used as the gradient, e.g. Reptile's
pseudo-gradient), plus an optional ``score()`` on validation tasks.
"""

import io
import math
import warnings
import weakref
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ._nn._trainer import EXPLOSION as _EXPLOSION
from ._nn._trainer import (
    BestParameters,
    DivergenceGuard,
    EarlyStopping,
    LRPlateau,
    ProgressBar,
    Trainer,
)
from .base import _seed  # noqa: F401  (one seed per fit, as every learner)

__all__ = []  # private module: nothing public

_ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}


# Parameter constraints shared by every torch meta-learner (scikit-learn's names).
_TORCH_PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like"],
    "activation": [StrOptions(set(_ACTIVATIONS))],
    "module": [callable, None],
    "meta_lr": [Interval(Real, 0, None, closed="neither")],
    "max_iter": [Interval(Integral, 0, None, closed="left")],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "validation_interval": [Interval(Integral, 1, None, closed="left")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="left"), None],
    "lr_schedule": [StrOptions({"constant", "plateau"})],
    "device": [StrOptions({"auto", "cpu", "cuda"})],
    "distributed": [StrOptions({"auto"}), "boolean"],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
}


def _resolve_device(device):
    """Map ``"auto"|"cpu"|"cuda"`` (or a :class:`torch.device`) to a torch device.

    ``"auto"`` picks CUDA when available, else the CPU. ``"cuda"`` without a usable CUDA
    device raises a ValueError that says what to do.
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                "device='cuda' was requested but CUDA is not available on this machine "
                f"(torch {torch.__version__}). Use device='cpu' or device='auto', e.g. "
                "est.set_params(device='cpu'); a model fitted on a GPU predicts on the CPU."
            )
        return torch.device("cuda")
    raise ValueError(f"device must be 'auto', 'cpu' or 'cuda'; got {device!r}.")


def _make_mlp(n_inputs, n_outputs, hidden_layer_sizes=(40, 40), activation="relu"):
    """The default network: Linear layers with ``activation`` in between.

    The layers of the returned :class:`torch.nn.Sequential` are at the even indices
    (``"0.weight"``, ``"0.bias"``, ``"2.weight"``...), which the gradient engine's fast
    path relies on.
    """
    sizes = [int(n_inputs), *(int(h) for h in hidden_layer_sizes), int(n_outputs)]
    layers = []
    for i in range(len(sizes) - 1):
        if i:
            layers.append(_ACTIVATIONS[activation]())
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
    return nn.Sequential(*layers)


def _check_hidden_layer_sizes(hidden_layer_sizes):
    sizes = np.atleast_1d(np.asarray(hidden_layer_sizes))
    if sizes.ndim != 1 or (sizes.size and not np.issubdtype(sizes.dtype, np.integer)):
        raise ValueError(
            "hidden_layer_sizes must be a sequence of positive integers, e.g. (40, 40); "
            f"got {hidden_layer_sizes!r}."
        )
    if np.any(sizes <= 0):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden_layer_sizes!r}.")
    return tuple(int(s) for s in sizes)


def _build_module(module, n_inputs, n_outputs, *, hidden_layer_sizes, activation, seed):
    """Build the network with weights drawn from ``seed`` (global torch RNG untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if module is None:
            hidden = _check_hidden_layer_sizes(hidden_layer_sizes)
            net = _make_mlp(n_inputs, n_outputs, hidden, activation)
        else:
            net = module(n_inputs, n_outputs)
            if not isinstance(net, nn.Module):
                raise TypeError(
                    "module must be a callable (n_inputs, n_outputs) -> torch.nn.Module; "
                    f"{module!r} returned {type(net).__name__}."
                )
    if not any(True for _ in net.parameters()):
        raise ValueError("module returned a network without parameters; nothing to learn.")
    return net.float()


def _numpy_rng(seed):
    return np.random.default_rng(seed)


def _to_cpu(tensors):
    """Detached CPU copies of a dict of tensors (what fitted estimators store)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in tensors.items()}


def _to_device(tensors, device, dtype=None):
    return {k: v.to(device=device, dtype=dtype or v.dtype) for k, v in tensors.items()}


# Device copies of fitted parameters/modules, per estimator object: kept out of the
# estimator's __dict__ (never pickled, and ``predict`` leaves the estimator unchanged).
_DEVICE_CACHE = weakref.WeakKeyDictionary()


def _cached(owner, key, token, build):
    """``build()`` cached for ``owner`` under ``key`` while the items of ``token`` are
    the same objects (devices: equal)."""
    entry = _DEVICE_CACHE.setdefault(owner, {}).get(key)
    if entry is None or len(entry[0]) != len(token) or not all(
        a is b or (isinstance(a, torch.device) and a == b) for a, b in zip(entry[0], token)
    ):
        entry = (token, build())
        _DEVICE_CACHE[owner][key] = entry
    return entry[1]


class _TorchMetaLearnerMixin:
    """Meta-training loop and torch bookkeeping shared by the torch meta-learners.

    Subclasses use the constructor parameters named in ``_TORCH_PARAMETER_CONSTRAINTS``
    (``meta_lr``, ``max_iter``, ``early_stopping``, ``validation_fraction``,
    ``validation_interval``, ``n_iter_no_change``, ``tol``, ``lr_schedule``, ``device``,
    ``verbose``, ``warm_start``) and call :meth:`_train_loop`.

    Fitted parameters live in ``self.params_`` (a dict of CPU tensors, picklable
    anywhere); :meth:`_device_params` returns them on the compute device, cached outside
    the estimator (``predict`` changes nothing in ``__dict__``; nothing device-bound is
    pickled).
    """

    _float32_features = True  # the networks compute in float32: base refuses |x| > 3.4e38

    # --- pickling: loads on a CPU-only machine whatever device fitted it --------------
    def __getstate__(self):
        # the state goes through torch.save, so that torch.load can map every tensor to
        # the CPU when it is unpickled (fitted state is kept on the CPU anyway; this
        # also covers a tensor left on a GPU, which plain pickle cannot load without one)
        buffer = io.BytesIO()
        torch.save(super().__getstate__(), buffer)
        return {"_torch_state": buffer.getvalue()}

    def __setstate__(self, state):
        if "_torch_state" in state:
            state = torch.load(io.BytesIO(state["_torch_state"]), map_location="cpu",
                               weights_only=False)  # an estimator: as trusted as pickle
        parent = getattr(super(), "__setstate__", None)
        if parent is None:  # not on BaseEstimator (object has no __setstate__)
            self.__dict__.update(state)
        else:
            parent(state)

    def __copy__(self):  # a plain shallow copy (``score`` copies the estimator)
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    # --- devices and parameters -------------------------------------------------------
    def _device(self):
        return _resolve_device(self.device)

    def _device_params(self):
        """The fitted parameters on the compute device (cached outside ``__dict__``)."""
        device = self._device()
        return _cached(self, "params", (self.params_, device),
                       lambda: _to_device(self.params_, device))

    # --- the loop -----------------------------------------------------------------
    def _train_split(self, n_tasks, rng):
        """Indices (train, validation) of the tasks; validation empty unless early stopping."""
        order = rng.permutation(n_tasks)
        if not self.early_stopping:
            return np.sort(order), order[:0]
        if n_tasks < 2:
            raise ValueError(
                "early_stopping=True holds out validation tasks, which needs at least 2 "
                f"tasks; got {n_tasks}. Pass more tasks (groups=) or early_stopping=False."
            )
        n_val = min(n_tasks - 1, max(1, int(math.ceil(self.validation_fraction * n_tasks))))
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _callbacks(self, desc, reference=None, shard=None):
        """The trainer's callbacks for this estimator's parameters (extend to add one).

        ``shard`` (distributed meta-training, :mod:`sklearn_meta._nn._distributed`): its
        callback comes first (all-reduced meta-gradients and loss, rank 0's validation
        score), the divergence reference is the mean over the ranks, and only rank 0
        prints or shows progress.
        """
        verbose = self.verbose
        if shard is not None:
            reference = shard.task_mean(reference)
            verbose = verbose if shard.is_main else 0
        callbacks = [] if shard is None else [shard.callback()]
        callbacks += [
            DivergenceGuard(reference),
            BestParameters(),
            EarlyStopping(self.n_iter_no_change, self.tol, verbose),
        ]
        if self.lr_schedule == "plateau":
            callbacks.append(LRPlateau(max(1, self.n_iter_no_change // 2), self.tol,
                                       verbose=verbose))
        if verbose:
            callbacks.append(ProgressBar(self.max_iter, desc))
        return callbacks

    def _train_loop(self, params, step, score=None, *, desc=None, warm=None,
                    reference=None, shard=None):
        """Meta-train ``params`` in place with :class:`sklearn_meta._nn._trainer.Trainer`.

        Parameters
        ----------
        params : list of torch.Tensor
            Leaf tensors with ``requires_grad=True`` (the meta-parameters).
        step : callable
            ``step(iteration) -> (loss, grads)``: ``loss`` is a scalar tensor; ``grads``
            is None (the loop calls ``loss.backward()``) or a sequence of tensors, one per
            parameter, used as the gradient (e.g. Reptile's pseudo-gradient).
        score : callable or None
            ``score() -> float``, higher is better, evaluated every
            ``validation_interval`` iterations on held-out validation tasks; used for
            early stopping (best parameters restored) and the plateau schedule.
        warm : bool or None
            Whether to continue the history (``n_iter_``, ``loss_curve_``...) of an
            earlier fit, as ``partial_fit`` does; None: ``warm_start`` decides.
        reference : float or None
            The loss of a sane model (the initial one): the divergence guard's scale.
        shard : :class:`~sklearn_meta._nn._distributed._MetaBatchShard` or None
            Distributed meta-training: ``step`` computes this rank's tasks of the
            meta-batch (see :meth:`_callbacks`).

        Sets ``n_iter_``, ``loss_curve_``, ``validation_scores_``,
        ``best_validation_score_`` and ``best_loss_``.
        """
        if warm is None:
            warm = self.warm_start
        warm = warm and hasattr(self, "loss_curve_")
        loss_curve = list(self.loss_curve_) if warm else []
        val_scores = list(self.validation_scores_ or []) if warm else []
        n_iter_before = self.n_iter_ if warm else 0
        callbacks = self._callbacks(desc, reference, shard)
        trainer = Trainer(
            params, step, max_iter=self.max_iter, interval=self.validation_interval,
            lr=self.meta_lr, score=score, callbacks=callbacks, n_iter_before=n_iter_before,
        ).run()
        val_scores += [r["validation_score"] for r in trainer.history
                       if r["validation_score"] is not None]
        self.n_iter_ = n_iter_before + trainer.it
        self.loss_curve_ = loss_curve + trainer.loss_curve
        self.validation_scores_ = val_scores if score is not None else None
        self.best_validation_score_ = (
            max(val_scores) if score is not None and val_scores else None
        )
        best = trainer.best_loss
        self.best_loss_ = best if np.isfinite(best) else None
        return self
