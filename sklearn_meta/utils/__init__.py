"""Utilities: estimator checks for meta-learners."""
