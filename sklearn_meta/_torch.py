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

import math
import warnings
import weakref
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from .base import _seed  # noqa: F401  (one seed per fit, as every learner)

__all__ = []  # private module: nothing public

_ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}

# A training loss this many times its first value (or the best interval mean) counts as
# divergence: no sane run goes there, and what follows is a garbage model.
_EXPLOSION = 1e4

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


def _adam(params, lr):
    """Adam on ``params``: the fused kernel where this torch has it for these tensors.

    One kernel for all parameters instead of a dozen ``foreach`` ops: about 100 us less
    per meta-iteration for a small network, which is 10-15% of a MAML meta-iteration at
    meta-batch 25 on a CPU. Falls back to the ``foreach`` implementation (same update
    rule) when the fused one is not available (older torch, other devices or dtypes).
    """
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, foreach=True)


def _numpy_rng(seed):
    return np.random.default_rng(seed)


def _to_cpu(tensors):
    """Detached CPU copies of a dict of tensors (what fitted estimators store)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in tensors.items()}


def _to_device(tensors, device, dtype=None):
    return {k: v.to(device=device, dtype=dtype or v.dtype) for k, v in tensors.items()}


class _ProgressBar:
    """tqdm progress bar callback showing the meta-training loss."""

    def __init__(self, total, desc):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, desc=desc, leave=False)

    def __call__(self, record):
        self._bar.update(record["iterations"])
        postfix = {"loss": f"{record['loss']:.4g}"}
        if record.get("validation_score") is not None:
            postfix["val"] = f"{record['validation_score']:.4g}"
        self._bar.set_postfix(postfix)

    def close(self):
        self._bar.close()


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

    def _train_loop(self, params, step, score=None, *, desc=None, warm=None, shard=None):
        """Meta-train ``params`` in place.

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
            early stopping (best parameters restored) and the plateau schedule. When None,
            the mean training loss over the interval is monitored instead.
        warm : bool or None
            Whether to continue the history (``n_iter_``, ``loss_curve_``...) of an
            earlier fit, as ``partial_fit`` does; None: ``warm_start`` decides.
        shard : :class:`~sklearn_meta.utils._distributed._MetaBatchShard` or None
            Distributed meta-training (see :meth:`_distributed_shard`): ``step`` computes
            this rank's slice of the meta-batch; the gradients and the loss are
            all-reduced before every optimiser step, the validation score is rank 0's,
            and only rank 0 shows progress.

        Sets ``n_iter_``, ``loss_curve_``, ``validation_scores_``,
        ``best_validation_score_`` and ``best_loss_``.
        """
        if warm is None:
            warm = self.warm_start
        warm = warm and hasattr(self, "loss_curve_")
        loss_curve = list(self.loss_curve_) if warm else []
        val_scores = list(self.validation_scores_ or []) if warm else []
        n_iter_before = self.n_iter_ if warm else 0

        optimizer = _adam(params, self.meta_lr)
        interval = self.validation_interval
        tol = self.tol
        patience = self.n_iter_no_change
        lr_patience = max(1, patience // 2)

        def snapshot():
            return [p.detach().clone() for p in params]

        best_params = snapshot()
        best_monitor = -np.inf
        best_loss = np.inf
        reference = None  # |first loss| of this call: the scale of "exploded"
        no_improve = lr_no_improve = 0
        pending = []  # loss tensors of the current interval (no per-iteration sync)
        main = shard is None or shard.is_main  # the process that shows progress
        verbose = self.verbose and main
        bar = _ProgressBar(self.max_iter, desc) if verbose else None
        diverged_at = None
        it = 0
        try:
            while it < self.max_iter:
                optimizer.zero_grad(set_to_none=True)
                loss, grads = step(it)
                if grads is None:
                    loss.backward()
                else:
                    for p, g in zip(params, grads):
                        p.grad = g
                if shard is not None:  # the global meta-gradient and loss, every rank
                    loss = shard.all_reduce(params, loss)
                optimizer.step()
                pending.append(loss.detach())
                it += 1
                if it % interval and it != self.max_iter:
                    continue
                losses = torch.stack(pending).double().cpu().numpy()
                pending = []
                if reference is None and np.isfinite(losses[0]):
                    reference = abs(float(losses[0]))
                bad = ~np.isfinite(losses)
                if reference is not None:
                    # a finite loss far above anything seen is divergence too (Meta-SGD's
                    # learned step sizes can blow up the inner loop without any inf)
                    scale = max(reference, abs(best_loss) if np.isfinite(best_loss) else 0.0,
                                1e-8)
                    bad |= losses > _EXPLOSION * scale  # NaN compares False, no warning
                if bad.any() or not all(bool(torch.isfinite(p).all()) for p in params):
                    # first non-finite (or exploded) loss; none -> the last update broke
                    # the params
                    first_bad = int(np.argmax(bad)) if bad.any() else len(losses)
                    n_done = it - len(losses) + first_bad
                    diverged_at = n_iter_before + min(n_done + 1, it)
                    loss_curve.extend(losses[:first_bad].tolist())
                    it = n_done
                    break
                loss_curve.extend(losses.tolist())
                record = {"iterations": len(losses), "loss": float(losses.mean())}
                if score is not None:
                    with torch.no_grad():
                        monitor = float(score())
                    if shard is not None:  # one early-stopping decision on every rank
                        monitor = shard.agree(monitor)
                    val_scores.append(monitor)
                    record["validation_score"] = monitor
                else:
                    monitor = -record["loss"]
                best_loss = min(best_loss, record["loss"])
                if monitor > best_monitor + (tol or 0.0):
                    no_improve = lr_no_improve = 0
                else:
                    no_improve += 1
                    lr_no_improve += 1
                if monitor > best_monitor:
                    best_monitor = monitor
                    best_params = snapshot()
                if bar is not None:
                    bar(record)
                if self.lr_schedule == "plateau" and lr_no_improve >= lr_patience:
                    lr_no_improve = 0
                    for group in optimizer.param_groups:
                        group["lr"] /= 5.0
                    if verbose:
                        print(f"meta_lr lowered to {optimizer.param_groups[0]['lr']:.3g}")
                if tol is not None and no_improve >= patience:
                    if verbose:
                        print(
                            f"Stopped after {n_iter_before + it} meta-iterations: no "
                            f"improvement > tol={tol} in {patience} checks."
                        )
                    break
        finally:
            if bar is not None:
                bar.close()

        if diverged_at is not None:
            warnings.warn(
                f"Meta-training diverged at iteration {diverged_at} (non-finite loss or "
                f"parameters, or a loss over {_EXPLOSION:.0e} times its starting value); "
                "stopped and kept the best meta-parameters seen before it. Lower meta_lr "
                "(or inner_lr).",
                RuntimeWarning,
                stacklevel=3,
            )
        if diverged_at is not None or (score is not None and np.isfinite(best_monitor)):
            with torch.no_grad():
                for p, b in zip(params, best_params):
                    p.copy_(b)
        self.n_iter_ = n_iter_before + it
        self.loss_curve_ = loss_curve
        self.validation_scores_ = val_scores if score is not None else None
        self.best_validation_score_ = (
            max(val_scores) if score is not None and val_scores else None
        )
        self.best_loss_ = best_loss if np.isfinite(best_loss) else None
        return self
