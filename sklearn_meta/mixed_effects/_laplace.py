"""Posterior modes of random effects on logits by damped Newton steps (Laplace).

The logits of row ``i`` of task ``t`` are ``eta_i = o_i + Z_i b_t``: an offset
(the pooled model's margins, one per logit) plus the task's effects ``b_t``
(``q`` per logit) through the design ``Z_i`` of shape ``(n_logits, q)``. With
one logit (``ref=True``) the second class's logit is fixed at 0 (binary
logistic); with several, the classes' softmax. ``b_t`` has the Gaussian prior
``N(mean, precision^-1)``. Everything is batched over tasks.
"""

import numpy as np
from scipy.special import expit, logsumexp

from ..utils._math import segment_sum


def _proba(eta, ref):
    """Probabilities of the logits ``eta`` (n, L); ``ref``: a zero logit besides."""
    if ref:
        return expit(eta)
    p = np.exp(eta - eta.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return p


def _row_nll(eta, onehot, ref):
    """Negative log likelihood of every row."""
    lse = np.logaddexp(0.0, eta[:, 0]) if ref else logsumexp(eta, axis=1)
    return lse - (onehot * eta).sum(axis=1)


def _row_hessians(Z, p, ref):
    """``Z_i^T W_i Z_i`` of every row, flattened: (n, Q * Q)."""
    n, L, q = Z.shape
    if ref:
        Zw = Z[:, 0, :] * np.sqrt(p * (1.0 - p))
        return (Zw[:, :, None] * Zw[:, None, :]).reshape(n, q * q)
    W = p[:, :, None] * (np.eye(L) - p[:, None, :])  # diag(p) - p p^T
    return np.einsum("nla,nlm,nmb->nlamb", Z, W, Z).reshape(n, (L * q) ** 2)


def _newton_tasks(Z, offset, onehot, starts, B, mean, precision, n_steps, ref):
    """Posterior modes of all tasks' effects, warm-started at ``B`` (T, Q).

    Returns the modes, the Hessians of the negative log posterior at the
    modes (T, Q, Q) and every task's negative log likelihood there.
    """
    n, L, q = Z.shape
    T, Q = B.shape
    if T == 0:  # no task (a fold without a task large enough for an episode)
        return B, np.empty((0, Q, Q)), np.empty(0)
    tidx = np.repeat(np.arange(T), np.diff(starts))

    def objective(B):
        eta = offset + np.einsum("nlq,nlq->nl", Z, B.reshape(T, L, q)[tidx])
        nll = segment_sum(_row_nll(eta, onehot, ref), starts)
        dev = B - mean
        return nll + 0.5 * np.einsum("ti,ij,tj->t", dev, precision, dev), nll, eta

    obj, nll, eta = objective(B)
    for it in range(n_steps + 1):
        p = _proba(eta, ref)
        grad = segment_sum(((p - onehot)[:, :, None] * Z).reshape(n, Q), starts)
        grad += (B - mean) @ precision
        H = segment_sum(_row_hessians(Z, p, ref), starts).reshape(T, Q, Q) + precision
        if it == n_steps:
            break
        step = np.linalg.solve(H, grad[:, :, None])[:, :, 0]
        if np.abs(step).max() < 1e-8:
            break
        scale = np.ones(T)
        new = objective(B - step)
        for _halving in range(30):  # damped: halve where the objective would rise
            worse = new[0] > obj + 1e-12 * np.abs(obj)
            if not worse.any():
                break
            scale[worse] /= 2.0
            new = objective(B - scale[:, None] * step)
        B = B - scale[:, None] * step
        obj, nll, eta = new
    return B, H, nll


def _newton_one(Z, offset, onehot, mean, precision, shift, n_steps, ref):
    """The posterior mode and Hessian of one task's effects, started at the prior mean.

    The small-array version of :func:`_newton_tasks` used by ``adapt``.
    """
    n, L, q = Z.shape
    Zf = Z.reshape(n, L * q) if L == 1 else None
    b = mean.copy()

    def eta_of(b):
        if Zf is not None:
            return offset + (Zf @ b)[:, None]
        return offset + np.einsum("nlq,lq->nl", Z, b.reshape(L, q))

    def objective(b, eta):
        return _row_nll(eta, onehot, ref).sum() + 0.5 * (b - mean) @ precision @ (b - mean)

    eta = eta_of(b)
    obj = objective(b, eta)
    for it in range(n_steps + 1):
        p = _proba(eta, ref)
        r = p - onehot
        if Zf is not None:
            grad = Zf.T @ r[:, 0]
            H = (Zf.T * (p[:, 0] * (1.0 - p[:, 0]))) @ Zf
        else:
            grad = (r[:, :, None] * Z).reshape(n, L * q).sum(axis=0)
            H = _row_hessians(Z, p, ref).sum(axis=0).reshape(L * q, L * q)
        grad += precision @ b - shift
        H += precision
        if it == n_steps:
            break
        step = np.linalg.solve(H, grad)
        for _halving in range(30):
            new_b = b - step
            new_eta = eta_of(new_b)
            new_obj = objective(new_b, new_eta)
            if new_obj <= obj + 1e-12 * abs(obj):
                break
            step = step / 2.0
        b, eta, obj = new_b, new_eta, new_obj
        if np.abs(step).max() < 1e-6:
            # one more gradient/Hessian evaluation at the new point
            n_steps = it + 1
    return b, H
