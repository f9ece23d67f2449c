"""A scikit-learn Pipeline whose final step is a meta-learner, with ``adapt``.

scikit-learn's own :class:`sklearn.pipeline.Pipeline` already fits, scores
and cross-validates a meta-learner (``groups`` reaches it through metadata
routing). This subclass adds what a few-shot workflow needs on top:

* ``adapt(X_support, y_support)``: the fitted transformers transform the
  support set (they are *not* refitted on it), then the final step adapts;
* ``fit`` accepts a list of ``(X, y)`` tasks and ``groups=`` directly, with
  or without metadata routing.
"""

from sklearn.pipeline import Pipeline as _SkPipeline
from sklearn.pipeline import _name_estimators
from sklearn.utils.metadata_routing import _routing_enabled
from sklearn.utils.validation import check_is_fitted

from .tasks import _is_task_sequence, as_task_arrays
from .utils._docstrings import fill_doc

__all__ = ["Pipeline", "make_pipeline"]


class Pipeline(_SkPipeline):
    """Pipeline of transformers and a final meta-learner, with ``adapt``.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        Transformers followed by a meta-learner (anything with ``adapt``).
    transform_input : list of str, default=None
        As in :class:`sklearn.pipeline.Pipeline`.
    memory : str or object with the joblib.Memory interface, default=None
        As in :class:`sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        As in :class:`sklearn.pipeline.Pipeline`.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_meta.baselines import PerTaskEstimator
    >>> from sklearn_meta.datasets import make_classification_tasks
    >>> from sklearn_meta.pipeline import make_pipeline
    >>> data = make_classification_tasks(n_tasks=5, random_state=0)
    >>> pipe = make_pipeline(StandardScaler(), PerTaskEstimator(LogisticRegression()))
    >>> pipe = pipe.fit(data.tasks[:4])
    >>> X_new, y_new = data.tasks[4]
    >>> pipe.adapt(X_new[:10], y_new[:10]).predict(X_new[10:]).shape
    (30,)
    """

    def _final_params(self, params, **extra):
        extra = {k: v for k, v in extra.items() if v is not None}
        if not extra:
            return params
        if _routing_enabled():
            return {**params, **extra}
        name = self.steps[-1][0]
        return {**params, **{f"{name}__{k}": v for k, v in extra.items()}}

    def fit(self, X, y=None, groups=None, **params):
        """Fit the transformers on all meta-training rows, then meta-fit.

        Parameters
        ----------
        X : sequence of (X, y) pairs, or array-like of shape (n_rows, n_features)
            Tasks as a list, or all rows of all tasks.
        y : array-like of shape (n_rows,), default=None
            Targets (flat form).
        groups : array-like of shape (n_rows,), default=None
            Task id of every row, passed to the final step.
        **params : dict
            Further fit parameters, as in :class:`sklearn.pipeline.Pipeline`.

        Returns
        -------
        self : Pipeline
            The fitted pipeline.
        """
        if _is_task_sequence(X, y):
            X, y, groups = as_task_arrays(X)
        return super().fit(X, y, **self._final_params(params, groups=groups))

    @fill_doc
    def adapt(self, X_support, y_support, X_unlabeled=None):
        """Transform the support set with the fitted steps, then adapt.

        Parameters
        ----------
        %(support_set)s
        X_unlabeled : array-like of shape (n_unlabeled, n_features), default=None
            Unlabelled rows of the task, transformed the same way.

        Returns
        -------
        self : Pipeline
            The pipeline with its final step adapted.
        """
        final = self._final_estimator
        if not hasattr(final, "adapt"):
            raise TypeError(
                f"the final step {type(final).__name__} has no adapt method; the "
                "last step of a sklearn_meta Pipeline must be a meta-learner."
            )
        check_is_fitted(self)
        Xt, Xu = X_support, X_unlabeled
        for _, _, transformer in self._iter(with_final=False):
            Xt = transformer.transform(Xt)
            if Xu is not None:
                Xu = transformer.transform(Xu)
        final.adapt(Xt, y_support, X_unlabeled=Xu)
        return self

    def score(self, X, y=None, groups=None, sample_weight=None, **params):
        """Episodic score of the final step on transformed rows.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Rows of one or more tasks.
        y : array-like of shape (n_rows,), default=None
            Their targets.
        groups : array-like of shape (n_rows,), default=None
            Task id of every row.
        sample_weight : array-like of shape (n_rows,), default=None
            Query-row weights.
        **params : dict
            Further score parameters (metadata routing).

        Returns
        -------
        score : float
            The final step's ``score``.
        """
        if not _routing_enabled():
            Xt = X
            for _, _, transformer in self._iter(with_final=False):
                Xt = transformer.transform(Xt)
            kwargs = {k: v for k, v in {"groups": groups, "sample_weight": sample_weight}.items()
                      if v is not None}
            return self.steps[-1][1].score(Xt, y, **kwargs)
        if groups is not None:
            params["groups"] = groups
        return super().score(X, y, sample_weight=sample_weight, **params)


def make_pipeline(*steps, memory=None, transform_input=None, verbose=False):
    """Build a :class:`Pipeline` with ``adapt``, naming the steps automatically.

    Parameters
    ----------
    *steps : list of estimators
        Transformers followed by a meta-learner.
    memory : str or object with the joblib.Memory interface, default=None
        As in :func:`sklearn.pipeline.make_pipeline`.
    transform_input : list of str, default=None
        As in :func:`sklearn.pipeline.make_pipeline`.
    verbose : bool, default=False
        As in :func:`sklearn.pipeline.make_pipeline`.

    Returns
    -------
    pipeline : Pipeline
        The pipeline.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_meta.baselines import PerTaskEstimator
    >>> from sklearn_meta.pipeline import make_pipeline
    >>> make_pipeline(StandardScaler(), PerTaskEstimator(Ridge()))
    Pipeline(steps=[('standardscaler', StandardScaler()),
                    ('pertaskestimator', PerTaskEstimator(estimator=Ridge()))])
    """
    return Pipeline(_name_estimators(steps), memory=memory,
                    transform_input=transform_input, verbose=verbose)
