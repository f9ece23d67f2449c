"""Seeds: the one place where an integer seed is derived from a ``random_state``."""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

__all__ = []  # private


def seed_of(random_state, *, size=None, keep_int=False):
    """An int seed (or ``size`` of them) derived from a scikit-learn ``random_state``.

    ``random_state`` is an int, None or a ``RandomState``, whose stream advances by one
    draw (``size`` draws). ``keep_int=True`` returns an int ``random_state`` itself
    instead of a draw from ``RandomState(random_state)``.
    """
    if keep_int and size is None and isinstance(random_state, (Integral, np.integer)):
        return int(random_state)
    draw = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=size)
    return int(draw) if size is None else draw


def continued_seed(seed, n_iter):
    """A new seed for every continued fit (``partial_fit``): a fresh stream of episodes,
    reproducible from ``random_state`` and the meta-iterations run so far."""
    return int((seed + 7919 * (n_iter + 1)) % (2**31 - 1))
