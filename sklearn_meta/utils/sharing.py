"""Share fitted torch learners without pickle: their state as plain tensors.

A pickle runs code when it is loaded. :func:`get_torch_state` turns a fitted torch
learner into tensors, numbers, strings, lists and dicts only, which
``torch.save`` writes and ``torch.load(path, weights_only=True)`` reads without
running any code; :func:`set_torch_state` puts such a state into an estimator of
the same class and parameters. For the learners built from scikit-learn
estimators, use `skops <https://skops.readthedocs.io>`_ instead.
"""

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

__all__ = ["get_torch_state", "set_torch_state"]

# attributes that are not part of the fitted state: device copies (rebuilt on use)
# and the adapted state (``adapt`` computes it from a support set)
_SKIPPED = {"_device_cache", "adapted_"}


def _check_torch_learner(est):
    from .._torch import _TorchMetaLearnerMixin

    if not isinstance(est, _TorchMetaLearnerMixin):
        raise TypeError(
            f"{type(est).__name__} is not a torch learner; share the learners built from "
            "scikit-learn estimators with skops (skops.io.dump / skops.io.load)."
        )


def _encode(value, name):
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if isinstance(value, torch.nn.Module):
        return {"__kind__": "module", "state": value.state_dict()}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            return {"__kind__": "ndarray", "data": torch.from_numpy(value.copy())}
        return {"__kind__": "ndarray", "list": [_encode(v, name) for v in value.tolist()],
                "dtype": value.dtype.str}
    if isinstance(value, tuple):
        return {"__kind__": "tuple", "items": [_encode(v, name) for v in value]}
    if isinstance(value, list):
        return [_encode(v, name) for v in value]
    if isinstance(value, dict) and all(isinstance(k, (str, int)) for k in value):
        return {"__kind__": "dict", "items": {k: _encode(v, name) for k, v in value.items()}}
    raise TypeError(
        f"attribute {name!r} holds a {type(value).__name__}, which cannot be stored without "
        "pickle; share this estimator with pickle or joblib (from a trusted source only)."
    )


def _decode(value, current):
    if isinstance(value, list):
        return [_decode(v, None) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value["__kind__"]
    if kind == "module":
        current.load_state_dict(value["state"])
        return current
    if kind == "ndarray":
        if "data" in value:
            return value["data"].numpy().copy()
        return np.array([_decode(v, None) for v in value["list"]], dtype=value["dtype"])
    if kind == "tuple":
        return tuple(_decode(v, None) for v in value["items"])
    return {k: _decode(v, (current or {}).get(k) if isinstance(current, dict) else None)
            for k, v in value["items"].items()}


def get_torch_state(estimator):
    """The fitted state of a torch learner as tensors, numbers, strings and containers.

    Every fitted attribute is included (networks as their ``state_dict``, arrays as
    tensors); the adapted state is not (call ``adapt`` after loading).
    ``torch.save(state, path)`` writes it and ``torch.load(path, weights_only=True)``
    reads it back without running any code.

    Parameters
    ----------
    estimator : torch learner
        A fitted torch learner (gradient-based, ProtoNet, neural processes).

    Returns
    -------
    state : dict
        Attribute name to encoded value; pass it to :func:`set_torch_state`.

    Raises
    ------
    TypeError
        If ``estimator`` is not a torch learner, or holds an attribute that cannot be
        stored without pickle (a scikit-learn ``base_estimator``).

    Examples
    --------
    >>> import io, torch
    >>> from sklearn_meta.datasets import make_sinusoid_tasks
    >>> from sklearn_meta.gradient import MAMLRegressor
    >>> from sklearn_meta.utils.sharing import get_torch_state, set_torch_state
    >>> data = make_sinusoid_tasks(n_tasks=8, n_samples_per_task=10, random_state=0)
    >>> X, y, groups = data.X, data.y, data.groups
    >>> est = MAMLRegressor(max_iter=5, random_state=0).fit(X, y, groups=groups)
    >>> buffer = io.BytesIO()
    >>> torch.save(get_torch_state(est), buffer)
    >>> _ = buffer.seek(0)
    >>> state = torch.load(buffer, weights_only=True)  # runs no code
    >>> copy = MAMLRegressor(max_iter=0, random_state=0).fit(X[:20], y[:20],
    ...                                                      groups=groups[:20])
    >>> copy = set_torch_state(copy, state).adapt(X[:5], y[:5])
    >>> bool((copy.predict(X) == est.adapt(X[:5], y[:5]).predict(X)).all())
    True
    """
    _check_torch_learner(estimator)
    check_is_fitted(estimator)
    params = set(estimator.get_params(deep=False))
    state = {"__class__": type(estimator).__name__}
    for name, value in vars(estimator).items():
        if name in params or name in _SKIPPED:
            continue
        state[name] = _encode(value, name)
    return state


def set_torch_state(estimator, state):
    """Put a state from :func:`get_torch_state` into ``estimator``; return it.

    ``estimator`` must be of the same class and parameters as the estimator the
    state comes from, and fitted with ``max_iter=0`` on a few rows with the same
    columns (and, with a shared label space, the same labels) so that its
    networks exist with the right shapes. The meta-learned state replaces its
    own; call ``adapt`` before predicting.

    Parameters
    ----------
    estimator : torch learner
        The estimator to load into (fitted, see above).
    state : dict
        The output of :func:`get_torch_state`, e.g. read back with
        ``torch.load(path, weights_only=True)``.

    Returns
    -------
    estimator : torch learner
        ``estimator`` with the loaded state and no adapted state.

    Raises
    ------
    ValueError
        If the state comes from another class, or its networks do not fit the
        estimator's (other ``hidden_layer_sizes``, another number of features).

    Examples
    --------
    See :func:`get_torch_state`.
    """
    _check_torch_learner(estimator)
    check_is_fitted(estimator)
    if state.get("__class__") != type(estimator).__name__:
        raise ValueError(
            f"the state comes from a {state.get('__class__')!r}, not a "
            f"{type(estimator).__name__}: build the estimator of the state's class."
        )
    loaded = {}
    try:
        for name, value in state.items():
            if name != "__class__":
                loaded[name] = _decode(value, getattr(estimator, name, None))
    except (RuntimeError, AttributeError) as exc:
        raise ValueError(
            f"the state does not fit this {type(estimator).__name__} (build it with the "
            "same parameters and fit it with max_iter=0 on rows with the same columns): "
            f"{exc}"
        ) from exc
    for name in _SKIPPED:
        estimator.__dict__.pop(name, None)
    estimator.__dict__.update(loaded)
    return estimator
