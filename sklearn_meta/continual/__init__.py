"""Continual meta-learning: ``partial_fit`` over a stream of tasks with experience replay.

:class:`ContinualMixin` gives the torch meta-learners (gradient-based and metric) a
``partial_fit`` that meta-trains on one batch of tasks at a time while replaying tasks
kept in a reservoir buffer of the stream, so that earlier task families are not
forgotten.
"""

from ._mixin import ContinualMixin

__all__ = ["ContinualMixin"]
