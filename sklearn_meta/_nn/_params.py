"""Constructor parameters shared by the torch learners (gradient, metric, model_based).

Each group is ``{name: default}`` in signature order, for
:func:`sklearn_meta.utils._params.make_init`; a learner builds its set as
``{**EPISODES_CLASSIFIER, ..., **TRAINING, "max_iter": 500, ...}`` (a later key overrides
a default and keeps its place). Their documentation is in the paragraphs of
``utils/_docstrings.py`` and ``gradient/_params.py``; ``tests/test_structure.py`` checks
that every class documents exactly its parameters.
"""

__all__ = ["EPISODES_CLASSIFIER", "EPISODES_REGRESSOR", "EPISODIC_TRAINING", "REPLAY", "RUNTIME",
           "TRAINING"]

#: The meta-training episodes of a classifier (and of ``score``).
EPISODES_CLASSIFIER = {"n_shots": 5, "n_way": None, "n_queries": None, "support": "auto"}

#: The meta-training episodes of a regressor.
EPISODES_REGRESSOR = {"n_shots": 5, "n_queries": None}

#: The outer loop: Adam, the checks, early stopping and the plateau schedule.
TRAINING = {
    "meta_batch_size": 16,
    "meta_lr": 1e-3,
    "max_iter": 1000,
    "tol": 1e-4,
    "early_stopping": False,
    "validation_fraction": 0.1,
    "validation_interval": 10,
    "n_iter_no_change": 10,
    "lr_schedule": "constant",
}

#: The same for the learners trained on whole episodes (ProtoNet, the neural processes):
#: a check every 20 meta-iterations.
EPISODIC_TRAINING = {**TRAINING, "validation_interval": 20}

#: Experience replay of ``partial_fit``.
REPLAY = {"replay_buffer_size": 100, "replay_ratio": 0.5}

#: Where and how verbosely to compute, continuation and the seed.
RUNTIME = {
    "device": "auto",
    "distributed": "auto",
    "verbose": 0,
    "warm_start": False,
    "random_state": None,
}
