"""Continual meta-learning: ``partial_fit`` over a stream of tasks with experience replay.

Every torch meta-learner (gradient-based, metric, model-based, fine-tuning) has a
``partial_fit`` that meta-trains on one batch of tasks at a time while replaying tasks
kept in a reservoir buffer of the stream (``replay_buffer_size``, ``replay_ratio``), so
that earlier task families are not forgotten. The machinery lives in
``sklearn_meta._nn`` (``_replay.py``, ``_continual.py``); this package holds no public
class of its own.
"""

__all__ = []
