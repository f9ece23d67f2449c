"""Seeds: the one place where an integer seed is derived from a ``random_state``."""

import numpy as np
from sklearn.utils import check_random_state

__all__ = []  # private


def seed_of(random_state):
    """An int seed derived from a scikit-learn ``random_state`` (int, None or a
    RandomState, whose stream advances by one draw)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def continued_seed(seed, n_iter):
    """A new seed for every continued fit (``partial_fit``): a fresh stream of episodes,
    reproducible from ``random_state`` and the meta-iterations run so far."""
    return int((seed + 7919 * (n_iter + 1)) % (2**31 - 1))
