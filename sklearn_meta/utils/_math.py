"""Small numerical helpers shared across families (numpy): the one softmax and the one
segment sum of the package."""

import numpy as np

__all__ = []  # private


def softmax(z, axis=-1):
    """Numerically stable softmax of ``z`` along ``axis`` (float64 in, float64 out)."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def segment_sum(values, starts):
    """Sums of ``values`` over the row segments ``starts[i]:starts[i + 1]``.

    ``values`` has the rows on its first axis; the result has one row per segment (a
    segment without rows sums to 0).
    """
    values = np.asarray(values)
    starts = np.asarray(starts)
    sizes = np.diff(starts)
    if values.shape[0] == 0 or sizes.size == 0:
        return np.zeros((sizes.size,) + values.shape[1:])
    if (sizes > 0).all():
        return np.add.reduceat(values, starts[:-1], axis=0)
    out = np.zeros((sizes.size,) + values.shape[1:], dtype=values.dtype)
    full = sizes > 0
    out[full] = np.add.reduceat(values, starts[:-1][full], axis=0)
    return out


def decision_from_logits(logits, n_classes):
    """scikit-learn's ``decision_function`` shape from class logits: one column (the
    second class minus the first) for binary problems, else the logits."""
    return logits[:, 1] - logits[:, 0] if n_classes == 2 else logits


def batched_solve(A, b):
    """``x[i]`` solving ``A[i] x[i] = b[i]`` for stacked systems ``A`` (n, d, d), ``b``
    (n, d): one batched solve; where a system is singular in floating point, the
    pseudo-inverse solution, and zeros where it is not finite."""
    try:
        return np.linalg.solve(A, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        ok = np.isfinite(A).all(axis=(1, 2)) & np.isfinite(b).all(axis=1)
        x = np.zeros(b.shape)
        if ok.any():
            x[ok] = np.einsum("tij,tj->ti", np.linalg.pinv(A[ok]), b[ok])
        return x
