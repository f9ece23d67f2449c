"""The per-task baseline: a fresh estimator fitted on the support set only."""

from ..base import BaseMetaEstimator
from ..utils._docstrings import fill_doc
from ..utils._wrapped import _WrappedEstimatorMixin
from ..utils._params import REQUIRED, make_init


@fill_doc
class PerTaskEstimator(_WrappedEstimatorMixin, BaseMetaEstimator):
    """Fit a clone of any scikit-learn estimator on each new task's support set.

    The baseline of few-shot learning: nothing is learned across tasks.
    ``adapt`` fits ``clone(estimator)`` on the support rows alone. Before any
    ``adapt`` (zero-shot, shared label space or regression) it predicts with
    the estimator fitted on all meta-training rows. It is a classifier or a
    regressor as ``estimator`` is.

    Parameters
    ----------
    %(wrapped_estimator)s
    n_shots : int, default=5
        Support rows per class (per task for regression) drawn by ``score``.
    label_space : {"auto", "shared", "per_task"}, default="auto"
        Label setting of classification tasks (see
        :class:`~sklearn_meta.base.BaseMetaClassifier`).
    random_state : int, RandomState instance or None, default=None
        Seeds the episodes drawn by ``score``.

    Attributes
    ----------
    estimator_ : estimator or None
        The estimator fitted on all meta-training rows (zero-shot model);
        None when tasks have their own label sets.
    %(fitted_features)s
    classes_ : ndarray
        Labels of the adapted task, else those seen in ``fit`` (classifiers).

    See Also
    --------
    PooledEstimator : One estimator fitted on all training tasks' rows.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_meta.baselines import PerTaskEstimator
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> data = make_classification_tasks(n_tasks=6, random_state=0)
    >>> est = PerTaskEstimator(LogisticRegression(), n_shots=5, random_state=0)
    >>> est = est.fit(data.X, data.y, groups=data.groups)
    >>> X_new, y_new = data.tasks[0]
    >>> est.adapt(X_new[:10], y_new[:10]).predict(X_new[10:]).shape
    (30,)
    """

    __init__ = make_init({
        "estimator": REQUIRED, "n_shots": 5, "label_space": "auto", "random_state": None},
        positional=1)

    def _meta_fit(self, tasks):
        if tasks.label_space == "per_task":
            self.estimator_ = None
        else:
            self.estimator_ = self._fit_model(tasks.X, tasks.y)

    def _adapt(self, X, y, X_unlabeled):
        return self._fit_model(X, y)

    def _model(self, state):
        return self.estimator_ if state is None else state
