"""Class prototypes and the prototypical-network loss, batched over tasks.

All functions take a leading *task* dimension ``T`` and masks, so one call handles a
meta-batch of episodes with any number of classes and shots per task: ``m`` (float,
1 = real row) marks padded rows, ``class_mask`` (bool) the classes a task really has.
A class without any support row gets no prototype: its logit is masked out and query
rows of it count for nothing.
"""

import torch
import torch.nn.functional as F

__all__ = []

_NEG = -1e9  # logit of a class without a prototype: exp() underflows to exactly 0


def class_prototypes(z, y, m, n_classes):
    """Mean embedding of every class of every task.

    Parameters
    ----------
    z : tensor (T, n, e)
        Embeddings of the support rows.
    y : int64 tensor (T, n)
        Class codes ``0..n_classes - 1``.
    m : tensor (T, n)
        1 for a real row, 0 for padding.
    n_classes : int

    Returns
    -------
    prototypes : tensor (T, n_classes, e)
        Class means (zeros for a class without rows).
    counts : tensor (T, n_classes)
        Rows per class (the weight of every prototype).
    """
    sums, counts = _class_sums(z, y, m, n_classes)
    return sums / counts.clamp_min(1e-12).unsqueeze(-1), counts


def _class_sums(z, y, m, n_classes):
    onehot = F.one_hot(y, n_classes).to(z.dtype) * m.unsqueeze(-1)
    return onehot.transpose(-1, -2) @ z, onehot.sum(-2)


def squared_distances(a, b):
    """Squared Euclidean distances (T, n, c) between rows of ``a`` (T, n, e) and ``b``."""
    d = (a * a).sum(-1, keepdim=True) - 2.0 * a @ b.transpose(-1, -2)
    return (d + (b * b).sum(-1).unsqueeze(-2)).clamp_min(0.0)


def prototype_logits(z, prototypes, valid=None):
    """Negative squared distances to the prototypes; invalid classes masked out."""
    logits = -squared_distances(z, prototypes)
    if valid is not None:
        logits = logits.masked_fill(~valid.unsqueeze(-2), _NEG)
    return logits


def refine_prototypes(prototypes, counts, z_u, m_u=None, valid=None, steps=1):
    """Soft k-means refinement of prototypes with unlabelled rows (semi-supervised).

    Each unlabelled row is assigned softly to the classes (softmax over negative squared
    distances) and added to their means with that weight (Ren et al., 2018).
    """
    if m_u is None:
        m_u = torch.ones(z_u.shape[:-1], dtype=z_u.dtype, device=z_u.device)
    sums = prototypes * counts.unsqueeze(-1)
    for _ in range(steps):
        w = torch.softmax(prototype_logits(z_u, prototypes, valid), -1) * m_u.unsqueeze(-1)
        total = counts + w.sum(-2)
        prototypes = (sums + w.transpose(-1, -2) @ z_u) / total.clamp_min(1e-12).unsqueeze(-1)
    return prototypes


def logits_loss(logits, y, m, valid):
    """Mean cross-entropy over tasks of the real rows whose class is valid.

    ``logits`` (T, n, C) with invalid classes already masked; ``valid`` (T, C) bool.
    Returns ``(loss, accuracy)``; the accuracy (no gradient) is over the same rows.
    """
    w = m * valid.gather(-1, y).to(m.dtype)
    w = w / w.sum(-1, keepdim=True).clamp_min(1.0)
    logp = F.log_softmax(logits, -1)
    nll = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    loss = (w * nll).sum(-1).mean()
    with torch.no_grad():
        hit = (logits.argmax(-1) == y).to(w.dtype)
        tasks_w = (w.sum(-1) > 0).to(w.dtype)
        acc = ((w * hit).sum(-1) * tasks_w).sum() / tasks_w.sum().clamp_min(1.0)
    return loss, acc


def borrow_prototypes(prototypes, counts, z, y, m, n_classes):
    """Prototypes of a shared label set where a task's support set lacks a class: the
    class mean of the *other* tasks' rows ``z`` (T, n, e) of the meta-batch (``y``,
    ``m`` their labels and mask), as ``adapt`` falls back on the training rows.

    Returns ``(prototypes, valid)``: the filled prototypes and, per task, the classes
    that have one (own or borrowed).
    """
    sums, n = _class_sums(z, y, m, n_classes)
    other_n = n.sum(0, keepdim=True) - n
    other = (sums.sum(0, keepdim=True) - sums) / other_n.clamp_min(1e-12).unsqueeze(-1)
    absent = (counts == 0).unsqueeze(-1)
    return torch.where(absent, other, prototypes), (counts > 0) | (other_n > 0)


def borrow_rows(X, y, m, n_classes, n_per_class):
    """Support sets of a shared label set where a task's support set lacks a class: up
    to ``n_per_class`` of the *other* tasks' support rows of that class are added (as
    the neural process's ``adapt`` adds training rows of the classes a support set
    lacks). ``X`` (T, n, d), ``y`` (T, n), ``m`` (T, n); returns the widened
    ``(X, y, m)`` of shape (T, n + T * n, ...), the added rows masked where unused.
    """
    T, n = y.shape
    present = (F.one_hot(y, n_classes).to(m.dtype) * m.unsqueeze(-1)).sum(-2) > 0  # (T, C)
    pool_X = X.reshape(1, T * n, -1).expand(T, -1, -1)
    pool_y = y.reshape(1, T * n).expand(T, -1)
    owner = torch.arange(T, device=y.device).repeat_interleave(n)
    keep = (m.reshape(1, T * n) > 0) & (owner[None, :] != torch.arange(T, device=y.device)[:, None])
    keep &= ~present.gather(-1, pool_y)  # only classes this task's support set lacks
    onehot = F.one_hot(pool_y, n_classes) * keep.unsqueeze(-1)
    rank = (onehot.cumsum(-2) * onehot).sum(-1)  # 1, 2, ... within (task, class)
    keep &= rank <= n_per_class
    return (torch.cat([X, pool_X], -2), torch.cat([y, pool_y], -1),
            torch.cat([m, keep.to(m.dtype)], -1))


def prototypical_loss(z_s, y_s, m_s, z_q, y_q, m_q, n_classes, class_mask=None,
                      shared=False):
    """Mean query cross-entropy of a prototypical network over a meta-batch.

    ``shared``: one label set for all tasks; a class missing from a task's support set
    borrows the mean of the other tasks' rows of it (:func:`borrow_prototypes`).

    Returns ``(loss, accuracy)``: the mean over tasks of the mean negative
    log-likelihood of each task's query rows, and the query accuracy (a float tensor,
    no gradient) of the same episodes.
    """
    prototypes, counts = class_prototypes(z_s, y_s, m_s, n_classes)
    valid = counts > 0
    if shared:
        prototypes, valid = borrow_prototypes(
            prototypes, counts, torch.cat([z_s, z_q], -2), torch.cat([y_s, y_q], -1),
            torch.cat([m_s, m_q], -1), n_classes)
    if class_mask is not None:
        valid = valid & class_mask
    return logits_loss(prototype_logits(z_q, prototypes, valid), y_q, m_q, valid)
