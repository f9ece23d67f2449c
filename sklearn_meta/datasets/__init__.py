"""Task generators and real task collections for meta-learning.

Synthetic families (:func:`make_sinusoid_tasks`, :func:`make_classification_tasks`,
:func:`make_regression_tasks`) and real tabular task collections. Every
function returns a :class:`sklearn.utils.Bunch` with ``X``, ``y``, ``groups``
(task id per row), ``tasks`` (a list of ``(X_i, y_i)`` pairs) and ``DESCR``.
"""

from ._heterogeneous import load_heterogeneous_churn, make_heterogeneous_tasks
from ._real import (
    load_churn,
    load_digits_tasks,
    load_flavia_leaves,
    load_school_math,
)
from ._synthetic import (
    make_classification_tasks,
    make_regression_tasks,
    make_sinusoid_tasks,
)

__all__ = [
    "load_churn",
    "load_digits_tasks",
    "load_flavia_leaves",
    "load_heterogeneous_churn",
    "load_school_math",
    "make_classification_tasks",
    "make_heterogeneous_tasks",
    "make_regression_tasks",
    "make_sinusoid_tasks",
]
