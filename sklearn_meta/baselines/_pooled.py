"""The pooled baseline: one estimator fitted on the rows of all tasks."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import BaseMetaEstimator
from ..tasks import _require_shared_labels
from ..utils._docstrings import fill_doc
from ..utils._wrapped import _Constant, _WrappedEstimatorMixin
from ..utils._params import REQUIRED, make_init


@fill_doc
class PooledEstimator(_WrappedEstimatorMixin, BaseMetaEstimator):
    """Fit one scikit-learn estimator on the rows of all meta-training tasks.

    The pooled baseline ignores which task a row comes from. Without
    ``refit`` it predicts every new task with the pooled model, so ``adapt``
    changes nothing (it still checks the support labels). With ``refit=True``
    ``adapt`` refits the estimator on the training rows plus the support
    rows, each support row repeated ``support_weight`` times.

    Parameters
    ----------
    %(wrapped_estimator)s
    n_shots : int, default=5
        Support rows per class (per task for regression) drawn by ``score``.
    refit : bool, default=False
        Whether ``adapt`` refits the estimator with the support rows added.
    support_weight : int, default=1
        How many times each support row is repeated when refitting (>= 1).
    label_space : {"auto", "shared"}, default="auto"
        Pooling needs one label set shared by all tasks; ``"per_task"``
        labels are refused.
    random_state : int, RandomState instance or None, default=None
        Seeds the episodes drawn by ``score``.

    Attributes
    ----------
    estimator_ : estimator
        The estimator fitted on all meta-training rows.
    %(fitted_features)s
    classes_ : ndarray
        The shared labels (classifiers).

    See Also
    --------
    PerTaskEstimator : A fresh estimator fitted on each support set alone.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn_meta.baselines import PooledEstimator
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> data = make_classification_tasks(n_tasks=6, random_state=0)
    >>> est = PooledEstimator(HistGradientBoostingClassifier(max_iter=10))
    >>> est.fit(data.tasks).predict(data.tasks[0][0]).shape
    (40,)
    """

    _parameter_constraints: dict = {
        **_WrappedEstimatorMixin._parameter_constraints,
        "label_space": [StrOptions({"auto", "shared"})],
        "refit": ["boolean"],
        "support_weight": [Interval(Integral, 1, None, closed="left")],
    }

    __init__ = make_init({
        "estimator": REQUIRED, "n_shots": 5, "refit": False, "support_weight": 1,
        "label_space": "auto", "random_state": None}, positional=1)

    def _meta_fit(self, tasks):
        _require_shared_labels(
            tasks, "PooledEstimator", "one model predicts the classes of every task",
            "use PerTaskEstimator or a meta-learner for per-task labels")
        self.estimator_ = self._fit_model(tasks.X, tasks.y)
        if self.refit:
            self._train_X, self._train_y = tasks.X, tasks.y

    def _adapt(self, X, y, X_unlabeled):
        if not self.refit:
            # nothing to learn, but the support rows are checked as predict checks
            # rows (the wrapped estimator refuses NaN it cannot handle, wrong columns)
            if not isinstance(self.estimator_, _Constant):
                self.estimator_.predict(X)
            return None
        reps = int(self.support_weight)
        X_all = np.vstack([self._train_X] + [X] * reps)
        y_all = np.concatenate([self._train_y] + [y] * reps)
        return self._fit_model(X_all, y_all)

    def _model(self, state):
        return self.estimator_ if state is None else state
