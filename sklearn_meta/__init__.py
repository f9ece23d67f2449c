"""sklearn-meta: scikit-learn compatible meta-learners.

The public API is the modules listed in ``__all__`` and, in each, the names of its own
``__all__`` (see the API reference, ``doc/api.rst``). A module is imported when first
used (``sklearn_meta.gradient``), so ``import sklearn_meta`` stays cheap.
"""

import importlib

__version__ = "0.1.0.dev0"

__all__ = [
    "base",
    "baselines",
    "continual",
    "datasets",
    "display",
    "ensemble",
    "gradient",
    "metafeatures",
    "metric",
    "mixed_effects",
    "model_based",
    "model_selection",
    "pipeline",
    "prior",
    "selection",
    "tasks",
    "utils",
]


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
