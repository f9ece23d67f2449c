"""Shared torch machinery of the torch learners (private; no family's own code).

- :mod:`._fit`: ``fit_episodes``, the one episodic training set-up (seed, validation
  tasks, replay, sampler, validation episodes, trainer), used by the gradient, metric
  and model-based learners, each supplying only ``init``, ``step`` and ``score``;
- :mod:`._trainer`: the one training loop with callbacks (divergence guard, best
  parameters, early stopping, plateau schedule, progress bar) and its history;
- :mod:`._modules`: the default MLP and the ``module`` builder;
- :mod:`._replay`, :mod:`._continual`: experience replay and the checks of later
  ``partial_fit`` batches;
- :mod:`._prototypes`: class prototypes and their loss (metric and model-based);
- :mod:`._distributed`: meta-training on an initialised ``torch.distributed`` process
  group (each rank its tasks of the global meta-batch, all-reduced meta-gradients);
- :mod:`._sampler`: the episode sampler (meta-batches of padded support/query tensors
  with masks; shards, ``share`` and the one warning for skipped tasks).
"""
