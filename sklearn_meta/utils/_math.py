"""Small numerical helpers shared across families (numpy)."""

import numpy as np

__all__ = []  # private


def softmax(z, axis=-1):
    """Numerically stable softmax of ``z`` along ``axis`` (float64 in, float64 out)."""
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def decision_from_logits(logits, n_classes):
    """scikit-learn's ``decision_function`` shape from class logits: one column (the
    second class minus the first) for binary problems, else the logits."""
    return logits[:, 1] - logits[:, 0] if n_classes == 2 else logits
