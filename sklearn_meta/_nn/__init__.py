"""Shared torch machinery of the torch learners (private).

- :mod:`._trainer`: the one meta-training loop, with callbacks (divergence guard, best
  parameters, early stopping, plateau schedule, progress bar) and a history.
- :mod:`._distributed`: meta-training on an initialised ``torch.distributed`` process
  group (each rank its tasks of the global meta-batch, all-reduced meta-gradients).
"""
