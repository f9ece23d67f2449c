"""scikit-learn's checks and the meta-learner checks over the baselines."""

from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, Ridge

from sklearn_meta.baselines import PerTaskEstimator, PooledEstimator
from sklearn_meta.utils.estimator_checks import parametrize_with_checks

ESTIMATORS = [
    PerTaskEstimator(LogisticRegression()),
    PerTaskEstimator(Ridge()),
    PooledEstimator(HistGradientBoostingClassifier(max_iter=15)),
    PooledEstimator(Ridge(), refit=True),
]


@parametrize_with_checks(ESTIMATORS)
def test_estimator_checks(estimator, check):
    check(estimator)
