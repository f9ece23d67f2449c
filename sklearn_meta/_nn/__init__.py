"""Shared torch machinery of the torch learners (private).

- :mod:`._trainer`: the one meta-training loop, with callbacks (divergence guard, best
  parameters, early stopping, plateau schedule, progress bar) and a history.
"""
