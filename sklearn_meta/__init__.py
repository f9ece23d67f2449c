"""sklearn-meta: scikit-learn compatible meta-learners."""

__version__ = "0.1.0.dev0"
