"""The default MLP and the ``module`` builder of every torch learner.

:func:`_build_module` builds the default MLP (``hidden_layer_sizes``, ``activation`` with
scikit-learn's names) or a user's ``module`` callable ``(n_inputs, n_outputs) ->
nn.Module``; weights are drawn from the fit's seed only, so a clone builds fresh,
reproducible weights.
"""

import numpy as np
import torch
from torch import nn

__all__ = []  # private

_ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}


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
