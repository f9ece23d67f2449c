"""AlgorithmSelector: learn which estimator to fit on a new task."""

from sklearn.ensemble import RandomForestRegressor
from sklearn.utils import get_tags

from ..utils._docstrings import fill_doc
from ._base import _DOCS, _PARAMS, _CandidateSelectorMixin
from ..utils._params import REQUIRED, make_init


@fill_doc(**_DOCS)
class AlgorithmSelector(_CandidateSelectorMixin):
    """Pick the estimator for a new task, learned from how candidates did on past tasks.

    Meta-knowledge learning. ``fit`` fits every candidate on ``n_episodes``
    few-shot episodes of every training task (``n_shots`` support rows,
    scored on the rest of the task) and describes each support set by its
    meta-features (:mod:`sklearn_meta.metafeatures`). A meta-model (a random
    forest by default) learns to predict every candidate's relative score in
    a task (0 worst, 1 best) from its meta-features. ``adapt`` predicts the
    ranking of the candidates for the new support set, fits the best one on
    it and predicts with it; :attr:`ranking_` shows the choice. All
    candidates must be classifiers, or all regressors; the selector is what
    they are.

    Parameters
    ----------
    estimators : list of estimators or of (name, estimator) pairs
        The candidates. Names default to the class names (numbered when
        repeated).
    %(n_shots)s
    %(n_episodes)s
    scoring : str, callable or None, default=None
        Scorer of the candidates on the query rows; the estimators' ``score``
        when None.
    meta_model : regressor or None, default=None
        Multi-output regressor from standardised meta-features to the
        candidates' relative scores; ``RandomForestRegressor(n_estimators=50,
        min_samples_leaf=3)`` when None.
    %(label_space_n_jobs)s
    random_state : int, RandomState instance or None, default=None
        Seeds the meta-training episodes, the default meta-model and the
        episodes of ``score``.

    Attributes
    ----------
    names_ : list of str
        Names of the candidates.
    %(score_attributes)s
    ranking_ : list of str
        Candidate names for the adapted task, best first (set by ``adapt``).
    %(fitted_features)s

    See Also
    --------
    HyperparameterWarmStart : Choose hyperparameters of one estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyRegressor
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn_meta.selection import AlgorithmSelector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(300, 3)
    >>> groups = np.repeat(np.arange(10), 30)
    >>> y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.randn(300)
    >>> est = AlgorithmSelector([DummyRegressor(), Ridge()], random_state=0)
    >>> est = est.fit(X, y, groups=groups)
    >>> est.adapt(X[:5], y[:5]).ranking_
    ['Ridge', 'DummyRegressor']
    """

    _parameter_constraints: dict = {
        **_CandidateSelectorMixin._parameter_constraints,
        "estimators": [list],
    }

    __init__ = make_init({"estimators": REQUIRED, **_PARAMS}, positional=1)

    def _candidates(self):
        named = []
        for i, item in enumerate(self.estimators):
            if isinstance(item, tuple):
                if len(item) != 2 or not isinstance(item[0], str):
                    raise ValueError(
                        f"estimators[{i}] is {item!r}; give an estimator or a "
                        "(name, estimator) pair."
                    )
                named.append(item)
            else:
                named.append((type(item).__name__, item))
        names = [n for n, _ in named]
        out = []
        for i, (name, est) in enumerate(named):
            if names.count(name) > 1:
                name = f"{name}_{names[:i].count(name) + 1}"
            if not (hasattr(est, "fit") and hasattr(est, "predict")):
                raise TypeError(
                    f"estimators[{i}] ({name}) has no fit/predict; every "
                    "candidate must be a scikit-learn estimator."
                )
            out.append((name, est))
        return out

    def _reference_estimator(self):
        if not self.estimators:
            raise ValueError("estimators is empty; give at least one candidate estimator.")
        return self._candidates()[0][1]

    def _allow_nan(self):
        return all(get_tags(e).input_tags.allow_nan for _, e in self._candidates())

    def _supports(self, name):
        return all(hasattr(e, name) for _, e in self._candidates())

    def _meta_fit(self, tasks):
        candidates = self._candidates()
        kinds = {get_tags(e).estimator_type for _, e in candidates}
        if len(kinds) > 1:
            raise ValueError(
                f"estimators mixes estimator types {sorted(map(str, kinds))}; all "
                "candidates must be classifiers, or all regressors."
            )
        self.names_ = [n for n, _ in candidates]
        super()._meta_fit(tasks)

    def _default_meta_model(self, n_tasks):
        return RandomForestRegressor(n_estimators=50, min_samples_leaf=3,
                                     random_state=self.random_state)

    @property
    def ranking_(self):
        """Candidate names for the adapted task, best first."""
        return [self.names_[i] for i in self._adapted_state().ranking]
