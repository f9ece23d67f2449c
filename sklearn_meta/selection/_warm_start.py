"""HyperparameterWarmStart: rank hyperparameter configurations for a new task."""

from numbers import Integral

from sklearn.base import clone
from sklearn.model_selection import ParameterGrid
from sklearn.neighbors import KNeighborsRegressor
from sklearn.utils._param_validation import HasMethods, Interval

from ..utils._docstrings import fill_doc
from ._base import _DOCS, _PARAMS, _CandidateSelectorMixin
from ..utils._params import REQUIRED, make_init


@fill_doc(**_DOCS)
class HyperparameterWarmStart(_CandidateSelectorMixin):
    """Choose an estimator's hyperparameters for a new task from similar past tasks.

    The meta-learning idea of auto-sklearn, for any scikit-learn estimator
    and parameter grid. ``fit`` evaluates every configuration of
    ``param_grid`` on ``n_episodes`` few-shot episodes of every training task
    (fitted on ``n_shots`` support rows, scored on the rest of the task) and
    describes each support set by its meta-features
    (:mod:`sklearn_meta.metafeatures`). ``adapt`` computes the new support
    set's meta-features, ranks the configurations by their relative score on
    the ``n_neighbors`` nearest training tasks (standardised meta-feature
    space) and fits the best on the support set. The ranking is exposed
    (:attr:`ranking_`, :meth:`suggest_param_grid`) to seed
    :class:`~sklearn.model_selection.GridSearchCV` or
    :class:`~sklearn.model_selection.RandomizedSearchCV` when there are more
    rows. It is a classifier or a regressor as ``estimator`` is.

    Parameters
    ----------
    %(wrapped_estimator)s
    param_grid : dict or list of dicts
        Configurations, as for :class:`~sklearn.model_selection.GridSearchCV`.
    %(n_shots)s
    n_neighbors : int, default=5
        Training tasks whose scores rank the configurations of a new task.
    %(n_episodes)s
    scoring : str, callable or None, default=None
        Scorer of the configurations on the query rows; the estimator's
        ``score`` when None.
    meta_model : regressor or None, default=None
        Predicts every configuration's relative score (0 worst, 1 best in a
        task) from standardised meta-features; ``KNeighborsRegressor``
        with ``n_neighbors`` neighbours when None.
    %(label_space_n_jobs)s
    random_state : int, RandomState instance or None, default=None
        Seeds the meta-training episodes and the episodes of ``score``.

    Attributes
    ----------
    configurations_ : list of dict
        The configurations of ``param_grid``, in grid order (the candidates).
    %(score_attributes)s
    ranking_ : list of dict
        Configurations for the adapted task, best first (set by ``adapt``).
    %(fitted_features)s

    See Also
    --------
    AlgorithmSelector : Choose among different estimators.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn_meta.selection import HyperparameterWarmStart
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(300, 5)
    >>> groups = np.repeat(np.arange(10), 30)
    >>> y = X @ np.ones(5) + 3 * rng.randn(300)          # noisy: strong alpha wins
    >>> est = HyperparameterWarmStart(Ridge(), {"alpha": [0.01, 1.0, 100.0]},
    ...                               n_shots=5, random_state=0)
    >>> est = est.fit(X, y, groups=groups)
    >>> est.adapt(X[:5], y[:5]).ranking_[0]
    {'alpha': 100.0}
    >>> est.suggest_param_grid(X[:5], y[:5], n_configurations=2)
    [{'alpha': [100.0]}, {'alpha': [1.0]}]
    """

    _parameter_constraints: dict = {
        **_CandidateSelectorMixin._parameter_constraints,
        "estimator": [HasMethods(["fit", "predict"])],
        "param_grid": [dict, list],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    }

    __init__ = make_init({"estimator": REQUIRED, "param_grid": REQUIRED, **_PARAMS,
                          "n_neighbors": 5}, positional=2)

    def _candidates(self):
        configs = list(ParameterGrid(self.param_grid))
        return [(str(c), clone(self.estimator).set_params(**c)) for c in configs]

    def _meta_fit(self, tasks):
        self.configurations_ = list(ParameterGrid(self.param_grid))
        super()._meta_fit(tasks)

    def _default_meta_model(self, n_tasks):
        return KNeighborsRegressor(n_neighbors=min(self.n_neighbors, n_tasks))

    @property
    def ranking_(self):
        """Configurations for the adapted task, best first."""
        return [self.configurations_[i] for i in self._adapted_state().ranking]

    @fill_doc
    def suggest_param_grid(self, X_support, y_support, n_configurations=5):
        """The best configurations for a task, as a ``GridSearchCV`` grid.

        Does not change the adapted state.

        Parameters
        ----------
        %(support_set)s
        n_configurations : int, default=5
            How many configurations to return.

        Returns
        -------
        param_grid : list of dict
            One dict per configuration, best first, every value in a
            one-element list (``GridSearchCV(estimator, param_grid)``).
        """
        ranking = self._rank(X_support, y_support)
        return [{k: [v] for k, v in self.configurations_[i].items()}
                for i in ranking[:n_configurations]]
