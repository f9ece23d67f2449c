"""scikit-learn's and sklearn-meta's estimator checks over every gradient-based learner."""

from sklearn_meta.gradient import (
    ANILClassifier,
    ANILRegressor,
    FineTuneClassifier,
    FineTuneRegressor,
    MAMLClassifier,
    MAMLRegressor,
    MetaSGDClassifier,
    MetaSGDRegressor,
    ReptileClassifier,
    ReptileRegressor,
)
from sklearn_meta.utils.estimator_checks import parametrize_with_checks

_SMALL = dict(hidden_layer_sizes=(8,), max_iter=5, inner_steps=1, meta_batch_size=4,
              n_shots=2)

ESTIMATORS = [
    MAMLClassifier(**_SMALL),
    MAMLClassifier(first_order=True, **_SMALL),
    MAMLRegressor(**_SMALL),
    MetaSGDClassifier(**_SMALL),
    MetaSGDRegressor(**_SMALL),
    ANILClassifier(**_SMALL),
    ANILRegressor(**_SMALL),
    ReptileClassifier(**_SMALL),
    ReptileRegressor(**_SMALL),
    FineTuneClassifier(hidden_layer_sizes=(8,), max_iter=5, adapt_steps=2, n_shots=2),
    FineTuneRegressor(hidden_layer_sizes=(8,), max_iter=5, adapt_steps=2, n_shots=2,
                      fine_tune="all"),
]


@parametrize_with_checks(ESTIMATORS)
def test_gradient_estimator_checks(estimator, check):
    check(estimator)
