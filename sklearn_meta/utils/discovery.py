"""Find every public meta-estimator of sklearn-meta, as :mod:`sklearn.utils.discovery`."""

import importlib
import inspect
import pkgutil

__all__ = ["all_estimators"]


def all_estimators(type_filter=None):
    """Every public meta-estimator class of sklearn-meta.

    Walks the public modules of the package (names without a leading
    underscore) and collects the classes they export in ``__all__`` that
    derive from :class:`~sklearn_meta.base.BaseMetaEstimator`, except the base
    classes themselves. A new estimator joins as soon as its module exports it,
    so tests and benchmarks built on this list cover it automatically.

    Parameters
    ----------
    type_filter : {"classifier", "regressor"} or None, default=None
        Keep only the classes that are always classifiers or always regressors
        (``BaseMetaClassifier`` / ``BaseMetaRegressor`` subclasses). Wrappers of a
        scikit-learn estimator, whose type follows the wrapped estimator, are
        returned only without a filter.

    Returns
    -------
    estimators : list of (str, type)
        ``(class name, class)`` pairs, sorted by name.

    Examples
    --------
    >>> from sklearn_meta.utils.discovery import all_estimators
    >>> names = [name for name, _ in all_estimators()]
    >>> "MAMLClassifier" in names and "PerTaskEstimator" in names
    True
    >>> all(name.endswith("Regressor") or "Ridge" in name
    ...     for name, _ in all_estimators(type_filter="regressor"))
    True
    """
    import sklearn_meta
    from sklearn_meta.base import BaseMetaClassifier, BaseMetaEstimator, BaseMetaRegressor

    if type_filter not in (None, "classifier", "regressor"):
        raise ValueError(
            f"type_filter must be None, 'classifier' or 'regressor'; got {type_filter!r}."
        )
    found = {}
    for info in pkgutil.walk_packages(sklearn_meta.__path__, "sklearn_meta."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if (inspect.isclass(obj) and issubclass(obj, BaseMetaEstimator)
                    and obj.__module__ != "sklearn_meta.base"):
                found[obj.__name__] = obj
    base = {"classifier": BaseMetaClassifier, "regressor": BaseMetaRegressor}.get(type_filter)
    return [(n, c) for n, c in sorted(found.items()) if base is None or issubclass(c, base)]
