"""Shared code of the meta-estimators that wrap scikit-learn estimators.

Used by the baselines, the selectors and (``_Constant``) the ensembles: a cross-family
helper, so it lives in ``utils`` (no family imports another family's private module).
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, StrOptions

from ..base import BaseMetaEstimator, _episodic_score_tags


def fill_empty_columns(X):
    """``X`` with every column missing on all its rows set to 0.

    A column absent from every task of a cross-fitting fold is all NaN there, and
    HistGradientBoosting cannot bin an all-NaN column; read as a constant, it carries
    what it did (nothing) and the model fits.
    """
    empty = np.isnan(X).all(axis=0)
    return np.where(empty, 0.0, X) if empty.any() else X


class _Constant:
    """The model of a support set with a single class: predicts it."""

    def __init__(self, code):
        self.code = code


class _WrappedEstimatorMixin(BaseMetaEstimator):
    """A meta-estimator whose type and tags follow a wrapped ``estimator``."""

    _parameter_constraints: dict = {
        **BaseMetaEstimator._parameter_constraints,
        "estimator": [HasMethods(["fit", "predict"])],
        "label_space": [StrOptions({"auto", "shared", "per_task"})],
    }

    def _reference_estimator(self):
        """The estimator whose type and tags this meta-estimator follows."""
        return self.estimator

    def _allow_nan(self):
        return get_tags(self._reference_estimator()).input_tags.allow_nan

    def _finite_check(self):
        # as scikit-learn's meta-estimators: the wrapped estimator checks NaN and
        # infinity itself (a Pipeline that imputes does not declare allow_nan)
        return False

    def _supports(self, name):
        return hasattr(self._reference_estimator(), name)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._reference_estimator())
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.non_deterministic = inner.non_deterministic
        return _episodic_score_tags(tags)

    def _fit_model(self, X, y):
        """Clone and fit the wrapped estimator (a constant on one class)."""
        if self._is_classifier() and np.unique(y).size < 2:
            return _Constant(int(y[0]))
        return clone(self.estimator).fit(X, y)

    # -- prediction hooks shared by the wrapping baselines --------------------
    def _predict(self, X, state):
        return self._model(state).predict(X)

    def _predict_codes(self, X, state, n_classes):
        model = self._model(state)
        if isinstance(model, _Constant):
            return np.full(X.shape[0], model.code)
        return np.asarray(model.predict(X), dtype=np.int64)

    def _predict_proba(self, X, state, n_classes):
        model = self._model(state)
        proba = np.zeros((X.shape[0], n_classes))
        if isinstance(model, _Constant):
            proba[:, model.code] = 1.0
        else:
            proba[:, model.classes_] = model.predict_proba(X)
        return proba

    def _decision_function(self, X, state, n_classes):
        model = self._model(state)
        if isinstance(model, _Constant):
            scores = np.full((X.shape[0], n_classes), -1.0)
            scores[:, model.code] = 1.0
        else:
            dec = model.decision_function(X)
            if len(model.classes_) == n_classes:
                return dec
            scores = np.full((X.shape[0], n_classes), -np.inf)
            if dec.ndim == 1:
                dec = np.column_stack([-dec, dec])
            scores[:, model.classes_] = dec
            finite_min = np.min(scores[np.isfinite(scores)], initial=0.0)
            scores[~np.isfinite(scores)] = finite_min - 1.0
        return scores[:, 1] - scores[:, 0] if n_classes == 2 else scores
